"""Shared steps for the champions tests: people, roles, departments, assessments, a session.

No tests here; the test_champions*.py modules import these helpers.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.champions.clock import ManualClock
from bot.channels.telegram.champions import dispatcher_of, use_clock
from bot.domain import Assessment
from bot.storage.database import Database
from bot.storage.models import inspiration_sessions_table, nudges_table
from tests.support.bot_api_double import BotApiDouble, ChatClient
from tests.support.harness import ANY_TIME, running_bot, services

ADMIN = 4242
ZONE = ZoneInfo("Europe/Amsterdam")
LINK = re.compile(r"https://t\.me/(?P<bot>\w+)\?start=(?P<code>[A-Za-z0-9_-]+)")


def local(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    """Amsterdam wall-clock time as aware UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


def typed(moment: datetime) -> str:
    """How an admin types a moment: local day-month-year hour:minute."""
    wall = moment.astimezone(ZONE)
    return f"{wall.day}-{wall.month}-{wall.year} {wall.hour:02d}:{wall.minute:02d}"


@contextlib.asynccontextmanager
async def champion_bot(
    api: BotApiDouble, database_url: str, clock: ManualClock, **overrides: Any
) -> AsyncIterator[Any]:
    """The real application on the double; ADMIN configured, the clock by hand, the job idle.

    The repeating job is pushed an hour out so only the test's own sweeps send anything. Quiet
    hours and the weekly cap are off unless a test sets them: these tests follow the real clock.
    """
    for key, value in ANY_TIME.items():
        overrides.setdefault(key, value)
    overrides.setdefault("admin_ids", (ADMIN,))
    overrides.setdefault("dispatch_seconds", 3600)
    async with running_bot(api, database_url, **overrides) as app:
        use_clock(app, clock)
        yield app


async def drain(app: Any) -> Any:
    return await dispatcher_of(app).drain()


async def onboard(user: ChatClient, lang: str = "en", department: str | None = None) -> None:
    """Language, consent, standing and department, by taps."""
    await user.send("/start")
    await user.reply()
    await _onboard_taps(user, lang, department)


async def _onboard_taps(user: ChatClient, lang: str, department: str | None) -> None:
    skip = "Skip this" if lang == "en" else "Sla ik over"
    for label in (
        "English" if lang == "en" else "Nederlands",
        "Agreed, let's go" if lang == "en" else "Akkoord, we gaan",
        "Employee" if lang == "en" else "Medewerker",
        department or skip,
    ):
        await user.tap(label)
        await user.reply()


async def invite_link(admin: ChatClient, role: str = "champion", label: str = "") -> str:
    """The admin asks for an invite; returns the code from the deep link."""
    await admin.send(f"/invite {role} {label}".strip())
    replies = await admin.reply()
    match = LINK.search(replies[-1].text or "")
    assert match, replies[-1].text
    assert match["bot"] == "coach_test_bot"
    return match["code"]


async def become(user: ChatClient, code: str, lang: str = "en", department: str | None = None) -> str:
    """Opens the invite link as a newcomer and onboards; returns the invite's answer text."""
    await user.send(f"/start {code}")
    replies = await user.reply()
    answer = replies[0].text or ""
    await _onboard_taps(user, lang, department)
    return answer


async def add_departments(app: Any, *names: str) -> dict[str, int]:
    async with services(app).database.transaction() as repo:
        return {name: (await repo.departments.add_department(name)).id for name in names}


async def add_respondents(
    database: Database,
    department_id: int | None,
    answers: Sequence[tuple[str, str, tuple[str, ...]]],
    *,
    prefix: str,
    when: datetime | None = None,
) -> list[int]:
    """People (not on Telegram) with one assessment each: (presence phase, pilot phase, fears)."""
    when = when or datetime.now(UTC) - timedelta(days=3)
    ids = []
    async with database.transaction() as repo:
        for index, (presence, pilot, fears) in enumerate(answers):
            person = await repo.people.person_for_update("terminal", f"{prefix}-{index}", create=True)
            assert person is not None
            person.consent, person.department_id = True, department_id
            await repo.people.save_person(person)
            await repo.assessments.add_assessment(
                Assessment(
                    person_id=person.id,
                    run_id=1,
                    phase_presence_model=presence,
                    phase_pilot_model=pilot,
                    fears=fears,
                    causes=(),
                    lens=None,
                    scores={},
                    department_id=department_id,
                    assessed_at=when,
                )
            )
            ids.append(person.id)
    return ids


async def schedule(
    admin: ChatClient,
    *,
    kind: str = "Inspiration session",
    when: str,
    place: str = "Room 4.12",
    departments: Sequence[str] = (),
    champions: Sequence[str] = (),
) -> str:
    """/schedule through every step; returns the bot's final confirmation text."""
    await admin.send("/schedule")
    await admin.reply()
    await admin.tap(kind)
    await admin.reply()
    await admin.send(when)
    await admin.reply()
    await admin.send(place)
    await admin.reply()
    if departments:
        for name in departments:
            await admin.tap(name)
            await admin.reply()
        await admin.tap("Done")
    else:
        await admin.tap("The whole organisation")
    await admin.reply()
    for label in champions:
        await admin.tap(label)
        await admin.reply()
    await admin.tap("Done")
    await admin.reply()
    await admin.tap("Yes, that's it")
    replies = await admin.reply()
    return replies[-1].text or ""


async def nudge_rows(database: Database) -> list[dict[str, Any]]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            select(nudges_table).order_by(nudges_table.c.due_at, nudges_table.c.id)
        )
        return [dict(row) for row in rows.mappings()]


async def session_rows(database: Database) -> list[dict[str, Any]]:
    async with database.engine.connect() as connection:
        rows = await connection.execute(
            select(inspiration_sessions_table).order_by(inspiration_sessions_table.c.id)
        )
        return [dict(row) for row in rows.mappings()]


def texts(api: BotApiDouble, chat_id: int, marker: str) -> list[str]:
    """The bot's messages in a chat that contain `marker`."""
    return [m.text or "" for m in api.bot_messages(chat_id) if marker in (m.text or "")]


def aware(value: datetime) -> datetime:
    """Rows read through the engine (not the repository) are naive UTC on SQLite."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)
