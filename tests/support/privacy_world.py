"""A small organisation driven through the project's real storage, reports and briefs, recorded for
the privacy auditor: what happened (the auditor's World) and what was published (its Equations)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import insert, update

from bot import PROJECT_ROOT
from bot.content.catalog import Catalog, load_catalog
from bot.domain import CommitmentOutcome
from bot.reports.audience import audience_figures
from bot.reports.commitments import PARTITION
from bot.reports.publishing import released_months
from bot.reports.report import AggregateReport, build_report, categories_of
from bot.storage.database import Database
from bot.storage.models import (
    assessment_findings_table,
    assessments_table,
    departments_table,
    people_table,
)
from tests.support.privacy_auditor import Assessment, Equation, Finding, World, audit

PRESENCE = ("presence", "dialogue", "engagement", "social_business")
PILOT = ("pilot", "centralisation", "coordination", "integration")
FEARS = ("unwanted_messages", "time_loss", "security", "role_loss")
CAUSES = ("middle_managers", "silo", "culture", "fear")
LENSES = (
    "six_cs.connections",
    "six_cs.conversations",
    "six_cs.content",
    "six_cs.congruence",
    "six_cs.context",
    "six_cs.continuous",
    "other",
)


@cache
def catalog() -> Catalog:
    return load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")


def answers(presence: str, pilot: str, fears: Sequence[str] = (), lens: str = "other") -> dict[str, str]:
    """An assessment's answer per report family, as the auditor counts them."""
    out = {"presence_model": presence, "pilot_model": pilot, "lens": lens}
    out.update({f"fear:{f}": "named" if f in fears else "not_named" for f in FEARS})
    out.update({f"cause:{c}": "not_named" for c in CAUSES})
    return out


