"""When each nudge is due: planned from a session's wall-clock start, kept in step when it moves.

A plan is the full set of nudges a session should have now; replanning compares it with the rows
that exist, moves the pending ones, adds what is missing and cancels what no longer belongs. Doing
it this one way for scheduling, moving and opting in keeps them from drifting apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.champions.times import next_daytime, shift
from bot.domain import InspirationSession, NudgeKind, NudgeStatus
from bot.settings import Settings
from bot.storage.nudges import NewNudge
from bot.storage.unit_of_work import UnitOfWork

#: Kinds that go to the champions of a session (a reminder goes to its audience).
CHAMPION_KINDS = (NudgeKind.BRIEF, NudgeKind.FOLLOWUP)
#: How many re-check offers one planning round adds at most.
RECHECK_BATCH = 500


@dataclass(frozen=True)
class PlannedNudge:
    kind: NudgeKind
    person_id: int
    offset_minutes: int
    due_at: datetime

    @property
    def key(self) -> tuple[NudgeKind, int, int]:
        return (self.kind, self.person_id, self.offset_minutes)


def session_plan(
    session: InspirationSession, audience: Sequence[int], settings: Settings, now: datetime
) -> list[PlannedNudge]:
    """Every nudge the session should have, due times settled against `now`.

    Champions get a brief at each COACHBOT_BRIEF_HOURS and a follow-up COACHBOT_FOLLOWUP_HOURS after
    the start; the audience (opted in, not running it) a reminder. A brief whose time has already
    passed (a session planned at short notice) is sent at once, but only the latest such one: two
    briefs in the same minute would say the same thing twice.
    """
    zone = settings.timezone
    wanted: list[tuple[NudgeKind, int, int]] = []
    for champion in session.champion_ids:
        wanted.extend((NudgeKind.BRIEF, champion, -60 * hours) for hours in sorted(set(settings.brief_hours)))
        wanted.append((NudgeKind.FOLLOWUP, champion, 60 * settings.followup_hours))
    champions = set(session.champion_ids)
    wanted.extend(
        (NudgeKind.REMINDER, person, -60 * settings.reminder_hours)
        for person in audience
        if person not in champions
    )
    planned = [
        PlannedNudge(kind, person, offset, shift(session.starts_at, offset, zone))
        for kind, person, offset in wanted
    ]
    latest_late_brief: dict[int, PlannedNudge] = {}
    for nudge in planned:
        if nudge.kind == NudgeKind.BRIEF and nudge.due_at <= now:
            held = latest_late_brief.get(nudge.person_id)
            if held is None or nudge.due_at > held.due_at:
                latest_late_brief[nudge.person_id] = nudge
    settled: list[PlannedNudge] = []
    for nudge in planned:
        if nudge.due_at > now:
            settled.append(nudge)
        elif nudge.kind == NudgeKind.BRIEF and latest_late_brief.get(nudge.person_id) is not nudge:
            continue
        elif nudge.kind == NudgeKind.FOLLOWUP or session.starts_at > now:
            settled.append(PlannedNudge(nudge.kind, nudge.person_id, nudge.offset_minutes, now))
    return settled


async def replan_session(
    repo: UnitOfWork,
    session: InspirationSession,
    settings: Settings,
    now: datetime,
    *,
    resend_sent: bool,
) -> None:
    """Brings the session's nudge rows in line with its plan.

    `resend_sent` is for a moved session: a brief already sent for the old time is sent again for
    the new one. Scheduling and opting in leave sent nudges alone.
    """
    audience = await repo.people.reminder_recipients(session.department_ids)
    plan = session_plan(session, audience, settings, now)
    existing = await repo.nudges.session_nudges(session.id)
    pending = {
        (n.kind, n.person_id, n.offset_minutes): n for n in existing if n.status == NudgeStatus.PENDING
    }
    delivered = {
        (n.kind, n.person_id, n.offset_minutes)
        for n in existing
        if n.status in (NudgeStatus.SENT, NudgeStatus.CLAIMED)
    }
    missing: list[NewNudge] = []
    for nudge in plan:
        current = pending.pop(nudge.key, None)
        if current is not None:
            if current.due_at != nudge.due_at:
                await repo.nudges.set_due(current.id, nudge.due_at)
        elif nudge.key not in delivered or resend_sent:
            missing.append(
                NewNudge(nudge.kind, nudge.person_id, nudge.due_at, session.id, nudge.offset_minutes)
            )
    if pending:
        await repo.nudges.cancel_pending(reason="no longer planned", ids=[n.id for n in pending.values()])
    await repo.nudges.add_nudges(missing, now)


async def plan_reminders_for(
    repo: UnitOfWork,
    person_id: int,
    department_id: int | None,
    settings: Settings,
    now: datetime,
) -> None:
    """After someone opts in: reminders of the upcoming sessions meant for them."""
    for session in await repo.sessions.upcoming_sessions(now, limit=100):
        if session.department_ids and department_id not in session.department_ids:
            continue
        if person_id in session.champion_ids:
            continue
        await replan_session(repo, session, settings, now, resend_sent=False)


async def plan_rechecks(repo: UnitOfWork, settings: Settings, now: datetime) -> int:
    """Offers a re-check to everyone whose latest check is COACHBOT_RECHECK_WEEKS old; returns how many.

    The offer is due in the daytime; the dedupe key (one offer per check) keeps two dispatchers
    planning at once from offering it twice.
    """
    cutoff = now - timedelta(weeks=settings.recheck_weeks)
    candidates = await repo.nudges.recheck_candidates(cutoff, RECHECK_BATCH)
    due = next_daytime(now, settings.timezone)
    return await repo.nudges.add_nudges(
        (
            NewNudge(NudgeKind.RECHECK, person_id, due, dedupe_key=f"recheck:{assessment_id}")
            for person_id, assessment_id in candidates
        ),
        now,
    )
