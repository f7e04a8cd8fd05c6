"""The bot's one flood-control layer: new messages under Telegram's limits, replies ahead of nudges,
edits and answers never held, 429s waited out; the budget shared through PostgreSQL.

Counted at the Bot API double, which enforces Telegram's limits (a sliding second) and records
when each request arrived.
"""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise

import pytest
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.channels.telegram.pacing import FloodControl, Lane, counts_as_message
from bot.sending import LocalSendBudget, slots_for
from bot.storage.database import Database
from bot.storage.send_budget import PostgresSendBudget
from tests.support.bot_api_double import BotApiDouble, RecordedRequest

# PTB 22 itself warns when it builds RetryAfter with an int; that is not this code's doing.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


def _bot(api: BotApiDouble, flood: FloodControl) -> ExtBot:  # type: ignore[type-arg]
    return ExtBot(
        api.token,
        base_url=api.base_url,
        base_file_url=api.base_file_url,
        request=HTTPXRequest(connection_pool_size=64),
        rate_limiter=flood,
    )


def _busiest_second(times: list[float]) -> int:
    """The most requests in any sliding one-second window."""
    times = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def _sends(api: BotApiDouble) -> list[RecordedRequest]:
    return [r for r in api.requests if r.method == "sendMessage" and r.ok]


def test_what_counts_as_a_new_message():
    assert counts_as_message("sendMessage", {"chat_id": 1})
    assert counts_as_message("sendPhoto", {"chat_id": 1})
    assert counts_as_message("copyMessage", {"chat_id": 1})
    assert not counts_as_message("sendChatAction", {"chat_id": 1})
    assert not counts_as_message("editMessageText", {"chat_id": 1, "message_id": 2})
    assert not counts_as_message("answerCallbackQuery", {"callback_query_id": "1"})
    assert not counts_as_message("setMyCommands", {})


def test_a_rate_becomes_whole_slots_over_a_window():
    assert slots_for(30) == (30, 1.0)
    slots, window = slots_for(28.5)
    assert slots == 29 and window == pytest.approx(29 / 28.5)
    with pytest.raises(ValueError, match="positive"):
        slots_for(0)


async def test_sends_stay_within_the_limits_and_edits_are_never_held():
    """45 messages to 30 chats at once (15 get two), double enforcing 10 a second and 1 per chat:
    no 429; meanwhile an edit and a typing indicator go straight through."""
    async with BotApiDouble(enforce_rate=True, global_per_second=10, per_chat_per_second=1) as api:
        chats = [api.user(9000 + i, f"P{i}", "en").chat_id for i in range(30)]
        async with _bot(api, FloodControl(10)) as bot:
            first = await bot.send_message(chats[0], "to edit later")
            await asyncio.sleep(1.05)
            started = time.monotonic()
            sends = [
                asyncio.create_task(bot.send_message(chat, f"n{i}", rate_limit_args=Lane.BULK))
                for i, chat in enumerate(chats + chats[:15])
            ]
            await asyncio.sleep(0.3)  # the first ten went; 35 are waiting for slots
            before_edit = time.monotonic()
            await bot.edit_message_text("edited", chat_id=chats[0], message_id=first.message_id)
            await bot.send_chat_action(chats[1], "typing")
            edit_took = time.monotonic() - before_edit
            await asyncio.gather(*sends)
            elapsed = time.monotonic() - started
    assert api.too_many == 0
    assert edit_took < 0.5, edit_took
    assert elapsed >= 3.0  # 45 messages at 10 a second: paced, not sent at once
    times = [r.time for r in _sends(api)]
    assert len(times) == 46
    assert _busiest_second(times) <= 10
    for chat in chats[:15]:
        stamps = [r.time for r in _sends(api) if r.chat_id == chat]
        assert all(b - a >= 1.0 for a, b in pairwise(stamps)), stamps


async def test_a_reply_goes_ahead_of_a_queued_fan_out():
    """20 nudges wait for slots at 5 a second; a reply asked for later goes out with the next slot."""
    async with BotApiDouble(enforce_rate=True, global_per_second=5) as api:
        chats = [api.user(9100 + i, f"P{i}", "en").chat_id for i in range(21)]
        async with _bot(api, FloodControl(5)) as bot:
            nudges = [
                asyncio.create_task(bot.send_message(chat, "nudge", rate_limit_args=Lane.BULK))
                for chat in chats[:20]
            ]
            await asyncio.sleep(0.3)
            asked = time.monotonic()
            await bot.send_message(chats[20], "your next question")
            reply_waited = time.monotonic() - asked
            await asyncio.gather(*nudges)
    order = [r.chat_id for r in _sends(api)]
    assert api.too_many == 0
    assert order.index(chats[20]) == 5, order  # right after the first second's five nudges
    assert reply_waited < 1.2


