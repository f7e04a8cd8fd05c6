"""The nudge dispatcher: none lost across restarts, none sent twice by two workers, pacing and errors.

Counts are taken at the Bot API double (successful sendMessage calls per chat), not from the
dispatcher's own report, so a double send would show even if the dispatcher did not notice it.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from sqlalchemy import select
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.champions.clock import ManualClock
from bot.champions.dispatcher import Dispatcher
from bot.channels.telegram.champions import TelegramNudgeSender
from bot.channels.telegram.pacing import FloodControl
from bot.content.catalog import load_catalog
from bot.domain import NudgeKind, NudgeStatus
from bot.settings import load_settings
from bot.storage.database import Database
from bot.storage.models import nudges_table, people_table
from bot.storage.nudges import NewNudge
from tests.support.bot_api_double import BotApiDouble
from tests.support.harness import ANY_TIME, services
from tests.test_champions_support import (
    ADMIN,
    add_departments,
    become,
    champion_bot,
    drain,
    invite_link,
    local,
    nudge_rows,
    onboard,
    schedule,
    texts,
    typed,
)

ANNA = 5401
SALLY = 5402


def _in_days(now: datetime, days: int, hour: int) -> datetime:
    from tests.test_champions_support import ZONE

    day = (now.astimezone(ZONE) + timedelta(days=days)).date()
    return local(day.year, day.month, day.day, hour)


def _sent_to(api: BotApiDouble, chat_id: int) -> int:
    return sum(1 for r in api.calls("sendMessage") if r.ok and r.chat_id == chat_id)


async def _champion_and_session(api, starts, *, departments=()):
    admin = api.user(ADMIN, "Admin", "en")
    anna = api.user(ANNA, "Anna", "en")
    await become(anna, await invite_link(admin, "champion", "Anna"))
    await schedule(admin, when=typed(starts), departments=departments, champions=["Anna"])
    return admin, anna


# -- Done-when 2: a restart between scheduling and the due time -----------------------------------------


async def test_restart_between_scheduling_and_due_time_loses_nothing(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    starts = _in_days(now, 3, 14)
    async with BotApiDouble() as api:
        async with champion_bot(api, clean_database_url, clock) as app:
            await add_departments(app, "Sales")
            sally = api.user(SALLY, "Sally", "en")
            await onboard(sally, department="Sales")
            await sally.send("/sessions")
            await sally.reply()
            await sally.tap("Remind me")
            await sally.reply()
            await _champion_and_session(api, starts, departments=["Sales"])
            assert len(await nudge_rows(services(app).database)) == 4
        # A new process on the same database: nothing in memory survived, the rows did.
        async with champion_bot(api, clean_database_url, clock) as app:
            for moment in (
                starts - timedelta(days=1),
                starts - timedelta(hours=1),
                starts + timedelta(hours=2),
            ):
                clock.set(moment)
                await drain(app)
            rows = await nudge_rows(services(app).database)
        assert [r["status"] for r in rows] == ["sent"] * 4
        assert _sent_to(api, ANNA) - len(api.bot_messages(ANNA)) == 0
        assert len(texts(api, ANNA, "Prep brief")) == 2
        assert len(texts(api, ANNA, "How did it go?")) == 1
        assert len(texts(api, SALLY, "Reminder")) == 1
        assert api.rejected == []


async def test_a_claim_left_by_a_crashed_worker_is_sent_after_the_lease(database):
    """A worker that claimed and died: its nudges wait out the lease, then go out once."""
    settings = load_settings(database_url="sqlite://", nudge_lease_seconds=300, **ANY_TIME)
    catalog = load_catalog(settings.dialogues_dir, settings.knowledge_dir)
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    async with BotApiDouble() as api:
        person_ids = await _people(database, [7001, 7002], api)
        async with database.transaction() as repo:
            await repo.nudges.add_nudges(
                [NewNudge(NudgeKind.RECHECK, pid, now - timedelta(minutes=1)) for pid in person_ids], now
            )
            claimed = await repo.nudges.claim_due("dead-worker", now, now - timedelta(minutes=5), 10)
        assert len(claimed) == 2
        async with _bot(api) as bot:
            dispatcher = Dispatcher(database, TelegramNudgeSender(bot), catalog, settings, clock)
            assert (await dispatcher.drain()).claimed == 0  # still leased to the dead worker
            clock.advance(timedelta(minutes=4))
            assert (await dispatcher.drain()).claimed == 0
            clock.advance(timedelta(minutes=2))
            report = await dispatcher.drain()
        assert report.sent == 2
        assert Counter(r.chat_id for r in api.calls("sendMessage") if r.ok) == {7001: 1, 7002: 1}


# -- Done-when 3: two dispatchers, one PostgreSQL, 1,000 due nudges -------------------------------------


@pytest.mark.postgres
async def test_two_dispatchers_on_postgres_send_each_of_1000_nudges_once(postgres_database, postgres_url):
    settings = load_settings(database_url=postgres_url, **ANY_TIME)
    catalog = load_catalog(settings.dialogues_dir, settings.knowledge_dir)
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    chats = list(range(800_000, 801_000))
    async with BotApiDouble() as api:  # not enforcing Telegram's limits, so the bots may go fast
        person_ids = await _people(postgres_database, chats, api)
        async with postgres_database.transaction() as repo:
            await repo.nudges.add_nudges(
                [
                    NewNudge(NudgeKind.RECHECK, pid, now - timedelta(seconds=i % 300))
                    for i, pid in enumerate(person_ids)
                ],
                now,
            )
        second = Database(postgres_url)
        try:
            async with _bot(api, rate=5000) as bot_a, _bot(api, rate=5000) as bot_b:
                workers = [
                    Dispatcher(
                        db,
                        TelegramNudgeSender(bot),
                        catalog,
                        settings,
                        clock,
                        worker=name,
                        batch=50,
                    )
                    for db, bot, name in ((postgres_database, bot_a, "worker-a"), (second, bot_b, "worker-b"))
                ]
                started = time.monotonic()
                reports = await asyncio.gather(*(w.drain() for w in workers))
                elapsed = time.monotonic() - started
        finally:
            await second.dispose()
        sends = Counter(r.chat_id for r in api.calls("sendMessage") if r.ok)
        assert len(sends) == 1000 and set(sends.values()) == {1}, Counter(sends.values())
        assert sum(r.sent for r in reports) == 1000
        assert all(r.sent > 0 for r in reports), reports  # both took part
        assert sum(r.lost for r in reports) == 0
        async with postgres_database.engine.connect() as connection:
            statuses = Counter((await connection.execute(select(nudges_table.c.status))).scalars().all())
            claimers = Counter((await connection.execute(select(nudges_table.c.claimed_by))).scalars().all())
        assert statuses == {"sent": 1000}
        assert set(claimers) == {"worker-a", "worker-b"}
        assert elapsed < 60


# -- Done-when 4: moved and cancelled sessions; blocked and erased people -----------------------------


async def test_moving_a_session_moves_its_pending_nudges(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    starts = _in_days(now, 3, 14)
    later = _in_days(now, 6, 10)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        database = services(app).database
        admin, _anna = await _champion_and_session(api, starts)
        before = {(r["kind"], r["offset_minutes"]): r["due_at"] for r in await nudge_rows(database)}
        await admin.send("/sessions")
        await admin.reply()
        await admin.tap("Move #1")
        assert "When does it start now?" in (await admin.reply())[-1].text
        await admin.send(typed(later))
        await admin.reply()
        await admin.tap("Yes, that's it")
        assert "Moved: #1" in (await admin.reply())[-1].text
        rows = [r for r in await nudge_rows(database) if r["kind"] != "moved"]
        after = {(r["kind"], r["offset_minutes"]): r["due_at"] for r in rows}
        assert sorted(r["id"] for r in rows) == [1, 2, 3]  # the same rows, moved
        assert {r["status"] for r in rows} == {"pending"}
        assert after[("brief", -1440)] == later - timedelta(days=1)
        assert after[("brief", -60)] == later - timedelta(hours=1)
        assert after[("followup", 120)] == later + timedelta(hours=2)
        # The champion hears of it at once (the admin moved it, so the admin is not told).
        assert (await drain(app)).sent == 1
        (notice,) = texts(api, ANNA, "Moved: #1")
        assert typed(later).split()[1] in notice
        assert len(texts(api, ADMIN, "Moved: #1")) == 1  # the admin's own confirmation, no notice
        # The old times pass in silence; the new ones bring each nudge once.
        for moment in (before[("brief", -1440)], before[("brief", -60)], before[("followup", 120)]):
            clock.set(moment)
            assert (await drain(app)).claimed == 0
        for moment in (after[("brief", -1440)], after[("brief", -60)], after[("followup", 120)]):
            clock.set(moment)
            assert (await drain(app)).sent == 1
        assert len(texts(api, ANNA, "Prep brief")) == 2
        assert api.rejected == []


async def test_a_brief_already_sent_comes_again_for_the_new_time(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    starts = _in_days(now, 3, 14)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        admin, _ = await _champion_and_session(api, starts)
        clock.set(starts - timedelta(days=1))
        assert (await drain(app)).sent == 1
        await admin.send("/sessions")
        await admin.reply()
        await admin.tap("Move #1")
        await admin.reply()
        await admin.send(typed(starts + timedelta(days=7)))
        await admin.reply()
        await admin.tap("Yes, that's it")
        await admin.reply()
        clock.set(starts + timedelta(days=6))
        assert (await drain(app)).sent == 2  # word of the move, and the brief for the new time
        assert len(texts(api, ANNA, "Moved: #1")) == 1
        briefs = texts(api, ANNA, "Prep brief")
        assert len(briefs) == 2 and briefs[0] != briefs[1]


async def test_cancelling_a_session_cancels_its_nudges(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    starts = _in_days(now, 3, 14)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        admin, anna = await _champion_and_session(api, starts)
        await anna.send("/sessions")  # the champion may cancel their own session
        await anna.reply()
        await anna.tap("Cancel #1")
        await anna.reply()
        await anna.tap("Yes, cancel it")
        assert "Cancelled: #1" in (await anna.reply())[-1].text
        assert {r["status"] for r in await nudge_rows(services(app).database)} == {"cancelled"}
        sent = _sent_to(api, ANNA)
        for moment in (starts - timedelta(days=1), starts - timedelta(hours=1), starts + timedelta(hours=3)):
            clock.set(moment)
            assert (await drain(app)).claimed == 0
        assert _sent_to(api, ANNA) == sent
        await admin.send("/sessions")
        assert "Nothing planned yet" in (await admin.reply())[0].text


async def test_a_person_who_blocked_the_bot_is_marked_unreachable_and_not_retried(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    starts = _in_days(now, 3, 14)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        database = services(app).database
        await _champion_and_session(api, starts)
        api.block(ANNA)
        clock.set(starts - timedelta(days=1))
        report = await drain(app)
        assert (report.sent, report.failed) == (0, 1)
        forbidden = [r for r in api.calls("sendMessage") if r.chat_id == ANNA and r.status == 403]
        assert len(forbidden) == 1
        async with database.engine.connect() as connection:
            reachable = (
                await connection.execute(
                    select(people_table.c.reachable).where(people_table.c.external_id == str(ANNA))
                )
            ).scalar_one()
        assert reachable is False
        for moment in (starts - timedelta(hours=1), starts + timedelta(hours=2)):
            clock.set(moment)
            report = await drain(app)
            assert (report.sent, report.cancelled) == (0, 1)
        assert len([r for r in api.calls("sendMessage") if r.chat_id == ANNA and r.status == 403]) == 1
        statuses = [r["status"] for r in await nudge_rows(database)]
        assert statuses == ["failed", "cancelled", "cancelled"]


async def test_a_person_erased_with_forget_gets_no_nudge(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    starts = _in_days(now, 3, 14)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        database = services(app).database
        _, anna = await _champion_and_session(api, starts)
        assert len(await nudge_rows(database)) == 3
        await anna.send("/forget")
        await anna.reply()
        await anna.tap("Yes, erase everything")
        await anna.reply()
        assert await nudge_rows(database) == []  # gone with the person
        sent = _sent_to(api, ANNA)
        for moment in (starts - timedelta(days=1), starts + timedelta(hours=3)):
            clock.set(moment)
            assert (await drain(app)).claimed == 0
        assert _sent_to(api, ANNA) == sent


async def test_cancelling_tells_the_champions_and_whoever_was_reminded(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    starts = _in_days(now, 3, 14)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock) as app:
        await add_departments(app, "Sales")
        sally = api.user(SALLY, "Sally", "en")
        tom = api.user(5403, "Tom", "en")
        for person in (sally, tom):
            await onboard(person, department="Sales")
        await sally.send("/sessions")
        await sally.reply()
        await sally.tap("Remind me")
        await sally.reply()
        admin, _ = await _champion_and_session(api, starts, departments=["Sales"])
        clock.set(starts - timedelta(hours=20))
        await drain(app)  # Sally's reminder and Anna's first brief
        await admin.send("/sessions")
        await admin.reply()
        await admin.tap("Cancel #1")
        await admin.reply()
        await admin.tap("Yes, cancel it")
        await admin.reply()
        report = await drain(app)
        assert report.sent == 2
        assert len(texts(api, ANNA, "Cancelled: #1")) == 1
        assert len(texts(api, SALLY, "Cancelled: #1")) == 1
        assert texts(api, 5403, "Cancelled") == []
        clock.set(starts + timedelta(hours=3))
        assert (await drain(app)).claimed == 0
        assert api.rejected == []


# -- pacing and Telegram's answers ------------------------------------------------------------------------


# PTB 22 itself warns when it builds RetryAfter with an int; that is not this code's doing.
@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")
async def test_a_429_is_retried_after_retry_after(database):
    """Without per-chat gaps the double answers 429; the flood control waits it out and sends once."""
    settings = load_settings(database_url="sqlite://", **ANY_TIME)
    catalog = load_catalog(settings.dialogues_dir, settings.knowledge_dir)
    now = datetime.now(UTC).replace(microsecond=0)
    async with BotApiDouble(enforce_rate=True) as api:
        (person_id,) = await _people(database, [7101], api)
        async with database.transaction() as repo:
            await repo.nudges.add_nudges(
                [NewNudge(NudgeKind.RECHECK, person_id, now, dedupe_key=f"k{i}") for i in range(2)], now
            )
        async with _bot(api, private_gap=0.0) as bot:
            dispatcher = Dispatcher(database, TelegramNudgeSender(bot), catalog, settings, ManualClock(now))
            started = time.monotonic()
            report = await dispatcher.drain()
        assert report.sent == 2
        assert api.too_many >= 1
        assert time.monotonic() - started >= 0.9
        assert _sent_to(api, 7101) == 2


async def test_default_pacing_stays_under_telegrams_limits(database):
    """35 chats at once and three nudges for one chat: no 429 from a double that enforces the limits."""
    settings = load_settings(database_url="sqlite://", **ANY_TIME)
    catalog = load_catalog(settings.dialogues_dir, settings.knowledge_dir)
    now = datetime.now(UTC).replace(microsecond=0)
    async with BotApiDouble(enforce_rate=True) as api:
        chats = list(range(7200, 7235))
        person_ids = await _people(database, chats, api)
        async with database.transaction() as repo:
            await repo.nudges.add_nudges(
                [NewNudge(NudgeKind.RECHECK, pid, now, dedupe_key=f"a{pid}") for pid in person_ids]
                + [NewNudge(NudgeKind.RECHECK, person_ids[0], now, dedupe_key=f"b{i}") for i in range(2)],
                now,
            )
        async with _bot(api) as bot:
            dispatcher = Dispatcher(database, TelegramNudgeSender(bot), catalog, settings, ManualClock(now))
            report = await dispatcher.drain()
        assert report.sent == 37
        assert api.too_many == 0
        assert _sent_to(api, chats[0]) == 3
        first_chat = [r.time for r in api.calls("sendMessage") if r.chat_id == chats[0]]
        assert all(b - a >= 0.99 for a, b in pairwise(first_chat))


async def test_claims_are_disjoint_and_lapse_after_the_lease(database):
    now = datetime.now(UTC).replace(microsecond=0)
    async with BotApiDouble() as api:
        person_ids = await _people(database, list(range(7300, 7310)), api)
    async with database.transaction() as repo:
        await repo.nudges.add_nudges(
            [NewNudge(NudgeKind.RECHECK, pid, now - timedelta(seconds=i)) for i, pid in enumerate(person_ids)]
            + [NewNudge(NudgeKind.RECHECK, person_ids[0], now + timedelta(hours=1), dedupe_key="later")],
            now,
        )
    lease = timedelta(minutes=5)
    async with database.transaction() as repo:
        first = await repo.nudges.claim_due("a", now, now - lease, 6)
    async with database.transaction() as repo:
        second = await repo.nudges.claim_due("b", now, now - lease, 6)
    assert len(first) == 6 and len(second) == 4 and not set(first) & set(second)
    async with database.transaction() as repo:
        assert await repo.nudges.claim_due("c", now + timedelta(minutes=4), now - lease, 20) == []
        lapsed = await repo.nudges.claim_due(
            "c", now + lease + timedelta(seconds=1), now + timedelta(seconds=1), 20
        )
    assert sorted(lapsed) == sorted(first + second)
    async with database.transaction() as repo:
        assert await repo.nudges.finish(first[0], "a", NudgeStatus.SENT, now) is False  # no longer a's
        assert await repo.nudges.finish(first[0], "c", NudgeStatus.SENT, now) is True


# -- helpers -------------------------------------------------------------------------------------------


async def _people(database: Database, chat_ids: list[int], api: BotApiDouble) -> list[int]:
    """Consenting Telegram people (one chat each at the double), as one bulk insert."""
    for chat in chat_ids:
        api.user(chat, f"P{chat}", "en")
    async with database.engine.begin() as connection:
        await connection.execute(
            people_table.insert(),
            [
                {
                    "channel": "telegram",
                    "external_id": str(chat),
                    "language": "en",
                    "consent": True,
                    "created_at": datetime.now(UTC),
                }
                for chat in chat_ids
            ],
        )
        rows = await connection.execute(
            select(people_table.c.id, people_table.c.external_id).where(
                people_table.c.external_id.in_([str(c) for c in chat_ids])
            )
        )
        by_chat = {int(external): pid for pid, external in rows}
    return [by_chat[c] for c in chat_ids]


def _bot(api: BotApiDouble, rate: float = 30.0, private_gap: float = 1.0) -> ExtBot:  # type: ignore[type-arg]
    """A bot with the application's flood control on the double, a pool wide enough for parallel sends."""
    return ExtBot(
        api.token,
        base_url=api.base_url,
        base_file_url=api.base_file_url,
        request=HTTPXRequest(connection_pool_size=16),
        rate_limiter=FloodControl(rate, private_gap=private_gap),
    )
