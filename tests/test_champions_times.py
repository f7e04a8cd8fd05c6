"""Wall-clock time in Europe/Amsterdam: typed start times, due times across the DST changes, Babel dates.

The last Sunday of March 2026 (29th) the clocks jump 02:00 → 03:00; the last Sunday of October
(25th) they fall back 03:00 → 02:00. A brief "24 hours before" a 14:00 session comes at 14:00 the
day before, which is 23 or 25 real hours earlier on those weekends.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.champions.clock import ManualClock
from bot.champions.nudges import session_plan
from bot.champions.times import TimeProblem, next_daytime, read_local_time, shift
from bot.content.dates import spoken
from bot.domain import InspirationSession, NudgeKind, SessionKind
from bot.settings import load_settings
from tests.support.bot_api_double import BotApiDouble
from tests.support.harness import services
from tests.test_champions_support import (
    ADMIN,
    become,
    champion_bot,
    drain,
    invite_link,
    local,
    nudge_rows,
    schedule,
    texts,
)

ZONE = "Europe/Amsterdam"
ANNA = 5501


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "offset", "due"),
    [
        # October: the session is in winter time (UTC+1), the day before still in summer time (UTC+2).
        (utc(2026, 10, 25, 13), -1440, utc(2026, 10, 24, 12)),  # Saturday 14:00 CEST
        (utc(2026, 10, 25, 13), -60, utc(2026, 10, 25, 12)),  # 13:00 CET
        (utc(2026, 10, 25, 13), 120, utc(2026, 10, 25, 15)),  # 16:00 CET
        (utc(2026, 10, 26, 8), -2880, utc(2026, 10, 24, 7)),  # Monday 09:00 CET, 48h: Saturday 09:00 CEST
        # March: the session is in summer time (UTC+2), the day before still in winter time (UTC+1).
        (utc(2026, 3, 29, 12), -1440, utc(2026, 3, 28, 13)),  # Saturday 14:00 CET
        (utc(2026, 3, 29, 12), -60, utc(2026, 3, 29, 11)),  # 13:00 CEST
        (utc(2026, 3, 29, 12), 120, utc(2026, 3, 29, 14)),  # 16:00 CEST
        # 24h before 02:30 on Monday 30 March is a time the clocks skip: it moves on to 03:30.
        (utc(2026, 3, 30, 0, 30), -1440, utc(2026, 3, 29, 1, 30)),
        # One hour before 03:30 CEST on the 29th is 01:30 CET, sixty real minutes earlier.
        (utc(2026, 3, 29, 1, 30), -60, utc(2026, 3, 29, 0, 30)),
    ],
)
def test_due_times_keep_the_wall_clock_for_days_and_real_time_for_hours(start, offset, due):
    assert shift(start, offset, ZONE) == due


def test_plan_for_sessions_on_the_last_sundays_of_october_and_march():
    settings = load_settings(
        database_url="sqlite://", brief_hours="24,1", followup_hours=2, reminder_hours=24
    )
    for starts, expected in (
        (
            local(2026, 10, 25, 14),
            [local(2026, 10, 24, 14), local(2026, 10, 25, 13), local(2026, 10, 25, 16)],
        ),
        (local(2026, 3, 29, 14), [local(2026, 3, 28, 14), local(2026, 3, 29, 13), local(2026, 3, 29, 16)]),
    ):
        session = InspirationSession(1, SessionKind.INSPIRATION, starts, "Zaal 1", champion_ids=(7,))
        plan = session_plan(session, [8], settings, starts - timedelta(days=10))
        briefs = sorted(p.due_at for p in plan if p.kind == NudgeKind.BRIEF)
        (followup,) = [p.due_at for p in plan if p.kind == NudgeKind.FOLLOWUP]
        (reminder,) = [p.due_at for p in plan if p.kind == NudgeKind.REMINDER]
        assert [*briefs, followup] == expected
        assert reminder == expected[0]
    # The 24-hour brief of the October session is 25 real hours before it, the March one 23.
    assert local(2026, 10, 25, 14) - local(2026, 10, 24, 14) == timedelta(hours=25)
    assert local(2026, 3, 29, 14) - local(2026, 3, 28, 14) == timedelta(hours=23)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25-10-2026 14:00", utc(2026, 10, 25, 13)),
        ("25/10/2026 14.00", utc(2026, 10, 25, 13)),
        ("2026-10-25 14:00", utc(2026, 10, 25, 13)),
        ("25-10-26 14u", utc(2026, 10, 25, 13)),
        ("25-10 om 9:30", utc(2026, 10, 25, 8, 30)),
        ("24-10-2026 14:00", utc(2026, 10, 24, 12)),
        ("29-3-2027 14:00", utc(2027, 3, 29, 12)),
        # 02:30 on 25 October happens twice; it means the first, still in summer time.
        ("25-10-2026 02:30", utc(2026, 10, 25, 0, 30)),
        ("29-3-2027 02:30", utc(2027, 3, 29, 0, 30)),  # an ordinary Monday in 2027
        ("28-3-2027 02:30", "champions/when_skipped"),  # the last Sunday of March 2027
        ("1-10-2026 10:00", "champions/when_past"),
        ("31-2-2027 10:00", "champions/when_unreadable"),
        ("next tuesday", "champions/when_unreadable"),
        ("1-12-2027", "champions/when_unreadable"),  # a date without a time
        ("25-10-2026 25:00", "champions/when_unreadable"),
    ],
)
def test_reading_typed_start_times(text, expected):
    now = utc(2026, 10, 20, 9)
    found = read_local_time(text, ZONE, now)
    if isinstance(expected, str):
        assert isinstance(found, TimeProblem) and found.template == expected
    else:
        assert found == expected


def test_a_date_without_a_year_is_the_next_one_to_come():
    assert read_local_time("3-3 14:00", ZONE, utc(2026, 10, 20, 9)) == utc(2027, 3, 3, 13)
    assert read_local_time("3-11 14:00", ZONE, utc(2026, 10, 20, 9)) == utc(2026, 11, 3, 13)


def test_offers_wait_for_daytime_on_a_weekday():
    assert next_daytime(local(2026, 11, 24, 11), ZONE) == local(2026, 11, 24, 11)
    assert next_daytime(local(2026, 11, 24, 22), ZONE) == local(2026, 11, 25, 10)
    assert next_daytime(local(2026, 11, 28, 11), ZONE) == local(2026, 11, 30, 10)  # Saturday → Monday
    assert next_daytime(local(2026, 10, 24, 20), ZONE) == local(2026, 10, 26, 10)  # across the change


def test_dates_are_written_the_dutch_and_the_english_way():
    assert spoken(local(2026, 3, 3, 14), "nl", ZONE) == "dinsdag 3 maart om 14:00"
    assert spoken(local(2026, 3, 3, 14), "en", ZONE) == "Tuesday 3 March at 14:00"
    assert spoken(utc(2026, 10, 25, 13), "nl", ZONE) == "zondag 25 oktober om 14:00"
    assert spoken(utc(2026, 10, 24, 12), "nl", ZONE) == "zaterdag 24 oktober om 14:00"


@pytest.mark.parametrize(
    ("day", "when_text", "spoken_nl", "briefs_due", "followup_due"),
    [
        (
            local(2026, 10, 25, 14),
            "25-10-2026 14:00",
            "zondag 25 oktober om 14:00",
            [utc(2026, 10, 24, 12), utc(2026, 10, 25, 12)],
            utc(2026, 10, 25, 15),
        ),
        (
            local(2026, 3, 29, 14),
            "29-3-2026 14:00",
            "zondag 29 maart om 14:00",
            [utc(2026, 3, 28, 13), utc(2026, 3, 29, 11)],
            utc(2026, 3, 29, 14),
        ),
    ],
)
async def test_sessions_across_a_clock_change_nudge_at_the_right_wall_clock_time(
    clean_database_url, day, when_text, spoken_nl, briefs_due, followup_due
):
    """Done-when 6, through the double: scheduled by typing local time, nudged at local time."""
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock, timezone=ZONE) as app:
        admin = api.user(ADMIN, "Admin", "en")
        anna = api.user(ANNA, "Anna", "nl")
        await become(anna, await invite_link(admin, "champion", "Anna"), lang="nl")
        clock.set(day - timedelta(days=10))  # plan it well ahead of the change
        confirmation = await schedule(admin, when=when_text, champions=["Anna"])
        assert spoken(day, "en", ZONE) in confirmation
        rows = await nudge_rows(services(app).database)
        assert sorted(r["due_at"] for r in rows if r["kind"] == "brief") == briefs_due
        assert [r["due_at"] for r in rows if r["kind"] == "followup"] == [followup_due]
        for due in [*briefs_due, followup_due]:
            clock.set(due - timedelta(minutes=1))
            assert (await drain(app)).sent == 0, due
            clock.set(due)
            assert (await drain(app)).sent == 1, due
        briefs = texts(api, ANNA, "Voorbereiding")
        assert len(briefs) == 2 and all(spoken_nl in b for b in briefs)
        (followup,) = texts(api, ANNA, "Hoe ging het?")
        assert spoken_nl in followup
        assert api.rejected == []
