"""Webhook workers as deployed (processes on one PostgreSQL, the Bot API double as Telegram):
a worker killed between its commit and its reply costs nobody their question, and two workers
under a burst stay within the one send budget they share."""

from __future__ import annotations

import asyncio
import signal
import time

import aiohttp
import pytest
from sqlalchemy import text

from bot.storage.database import Database
from tests.support.bot_api_double import BotApiDouble
from tests.support.webhook_driver import build, deliver, script_for, start_worker, stop_worker

pytestmark = pytest.mark.postgres


@pytest.fixture
async def pg_url(postgres_database: Database, postgres_url: str) -> str:  # noqa: ARG001 (empties it)
    return postgres_url


async def _answers_of(url: str, external_id: str) -> list[tuple[str, str | None]]:
    database = Database(url)
    try:
        async with database.engine.connect() as connection:
            rows = await connection.execute(
                text(
                    "SELECT a.question, a.option FROM answers a JOIN people p ON p.id = a.person_id "
                    "WHERE p.external_id = :e ORDER BY a.id"
                ),
                {"e": external_id},
            )
            return [(q, o) for q, o in rows]
    finally:
        await database.dispose()


async def test_a_worker_killed_after_its_commit_leaves_the_question_to_the_redelivery(pg_url, tmp_path):
    """The worker dies the moment it starts replying to a tap (the turn is committed); Telegram
    delivers the update again to the other worker, which sends the current question again."""
    async with BotApiDouble() as api:
        doomed = await start_worker(api, pg_url, str(tmp_path / "doomed.log"))
        spare = await start_worker(api, pg_url, str(tmp_path / "spare.log"))
        user = api.user(user_id=61_000, language_code="en")
        script = script_for(0)
        try:
            async with aiohttp.ClientSession() as session:
                for step in script.steps[:5]:  # /start and onboarding, on the doomed worker
                    await deliver(session, [doomed.url], build(api, user, step), 0)
                killed = asyncio.Event()

                async def kill_on_reply(params: dict) -> bool:
                    if killed.is_set() or api.query_chat(params.get("callback_query_id")) != user.chat_id:
                        return False
                    killed.set()  # first: the dying worker's connection may cancel this very call
                    doomed.process.send_signal(signal.SIGKILL)
                    return True  # the reply never arrives

                api.interceptors["answerCallbackQuery"] = kill_on_reply
                tapped = script.steps[5]  # the first phase question, "who_uses"
                update = build(api, user, tapped)
                attempts = await deliver(session, [doomed.url, spare.url], update, 0)
                assert killed.is_set() and attempts >= 2
                await api.settle()
                question = user.last_message()
                next_step = script.steps[6]
                assert question is not None
                assert any(next_step.text == b["text"] for b in question.inline_buttons()), question
                # The person goes on from the question sent again.
                await deliver(session, [spare.url], build(api, user, next_step), 0)
        finally:
            await stop_worker(spare)
            await stop_worker(doomed)
        assert doomed.process.returncode == -signal.SIGKILL
        assert await _answers_of(pg_url, "61000") == script.answers[:6]
        assert api.rejected == []


def _busiest_second(times: list[float]) -> int:
    times = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


async def test_two_workers_under_a_burst_stay_within_the_shared_budget(pg_url, tmp_path):
    """30 people send /start at once, spread over two workers that may send 5 messages a second
    between them; the double refuses (429) anything over 5 in a second. Alone, each worker would
    send 5 a second and together they would draw 429s."""
    async with BotApiDouble(enforce_rate=True, global_per_second=5) as api:
        env = {"COACHBOT_SEND_RATE": "5"}
        workers = [
            await start_worker(api, pg_url, str(tmp_path / f"worker{i}.log"), extra_env=env) for i in range(2)
        ]
        users = [api.user(user_id=62_000 + i, language_code="en") for i in range(30)]
        try:
            async with aiohttp.ClientSession() as session:
                started = time.monotonic()
                await asyncio.gather(
                    *(
                        deliver(session, [w.url for w in workers], api.stamp(u.text_update("/start")), i % 2)
                        for i, u in enumerate(users)
                    )
                )
                elapsed = time.monotonic() - started
        finally:
            for worker in workers:
                await stop_worker(worker)
    sends = [r.time for r in api.requests if r.method == "sendMessage" and r.ok]
    assert len(sends) >= 30
    assert api.too_many == 0
    assert _busiest_second(sends) <= 5
    assert elapsed >= 4.0  # 30 messages at 5 a second between them
    assert all(u.last_message() is not None for u in users)
