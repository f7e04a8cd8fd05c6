"""200 people over 6 weeks through the real dispatcher and storage: sessions with reminders,
commitments with follow-ups, re-check offers planned from old checks, on an hourly-swept clock.

Checked and counted: nobody gets more than COACHBOT_MAX_NUDGES_PER_WEEK capped nudges in any seven
days, nothing goes out in quiet hours, and every nudge is sent, cancelled with a stated reason, or
still waiting for a time after the end. The sender records instead of calling Telegram (the
Telegram side is tested through the Bot API double elsewhere); everything else is the real code.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.champions.clock import ManualClock
from bot.champions.dispatcher import Dispatcher
from bot.champions.sessions import schedule_session
from bot.content.catalog import load_catalog
from bot.conversation import Message
from bot.domain import Assessment, CommitmentOutcome, NudgeKind, SessionKind
from bot.nudging.policy import QuietHours, is_capped
from bot.settings import Settings, load_settings
from bot.storage.database import Database
from bot.storage.models import nudges_table

AMS = ZoneInfo("Europe/Amsterdam")
PEOPLE = 200
DEPARTMENTS = 8
START = datetime(2026, 11, 2, 0, tzinfo=AMS).astimezone(UTC)  # a Monday
END = START + timedelta(weeks=6)


class RecordingSender:
    """Stands in for Telegram: records which chat got a message at which (simulated) moment."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock = clock
        self.sent: list[tuple[int, datetime]] = []

    async def send(self, chat_id: int, message: Message) -> None:
        assert message.text
        self.sent.append((chat_id, self.clock.now()))


async def _organisation(database: Database, rng: random.Random) -> list[int]:
    """People on Telegram with consent, a department, a check done up to six weeks before START."""
    ids = []
    async with database.transaction() as repo:
        departments = [(await repo.departments.add_department(f"D{n}")).id for n in range(DEPARTMENTS)]
        admin = await repo.people.person_for_update("telegram", "1", create=True)
        assert admin is not None
        ids_admin = admin.id
        for n in range(PEOPLE):
            person = await repo.people.person_for_update("telegram", str(10_000 + n), create=True)
            assert person is not None
            person.consent, person.department_id = True, departments[n % DEPARTMENTS]
            await repo.people.save_person(person)
            if rng.random() < 0.6:
                await repo.people.set_session_reminders(person.id, True)
            await repo.assessments.add_assessment(
                Assessment(
                    person_id=person.id,
                    run_id=1,
                    phase_presence_model="presence",
                    phase_pilot_model="pilot",
                    fears=(),
                    causes=(),
                    lens=None,
                    scores={},
                    department_id=person.department_id,
                    assessed_at=START - timedelta(hours=rng.randrange(0, 24 * 42)),
                )
            )
            ids.append(person.id)
    return [ids_admin, *departments, *ids]


def _check_cap_and_quiet_hours(rows: Sequence[Mapping[str, Any]], settings: Settings) -> None:
    """Nobody over the cap in any seven days; nothing in quiet hours."""
    quiet = QuietHours(settings.timezone, settings.quiet_from, settings.quiet_until, settings.quiet_weekends)
    per_person: dict[int, list[datetime]] = {}
    for row in rows:
        if row["status"] == "sent" and is_capped(NudgeKind(row["kind"])):
            per_person.setdefault(row["person_id"], []).append(_aware(row["sent_at"]))
    for times in per_person.values():
        times.sort()
        for index, moment in enumerate(times):
            assert quiet.allowed(moment), moment
            assert (
                sum(1 for t in times[index:] if t < moment + timedelta(days=7))
                <= settings.max_nudges_per_week
            )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _sessions(
    database: Database, rng: random.Random, settings: Settings, admin: int, departments: list[int]
) -> None:
    """Sessions on weekdays for a department, some at 09:00 on a Monday (its reminder falls on Sunday)."""
    async with database.transaction() as repo:
        day = START
        while day < END:
            local_day = day.astimezone(AMS)
            for department in departments:
                if local_day.weekday() < 5 and rng.random() < 0.12:
                    hour = rng.choice([9, 10, 14, 16])
                    starts = local_day.replace(hour=hour).astimezone(UTC)
                    await schedule_session(
                        repo,
                        kind=SessionKind.INSPIRATION,
                        starts_at=starts,
                        place="Room 1",
                        department_ids=[department],
                        champion_ids=[],
                        created_by=admin,
                        settings=settings,
                        now=START,
                    )
            day += timedelta(days=1)