async def test_a_429_pauses_sending_and_the_message_goes_after_retry_after():
    """Without per-chat gaps (private_gap=0) the double refuses the second message to one chat;
    the flood control waits out retry_after and sends it once."""
    async with BotApiDouble(enforce_rate=True, per_chat_per_second=1) as api:
        chat = api.user(9200, "P", "en").chat_id
        async with _bot(api, FloodControl(30, private_gap=0.0)) as bot:
            started = time.monotonic()
            await asyncio.gather(bot.send_message(chat, "one"), bot.send_message(chat, "two"))
            elapsed = time.monotonic() - started
    assert api.too_many == 1
    assert [r.params["text"] for r in _sends(api)] == ["one", "two"]
    assert elapsed >= 0.9


async def test_after_its_retries_a_429_reaches_the_caller():
    from telegram.error import RetryAfter

    async with BotApiDouble(enforce_rate=True, per_chat_per_second=1) as api:
        chat = api.user(9201, "P", "en").chat_id
        async with _bot(api, FloodControl(30, max_retries=0, private_gap=0.0)) as bot:
            await bot.send_message(chat, "one")
            with pytest.raises(RetryAfter):
                await bot.send_message(chat, "two")


async def test_bulk_leaves_the_reserve_to_replies_and_a_pause_holds_everything():
    budget = LocalSendBudget(3, reserve=1)
    await budget.acquire(bulk=True)
    await budget.acquire(bulk=True)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(budget.acquire(bulk=True), 0.2)  # the last slot is the replies'
    await asyncio.wait_for(budget.acquire(bulk=False), 0.05)
    assert budget.free() == 0
    paused = LocalSendBudget(10)
    await paused.pause(0.3)
    started = time.monotonic()
    await paused.acquire(bulk=False)
    assert time.monotonic() - started >= 0.29


async def test_a_released_slot_is_free_again_one_window_after_the_answer():
    budget = LocalSendBudget(2)
    slot = await budget.acquire(bulk=False)
    await budget.acquire(bulk=False)
    await budget.release(slot)
    started = time.monotonic()
    await budget.acquire(bulk=False)
    assert 0.9 <= time.monotonic() - started < 1.5


@pytest.mark.postgres
async def test_two_workers_share_the_postgres_budget(postgres_database: Database, postgres_url: str):
    """Two workers' budgets on one database hand out at most `slots` per window between them,
    and bulk leaves the reserve free even when another worker took the rest."""
    second = Database(postgres_url)
    try:
        workers = [
            PostgresSendBudget(postgres_database.engine, "worker-a", 5),
            PostgresSendBudget(second.engine, "worker-b", 5),
        ]
        taken: list[float] = []

        async def send(budget: PostgresSendBudget) -> None:
            slot = await budget.acquire(bulk=False)
            taken.append(time.monotonic())
            await asyncio.sleep(0.01)  # the request
            await budget.release(slot)

        await asyncio.gather(*(send(workers[i % 2]) for i in range(15)))
        assert len(taken) == 15
        taken.sort()
        # Any six consecutive grants span a full window (one slot reused after its second).
        assert all(later - earlier >= 0.95 for earlier, later in zip(taken, taken[5:], strict=False))

        await asyncio.sleep(1.1)
        a, b = workers
        for _ in range(4):
            await a.acquire(bulk=True)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(b.acquire(bulk=True), 0.3)
        await asyncio.wait_for(b.acquire(bulk=False), 0.3)
    finally:
        await second.dispose()


async def test_replies_to_one_chat_may_burst_three_then_one_a_second():
    async with BotApiDouble() as api:
        chat = api.user(9300, "P", "en").chat_id
        async with _bot(api, FloodControl(30)) as bot:
            for i in range(5):
                await bot.send_message(chat, f"reply {i}")
    times = [r.time for r in _sends(api)]
    assert times[2] - times[0] < 0.5  # a reply and its follow-ups arrive together
    assert times[3] - times[2] >= 0.9 and times[4] - times[3] >= 0.9


@pytest.mark.postgres
async def test_an_emptied_slot_table_is_laid_again(postgres_database: Database):
    from sqlalchemy import text

    budget = PostgresSendBudget(postgres_database.engine, "worker-a", 3)
    await budget.acquire(bulk=False)
    async with postgres_database.engine.begin() as connection:
        await connection.execute(text("DELETE FROM send_slots"))
    await asyncio.wait_for(budget.acquire(bulk=False), 2.0)
