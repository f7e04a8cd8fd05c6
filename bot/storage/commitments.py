"""Commitments: a person's "yes, I'll do this step this week", its follow-up and what came of it.

One repository for the aggregate: the commitment row, the person's opt-out of follow-ups (a column
on people, as the other nudge preferences are), and the shared successes champions may read.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping

from bot.domain import Commitment, CommitmentOutcome, NudgeKind, SharedSuccess
from bot.storage.models import commitments_table, people_table
from bot.storage.nudges import NewNudge, NudgeRepository
from bot.storage.sql import Repository

#: Longest "what worked" text kept; the engine already refuses longer typed answers.
WORKED_MAX = 1000


class CommitmentRepository(Repository):
    """The `commitments` rows, inside the caller's transaction."""

    async def add_commitment(
        self,
        *,
        person_id: int,
        step: str,
        made_at: datetime,
        followup_due_at: datetime | None,
        assessment_id: int | None,
        department_id: int | None,
    ) -> Commitment:
        """Stores a commitment; with a due time, plans its follow-up nudge in the same transaction.

        A person holds one open commitment at a time: an older one still unanswered is marked
        replaced and its follow-up cancelled, so nobody is asked about last week's step and this
        week's at once.
        """
        open_ones = await self.open_commitments(person_id)
        if open_ones:
            ids = [c.id for c in open_ones]
            await self._session.execute(
                update(commitments_table)
                .where(commitments_table.c.id.in_(ids))
                .values(outcome=str(CommitmentOutcome.REPLACED), answered_at=made_at)
            )
            await NudgeRepository(self._session).cancel_pending(
                reason="a newer commitment replaced it", person_id=person_id, kinds=[NudgeKind.COMMITMENT]
            )
        due = followup_due_at or made_at
        result = await self._session.execute(
            commitments_table.insert()
            .values(
                person_id=person_id,
                step=step,
                made_at=made_at,
                followup_due_at=due,
                assessment_id=assessment_id,
                department_id=department_id,
            )
            .returning(commitments_table.c.id)
        )
        commitment_id = int(result.scalar_one())
        if followup_due_at is not None:
            await NudgeRepository(self._session).add_nudges(
                [
                    NewNudge(
                        NudgeKind.COMMITMENT,
                        person_id,
                        followup_due_at,
                        commitment_id=commitment_id,
                        dedupe_key=f"commitment:{commitment_id}",
                    )
                ],
                made_at,
            )
        found = await self.commitment(commitment_id)
        assert found is not None
        return found

    async def commitment(self, commitment_id: int) -> Commitment | None:
        row = await self._one(select(commitments_table).where(commitments_table.c.id == commitment_id))
        return None if row is None else _commitment(row)

    async def commitments_of(self, person_id: int, limit: int | None = None) -> list[Commitment]:
        """Newest first."""
        query = (
            select(commitments_table)
            .where(commitments_table.c.person_id == person_id)
            .order_by(commitments_table.c.made_at.desc(), commitments_table.c.id.desc())
        )
        if limit is not None:
            query = query.limit(limit)
        rows = await self._session.execute(query)
        return [_commitment(r) for r in rows.mappings()]

    async def open_commitments(self, person_id: int) -> list[Commitment]:
        rows = await self._session.execute(
            select(commitments_table).where(
                commitments_table.c.person_id == person_id, commitments_table.c.outcome.is_(None)
            )
        )
        return [_commitment(r) for r in rows.mappings()]

    async def record_outcome(
        self, commitment_id: int, outcome: CommitmentOutcome, now: datetime
    ) -> Commitment | None:
        """The follow-up's answer; only the first answer counts (a second tap changes nothing)."""
        await self._session.execute(
            update(commitments_table)
            .where(commitments_table.c.id == commitment_id, commitments_table.c.outcome.is_(None))
            .values(outcome=str(outcome), answered_at=now)
        )
        await NudgeRepository(self._session).cancel_pending(
            reason="answered before its follow-up", kinds=[NudgeKind.COMMITMENT], commitment_id=commitment_id
        )
        return await self.commitment(commitment_id)

    async def set_worked(self, commitment_id: int, text: str | None) -> None:
        await self._session.execute(
            update(commitments_table)
            .where(commitments_table.c.id == commitment_id)
            .values(worked=None if text is None else text[:WORKED_MAX])
        )

    async def set_held_back(self, commitment_id: int, held_back: str) -> None:
        await self._session.execute(
            update(commitments_table)
            .where(commitments_table.c.id == commitment_id)
            .values(held_back=held_back)
        )

    async def set_shared(self, commitment_id: int, shared_at: datetime | None) -> None:
        """Shares (or takes back) a success; only done or partly done commitments can be shared."""
        await self._session.execute(
            update(commitments_table)
            .where(
                commitments_table.c.id == commitment_id,
                commitments_table.c.outcome.in_([str(CommitmentOutcome.DONE), str(CommitmentOutcome.PARTLY)]),
            )
            .values(shared_at=shared_at)
        )

    async def shared_successes(
        self, department_ids: Sequence[int], since: datetime, limit: int = 3
    ) -> list[SharedSuccess]:
        """Recent successes people agreed to share, from these departments (none: everyone's).

        Only rows with shared_at set are read: a success nobody agreed to share cannot reach a brief.
        """
        c = commitments_table
        query = select(c.c.step, c.c.worked, c.c.shared_at, c.c.department_id).where(
            c.c.shared_at.is_not(None), c.c.shared_at >= since
        )
        if department_ids:
            query = query.where(c.c.department_id.in_(list(department_ids)))
        rows = await self._session.execute(query.order_by(c.c.shared_at.desc(), c.c.id.desc()).limit(limit))
        return [
            SharedSuccess(
                step=r["step"], worked=r["worked"], shared_at=r["shared_at"], department_id=r["department_id"]
            )
            for r in rows.mappings()
        ]

    # -- the person's preference -------------------------------------------------------------------

    async def followups_off(self, person_id: int) -> bool:
        row = await self._one(select(people_table.c.followup_opt_out).where(people_table.c.id == person_id))
        return bool(row and row["followup_opt_out"])

    async def set_followups_off(self, person_id: int, off: bool) -> None:
        """ "Niet meer vragen": no follow-ups from now on, and the pending one is cancelled."""
        await self._session.execute(
            update(people_table).where(people_table.c.id == person_id).values(followup_opt_out=off)
        )
        if off:
            await NudgeRepository(self._session).cancel_pending(
                reason="follow-ups turned off", person_id=person_id, kinds=[NudgeKind.COMMITMENT]
            )


def _commitment(row: RowMapping) -> Commitment:
    return Commitment(
        id=row["id"],
        person_id=row["person_id"],
        step=row["step"],
        made_at=row["made_at"],
        followup_due_at=row["followup_due_at"],
        assessment_id=row["assessment_id"],
        department_id=row["department_id"],
        outcome=None if row["outcome"] is None else CommitmentOutcome(row["outcome"]),
        answered_at=row["answered_at"],
        worked=row["worked"],
        held_back=row["held_back"],
        shared_at=row["shared_at"],
    )
