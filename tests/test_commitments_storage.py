"""Commitments in storage, on SQLite and PostgreSQL: stored with their follow-up nudge, answered
once, shared only on request, shown by /mydata's data and erased by forget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.domain import CommitmentOutcome, NudgeKind, NudgeStatus
from bot.storage.database import Database
from bot.storage.models import commitments_table, nudges_table

T0 = datetime(2026, 12, 1, 10, tzinfo=UTC)
WEEK = timedelta(days=7)


async def _nudges(database: Database, person_id: int) -> list[dict[str, Any]]:
    """The person's nudge rows, read after the writing transaction committed (aware UTC times)."""
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            select(nudges_table).where(nudges_table.c.person_id == person_id).order_by(nudges_table.c.id)
        )
        return [
            {**row, "due_at": row["due_at"] if row["due_at"].tzinfo else row["due_at"].replace(tzinfo=UTC)}
            for row in rows.mappings()
        ]


async def _person(database: Database, external_id: str = "1") -> int:
    async with database.transaction() as repo:
        person = await repo.people.person_for_update("telegram", external_id)
        assert person is not None
        return person.id


async def test_a_commitment_is_stored_with_one_follow_up(database: Database) -> None:
    person_id = await _person(database)
    async with database.transaction() as repo:
        made = await repo.commitments.add_commitment(
            person_id=person_id,
            step="employee_share_a_tip",
            made_at=T0,
            followup_due_at=T0 + WEEK,
            assessment_id=None,
            department_id=None,
        )
    nudges = await _nudges(database, person_id)
    async with database.transaction(read_only=True) as repo:
        data = await repo.personal_data(person_id)
    assert made.step == "employee_share_a_tip" and made.outcome is None
    assert [(n["kind"], n["due_at"], n["commitment_id"]) for n in nudges] == [
        (NudgeKind.COMMITMENT, T0 + WEEK, made.id)
    ]
    assert [c.id for c in data.commitments] == [made.id]


async def test_a_new_commitment_replaces_the_open_one_and_its_follow_up(database: Database) -> None:
    person_id = await _person(database)
    async with database.transaction() as repo:
        first = await repo.commitments.add_commitment(
            person_id=person_id,
            step="a",
            made_at=T0,
            followup_due_at=T0 + WEEK,
            assessment_id=None,
            department_id=None,
        )
        second = await repo.commitments.add_commitment(
            person_id=person_id,
            step="b",
            made_at=T0 + timedelta(hours=1),
            followup_due_at=T0 + WEEK,
            assessment_id=None,
            department_id=None,
        )
    async with database.transaction(read_only=True) as repo:
        old = await repo.commitments.commitment(first.id)
    nudges = {n["commitment_id"]: n["status"] for n in await _nudges(database, person_id)}
    assert old is not None and old.outcome == CommitmentOutcome.REPLACED
    assert nudges == {first.id: NudgeStatus.CANCELLED, second.id: NudgeStatus.PENDING}


async def test_only_the_first_answer_counts_and_it_cancels_the_follow_up(database: Database) -> None:
    person_id = await _person(database)
    async with database.transaction() as repo:
        made = await repo.commitments.add_commitment(
            person_id=person_id,
            step="a",
            made_at=T0,
            followup_due_at=T0 + WEEK,
            assessment_id=None,
            department_id=None,
        )
        await repo.commitments.record_outcome(made.id, CommitmentOutcome.DONE, T0 + timedelta(days=2))
        again = await repo.commitments.record_outcome(
            made.id, CommitmentOutcome.NOT_DONE, T0 + timedelta(days=3)
        )
    assert again is not None and again.outcome == CommitmentOutcome.DONE
    assert again.answered_at == T0 + timedelta(days=2)
    assert [n["status"] for n in await _nudges(database, person_id)] == [NudgeStatus.CANCELLED]


async def test_only_shared_successes_reach_the_champions(database: Database) -> None:
    async with database.transaction() as repo:
        sales = await repo.departments.add_department("Sales")
    ids = [await _person(database, str(n)) for n in range(3)]
    async with database.transaction() as repo:
        made = [
            await repo.commitments.add_commitment(
                person_id=p,
                step=f"s{n}",
                made_at=T0,
                followup_due_at=None,
                assessment_id=None,
                department_id=sales.id,
            )
            for n, p in enumerate(ids)
        ]
        for commitment in made:
            await repo.commitments.record_outcome(commitment.id, CommitmentOutcome.DONE, T0 + WEEK)
            await repo.commitments.set_worked(commitment.id, f"secret {commitment.step}")
        await repo.commitments.set_shared(made[1].id, T0 + WEEK)
        # Not done cannot be shared, even when asked.
        await repo.commitments.set_shared(made[2].id, None)
    async with database.transaction(read_only=True) as repo:
        shared = await repo.commitments.shared_successes([sales.id], since=T0)
        elsewhere = await repo.commitments.shared_successes([sales.id + 99], since=T0)
        everyone = await repo.commitments.shared_successes([], since=T0)
    assert [(s.step, s.worked) for s in shared] == [("s1", "secret s1")]
    assert elsewhere == []
    assert [s.step for s in everyone] == ["s1"]


async def test_a_commitment_not_done_cannot_be_shared(database: Database) -> None:
    person_id = await _person(database)
    async with database.transaction() as repo:
        made = await repo.commitments.add_commitment(
            person_id=person_id,
            step="a",
            made_at=T0,
            followup_due_at=None,
            assessment_id=None,
            department_id=None,
        )
        await repo.commitments.record_outcome(made.id, CommitmentOutcome.NOT_DONE, T0 + WEEK)
        await repo.commitments.set_shared(made.id, T0 + WEEK)
        assert await repo.commitments.shared_successes([], since=T0) == []


async def test_stopping_follow_ups_cancels_the_pending_one(database: Database) -> None:
    person_id = await _person(database)
    async with database.transaction() as repo:
        await repo.commitments.add_commitment(
            person_id=person_id,
            step="a",
            made_at=T0,
            followup_due_at=T0 + WEEK,
            assessment_id=None,
            department_id=None,
        )
        await repo.commitments.set_followups_off(person_id, True)
        assert await repo.commitments.followups_off(person_id)
    assert [n["status"] for n in await _nudges(database, person_id)] == [NudgeStatus.CANCELLED]


async def test_forget_erases_commitments_and_their_nudges(database: Database) -> None:
    person_id = await _person(database)
    other = await _person(database, "2")
    async with database.transaction() as repo:
        for who in (person_id, other):
            await repo.commitments.add_commitment(
                person_id=who,
                step="a",
                made_at=T0,
                followup_due_at=T0 + WEEK,
                assessment_id=None,
                department_id=None,
            )
        await repo.forget_person(person_id)
    async with database.engine.connect() as connection:
        left = await connection.execute(
            select(commitments_table.c.person_id, func.count()).group_by(commitments_table.c.person_id)
        )
        nudges = await connection.execute(select(nudges_table.c.person_id))
    assert dict(left.all()) == {other: 1}
    assert [r[0] for r in nudges] == [other]
