"""Production mode: webhook workers on PostgreSQL keep every answer through bursts, repeats,
a killed worker and a database outage; a wrong secret changes nothing."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess

import aiohttp
import pytest
from sqlalchemy import text

from bot.storage.database import Database
from tests.support.bot_api_double import BotApiDouble
from tests.support.harness import settings_for
from tests.support.webhook_driver import (
    SECRET,
    Script,
    build,
    deliver,
    post,
    script_for,
    start_worker,
    stop_worker,
)

pytestmark = pytest.mark.postgres


async def _answers(database: Database) -> dict[str, list[tuple[str, str | None]]]:
    """Every telegram person's answers in the order they were written."""
    async with database.engine.connect() as connection:
        rows = (
            await connection.execute(
                text(
                    "SELECT p.external_id, a.question, a.option FROM answers a "
                    "JOIN people p ON p.id = a.person_id WHERE p.channel = 'telegram' ORDER BY a.id"
                )
            )
        ).all()
    found: dict[str, list[tuple[str, str | None]]] = {}
    for external_id, question, option in rows:
        found.setdefault(external_id, []).append((question, option))
    return found


async def _assert_each_has_own_answers(url: str, scripts: dict[int, Script]) -> None:
    """Every person ends with exactly their own answers, once each, in order."""
    database = Database(url)
    try:
        stored = await _answers(database)
    finally:
        await database.dispose()
    for user_id, script in scripts.items():
        assert stored.get(str(user_id)) == script.answers, user_id


async def _run_people(
    api, urls, scripts: dict[int, Script], *, duplicate_share: float, seed: int, on_round=None
) -> None:
    """Rounds of bursts: every person's next update at once, alternating workers per person and
    per round (so one person's consecutive updates hit different workers), some sent to both."""
    rng = random.Random(seed)
    async with aiohttp.ClientSession() as session:
        round_no = 0
        # A person re-prompted (/start) after a lost reply repeats a step; more than that is a bug.
        limit = 3 * max(len(s.steps) for s in scripts.values())
        while any(s.position < len(s.steps) for s in scripts.values()):
            assert round_no < limit, "people stopped making progress: an answer was lost"
            if on_round is not None:
                await on_round(round_no)

            async def one(user_id: int, script: Script, round_no: int = round_no) -> None:
                if script.position >= len(script.steps):
                    return
                user = api.user(user_id=user_id, language_code="en")
                step = script.steps[script.position]
                update = build(api, user, step)
                first = (user_id + round_no) % len(urls)
                if rng.random() < duplicate_share:
                    await asyncio.gather(
                        deliver(session, urls, update, first), deliver(session, urls, update, first + 1)
                    )
                else:
                    await deliver(session, urls, update, first)
                if update.get("message", {}).get("text") == "/start" and step.kind == "tap":
                    return  # a re-prompt after a lost reply: the same step comes again
                script.position += 1

            await asyncio.gather(*(one(uid, s) for uid, s in scripts.items()))
            round_no += 1


@pytest.fixture
async def pg_url(postgres_database: Database, postgres_url: str) -> str:  # noqa: ARG001 (empties it)
    return postgres_url


@pytest.mark.slow
async def test_two_workers_bursts_and_repeats_lose_nothing(pg_url, tmp_path):
    async with BotApiDouble() as api:
        workers = [await start_worker(api, pg_url, str(tmp_path / f"worker{i}.log")) for i in range(2)]
        try:
            scripts = {10_000 + i: script_for(i) for i in range(100)}
            await _run_people(api, [w.url for w in workers], scripts, duplicate_share=0.10, seed=7)
        finally:
            for worker in workers:
                await stop_worker(worker)
        await _assert_each_has_own_answers(pg_url, scripts)
        assert api.rejected == []
        assert all("Where you stand" in (api.user(user_id=uid).last_text() or "") for uid in scripts)


@pytest.mark.slow
async def test_a_killed_worker_loses_nothing(pg_url, tmp_path):
    async with BotApiDouble() as api:
        workers = [await start_worker(api, pg_url, str(tmp_path / f"worker{i}.log")) for i in range(2)]
        killed = asyncio.Event()

        async def kill_midway(round_no: int) -> None:
            if round_no == 8 and not killed.is_set():

                async def later() -> None:
                    await asyncio.sleep(0.05)  # in the middle of this round's burst
                    workers[0].process.send_signal(signal.SIGKILL)
                    killed.set()

                asyncio.get_running_loop().create_task(later())

        try:
            scripts = {20_000 + i: script_for(i) for i in range(40)}
            await _run_people(
                api, [w.url for w in workers], scripts, duplicate_share=0.0, seed=11, on_round=kill_midway
            )
        finally:
            for worker in workers:
                await stop_worker(worker)
        assert killed.is_set() and workers[0].process.returncode == -signal.SIGKILL
        await _assert_each_has_own_answers(pg_url, scripts)
        assert api.rejected == []


