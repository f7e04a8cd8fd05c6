"""Which of a person's due nudges go out now, which wait and until when, which are dropped and why.

Pure: times in, decisions out; no clock, no SQL. The dispatcher asks it once per person per sweep,
and the simulation test asks it the same way, so the rules tested are the rules that run.

The rules (issue 13), for the nudges people get without asking for that moment (session reminders,
commitment follow-ups, re-check offers; a champion's brief is their own work and is not capped):
- at most `max_per_week` in any seven days (a rolling window, so no calendar week exceeds it either);
- never in quiet hours (evenings, nights, weekends, in the organisation's time zone): a nudge due
  then waits for the next allowed moment;
- over the cap, the lower priority waits: session reminder > follow-up > re-check offer. A slot is
  kept for a higher-priority nudge due within the week, so a re-check offer cannot crowd out a
  reminder of a session;
- a nudge is never dropped for the cap or the hour; it is cancelled only when waiting has made it
  pointless (the session starts before it could go), and the reason is stated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain import NudgeKind

WEEK = timedelta(days=7)
#: Lower number first. Only these kinds are capped and kept out of quiet hours.
PRIORITY: dict[NudgeKind, int] = {
    NudgeKind.REMINDER: 0,
    NudgeKind.COMMITMENT: 1,
    NudgeKind.RECHECK: 2,
}
#: A freed slot is used a moment after the old send leaves the window, not on the same instant.
_MARGIN = timedelta(minutes=1)
POINTLESS = "pointless: the session starts before the next allowed time"


def is_capped(kind: NudgeKind) -> bool:
    """Whether the cap, the quiet hours and the priorities apply to this kind."""
    return kind in PRIORITY


class Action(StrEnum):
    SEND = "send"
    POSTPONE = "postpone"
    CANCEL = "cancel"


@dataclass(frozen=True)
class Candidate:
    """A nudge for one person: due now (to decide) or later (to reserve a slot for).

    `deadline`: after it the nudge has no point any more (a reminder's session start).
    """

    nudge_id: int
    kind: NudgeKind
    due_at: datetime
    deadline: datetime | None = None

    @property
    def priority(self) -> int:
        return PRIORITY[self.kind]


@dataclass(frozen=True)
class Decision:
    nudge_id: int
    action: Action
    until: datetime | None = None
    reason: str = ""


@dataclass(frozen=True)
class QuietHours:
    """No capped nudges from `start` (hour) to `end` (hour) the next morning, nor at weekends."""

    zone: str
    start: int = 19
    end: int = 8
    weekends: bool = True

    def allowed(self, moment: datetime) -> bool:
        local = moment.astimezone(ZoneInfo(self.zone))
        if self.weekends and local.weekday() >= 5:
            return False
        return self.end <= local.hour < self.start

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment` when allowed, else the next morning (a weekday's, with weekends off) at `end`."""
        if self.allowed(moment):
            return moment
        zone = ZoneInfo(self.zone)
        local = moment.astimezone(zone)
        day: date = local.date() if local.hour < self.end else local.date() + timedelta(days=1)
        while self.weekends and day.weekday() >= 5:
            day += timedelta(days=1)
        # fold=0 reads a wall time a clock change skips with the offset before it: still a morning.
        return datetime.combine(day, time(self.end), tzinfo=zone).astimezone(moment.tzinfo)


@dataclass(frozen=True)
class NudgePolicy:
    max_per_week: int
    quiet: QuietHours

    def decide(
        self,
        due: Sequence[Candidate],
        sent: Sequence[datetime],
        upcoming: Sequence[Candidate],
        now: datetime,
    ) -> list[Decision]:
        """Decisions for one person's due capped nudges.

        `sent`: when this person's capped nudges went out (older than a week may be included);
        `upcoming`: their pending capped nudges not yet due, for the slots kept for higher priorities.
        """
        window = sorted(t for t in sent if t > now - WEEK)
        decisions: list[Decision] = []
        if not self.quiet.allowed(now):
            later = self.quiet.next_allowed(now)
            return [self._wait(c, later, "quiet hours") for c in due]
        for candidate in sorted(due, key=lambda c: (c.priority, c.due_at, c.nudge_id)):
            horizon = now + WEEK
            kept_for = [u for u in upcoming if u.priority < candidate.priority and u.due_at <= horizon]
            free = self.max_per_week - len(kept_for)
            if len(window) < free:
                decisions.append(Decision(candidate.nudge_id, Action.SEND))
                window.append(now)
                continue
            decisions.append(self._wait(candidate, self._slot_after(window, free, kept_for), "weekly cap"))
        return decisions

    def _slot_after(self, window: list[datetime], free: int, kept_for: Sequence[Candidate]) -> datetime:
        """When enough earlier sends have left the window for this nudge to fit."""
        if free <= 0:
            # Every slot is kept for higher-priority nudges: try again after the last of them.
            return max(u.due_at for u in kept_for) + _MARGIN
        drop = len(window) - free  # this many of the oldest sends must leave the window first
        return window[drop] + WEEK + _MARGIN

    def _wait(self, candidate: Candidate, until: datetime, why: str) -> Decision:
        until = self.quiet.next_allowed(until)
        if candidate.deadline is not None and until >= candidate.deadline:
            return Decision(candidate.nudge_id, Action.CANCEL, reason=POINTLESS)
        return Decision(candidate.nudge_id, Action.POSTPONE, until=until, reason=why)