class Org:
    """Drives the project's storage and reports; records events and publications."""

    def __init__(self, database: Database, *, zone: str, now: datetime, min_group: int = 5) -> None:
        self.database = database
        self.zone = zone
        self.now = now
        self.min_group = min_group
        self.refresh_hours = 24.0
        self.world = World(zone)
        self.people: dict[str, int] = {}
        self.departments: dict[str, int] = {}
        self.equations: list[Equation] = []
        self.known: dict[int, dict[str, str]] = {}
        self.reports: list[AggregateReport] = []
        self.briefs: list[Any] = []

    def later(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    async def department(self, name: str) -> int:
        if name not in self.departments:
            async with self.database.engine.begin() as connection:
                result = await connection.execute(
                    insert(departments_table)
                    .values(name=name, created_at=self.now)
                    .returning(departments_table.c.id)
                )
                self.departments[name] = int(result.scalar_one())
        return self.departments[name]

    async def answer(
        self,
        who: str,
        department: str | None,
        given: Mapping[str, str],
        *,
        vouched: bool = True,
        puppet: bool = False,
    ) -> int:
        """`who` (new or known) checks in `department`; returns the assessment id."""
        self.later(seconds=1)  # every event at its own moment, so the log orders them as they ran
        department_id = None if department is None else await self.department(department)
        async with self.database.engine.begin() as connection:
            if who not in self.people:
                result = await connection.execute(
                    insert(people_table)
                    .values(
                        channel="test",
                        external_id=who,
                        language="en",
                        department_id=department_id,
                        consent=True,
                        created_at=self.now,
                    )
                    .returning(people_table.c.id)
                )
                self.people[who] = int(result.scalar_one())
            person = self.people[who]
            vouch = department_id if vouched else None
            await connection.execute(
                update(people_table)
                .where(people_table.c.id == person)
                .values(department_id=department_id, vouched_department_id=vouch)
            )
            result = await connection.execute(
                insert(assessments_table)
                .values(
                    person_id=person,
                    run_id=1,
                    assessed_at=self.now,
                    phase_presence_model=given["presence_model"],
                    phase_pilot_model=given["pilot_model"],
                    department_id=department_id,
                    lens=None if given["lens"] == "other" else given["lens"],
                    scores={},
                )
                .returning(assessments_table.c.id)
            )
            assessment = int(result.scalar_one())
            named = [f for f in FEARS if given[f"fear:{f}"] == "named"]
            if named:
                await connection.execute(
                    insert(assessment_findings_table),
                    [
                        {"assessment_id": assessment, "kind": "fear", "item": f, "ordinal": i}
                        for i, f in enumerate(named)
                    ],
                )
        self.world.vouched.setdefault(person, []).append((self.now, department_id if vouched else None))
        self.world.assessments.append(Assessment(assessment, person, department_id, self.now, dict(given)))
        if puppet:
            self.world.puppets.add(person)
            self.known[assessment] = dict(given)
        return assessment

    async def commit(self, who: str, outcome: str | None) -> None:
        """`who` commits to a step now, with its follow-up answered at once (`outcome` done, partly,
        not_done) or not (None): the answer of the person's current assessment in the family
        "commitment", as far as the auditor is told (this month only; see _record)."""
        self.later(seconds=1)
        person = self.people[who]
        async with self.database.transaction() as repo:
            made = await repo.commitments.add_commitment(
                person_id=person,
                step="employee_share_a_tip",
                made_at=self.now,
                followup_due_at=None,
                assessment_id=None,
                department_id=None,
            )
            if outcome is not None:
                await repo.commitments.record_outcome(made.id, CommitmentOutcome(outcome), self.now)

    async def forget(self, who: str) -> None:
        """The person's /forget, through the project's own erasure."""
        self.later(seconds=1)
        person = self.people.pop(who)
        async with self.database.transaction() as repo:
            await repo.forget_person(person)
        self.world.erased_at.setdefault(person, []).append(self.now)

    async def report(self, lang: str = "en") -> AggregateReport:
        self.later(seconds=1)
        report = await build_report(
            self.database,
            catalog(),
            lang=lang,
            min_group=self.min_group,
            zone=self.zone,
            refresh_hours=self.refresh_hours,
            now=self.now,
        )
        self.reports.append(report)
        self._record(report)
        return report

    async def brief(self, departments: Sequence[str]) -> Any:
        """A prep brief's figures for a session for `departments` (none: the whole organisation)."""
        self.later(seconds=1)
        ids = [self.departments[d] for d in departments]
        releases, _ = await released_months(
            self.database,
            categories_of(catalog().knowledge),
            min_group=self.min_group,
            zone=self.zone,
            months=6,
            refresh_hours=self.refresh_hours,
            now=self.now,
        )
        current = releases[-1] if releases else None  # the latest month released, as the dispatcher takes it
        figures = audience_figures(current, ids)
        self.briefs.append(figures)
        if current is not None and figures.respondents:
            start = datetime(current.period.year, current.period.month, 1, tzinfo=ZoneInfo(self.zone))
            population = self.world.population(
                period_start=start,
                period_end=self.world.month_end(start) if current.kind == "closed" else None,
                released_at=current.released_at,
                departments=ids or None,
            )
            for model, phases in figures.phases.items():
                for phase, count in phases.items():
                    if count is not None:
                        self.equations.append(Equation(population, model, phase, count, "brief"))
            for fear, count in figures.fears.items():
                if count is not None:
                    self.equations.append(Equation(population, f"fear:{fear}", "named", count, "brief"))
        return figures

    def _record(self, report: AggregateReport) -> None:
        for month in report.months:
            assert month.released_at is not None
            start = datetime(month.start.year, month.start.month, 1, tzinfo=ZoneInfo(self.zone))
            period_end = self.world.month_end(start) if month.closed else None
            shown = [int(row.key[1:]) for row in month.rows if row.key.startswith("d")]
            for row in month.rows:
                if row.key == "org":
                    departments, excluded = None, []
                elif row.key == "other":
                    departments, excluded = None, shown
                else:
                    departments, excluded = [int(row.key[1:])], []
                population = self.world.population(
                    period_start=start,
                    period_end=period_end,
                    released_at=month.released_at,
                    departments=departments,
                    excluded=excluded,
                )
                assert len(population) == row.respondents, (
                    month.label,
                    row.key,
                    len(population),
                    row.respondents,
                )
                follow_up = report.commitments.months if report.commitments else ()
                for released in (m for m in follow_up if m.start == month.start):
                    for line in released.rows:
                        if line.key != row.key:
                            continue
                        for category, count in line.counts.items():
                            if count is not None:
                                self.equations.append(
                                    Equation(
                                        population, "commitment", category, count, f"{month.label}/{row.key}"
                                    )
                                )
                for measure in report.measures:
                    keys = [c for c, _ in measure.categories] + (
                        [measure.implicit[0]] if measure.implicit else []
                    )
                    for category in keys:
                        figure = row.figure(measure.id, category)
                        if figure.count is not None:
                            self.equations.append(
                                Equation(
                                    population, measure.id, category, figure.count, f"{month.label}/{row.key}"
                                )
                            )

    def families(self) -> dict[str, list[str]]:
        measures = self.reports[-1].measures if self.reports else []
        every = {
            m.id: [c for c, _ in m.categories] + ([m.implicit[0]] if m.implicit else []) for m in measures
        }
        every["commitment"] = list(PARTITION)
        return every

    def attacks(self, families: Sequence[str] | None = None) -> list[Finding]:
        """Every successful attack on everything published so far."""
        every = self.families()
        chosen = {f: every[f] for f in (families or every)}
        return audit(self.equations, chosen, self.known, self.min_group)


__all__ = ["CAUSES", "FEARS", "LENSES", "PILOT", "PRESENCE", "Org", "answers", "catalog"]