def _pg_ctl(action: str) -> None:
    cluster = subprocess.run(
        ["ls", "/etc/postgresql"], capture_output=True, text=True, check=True
    ).stdout.split()[0]
    subprocess.run(
        [
            "pg_ctlcluster",
            "--skip-systemctl-redirect",
            cluster,
            "main",
            action,
            *(["-m", "fast"] if action == "stop" else []),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.destructive
async def test_postgres_restart_while_people_answer(pg_url, tmp_path):
    """The server goes down for two seconds in the middle of a burst, then comes back."""
    async with BotApiDouble() as api:
        worker = await start_worker(api, pg_url, str(tmp_path / "worker.log"))
        health_while_down: list[int] = []
        outage: list[asyncio.Task[None]] = []

        async def restart_during_burst() -> None:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, _pg_ctl, "stop")
            try:
                async with aiohttp.ClientSession() as session, session.get(worker.health) as response:
                    health_while_down.append(response.status)
                await asyncio.sleep(2)
            finally:
                await loop.run_in_executor(None, _pg_ctl, "start")

        async def on_round(round_no: int) -> None:
            if round_no == 6:
                outage.append(asyncio.get_running_loop().create_task(restart_during_burst()))

        try:
            scripts = {30_000 + i: script_for(i) for i in range(20)}
            await _run_people(api, [worker.url], scripts, duplicate_share=0.0, seed=3, on_round=on_round)
            await outage[0]
            assert worker.process.returncode is None  # no handler crashed the worker
            async with aiohttp.ClientSession() as session, session.get(worker.health) as response:
                assert response.status == 200
        finally:
            await stop_worker(worker)
        assert health_while_down == [503]
        await _assert_each_has_own_answers(pg_url, scripts)
        assert api.rejected == []


@pytest.mark.parametrize("header", [None, "", "wrong-secret", SECRET + "x"])
async def test_a_wrong_secret_gets_403_and_changes_nothing(pg_url, tmp_path, header):
    async with BotApiDouble() as api:
        worker = await start_worker(api, pg_url, str(tmp_path / "worker.log"))
        try:
            user = api.user(user_id=40_000, language_code="en")
            update = api.stamp(user.text_update("/start"))
            before = len(api.requests)
            async with aiohttp.ClientSession() as session:
                headers = {} if header is None else {"X-Telegram-Bot-Api-Secret-Token": header}
                async with session.post(worker.url, json=update, headers=headers) as response:
                    assert response.status == 403
                # The same update with the right secret is still new: nothing was claimed.
                assert await post(session, worker.url, update) == 200
        finally:
            await stop_worker(worker)
        sends = [r for r in api.requests[before:] if r.method == "sendMessage"]
        assert len(sends) == 1


async def test_bad_bodies_are_refused_without_crashing(pg_url, tmp_path):
    async with BotApiDouble() as api:
        worker = await start_worker(api, pg_url, str(tmp_path / "worker.log"))
        try:
            headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
            async with aiohttp.ClientSession() as session:
                for body in (b"not json", b"[1,2]", b'{"no_update_id": 1}', b'{"update_id": "x"}'):
                    async with session.post(worker.url, data=body, headers=headers) as response:
                        assert response.status == 400
                async with session.get(worker.health) as response:
                    assert response.status == 200
                    assert (await response.json()) == {"database": "ok"}
        finally:
            await stop_worker(worker)
        assert worker.process.returncode == 0


async def test_webhook_set_and_delete_register_once(monkeypatch, tmp_path):
    from bot.cli import main

    async with BotApiDouble() as api:
        settings = settings_for(api, f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", settings.telegram_bot_token.get_secret_value())
        monkeypatch.setenv("TELEGRAM_API_BASE_URL", api.base_url)
        monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", SECRET)
        code = await asyncio.to_thread(main, ["webhook", "set", "https://coach.example.org/hook"])
        assert code == 0
        assert api.webhook_url == "https://coach.example.org/hook"
        assert api.webhook_secret == SECRET
        code = await asyncio.to_thread(main, ["webhook", "delete"])
        assert code == 0
        assert not api.webhook_url
        monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET")
        code = await asyncio.to_thread(main, ["webhook", "set", "https://coach.example.org/hook"])
        assert code == 2
