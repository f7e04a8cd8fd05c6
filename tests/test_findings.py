"""Fears and causes are rows: a fear or cause added to knowledge/ is stored, counted by the reports'
SQL and by a brief's audience figures without a migration. On SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from bot import PROJECT_ROOT
from bot.content.catalog import load_catalog
from bot.domain import Assessment
from bot.reports.aggregates import collect
from bot.reports.report import categories_of
from bot.storage.database import Database

NOW = datetime(2026, 6, 15, 12, tzinfo=UTC)
ZONE = "Europe/Amsterdam"
NEW_FEAR, NEW_CAUSE = "losing_face_online", "no_time_budget"


async def _checks(database: Database, named: list[tuple[tuple[str, ...], tuple[str, ...]]]) -> int:
    """One person per entry, each with one check naming those fears and causes; returns the department."""
    async with database.transaction() as repo:
        department = await repo.departments.add_department("Sales")
        for index, (fears, causes) in enumerate(named):
            person = await repo.people.person_for_update("telegram", str(9000 + index))
            assert person is not None
            await repo.people.vouch(person.id, department.id)  # counted in reports (issue 14)
            await repo.assessments.add_assessment(
                Assessment(
                    person_id=person.id,
                    run_id=1,
                    phase_presence_model="presence",
                    phase_pilot_model="pilot",
                    fears=fears,
                    causes=causes,
                    lens="six_cs.content",
                    scores={},
                    department_id=department.id,
                    assessed_at=NOW - timedelta(days=index + 1),
                )
            )
    return department.id


async def test_the_reports_count_a_fear_and_a_cause_knowledge_gained(database: Database) -> None:
    department = await _checks(
        database,
        [
            ((NEW_FEAR, "time_loss"), (NEW_CAUSE,)),
            ((NEW_FEAR,), ()),
            (("time_loss",), (NEW_CAUSE, "silo")),
            ((), ()),
        ],
    )
    known = categories_of(load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge").knowledge)
    assert NEW_FEAR not in known.fears
    grown = dataclasses.replace(known, fears=[*known.fears, NEW_FEAR], causes=[*known.causes, NEW_CAUSE])
    async with database.read() as connection:
        before = await collect(connection, known, now=NOW, months=1, zone=ZONE)
        after = await collect(connection, grown, now=NOW, months=1, zone=ZONE)
    counts = after.counts[0][department]
    assert (counts[f"fear:{NEW_FEAR}"], counts[f"cause:{NEW_CAUSE}"]) == (2, 2)
    assert (counts["fear:time_loss"], counts["cause:silo"], counts["fear:security"]) == (2, 1, 0)
    assert after.respondents[0][department] == 4
    # What knowledge does not (yet) list is not asked for, and changes nothing else.
    assert f"fear:{NEW_FEAR}" not in before.counts[0][department]
    assert {k: v for k, v in counts.items() if k in before.counts[0][department]} == before.counts[0][
        department
    ]


async def test_a_brief_counts_a_fear_knowledge_gained(database: Database) -> None:
    department = await _checks(database, [((NEW_FEAR,), ()), ((NEW_FEAR, "security"), ()), ((), ())])
    async with database.transaction(read_only=True) as repo:
        figures = await repo.assessments.audience_figures([department])
        everyone = await repo.assessments.audience_figures([])
        nobody = await repo.assessments.audience_figures([department + 1])
    assert figures.respondents == everyone.respondents == 3
    assert figures.fears == {NEW_FEAR: 2, "security": 1}
    assert figures.phases == {"presence_model": {"presence": 3}, "pilot_model": {"pilot": 3}}
    assert (nobody.respondents, nobody.fears) == (0, {})
