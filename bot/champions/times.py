"""Wall-clock time in COACHBOT_TIMEZONE: reading what people type, and due times across DST changes.

Sessions are stored in UTC but planned on the wall clock: "the day before at the same time" must
stay 14:00 when the clocks change overnight, while "an hour before" means sixty real minutes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

MINUTES_PER_DAY = 24 * 60

_DATE_TIME = re.compile(
    r"""^\s*
    (?:
        (?P<y1>\d{4})[-/.](?P<m1>\d{1,2})[-/.](?P<d1>\d{1,2})          # 2026-03-03
      | (?P<d2>\d{1,2})[-/.](?P<m2>\d{1,2})(?:[-/.](?P<y2>\d{2}|\d{4}))?  # 3-3-2026, 3/3, 3.3.26
    )
    (?:\s*,\s*|\s+(?:om\s+|at\s+)?|T)                                # a separator is required
    (?P<hh>\d{1,2})(?:[:.hu](?P<mm>\d{2}))?\s*(?:uur|u|h)?
    \s*$""",
    re.VERBOSE | re.IGNORECASE,
)


@dataclass(frozen=True)
class TimeProblem:
    """Why typed text is not a usable start time; `template` names the reply."""

    template: str


def read_local_time(text: str, zone_name: str, now: datetime) -> datetime | TimeProblem:
    """A start time typed as local wall-clock time, as aware UTC.

    Accepts "3-3-2026 14:00", "3/3 14.00" (this year, or next year once past), "2026-03-03 14:00".
    Refuses times in the past and times a clock change skips (02:30 on the last Sunday of March);
    a time that occurs twice (the October change) means the first, summer-time one.
    """
    match = _DATE_TIME.match(text)
    if match is None:
        return TimeProblem("champions/when_unreadable")
    zone = ZoneInfo(zone_name)
    local_now = now.astimezone(zone)
    parts = match.groupdict()
    day = int(parts["d1"] or parts["d2"])
    month = int(parts["m1"] or parts["m2"])
    year_text = parts["y1"] or parts["y2"]
    hour, minute = int(parts["hh"]), int(parts["mm"] or 0)
    try:
        clock_time = time(hour, minute)
        if year_text is None:
            day_of = date(local_now.year, month, day)
            if datetime.combine(day_of, clock_time) < local_now.replace(tzinfo=None):
                day_of = date(local_now.year + 1, month, day)
        else:
            year = int(year_text) + (2000 if len(year_text) == 2 else 0)
            day_of = date(year, month, day)
    except ValueError:
        return TimeProblem("champions/when_unreadable")
    wall = datetime.combine(day_of, clock_time)
    moment = wall_to_utc(wall, zone)
    if moment is None:
        return TimeProblem("champions/when_skipped")
    if moment <= now:
        return TimeProblem("champions/when_past")
    return moment


def wall_to_utc(wall: datetime, zone: ZoneInfo) -> datetime | None:
    """A naive local wall-clock time as UTC; None when the clock change skips it."""
    aware = wall.replace(tzinfo=zone, fold=0)
    moment = aware.astimezone(UTC)
    if moment.astimezone(zone).replace(tzinfo=None) != wall:
        return None
    return moment


def shift(start: datetime, offset_minutes: int, zone_name: str) -> datetime:
    """The moment `offset_minutes` from `start` (negative: before), as aware UTC.

    Whole days move on the wall clock (a brief "24 hours before" a 14:00 session comes at 14:00 the
    day before, whatever the clocks did overnight); the rest of the offset is elapsed time, so "1 hour
    before" is sixty real minutes. A wall-clock time the change skips moves forward with it.
    """
    zone = ZoneInfo(zone_name)
    sign = -1 if offset_minutes < 0 else 1
    days, minutes = divmod(abs(offset_minutes), MINUTES_PER_DAY)
    local = start.astimezone(zone).replace(tzinfo=None) + timedelta(days=sign * days)
    # fold=0 on a skipped time reads it with the offset before the change: 02:30 becomes 03:30.
    day_shifted = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    return day_shifted + timedelta(minutes=sign * minutes)


def next_daytime(moment: datetime, zone_name: str, *, opens: int = 9, closes: int = 18) -> datetime:
    """`moment` if it falls on a weekday between opens and closes (local), else the next 10:00 there.

    Offers nobody asked for (re-checks) should not buzz a phone at night or at the weekend.
    """
    zone = ZoneInfo(zone_name)
    local = moment.astimezone(zone)
    if local.weekday() < 5 and opens <= local.hour < closes:
        return moment
    day = local.date() if local.hour < opens else local.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    found = wall_to_utc(datetime.combine(day, time(10, 0)), zone)
    assert found is not None  # no zone skips 10:00
    return found
