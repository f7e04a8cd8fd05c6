"""Assessments: the coach's reading of each completed check, and the audience figures briefs need."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Integer, case, func, select
from sqlalchemy.engine import RowMapping

from bot.domain import Assessment, AudienceFigures
from bot.storage.models import CAUSE_IDS, FEAR_IDS, assessments_table, utcnow
from bot.storage.sql import Repository

#: The phase models an assessment places a person on, one column each.
PHASE_MODELS = ("presence_model", "pilot_model")


class AssessmentRepository(Repository):
    """The `assessments` rows, inside the caller's transaction."""

    async def add_assessment(self, assessment: Assessment) -> Assessment:
        """Returns the assessment as it will read back: id and timestamp set, fears and causes in id order."""
        unknown = set(assessment.fears) - set(FEAR_IDS) | set(assessment.causes) - set(CAUSE_IDS)
        if unknown:
            raise ValueError(f"unknown fear or cause ids: {sorted(unknown)}")
        assessed_at = assessment.assessed_at or utcnow()
        values: dict[str, Any] = {
            "person_id": assessment.person_id,
            "run_id": assessment.run_id,
            "assessed_at": assessed_at,
            "phase_presence_model": assessment.phase_presence_model,
            "phase_pilot_model": assessment.phase_pilot_model,
            "department_id": assessment.department_id,
            "standing": None if assessment.standing is None else str(assessment.standing),
            "lens": assessment.lens,
            "scores": dict(assessment.scores),
        }
        values.update({f"fear_{fear}": fear in assessment.fears for fear in FEAR_IDS})
        values.update({f"cause_{cause}": cause in assessment.causes for cause in CAUSE_IDS})
        result = await self._session.execute(
            assessments_table.insert().values(**values).returning(assessments_table.c.id)
        )
        new_id = result.scalar_one()
        return dataclasses.replace(
            assessment,
            id=new_id,
            assessed_at=assessed_at,
            fears=tuple(fear for fear in FEAR_IDS if fear in assessment.fears),
            causes=tuple(cause for cause in CAUSE_IDS if cause in assessment.causes),
        )

    async def assessments(self, person_id: int, limit: int | None = 10) -> list[Assessment]:
        """Newest first (all of them when `limit` is None); id breaks ties stored in the same instant."""
        query = (
            select(assessments_table)
            .where(assessments_table.c.person_id == person_id)
            .order_by(assessments_table.c.assessed_at.desc(), assessments_table.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        rows = await self._session.execute(query)
        return [_assessment(row) for row in rows.mappings()]

    async def audience_figures(self, department_ids: Sequence[int]) -> AudienceFigures:
        """Counts over each person's latest assessment, in the departments (everyone's, when none).

        The department is the one stored with the assessment, as the reports count it. A window
        function picks the latest per person (id breaks a tie in time), then plain GROUP BYs count.
        """
        a = assessments_table
        rank = (
            func.row_number()
            .over(partition_by=a.c.person_id, order_by=(a.c.assessed_at.desc(), a.c.id.desc()))
            .label("rank")
        )
        ranked = select(
            a.c.department_id,
            a.c.phase_presence_model,
            a.c.phase_pilot_model,
            *(a.c[f"fear_{fear}"] for fear in FEAR_IDS),
            rank,
        ).subquery("ranked")
        latest = select(ranked).where(ranked.c.rank == 1)
        if department_ids:
            latest = latest.where(ranked.c.department_id.in_(list(department_ids)))
        audience = latest.subquery("audience")
        totals = (
            await self._session.execute(
                select(
                    func.count(),
                    *(
                        func.coalesce(func.sum(case((audience.c[f"fear_{fear}"], 1), else_=0)), 0).cast(
                            Integer
                        )
                        for fear in FEAR_IDS
                    ),
                ).select_from(audience)
            )
        ).one()
        phases: dict[str, dict[str, int]] = {}
        for model in PHASE_MODELS:
            column = audience.c[f"phase_{model}"]
            rows = await self._session.execute(select(column, func.count()).group_by(column))
            phases[model] = {str(phase): int(count) for phase, count in rows}
        return AudienceFigures(
            respondents=int(totals[0]),
            phases=phases,
            fears={fear: int(count) for fear, count in zip(FEAR_IDS, totals[1:], strict=True)},
        )


def _assessment(row: RowMapping) -> Assessment:
    return Assessment(
        id=row["id"],
        person_id=row["person_id"],
        run_id=row["run_id"],
        phase_presence_model=row["phase_presence_model"],
        phase_pilot_model=row["phase_pilot_model"],
        fears=tuple(fear for fear in FEAR_IDS if row[f"fear_{fear}"]),
        causes=tuple(cause for cause in CAUSE_IDS if row[f"cause_{cause}"]),
        lens=row["lens"],
        scores=dict(row["scores"] or {}),
        department_id=row["department_id"],
        standing=row["standing"],
        assessed_at=row["assessed_at"],
    )
