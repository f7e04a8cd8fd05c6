"""The nudge policy: weekly cap, quiet hours, priorities, postponement; and 200 people over 6 weeks.

The simulation runs the policy exactly as the dispatcher does (due nudges per person per sweep, the
sends of the past week, the pending ones still to come), on a clock moved in 15-minute sweeps.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain import NudgeKind
from bot.nudging.policy import POINTLESS, Action, Candidate, NudgePolicy, QuietHours, is_capped

ZONE = "Europe/Amsterdam"
AMS = ZoneInfo(ZONE)
POLICY = NudgePolicy(max_per_week=2, quiet=QuietHours(ZONE))
MONDAY_10 = datetime(2026, 12, 7, 10, tzinfo=AMS).astimezone(UTC)


def test_quiet_hours_and_weekends() -> None:
    quiet = QuietHours(ZONE)
    assert quiet.allowed(MONDAY_10)
    evening = datetime(2026, 12, 7, 19, 0, tzinfo=AMS)
    assert not quiet.allowed(evening)
    assert quiet.next_allowed(evening) == datetime(2026, 12, 8, 8, tzinfo=AMS)
    early = datetime(2026, 12, 8, 7, 59, tzinfo=AMS)
    assert quiet.next_allowed(early) == datetime(2026, 12, 8, 8, tzinfo=AMS)
    friday_night = datetime(2026, 12, 11, 21, tzinfo=AMS)
    assert quiet.next_allowed(friday_night) == datetime(2026, 12, 14, 8, tzinfo=AMS)
    assert not quiet.allowed(datetime(2026, 12, 12, 12, tzinfo=AMS))  # Saturday noon


def test_only_the_nudges_people_did_not_ask_for_are_capped() -> None:
    assert {k for k in NudgeKind if is_capped(k)} == {
        NudgeKind.REMINDER,
        NudgeKind.COMMITMENT,
        NudgeKind.RECHECK,
    }


def test_over_the_cap_the_lower_priority_waits_for_a_free_slot() -> None:
    sent = [MONDAY_10 - timedelta(days=3)]
    due = [
        Candidate(1, NudgeKind.RECHECK, MONDAY_10),
        Candidate(2, NudgeKind.COMMITMENT, MONDAY_10),
    ]
    decisions = {d.nudge_id: d for d in POLICY.decide(due, sent, [], MONDAY_10)}
    assert decisions[2].action == Action.SEND
    assert decisions[1].action == Action.POSTPONE and decisions[1].reason == "weekly cap"
    # The slot frees when the first send is a week old: Friday 10:01, an allowed time.
    assert decisions[1].until == sent[0] + timedelta(days=7, minutes=1)


def test_a_slot_is_kept_for_a_reminder_due_this_week() -> None:
    sent = [MONDAY_10 - timedelta(days=1)]
    reminder = Candidate(9, NudgeKind.REMINDER, MONDAY_10 + timedelta(days=2))
    [decision] = POLICY.decide([Candidate(1, NudgeKind.RECHECK, MONDAY_10)], sent, [reminder], MONDAY_10)
    assert decision.action == Action.POSTPONE


def test_a_reminder_that_would_wait_past_its_session_is_cancelled_with_the_reason() -> None:
    friday_evening = datetime(2026, 12, 11, 20, tzinfo=AMS).astimezone(UTC)
    reminder = Candidate(1, NudgeKind.REMINDER, friday_evening, deadline=friday_evening + timedelta(hours=14))
    [decision] = POLICY.decide([reminder], [], [], friday_evening)
    assert decision.action == Action.CANCEL and decision.reason == POINTLESS


def test_in_quiet_hours_everything_waits_for_the_morning() -> None:
    night = datetime(2026, 12, 8, 23, tzinfo=AMS).astimezone(UTC)
    due = [Candidate(1, NudgeKind.COMMITMENT, night), Candidate(2, NudgeKind.RECHECK, night)]
    decisions = POLICY.decide(due, [], [], night)
    assert {(d.action, d.until) for d in decisions} == {
        (Action.POSTPONE, datetime(2026, 12, 9, 8, tzinfo=AMS).astimezone(UTC))
    }


# -- the simulation ------------------------------------------------------------------------------------


@dataclass
class SimNudge:
    id: int
    person: int
    kind: NudgeKind
    due_at: datetime
    deadline: datetime | None = None
    status: str = "pending"
    reason: str = ""
    postponed: int = 0
    sent_at: datetime | None = None
    planned_at: datetime | None = None

    def __post_init__(self) -> None:
        self.planned_at = self.due_at


def _plan(rng: random.Random, start: datetime, end: datetime) -> list[SimNudge]:
    """Sessions for departments with reminders 24 h before, commitments followed up a week later
    (at any hour: the policy must move them), re-check offers six weeks after a first check."""
    nudges: list[SimNudge] = []
    departments = {p: p % 8 for p in range(200)}
    opted_in = {p for p in range(200) if rng.random() < 0.6}

    def add(person: int, kind: NudgeKind, due: datetime, deadline: datetime | None = None) -> None:
        nudges.append(SimNudge(len(nudges) + 1, person, kind, due, deadline))

    day = start
    while day < end:
        for department in range(8):
            if day.astimezone(AMS).weekday() < 5 and rng.random() < 0.15:  # a session for it that day
                local = day.astimezone(AMS).replace(hour=rng.choice([9, 10, 14, 16, 19]), minute=0)
                starts = local.astimezone(UTC)
                for person in (p for p, d in departments.items() if d == department and p in opted_in):
                    add(person, NudgeKind.REMINDER, starts - timedelta(hours=24), deadline=starts)
        day += timedelta(days=1)
    for person in range(200):
        moment = start + timedelta(hours=rng.randrange(0, 24 * 10))
        while moment < end:
            add(person, NudgeKind.COMMITMENT, moment + timedelta(days=7))
            moment += timedelta(days=rng.randrange(5, 16), hours=rng.randrange(0, 24))
        add(person, NudgeKind.RECHECK, start + timedelta(hours=rng.randrange(0, 24 * 42)))
    return nudges


def test_two_hundred_people_over_six_weeks() -> None:
    rng = random.Random(13)
    start = datetime(2026, 11, 2, 0, tzinfo=AMS).astimezone(UTC)
    end = start + timedelta(weeks=6)
    nudges = _plan(rng, start, end)
    by_person: dict[int, list[SimNudge]] = defaultdict(list)
    for nudge in nudges:
        by_person[nudge.person].append(nudge)
    now = start
    while now <= end:
        for items in by_person.values():
            due = [n for n in items if n.status == "pending" and n.due_at <= now]
            if not due:
                continue
            sent = [n.sent_at for n in items if n.sent_at is not None]
            upcoming = [
                Candidate(n.id, n.kind, n.due_at, n.deadline)
                for n in items
                if n.status == "pending" and n.due_at > now
            ]
            candidates = [Candidate(n.id, n.kind, n.due_at, n.deadline) for n in due]
            for decision in POLICY.decide(candidates, sent, upcoming, now):
                nudge = next(n for n in due if n.id == decision.nudge_id)
                if decision.action == Action.SEND:
                    nudge.status, nudge.sent_at = "sent", now
                elif decision.action == Action.CANCEL:
                    nudge.status, nudge.reason = "cancelled", decision.reason
                else:
                    assert decision.until is not None and decision.until > now
                    nudge.due_at, nudge.postponed = decision.until, nudge.postponed + 1
        now += timedelta(minutes=15)

    outcome = Counter(n.status for n in nudges)
    # Everything is accounted for: sent, cancelled with a reason, or still waiting for a time after the end.
    assert set(outcome) <= {"sent", "cancelled", "pending"}
    assert all(n.due_at > end for n in nudges if n.status == "pending")
    assert {n.reason for n in nudges if n.status == "cancelled"} <= {POINTLESS}
    assert all(n.kind == NudgeKind.REMINDER for n in nudges if n.status == "cancelled")
    # Nobody over the cap in any seven days, nothing in quiet hours.
    quiet = QuietHours(ZONE)
    for items in by_person.values():
        times = sorted(n.sent_at for n in items if n.sent_at is not None)
        for index, moment in enumerate(times):
            assert sum(1 for t in times[index:] if t < moment + timedelta(days=7)) <= 2
            assert quiet.allowed(moment)
    # The scenario is a real test of postponement: many waited, most were still sent later.
    postponed = [n for n in nudges if n.postponed]
    assert len(nudges) > 1500 and outcome["sent"] > 1000
    assert len(postponed) > 300
    assert sum(1 for n in postponed if n.status == "sent") > len(postponed) // 2
    # Priorities: under the same cap a reminder waits less than a re-check offer.
    delay = {
        kind: [
            (n.sent_at - n.planned_at).total_seconds() / 3600
            for n in nudges
            if n.kind == kind and n.sent_at is not None and n.planned_at is not None
        ]
        for kind in (NudgeKind.REMINDER, NudgeKind.COMMITMENT, NudgeKind.RECHECK)
    }
    mean = {kind: round(sum(hours) / len(hours), 1) for kind, hours in delay.items()}
    assert mean[NudgeKind.REMINDER] < mean[NudgeKind.COMMITMENT] < mean[NudgeKind.RECHECK]
    print(  # the counted outcome, visible with -s
        f"nudges {len(nudges)}: {dict(outcome)}; postponed {len(postponed)}; mean wait (h) {mean}"
    )
