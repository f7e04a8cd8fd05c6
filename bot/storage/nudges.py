"""Nudges: the messages owed to people at a time, planned ahead and claimed by one dispatcher each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.engine import RowMapping

from bot.domain import Nudge, NudgeKind, NudgeStatus, Role
from bot.storage.models import assessments_table, nudges_table, people_table
from bot.storage.sql import Repository

#: last_error is a short diagnosis, never a message text (that could carry personal data).
ERROR_MAX = 200


@dataclass(frozen=True)
class NewNudge:
    """A nudge to insert; `dedupe_key` makes a racing second insert a no-op."""

    kind: NudgeKind
    person_id: int
    due_at: datetime
    session_id: int | None = None
    offset_minutes: int | None = None
    dedupe_key: str | None = None
    commitment_id: int | None = None


@dataclass(frozen=True)
class NudgeTarget:
    """A claimed nudge with what the dispatcher needs to decide on it and address it."""

    nudge: Nudge
    channel: str
    external_id: str
    language: str | None
    reachable: bool
    consent: bool
    role: Role
    department_id: int | None
    session_reminders: bool
    recheck_opt_out: bool
    followup_opt_out: bool = False


@dataclass(frozen=True)
class NudgeHistory:
    """One person's capped nudges around a sweep: when they went out, and what is still to come."""

    sent: tuple[datetime, ...] = ()
    #: (nudge id, kind, due_at, session id) of pending ones.
    pending: tuple[tuple[int, NudgeKind, datetime, int | None], ...] = ()


