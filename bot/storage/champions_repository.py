"""SQL for champions: invites, sessions, nudges and guided-dialogue drafts.

It works inside the coach's unit of work (one transaction, one person row locked), so a champion's
command and the coach's turn never interleave. Like SqlCoachRepository it issues Core statements and
hands back the plain dataclasses of bot.domain.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    CursorResult,
    Executable,
    Insert,
    and_,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import (
    InspirationSession,
    Nudge,
    NudgeKind,
    NudgeStatus,
    Person,
    Role,
    RoleHolder,
    SessionDraft,
    SessionKind,
)
from bot.ports import CoachRepository, StaleVersion
from bot.storage.models import (
    assessments_table,
    inspiration_sessions_table,
    invites_table,
    nudges_table,
    people_table,
    session_champions_table,
    session_departments_table,
    session_drafts_table,
)
from bot.storage.repository import SqlCoachRepository

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


@dataclass(frozen=True)
class InviteState:
    """What is known about a code that could not be used: why it was refused."""

    role: Role
    used: bool
    expires_at: datetime


class SqlChampionsRepository:
    """One unit of work's champion queries; every call runs in the caller's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._dialect = session.get_bind().dialect.name
        self.people = SqlCoachRepository(session)

    @classmethod
    def joining(cls, repo: CoachRepository) -> SqlChampionsRepository:
        """The champion queries inside the transaction `repo` belongs to (the coach's unit of work)."""
        session = getattr(repo, "_session", None)
        if not isinstance(session, AsyncSession):
            raise TypeError("champion storage needs the SQL unit of work (bot.storage.database)")
        return cls(session)

    @property
    def session(self) -> AsyncSession:
        """For aggregate SQL that lives next to what it feeds (bot.champions.briefs)."""
        return self._session

    # -- helpers ---------------------------------------------------------------------------------

    def _insert(self, table: Any) -> Insert:
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        if self._dialect == "sqlite":
            return sqlite.insert(table)
        return insert(table)

    async def _rowcount(self, stmt: Executable, params: Any = None) -> int:
        result = cast(CursorResult[Any], await self._session.execute(stmt, params))
        return result.rowcount

    # -- people and roles ------------------------------------------------------------------------

    async def person(self, person_id: int) -> Person | None:
        return await self.people.person(person_id)

    async def set_role(self, person_id: int, role: Role) -> None:
        await self._session.execute(
            update(people_table).where(people_table.c.id == person_id).values(role=str(role))
        )

    async def role_holders(self) -> list[RoleHolder]:
        """Champions and admins with the label of the invite they accepted (newest), admins first."""
        label = (
            select(invites_table.c.label)
            .where(invites_table.c.used_by == people_table.c.id)
            .order_by(invites_table.c.used_at.desc(), invites_table.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        rows = await self._session.execute(
            select(people_table.c.id, people_table.c.role, people_table.c.external_id, label.label("label"))
            .where(people_table.c.role.in_([str(Role.CHAMPION), str(Role.ADMIN)]))
            .order_by(people_table.c.role, people_table.c.id)
        )
        return [
            RoleHolder(person_id=r.id, role=Role(r.role), label=r.label, external_id=r.external_id)
            for r in rows
        ]

    async def preferences(self, person_id: int) -> tuple[bool, bool]:
        """(session_reminders, recheck_opt_out)."""
        row = (
            await self._session.execute(
                select(people_table.c.session_reminders, people_table.c.recheck_opt_out).where(
                    people_table.c.id == person_id
                )
            )
        ).first()
        return (False, False) if row is None else (bool(row[0]), bool(row[1]))

    async def set_session_reminders(self, person_id: int, wanted: bool) -> None:
        await self._session.execute(
            update(people_table).where(people_table.c.id == person_id).values(session_reminders=wanted)
        )

    async def set_recheck_opt_out(self, person_id: int, opted_out: bool) -> None:
        await self._session.execute(
            update(people_table).where(people_table.c.id == person_id).values(recheck_opt_out=opted_out)
        )

    async def set_unreachable(self, person_id: int) -> None:
        """The person blocked the bot (403): no nudge is tried again until they come back."""
        await self._session.execute(
            update(people_table).where(people_table.c.id == person_id).values(reachable=False)
        )

    # -- invites ---------------------------------------------------------------------------------

    async def add_invite(
        self,
        *,
        code_hash: str,
        role: Role,
        label: str | None,
        created_by: int | None,
        created_at: datetime,
        expires_at: datetime,
    ) -> int:
        result = await self._session.execute(
            invites_table.insert()
            .values(
                code_hash=code_hash,
                role=str(role),
                label=label,
                created_by=created_by,
                created_at=created_at,
                expires_at=expires_at,
            )
            .returning(invites_table.c.id)
        )
        return int(result.scalar_one())

    async def use_invite(self, code_hash: str, person_id: int, now: datetime) -> Role | None:
        """Marks an unused, unexpired invite used by the person and returns its role, atomically.

        The conditions sit in the UPDATE itself, so of two people racing for one code exactly one
        gets a row back (PostgreSQL re-checks them on the locked row; SQLite serialises writers).
        """
        result = await self._session.execute(
            update(invites_table)
            .where(
                invites_table.c.code_hash == code_hash,
                invites_table.c.used_at.is_(None),
                invites_table.c.expires_at > now,
            )
            .values(used_at=now, used_by=person_id)
            .returning(invites_table.c.role)
        )
        role = result.scalar_one_or_none()
        return None if role is None else Role(role)

    async def invite_state(self, code_hash: str) -> InviteState | None:
        row = (
            await self._session.execute(
                select(invites_table.c.role, invites_table.c.used_at, invites_table.c.expires_at).where(
                    invites_table.c.code_hash == code_hash
                )
            )
        ).first()
        if row is None:
            return None
        return InviteState(role=Role(row.role), used=row.used_at is not None, expires_at=row.expires_at)

    # -- sessions --------------------------------------------------------------------------------

    async def add_session(
        self,
        *,
        kind: SessionKind,
        starts_at: datetime,
        place: str,
        created_by: int | None,
        department_ids: Sequence[int],
        champion_ids: Sequence[int],
        now: datetime,
    ) -> InspirationSession:
        result = await self._session.execute(
            inspiration_sessions_table.insert()
            .values(kind=str(kind), starts_at=starts_at, place=place, created_by=created_by, created_at=now)
            .returning(inspiration_sessions_table.c.id)
        )
        session_id = int(result.scalar_one())
        departments = sorted(set(department_ids))
        champions = sorted(set(champion_ids))
        if departments:
            await self._session.execute(
                session_departments_table.insert(),
                [{"session_id": session_id, "department_id": d} for d in departments],
            )
        if champions:
            await self._session.execute(
                session_champions_table.insert(),
                [{"session_id": session_id, "person_id": p} for p in champions],
            )
        return InspirationSession(
            id=session_id,
            kind=kind,
            starts_at=starts_at,
            place=place,
            department_ids=tuple(departments),
            champion_ids=tuple(champions),
            created_by=created_by,
        )

    async def session_by_id(self, session_id: int) -> InspirationSession | None:
        found = await self._sessions(inspiration_sessions_table.c.id == session_id)
        return found[0] if found else None

    async def upcoming_sessions(self, now: datetime, *, limit: int = 20) -> list[InspirationSession]:
        """Sessions not cancelled that have not started yet, soonest first."""
        return await self._sessions(
            and_(
                inspiration_sessions_table.c.starts_at > now,
                inspiration_sessions_table.c.cancelled_at.is_(None),
            ),
            limit=limit,
        )

    async def recent_sessions(self, now: datetime, *, limit: int = 5) -> list[InspirationSession]:
        """Sessions held already (not cancelled), latest first: where the follow-ups show."""
        return await self._sessions(
            and_(
                inspiration_sessions_table.c.starts_at <= now,
                inspiration_sessions_table.c.cancelled_at.is_(None),
            ),
            limit=limit,
            newest_first=True,
        )

    async def _sessions(
        self, condition: Any, *, limit: int | None = None, newest_first: bool = False
    ) -> list[InspirationSession]:
        t = inspiration_sessions_table
        order = (t.c.starts_at.desc(), t.c.id.desc()) if newest_first else (t.c.starts_at, t.c.id)
        query = select(t).where(condition).order_by(*order)
        if limit is not None:
            query = query.limit(limit)
        rows = list((await self._session.execute(query)).mappings())
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        departments: dict[int, list[int]] = {i: [] for i in ids}
        champions: dict[int, list[int]] = {i: [] for i in ids}
        for sid, did in await self._session.execute(
            select(session_departments_table.c.session_id, session_departments_table.c.department_id)
            .where(session_departments_table.c.session_id.in_(ids))
            .order_by(session_departments_table.c.department_id)
        ):
            departments[sid].append(did)
        for sid, pid in await self._session.execute(
            select(session_champions_table.c.session_id, session_champions_table.c.person_id)
            .where(session_champions_table.c.session_id.in_(ids))
            .order_by(session_champions_table.c.person_id)
        ):
            champions[sid].append(pid)
        return [_session_of(r, departments[r["id"]], champions[r["id"]]) for r in rows]

    async def move_session(self, session_id: int, starts_at: datetime) -> None:
        await self._session.execute(
            update(inspiration_sessions_table)
            .where(inspiration_sessions_table.c.id == session_id)
            .values(starts_at=starts_at)
        )

    async def cancel_session(self, session_id: int, now: datetime) -> None:
        await self._session.execute(
            update(inspiration_sessions_table)
            .where(inspiration_sessions_table.c.id == session_id)
            .values(cancelled_at=now)
        )

    async def record_followup(self, session_id: int, attended: int, want_workshop: int | None) -> None:
        await self._session.execute(
            update(inspiration_sessions_table)
            .where(inspiration_sessions_table.c.id == session_id)
            .values(attended=attended, want_workshop=want_workshop)
        )

    async def leave_upcoming_sessions(self, person_id: int, now: datetime) -> list[int]:
        """Takes a former champion off sessions still to come; returns those sessions' ids."""
        upcoming = select(inspiration_sessions_table.c.id).where(inspiration_sessions_table.c.starts_at > now)
        ids = list(
            (
                await self._session.execute(
                    select(session_champions_table.c.session_id).where(
                        session_champions_table.c.person_id == person_id,
                        session_champions_table.c.session_id.in_(upcoming),
                    )
                )
            ).scalars()
        )
        if ids:
            await self._session.execute(
                delete(session_champions_table).where(
                    session_champions_table.c.person_id == person_id,
                    session_champions_table.c.session_id.in_(ids),
                )
            )
        return ids

    # -- nudges: planning ------------------------------------------------------------------------

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
            }
            for n in nudges
        ]
        if not rows:
            return 0
        stmt = self._insert(nudges_table)
        if isinstance(stmt, postgresql.Insert | sqlite.Insert):
            stmt = stmt.on_conflict_do_nothing(index_elements=["dedupe_key"])
        return await self._rowcount(stmt, rows)

    async def session_nudges(self, session_id: int) -> list[Nudge]:
        rows = await self._session.execute(
            select(nudges_table)
            .where(nudges_table.c.session_id == session_id)
            .order_by(nudges_table.c.due_at, nudges_table.c.id)
        )
        return [_nudge(r) for r in rows.mappings()]

    async def nudges_of(self, person_id: int) -> list[Nudge]:
        rows = await self._session.execute(
            select(nudges_table)
            .where(nudges_table.c.person_id == person_id)
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
        if len(conditions) == 1:
            raise ValueError("cancel_pending needs at least one condition besides the status")
        return await self._rowcount(
            update(nudges_table)
            .where(*conditions)
            .values(status=str(NudgeStatus.CANCELLED), last_error=reason[:ERROR_MAX])
        )

    async def reminder_recipients(self, department_ids: Sequence[int]) -> list[int]:
        """People on Telegram who opted in to reminders, in the departments (all, when none given)."""
        p = people_table
        query = select(p.c.id).where(
            p.c.channel == "telegram",
            p.c.consent.is_(True),
            p.c.reachable.is_(True),
            p.c.session_reminders.is_(True),
        )
        if department_ids:
            query = query.where(p.c.department_id.in_(list(department_ids)))
        return list((await self._session.execute(query.order_by(p.c.id))).scalars())

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

    # -- nudges: the dispatcher ------------------------------------------------------------------

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
            )
            for r in rows.mappings()
        ]

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

    # -- drafts of guided dialogues --------------------------------------------------------------

    async def draft(self, person_id: int) -> SessionDraft | None:
        row = (
            (
                await self._session.execute(
                    select(session_drafts_table).where(session_drafts_table.c.person_id == person_id)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return SessionDraft(
            person_id=row["person_id"],
            flow=row["flow"],
            step=row["step"],
            values=dict(row["values"] or {}),
            version=row["version"],
            updated_at=row["updated_at"],
        )

    async def draft_for(self, channel: str, external_id: str) -> SessionDraft | None:
        """The draft of whoever this is, without locking: the cheap check every typed message makes."""
        person_id = (
            await self._session.execute(
                select(session_drafts_table.c.person_id)
                .join(people_table, people_table.c.id == session_drafts_table.c.person_id)
                .where(people_table.c.channel == channel, people_table.c.external_id == external_id)
            )
        ).scalar_one_or_none()
        return None if person_id is None else await self.draft(person_id)

    async def save_draft(self, draft: SessionDraft, now: datetime) -> SessionDraft:
        """Insert (version 0) or compare-and-set update; returns the draft at its new version."""
        fields = {
            "flow": draft.flow,
            "step": draft.step,
            "values": dict(draft.values),
            "version": draft.version + 1,
            "updated_at": now,
        }
        if draft.version == 0:
            await self.delete_draft(draft.person_id)
            await self._session.execute(
                session_drafts_table.insert().values(person_id=draft.person_id, **fields)
            )
        else:
            count = await self._rowcount(
                update(session_drafts_table)
                .where(
                    session_drafts_table.c.person_id == draft.person_id,
                    session_drafts_table.c.version == draft.version,
                )
                .values(**fields)
            )
            if count != 1:
                raise StaleVersion(f"draft of person {draft.person_id} moved on")
        return dataclasses.replace(draft, version=draft.version + 1, updated_at=now)

    async def delete_draft(self, person_id: int) -> None:
        await self._session.execute(
            delete(session_drafts_table).where(session_drafts_table.c.person_id == person_id)
        )

    # -- counts for tests and operators ----------------------------------------------------------

    async def nudge_counts(self) -> dict[str, int]:
        rows = await self._session.execute(
            select(nudges_table.c.status, func.count()).group_by(nudges_table.c.status)
        )
        return {str(status): int(count) for status, count in rows}


def champions_of(repo: CoachRepository) -> SqlChampionsRepository:
    """The champion queries inside the coach's current transaction."""
    return SqlChampionsRepository.joining(repo)


# -- row -> domain mapping ---------------------------------------------------------------------------


def _session_of(row: RowMapping, departments: list[int], champions: list[int]) -> InspirationSession:
    return InspirationSession(
        id=row["id"],
        kind=SessionKind(row["kind"]),
        starts_at=row["starts_at"],
        place=row["place"],
        department_ids=tuple(departments),
        champion_ids=tuple(champions),
        created_by=row["created_by"],
        cancelled_at=row["cancelled_at"],
        attended=row["attended"],
        want_workshop=row["want_workshop"],
    )


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
    )
