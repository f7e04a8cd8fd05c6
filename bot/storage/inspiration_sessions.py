"""Inspiration sessions and workshops, with the departments they are for and the champions who run them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, select, update
from sqlalchemy.engine import RowMapping

from bot.domain import InspirationSession, SessionKind
from bot.storage.models import (
    inspiration_sessions_table,
    session_champions_table,
    session_departments_table,
)
from bot.storage.sql import Repository


class SessionRepository(Repository):
    """The `inspiration_sessions` rows and their two link tables, inside the caller's transaction."""

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