class NudgeRepository(Repository):
    """The `nudges` rows, inside the caller's transaction."""

    # -- planning --------------------------------------------------------------------------------

    async def add_nudges(self, nudges: Iterable[NewNudge], now: datetime) -> int:
        """Inserts in one statement; a nudge whose dedupe_key exists already is skipped."""
        rows = [
            {
                "kind": str(n.kind),
                "person_id": n.person_id,
                "session_id": n.session_id,
                "offset_minutes": n.offset_minutes,
                "due_at": n.due_at,
                "status": str(NudgeStatus.PENDING),
                "created_at": now,
                "attempts": 0,
                "dedupe_key": n.dedupe_key,
                "commitment_id": n.commitment_id,
            }
            for n in nudges
        ]
        if not rows:
            return 0
        return await self._rowcount(self._insert_ignoring_conflict(nudges_table, "dedupe_key"), rows)

    async def session_nudges(self, session_id: int) -> list[Nudge]:
        rows = await self._session.execute(
            select(nudges_table)
            .where(nudges_table.c.session_id == session_id)
            .order_by(nudges_table.c.due_at, nudges_table.c.id)
        )
        return [_nudge(r) for r in rows.mappings()]

    async def set_due(self, nudge_id: int, due_at: datetime) -> None:
        """Moves a nudge that is still pending; one already claimed goes out as it was."""
        await self._session.execute(
            update(nudges_table)
            .where(nudges_table.c.id == nudge_id, nudges_table.c.status == str(NudgeStatus.PENDING))
            .values(due_at=due_at)
        )

    async def cancel_pending(
        self,
        *,
        reason: str,
        ids: Sequence[int] | None = None,
        session_id: int | None = None,
        person_id: int | None = None,
        kinds: Sequence[NudgeKind] | None = None,
        commitment_id: int | None = None,
    ) -> int:
        """Cancels pending nudges matching every given condition; returns how many."""
        conditions = [nudges_table.c.status == str(NudgeStatus.PENDING)]
        if ids is not None:
            conditions.append(nudges_table.c.id.in_(list(ids)))
        if session_id is not None:
            conditions.append(nudges_table.c.session_id == session_id)
        if person_id is not None:
            conditions.append(nudges_table.c.person_id == person_id)
        if kinds is not None:
            conditions.append(nudges_table.c.kind.in_([str(k) for k in kinds]))
        if commitment_id is not None:
            conditions.append(nudges_table.c.commitment_id == commitment_id)
        if len(conditions) == 1:
            raise ValueError("cancel_pending needs at least one condition besides the status")
        return await self._rowcount(
            update(nudges_table)
            .where(*conditions)
            .values(status=str(NudgeStatus.CANCELLED), last_error=reason[:ERROR_MAX])
        )

    async def recheck_candidates(self, cutoff: datetime, limit: int) -> list[tuple[int, int]]:
        """(person_id, assessment_id) of people whose latest check is older than cutoff, not yet offered.

        "Offered" means a re-check nudge created after that latest check, in any state: an offer
        that was ignored is not repeated until the person does a new check.
        """
        a, b, p, n = assessments_table, assessments_table.alias("newer"), people_table, nudges_table
        newer = exists().where(
            b.c.person_id == a.c.person_id,
            or_(b.c.assessed_at > a.c.assessed_at, and_(b.c.assessed_at == a.c.assessed_at, b.c.id > a.c.id)),
        )
        offered = exists().where(
            n.c.person_id == a.c.person_id,
            n.c.kind == str(NudgeKind.RECHECK),
            n.c.created_at >= a.c.assessed_at,
        )
        rows = await self._session.execute(
            select(a.c.person_id, a.c.id)
            .join(p, p.c.id == a.c.person_id)
            .where(
                p.c.channel == "telegram",
                p.c.consent.is_(True),
                p.c.reachable.is_(True),
                p.c.recheck_opt_out.is_(False),
                a.c.assessed_at <= cutoff,
                ~newer,
                ~offered,
            )
            .order_by(a.c.assessed_at)
            .limit(limit)
        )
        return [(int(r[0]), int(r[1])) for r in rows]

    # -- the dispatcher --------------------------------------------------------------------------

    async def claim_due(self, worker: str, now: datetime, lease_cutoff: datetime, limit: int) -> list[int]:
        """Claims up to `limit` due nudges (and ones whose claim lapsed) for `worker`, soonest first.

        PostgreSQL: FOR UPDATE SKIP LOCKED lets a second dispatcher take other rows instead of
        waiting, and the status re-check on the locked row keeps it from taking a row the first
        already claimed. SQLite drops the clause; BEGIN IMMEDIATE already admits one claimer at a time.
        """
        n = nudges_table
        due = and_(n.c.status == str(NudgeStatus.PENDING), n.c.due_at <= now)
        lapsed = and_(n.c.status == str(NudgeStatus.CLAIMED), n.c.claimed_at < lease_cutoff)
        picked = (
            select(n.c.id)
            .where(or_(due, lapsed))
            .order_by(n.c.due_at, n.c.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self._session.execute(
            update(n)
            .where(n.c.id.in_(picked))
            .values(
                status=str(NudgeStatus.CLAIMED),
                claimed_by=worker,
                claimed_at=now,
                attempts=n.c.attempts + 1,
            )
            .returning(n.c.id)
        )
        return sorted(int(i) for i in result.scalars())

    async def nudge_targets(self, nudge_ids: Sequence[int]) -> list[NudgeTarget]:
        """The claimed nudges with their people; a nudge whose person was erased is simply absent."""
        if not nudge_ids:
            return []
        n, p = nudges_table, people_table
        rows = await self._session.execute(
            select(
                n,
                p.c.channel,
                p.c.external_id,
                p.c.language,
                p.c.reachable,
                p.c.consent,
                p.c.role,
                p.c.department_id,
                p.c.session_reminders,
                p.c.recheck_opt_out,
                p.c.followup_opt_out,
            )
            .join(p, p.c.id == n.c.person_id)
            .where(n.c.id.in_(list(nudge_ids)))
            .order_by(n.c.due_at, n.c.id)
        )
        return [
            NudgeTarget(
                nudge=_nudge(r),
                channel=r["channel"],
                external_id=r["external_id"],
                language=r["language"],
                reachable=bool(r["reachable"]),
                consent=bool(r["consent"]),
                role=Role(r["role"]),
                department_id=r["department_id"],
                session_reminders=bool(r["session_reminders"]),
                recheck_opt_out=bool(r["recheck_opt_out"]),
                followup_opt_out=bool(r["followup_opt_out"]),
            )
            for r in rows.mappings()
        ]

    async def history(
        self, person_ids: Sequence[int], kinds: Sequence[NudgeKind], since: datetime
    ) -> dict[int, NudgeHistory]:
        """For the nudge policy: each person's sends of these kinds since `since`, and pending ones."""
        if not person_ids:
            return {}
        n = nudges_table
        wanted = [str(k) for k in kinds]
        rows = await self._session.execute(
            select(
                n.c.id, n.c.person_id, n.c.kind, n.c.status, n.c.due_at, n.c.sent_at, n.c.session_id
            ).where(
                n.c.person_id.in_(list(person_ids)),
                n.c.kind.in_(wanted),
                or_(
                    and_(n.c.status == str(NudgeStatus.SENT), n.c.sent_at >= since),
                    n.c.status == str(NudgeStatus.PENDING),
                ),
            )
        )
        sent: dict[int, list[datetime]] = {}
        pending: dict[int, list[tuple[int, NudgeKind, datetime, int | None]]] = {}
        for r in rows.mappings():
            if r["status"] == str(NudgeStatus.SENT):
                sent.setdefault(r["person_id"], []).append(r["sent_at"])
            else:
                pending.setdefault(r["person_id"], []).append(
                    (r["id"], NudgeKind(r["kind"]), r["due_at"], r["session_id"])
                )
        return {
            pid: NudgeHistory(tuple(sorted(sent.get(pid, ()))), tuple(pending.get(pid, ())))
            for pid in person_ids
        }

    async def postpone(self, nudge_id: int, worker: str, due_at: datetime, reason: str) -> bool:
        """Hands a claimed nudge back for a later time (quiet hours, the weekly cap).

        The claim's attempt is given back too: waiting is not a failed send.
        """
        n = nudges_table
        count = await self._rowcount(
            update(n)
            .where(n.c.id == nudge_id, n.c.status == str(NudgeStatus.CLAIMED), n.c.claimed_by == worker)
            .values(
                status=str(NudgeStatus.PENDING),
                due_at=due_at,
                claimed_by=None,
                claimed_at=None,
                attempts=n.c.attempts - 1,
                last_error=f"postponed: {reason}"[:ERROR_MAX],
            )
        )
        return count == 1

    async def finish(
        self,
        nudge_id: int,
        worker: str,
        status: NudgeStatus,
        now: datetime,
        error: str | None = None,
    ) -> bool:
        """Marks a nudge this worker holds sent, failed or cancelled; False if its claim was lost."""
        values: dict[str, Any] = {"status": str(status)}
        if status == NudgeStatus.SENT:
            values["sent_at"] = now
        if error is not None:
            values["last_error"] = error[:ERROR_MAX]
        count = await self._rowcount(
            update(nudges_table)
            .where(
                nudges_table.c.id == nudge_id,
                nudges_table.c.status == str(NudgeStatus.CLAIMED),
                nudges_table.c.claimed_by == worker,
            )
            .values(**values)
        )
        return count == 1

    async def release(self, nudge_id: int, worker: str, error: str | None = None) -> bool:
        """Hands a claimed nudge back (not sent, may be tried again by any dispatcher)."""
        count = await self._rowcount(
            update(nudges_table)
            .where(
                nudges_table.c.id == nudge_id,
                nudges_table.c.status == str(NudgeStatus.CLAIMED),
                nudges_table.c.claimed_by == worker,
            )
            .values(
                status=str(NudgeStatus.PENDING),
                claimed_by=None,
                claimed_at=None,
                last_error=None if error is None else error[:ERROR_MAX],
            )
        )
        return count == 1

    # -- counts for tests and operators ----------------------------------------------------------

    async def nudge_counts(self) -> dict[str, int]:
        rows = await self._session.execute(
            select(nudges_table.c.status, func.count()).group_by(nudges_table.c.status)
        )
        return {str(status): int(count) for status, count in rows}


def _nudge(row: RowMapping) -> Nudge:
    return Nudge(
        id=row["id"],
        kind=NudgeKind(row["kind"]),
        person_id=row["person_id"],
        due_at=row["due_at"],
        status=NudgeStatus(row["status"]),
        session_id=row["session_id"],
        offset_minutes=row["offset_minutes"],
        attempts=row["attempts"],
        sent_at=row["sent_at"],
        last_error=row["last_error"],
        commitment_id=row["commitment_id"],
    )
