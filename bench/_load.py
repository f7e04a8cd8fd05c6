"""Runs one bot process against one double process under a Poisson load; used by per_update.py and
capacity.py. The bot's CPU is read from /proc for exactly the load window."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench._common import Child, percentile, process_cpu

PG_ADMIN = os.environ.get("COACHBOT_TEST_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True)
class Kind:
    """One bot as the table names it, and how to start it."""

    label: str
    kind: str  # bot_server --kind
    unpaced: bool = False
    style: str = "keyboard"  # double_server --style
    done_on: str = "any"
    webhook: bool = False


ECHO = Kind("echo (floor)", "echo", style="echo", done_on="any")
ECHO_CALLS = Kind("echo, coach's calls", "echo-calls", style="echo", done_on="send")
COACH = Kind("coach, unpaced", "coach", unpaced=True)
COACH_PACED = Kind("coach, as deployed (flood control on)", "coach")
COACH_WEBHOOK = Kind("coach, webhook worker, unpaced", "coach", unpaced=True, webhook=True)
COACH_WEBHOOK_PACED = Kind("coach, webhook worker (production)", "coach", webhook=True)
PEER = Kind("conventional (PicklePersistence)", "peer")


@dataclass
class Tally:
    """Several runs of one kind, added up."""

    kind: Kind
    runs: list[dict[str, Any]] = field(default_factory=list)

    def add(self, result: dict[str, Any]) -> None:
        self.runs.append(result)

    def total(self, key: str) -> float:
        return float(sum(r[key] for r in self.runs))

    def values(self, key: str) -> list[float]:
        return [v for r in self.runs for v in r[key]]

    @property
    def answered(self) -> int:
        return int(self.total("answered"))

    @property
    def cpu_ms_per_update(self) -> float:
        return 1000 * self.total("bot_cpu") / max(1, self.answered)

    @property
    def double_ms_per_update(self) -> float:
        return 1000 * self.total("double_cpu") / max(1, self.answered)

    @property
    def requests_per_update(self) -> float:
        return self.total("requests") / max(1, self.answered)

    def p(self, key: str, share: float) -> float:
        return percentile(self.values(key), share)


@contextlib.asynccontextmanager
async def database(backend: str) -> AsyncIterator[str]:
    """A fresh, empty database URL for one run: a SQLite file in a temp directory, or a new
    PostgreSQL database (dropped afterwards). The coach migrates it at start-up."""
    if backend == "sqlite":
        directory = tempfile.mkdtemp(prefix="coachbot-bench-")
        try:
            yield f"sqlite+aiosqlite:///{directory}/coach.db"
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        return
    import asyncpg
    from sqlalchemy import make_url

    base = make_url(PG_ADMIN)
    name = f"coachbot_bench_{os.getpid()}_{secrets.token_hex(3)}"
    connect = {"host": base.host, "port": base.port, "user": base.username, "database": base.database}
    admin = await asyncpg.connect(**connect, password=base.password)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        admin = await asyncpg.connect(**connect, password=base.password)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def pair(
    kind: Kind,
    *,
    rate: float,
    duration: float,
    seed: int = 1,
    backend: str = "sqlite",
    think: float = 0.25,
    drain: float = 15.0,
    enforce_rate: bool = False,
    bot_extra: tuple[str, ...] = (),
    stored: int = 0,
) -> AsyncIterator[Pair]:
    """A double process and a bot process connected to it, both stopped on exit."""
    port = _free_port() if kind.webhook else None
    double_args = [
        "bench/double_server.py",
        f"--rate={rate}",
        f"--duration={duration}",
        f"--seed={seed}",
        f"--style={kind.style}",
        f"--done-on={kind.done_on}",
        f"--think={think}",
        f"--drain={drain}",
    ]
    if port is not None:
        double_args.append(f"--webhook=http://127.0.0.1:{port}/hook")
    if enforce_rate:
        double_args.append("--enforce-rate")
    async with database(backend) as url:
        data = tempfile.mkdtemp(prefix="coachbot-peer-")
        if stored:
            await _seed(kind, url, Path(data), stored)
        double = await Child.start("double", *double_args)
        bot: Child | None = None
        try:
            info = await double.read()
            bot_args = [
                "bench/bot_server.py",
                f"--kind={kind.kind}",
                f"--base-url={info['base_url']}",
                f"--token={info['token']}",
                f"--db={url}",
                f"--data={data}",
            ]
            if kind.unpaced:
                bot_args.append("--unpaced")
            if port is not None:
                bot_args.append(f"--webhook-port={port}")
            bot_args.extend(bot_extra)
            bot = await Child.start(kind.label, *bot_args)
            await bot.read(timeout=180)
            yield Pair(kind, double, bot, drain)
        finally:
            if bot is not None:
                await bot.stop()
            await double.stop()
            shutil.rmtree(data, ignore_errors=True)


async def _seed(kind: Kind, url: str, data: Path, people: int) -> None:
    from bench._seed import seed_coach, seed_peer
    from bot import PROJECT_ROOT
    from bot.content.catalog import load_catalog

    catalog = load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")
    if kind.kind == "coach":
        await seed_coach(url, catalog, people)
    elif kind.kind == "peer":
        seed_peer(data / "peer.pickle", catalog, people)


@dataclass
class Pair:
    kind: Kind
    double: Child
    bot: Child
    drain: float

    async def people(self, count: int, spread: float, limit: float = 300.0) -> dict[str, Any]:
        """`count` people starting within `spread` seconds, each doing a full check; bot CPU added."""
        cpu_before = process_cpu(self.bot.pid)
        await self.double.send(f"people {count} {spread} {limit}")
        result = await self.double.read(timeout=limit + spread + 60)
        result["bot_cpu"] = process_cpu(self.bot.pid) - cpu_before
        return result

    async def load(self, rate: float, duration: float, profile: str | None = None) -> dict[str, Any]:
        """One load at `rate` updates a second for `duration` seconds; the bot's CPU added."""
        if profile:
            await self.bot.send("profile-start")
            await self.bot.read()
        cpu_before = process_cpu(self.bot.pid)
        await self.double.send(f"go {rate} {duration}")
        result = await self.double.read(timeout=duration + self.drain + 120)
        result["bot_cpu"] = process_cpu(self.bot.pid) - cpu_before
        if profile:
            await self.bot.send(f"profile-stop {profile}")
            await self.bot.read()
        return result


async def measure(
    kind: Kind,
    *,
    rate: float,
    duration: float,
    warmup: float = 2.0,
    seed: int = 1,
    backend: str = "sqlite",
    profile: str | None = None,
    stored: int = 0,
    bot_extra: tuple[str, ...] = (),
) -> dict[str, Any]:
    """Start both processes, warm the bot up briefly (first-use costs), then measure one load."""
    async with pair(
        kind, rate=rate, duration=duration, seed=seed, backend=backend, stored=stored, bot_extra=bot_extra
    ) as connected:
        if warmup > 0:
            await connected.load(min(rate, 20.0), warmup)
        return await connected.load(rate, duration, profile)


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)