async def test_two_hundred_people_over_six_weeks_through_the_dispatcher(sqlite_database: Database) -> None:
    database = sqlite_database
    rng = random.Random(2026)
    settings = load_settings(database_url="sqlite://")  # the defaults: 2 a week, 19-08 and weekends quiet
    catalog = load_catalog(settings.dialogues_dir, settings.knowledge_dir)
    clock = ManualClock(START)
    sender = RecordingSender(clock)
    dispatcher = Dispatcher(database, sender, catalog, settings, clock, worker="sim")
    admin, *rest = await _organisation(database, rng)
    departments, people = rest[:DEPARTMENTS], rest[DEPARTMENTS:]

    await _sessions(database, rng, settings, admin, departments)
    # Each person commits now and then, at any hour; the follow-up is due a week later as is
    # (not moved into allowed hours here), so the dispatcher's policy has to do all the moving.
    commitments = sorted(
        (START + timedelta(hours=rng.randrange(0, 24 * 40)), person) for person in people for _ in range(3)
    )
    now = START
    while now <= END:
        clock.set(now)
        async with database.transaction() as repo:
            while commitments and commitments[0][0] <= now:
                made_at, person = commitments.pop(0)
                await repo.commitments.add_commitment(
                    person_id=person,
                    step="employee_share_a_tip",
                    made_at=made_at,
                    followup_due_at=made_at + timedelta(days=7),
                    assessment_id=None,
                    department_id=None,
                )
        await dispatcher.drain()
        # Some people answer a follow-up they got (answered ones are not asked again).
        async with database.engine.connect() as connection:
            followed_up = set(
                (
                    await connection.execute(
                        select(nudges_table.c.commitment_id).where(nudges_table.c.sent_at.is_not(None))
                    )
                ).scalars()
            )
        async with database.transaction() as repo:
            for person in rng.sample(people, 20):
                for commitment in await repo.commitments.open_commitments(person):
                    if commitment.id in followed_up and rng.random() < 0.7:
                        await repo.commitments.record_outcome(commitment.id, CommitmentOutcome.DONE, now)
        now += timedelta(hours=1)

    async with database.engine.connect() as connection:
        rows = (await connection.execute(select(nudges_table))).mappings().all()
    status = Counter(r["status"] for r in rows)
    by_kind = Counter((r["kind"], r["status"]) for r in rows)
    reasons = Counter(r["last_error"] for r in rows if r["status"] == "cancelled")

    # Every nudge accounted for: sent once, cancelled with a stated reason, or waiting past the end.
    assert set(status) <= {"sent", "cancelled", "pending"}, status
    assert all(r["last_error"] for r in rows if r["status"] == "cancelled")
    assert all(_aware(r["due_at"]) > END for r in rows if r["status"] == "pending")
    assert len(sender.sent) == status["sent"]  # nothing sent twice, nothing sent unrecorded
    _check_cap_and_quiet_hours(rows, settings)
    # The scenario exercises all three kinds and the postponements.
    postponed_then_sent = sum(
        1 for r in rows if r["status"] == "sent" and (r["last_error"] or "").startswith("postponed")
    )
    for kind in ("reminder", "commitment", "recheck"):
        assert by_kind[(kind, "sent")] > 50, by_kind
    assert postponed_then_sent > 100
    assert set(reasons) <= {
        "pointless: the session starts before the next allowed time",
        "a newer commitment replaced it",
        "answered before its follow-up",
    }, reasons
    print(f"nudges {len(rows)}: {dict(by_kind)}; postponed then sent {postponed_then_sent}")
    print(f"cancelled: {dict(reasons)}")
