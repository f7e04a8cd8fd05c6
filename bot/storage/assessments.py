"""Assessments: the coach's reading of each completed check, with the fears and causes it found.

Fears and causes are rows of `assessment_findings` (kind "fear" or "cause", the knowledge id, its
place in the list), so a fear added to knowledge/ is stored and counted without a migration.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import func, select

from bot.domain import Assessment, AudienceFigures
from bot.storage.models import FINDING_ID_MAX, assessment_findings_table, assessments_table, utcnow
from bot.storage.sql import Repository

#: The phase models an assessment places a person on, one column each.
PHASE_MODELS = ("presence_model", "pilot_model")
FEAR, CAUSE = "fear", "cause"


class AssessmentRepository(Repository):
    """The `assessments` rows and their findings, inside the caller's transaction."""

    async def add_assessment(self, assessment: Assessment) -> Assessment:
        """Returns the assessment as it will read back: id and timestamp set, each fear and cause once.

        Any fear or cause id is accepted (knowledge/ decides which exist); ValueError for an empty one
        or one longer than the column.
        """
        (stored,) = await self.add_assessments([assessment])
        return stored

    async def add_assessments(self, assessments: Sequence[Assessment]) -> list[Assessment]:
        """Many at once (demo data, benchmarks): two INSERTs whatever the number, ids in the given order."""
        if not assessments:
            return []
        now = utcnow()
        cleaned = [
            dataclasses.replace(
                a, assessed_at=a.assessed_at or now, fears=_ids(a.fears), causes=_ids(a.causes)
            )
            for a in assessments
        ]
        result = await self._session.execute(
            assessments_table.insert().returning(assessments_table.c.id, sort_by_parameter_order=True),
            [_row(a) for a in cleaned],
        )
        stored = [
            dataclasses.replace(a, id=new_id) for a, new_id in zip(cleaned, result.scalars(), strict=True)
        ]
        findings = [
            {"assessment_id": a.id, "kind": kind, "item": item, "ordinal": ordinal}
            for a in stored
            for kind, items in ((FEAR, a.fears), (CAUSE, a.causes))
            for ordinal, item in enumerate(items)
        ]
        if findings:
            await self._session.execute(assessment_findings_table.insert(), findings)
        return stored

    async def assessments(self, person_id: int, limit: int | None = 10) -> list[Assessment]:
        """Newest first (all of them when `limit` is None); id breaks ties stored in the same instant."""
        query = (
            select(assessments_table)
            .where(assessments_table.c.person_id == person_id)
            .order_by(assessments_table.c.assessed_at.desc(), assessments_table.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        rows = list((await self._session.execute(query)).mappings())
        if not rows:
            return []
        f = assessment_findings_table
        found: dict[tuple[int, str], list[str]] = {}
        for assessment_id, kind, item in await self._session.execute(
            select(f.c.assessment_id, f.c.kind, f.c.item)
            .where(f.c.assessment_id.in_([row["id"] for row in rows]))
            .order_by(f.c.assessment_id, f.c.kind, f.c.ordinal)
        ):
            found.setdefault((assessment_id, kind), []).append(item)
        return [
            _assessment(row, found.get((row["id"], FEAR), []), found.get((row["id"], CAUSE), []))
            for row in rows
        ]

    async def audience_figures(self, department_ids: Sequence[int]) -> AudienceFigures:
        """Counts over each person's latest assessment, in the departments (everyone's, when none).

        The department is the one stored with the assessment, as the reports count it. A window
        function picks the latest per person (id breaks a tie in time), then plain GROUP BYs count.
        `fears` holds the fears named at least once, whatever their id.
        """
        a = assessments_table
        rank = (
            func.row_number()
            .over(partition_by=a.c.person_id, order_by=(a.c.assessed_at.desc(), a.c.id.desc()))
            .label("rank")
        )
        ranked = select(
            a.c.id, a.c.department_id, a.c.phase_presence_model, a.c.phase_pilot_model, rank
        ).subquery("ranked")
        latest = select(ranked).where(ranked.c.rank == 1)
        if department_ids:
            latest = latest.where(ranked.c.department_id.in_(list(department_ids)))
        audience = latest.subquery("audience")
        respondents = (await self._session.execute(select(func.count()).select_from(audience))).scalar_one()
        phases: dict[str, dict[str, int | None]] = {}
        for model in PHASE_MODELS:
            column = audience.c[f"phase_{model}"]
            rows = await self._session.execute(select(column, func.count()).group_by(column))
            phases[model] = {str(phase): int(count) for phase, count in rows}
        f = assessment_findings_table
        named = await self._session.execute(
            select(f.c.item, func.count())
            .where(f.c.kind == FEAR, f.c.assessment_id.in_(select(audience.c.id)))
            .group_by(f.c.item)
        )
        return AudienceFigures(
            respondents=int(respondents),
            phases=phases,
            fears={str(item): int(count) for item, count in named},
        )


def _ids(items: Iterable[str]) -> tuple[str, ...]:
    """Each id once, in the order given; refuses what the column cannot hold."""
    kept: dict[str, None] = {}
    for item in items:
        if not item or len(item) > FINDING_ID_MAX:
            raise ValueError(f"a fear or cause id must have 1 to {FINDING_ID_MAX} characters: {item!r}")
        kept.setdefault(item, None)
    return tuple(kept)


def _row(assessment: Assessment) -> dict[str, Any]:
    return {
        "person_id": assessment.person_id,
        "run_id": assessment.run_id,
        "assessed_at": assessment.assessed_at,
        "phase_presence_model": assessment.phase_presence_model,
        "phase_pilot_model": assessment.phase_pilot_model,
        "department_id": assessment.department_id,
        "standing": None if assessment.standing is None else str(assessment.standing),
        "lens": assessment.lens,
        "scores": dict(assessment.scores),
    }


def _assessment(row: Any, fears: Sequence[str], causes: Sequence[str]) -> Assessment:
    return Assessment(
        id=row["id"],
        person_id=row["person_id"],
        run_id=row["run_id"],
        phase_presence_model=row["phase_presence_model"],
        phase_pilot_model=row["phase_pilot_model"],
        fears=tuple(fears),
        causes=tuple(causes),
        lens=row["lens"],
        scores=dict(row["scores"] or {}),
        department_id=row["department_id"],
        standing=row["standing"],
        assessed_at=row["assessed_at"],
    )
