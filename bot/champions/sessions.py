"""Scheduling, moving and cancelling sessions, and who may do which; the nudges follow every change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.champions.nudges import CHAMPION_KINDS, replan_session
from bot.domain import InspirationSession, NudgeKind, NudgeStatus, Person, Role, SessionKind
from bot.settings import Settings
from bot.storage.champions_repository import NewNudge, SqlChampionsRepository


def is_admin(person: Person, settings: Settings) -> bool:
    """Admins are configured (COACHBOT_ADMIN_IDS, Telegram ids) or were invited."""
    listed = person.channel == "telegram" and person.external_id.isdigit()
    return person.role == Role.ADMIN or (listed and int(person.external_id) in settings.admin_ids)


def may_schedule(person: Person, settings: Settings) -> bool:
    return is_admin(person, settings) or person.role == Role.CHAMPION


def may_manage(person: Person, session: InspirationSession, settings: Settings) -> bool:
    """Admins manage every session; a champion the sessions they run."""
    return is_admin(person, settings) or (person.role == Role.CHAMPION and person.id in session.champion_ids)


def is_for(person: Person, session: InspirationSession) -> bool:
    """Whether the session's audience includes the person (no departments: everyone)."""
    return not session.department_ids or person.department_id in session.department_ids


def visible_sessions(
    person: Person, sessions: Sequence[InspirationSession], settings: Settings
) -> list[InspirationSession]:
    """What /sessions shows: everything for admins; for others what they run or are invited to."""
    if is_admin(person, settings):
        return list(sessions)
    return [s for s in sessions if person.id in s.champion_ids or is_for(person, s)]


async def schedule_session(
    champions: SqlChampionsRepository,
    *,
    kind: SessionKind,
    starts_at: datetime,
    place: str,
    department_ids: Sequence[int],
    champion_ids: Sequence[int],
    created_by: int,
    settings: Settings,
    now: datetime,
) -> InspirationSession:
    session = await champions.add_session(
        kind=kind,
        starts_at=starts_at,
        place=place,
        created_by=created_by,
        department_ids=department_ids,
        champion_ids=champion_ids,
        now=now,
    )
    await replan_session(champions, session, settings, now, resend_sent=False)
    return session


async def move_session(
    champions: SqlChampionsRepository,
    session: InspirationSession,
    starts_at: datetime,
    settings: Settings,
    now: datetime,
    *,
    moved_by: int | None = None,
) -> InspirationSession:
    """Moves the session and its pending nudges; briefs already sent for the old time come again.

    Whoever expects the session (its other champions, colleagues already reminded) hears at once.
    """
    await champions.move_session(session.id, starts_at)
    moved = await champions.session_by_id(session.id)
    assert moved is not None
    await replan_session(champions, moved, settings, now, resend_sent=True)
    await _tell_expecting(champions, moved, NudgeKind.MOVED, moved_by, now)
    return moved


async def cancel_session(
    champions: SqlChampionsRepository,
    session: InspirationSession,
    now: datetime,
    *,
    cancelled_by: int | None = None,
) -> int:
    """Cancels the session and every nudge still pending for it; returns how many nudges.

    Its other champions, and colleagues already reminded of it, are told it is off.
    """
    await champions.cancel_session(session.id, now)
    cancelled = await champions.cancel_pending(reason="session cancelled", session_id=session.id)
    await _tell_expecting(champions, session, NudgeKind.CANCELLED, cancelled_by, now)
    return cancelled


async def _tell_expecting(
    champions: SqlChampionsRepository,
    session: InspirationSession,
    kind: NudgeKind,
    actor: int | None,
    now: datetime,
) -> None:
    """A notice, due now, to the session's champions and whoever was already reminded of it."""
    await champions.cancel_pending(reason="superseded", session_id=session.id, kinds=[NudgeKind.MOVED])
    reminded = {
        n.person_id
        for n in await champions.session_nudges(session.id)
        if n.kind == NudgeKind.REMINDER and n.status == NudgeStatus.SENT
    }
    expecting = (set(session.champion_ids) | reminded) - {actor}
    await champions.add_nudges([NewNudge(kind, person, now, session.id) for person in sorted(expecting)], now)


async def step_down(champions: SqlChampionsRepository, person: Person, now: datetime) -> None:
    """A champion or admin back to employee: off the sessions to come, their briefs cancelled."""
    await champions.set_role(person.id, Role.EMPLOYEE)
    await champions.leave_upcoming_sessions(person.id, now)
    await champions.cancel_pending(reason="role revoked", person_id=person.id, kinds=CHAMPION_KINDS)
