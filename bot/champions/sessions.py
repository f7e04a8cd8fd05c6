"""Scheduling, moving and cancelling sessions, and who may do which; the nudges follow every change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.champions.nudges import CHAMPION_KINDS, replan_session
from bot.domain import InspirationSession, NudgeKind, NudgeStatus, Person, Role, SessionKind
from bot.settings import Settings
from bot.storage.nudges import NewNudge
from bot.storage.unit_of_work import UnitOfWork


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
    repo: UnitOfWork,
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
    session = await repo.sessions.add_session(
        kind=kind,
        starts_at=starts_at,
        place=place,
        created_by=created_by,
        department_ids=department_ids,
        champion_ids=champion_ids,
        now=now,
    )
    await replan_session(repo, session, settings, now, resend_sent=False)
    return session


async def move_session(
    repo: UnitOfWork,
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
    await repo.sessions.move_session(session.id, starts_at)
    moved = await repo.sessions.session_by_id(session.id)
    assert moved is not None
    await replan_session(repo, moved, settings, now, resend_sent=True)
    await _tell_expecting(repo, moved, NudgeKind.MOVED, moved_by, now)
    return moved


async def cancel_session(
    repo: UnitOfWork,
    session: InspirationSession,
    now: datetime,
    *,
    cancelled_by: int | None = None,
) -> int:
    """Cancels the session and every nudge still pending for it; returns how many nudges.

    Its other champions, and colleagues already reminded of it, are told it is off.
    """
    await repo.sessions.cancel_session(session.id, now)
    cancelled = await repo.nudges.cancel_pending(reason="session cancelled", session_id=session.id)
    await _tell_expecting(repo, session, NudgeKind.CANCELLED, cancelled_by, now)
    return cancelled


async def _tell_expecting(
    repo: UnitOfWork,
    session: InspirationSession,
    kind: NudgeKind,
    actor: int | None,
    now: datetime,
) -> None:
    """A notice, due now, to the session's champions and whoever was already reminded of it."""
    await repo.nudges.cancel_pending(reason="superseded", session_id=session.id, kinds=[NudgeKind.MOVED])
    reminded = {
        n.person_id
        for n in await repo.nudges.session_nudges(session.id)
        if n.kind == NudgeKind.REMINDER and n.status == NudgeStatus.SENT
    }
    expecting = (set(session.champion_ids) | reminded) - {actor}
    await repo.nudges.add_nudges(
        [NewNudge(kind, person, now, session.id) for person in sorted(expecting)], now
    )


async def step_down(repo: UnitOfWork, person: Person, now: datetime) -> None:
    """A champion or admin back to employee: off the sessions to come, their briefs cancelled."""
    await repo.roles.set_role(person.id, Role.EMPLOYEE)
    await repo.sessions.leave_upcoming_sessions(person.id, now)
    await repo.nudges.cancel_pending(reason="role revoked", person_id=person.id, kinds=CHAMPION_KINDS)
