"""Fan-out at Telegram's limit: 2,000 nudges through a double that enforces 30 messages a second
overall and one per chat per second, answering 429 with retry_after beyond that; 3 runs.

    python bench/fanout.py [--quick] [--nudges 2000] [--runs 3] [--rate 30] [--json FILE]

The real application as deployed (build_application(settings): the bot's flood control, nudges
in its bulk lane, COACHBOT_SEND_RATE=--rate) polls a BotApiDouble(enforce_rate=True). The
database (a fresh SQLite file) holds --nudges re-check offers, all due now, for people on
Telegram; a fifth of the people get two (as a champion gets a brief and a reminder), so the
per-chat limit is exercised too. The dispatcher's repeating job (COACHBOT_DISPATCH_SECONDS,
default 5) claims and sends them. Measured at the double: successful sendMessage calls from the
first to the last, the achieved rate as a share of Telegram's 30 a second, the 429s the bot drew,
and per-chat gaps under one second.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import select

from bench._common import figure, figure_rows, machine, save_figures, table
from bot.channels.telegram.application import build_application
from bot.channels.telegram.runner import start_polling, stop_polling
from bot.domain import NudgeKind
from bot.logs import configure_logging
from bot.settings import load_settings
from bot.storage.database import Database
from bot.storage.models import people_table
from bot.storage.nudges import NewNudge
from tests.support.bot_api_double import BotApiDouble
from tests.support.harness import ANY_TIME

TELEGRAM_RATE = 30.0
FIRST_CHAT = 700_000_000


async def _seed(url: str, nudges: int) -> list[int]:
    """People on Telegram and their due nudges; returns the chat ids."""
    doubles = nudges // 5
    people = nudges - doubles
    database = Database(url)
    try:
        await database.ensure_schema()
        now = datetime.now(UTC)
        async with database.engine.begin() as connection:
            await connection.execute(
                people_table.insert(),
                [
                    {
                        "channel": "telegram",
                        "external_id": str(FIRST_CHAT + i),
                        "language": "en" if i % 3 else "nl",
                        "standing": "employee",
                        "consent": True,
                        "created_at": now,
                    }
                    for i in range(people)
                ],
            )
            found = await connection.execute(select(people_table.c.id).order_by(people_table.c.id))
            ids = [row.id for row in found]
        async with database.transaction() as repo:
            wanted = [NewNudge(NudgeKind.RECHECK, pid, now) for pid in ids]
            wanted += [NewNudge(NudgeKind.RECHECK, pid, now) for pid in ids[:doubles]]
            await repo.nudges.add_nudges(wanted, now)
    finally:
        await database.dispose()
    return [FIRST_CHAT + i for i in range(people)]


async def _counts(url: str) -> dict[str, int]:
    database = Database(url)
    try:
        async with database.transaction(read_only=True) as repo:
            return await repo.nudges.nudge_counts()
    finally:
        await database.dispose()


class _SkippedSweeps(logging.Handler):
    """Counts APScheduler's "skipped: maximum number of running instances reached": a sweep that
    outlasted the job's interval, so the next tick passed with nothing sent."""

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if "maximum number of running instances" in record.getMessage():
            self.count += 1


async def fan_out(nudges: int, send_rate: float, give_up_after: float) -> dict[str, Any]:
    directory = tempfile.mkdtemp(prefix="coachbot-fanout-")
    try:
        return await _fan_out(directory, nudges, send_rate, give_up_after)
    finally:
        shutil.rmtree(directory, ignore_errors=True)


async def _fan_out(directory: str, nudges: int, send_rate: float, give_up_after: float) -> dict[str, Any]:
    url = f"sqlite+aiosqlite:///{directory}/coach.db"
    chats = await _seed(url, nudges)
    async with BotApiDouble(enforce_rate=True, global_per_second=30, per_chat_per_second=1) as api:
        for chat in chats:
            api.user(chat, "Colleague", "en")
        settings = load_settings(
            telegram_bot_token=api.token,
            telegram_api_base_url=api.base_url,
            database_url=url,
            send_rate=send_rate,
            **ANY_TIME,  # the bench measures sending, not the nudge policy (quiet hours, weekly cap)
        )
        skipped = _SkippedSweeps()
        scheduler_log = logging.getLogger("apscheduler")
        scheduler_log.addHandler(skipped)
        scheduler_log.propagate = False
        application = build_application(settings)
        await start_polling(application)
        started = time.monotonic()
        try:
            while time.monotonic() - started < give_up_after:
                await asyncio.sleep(1.0)
                counts = await _counts(url)
                if counts.get("sent", 0) + counts.get("failed", 0) + counts.get("cancelled", 0) >= nudges:
                    break
        finally:
            await stop_polling(application)
        counts = await _counts(url)
        sends = sorted(r.time for r in api.requests if r.method == "sendMessage" and r.ok)
        per_chat: dict[Any, list[float]] = defaultdict(list)
        for r in api.requests:
            if r.method == "sendMessage" and r.ok:
                per_chat[r.chat_id].append(r.time)
        close = sum(1 for times in per_chat.values() for a, b in pairwise(times) if b - a < 1.0)
        span = sends[-1] - sends[0] if len(sends) > 1 else float("nan")
        idle = sum(b - a for a, b in pairwise(sends) if b - a > 0.5)
        refused = [r for r in api.requests if r.method == "sendMessage" and r.status == 429]
        per_chat_refusals = sum(
            1 for r in refused if any(0 <= r.time - t < 1.0 for t in per_chat.get(r.chat_id, []))
        )
        rate = (len(sends) - 1) / span if len(sends) > 1 else 0.0
        # the steady part: the busiest minute-long stretch is not needed; the whole span is the figure
        return {
            "send_rate": send_rate,
            "sent": counts.get("sent", 0),
            "pending": counts.get("pending", 0) + counts.get("claimed", 0),
            "messages": len(sends),
            "span": span,
            "rate": rate,
            "share": rate / TELEGRAM_RATE,
            "too_many": api.too_many,
            "close_per_chat": close,
            "first_after": sends[0] - started if sends else float("nan"),
            "idle": idle,
            "skipped_sweeps": skipped.count,
            "too_many_per_chat": per_chat_refusals,
            "trace": [(r.time, r.status, r.chat_id) for r in api.requests if r.method == "sendMessage"],
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 nudges, one run: a smoke test")
    parser.add_argument("--nudges", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rate", type=float, default=30.0, help="COACHBOT_SEND_RATE")
    parser.add_argument("--json", default=None, help="write the figures for bench/all.py")
    args = parser.parse_args()
    if args.quick:
        args.nudges, args.runs = 60, 1
    configure_logging(30)
    print(f"machine: {machine()}")
    rows, results = [], []
    for run in range(args.runs):
        result = asyncio.run(fan_out(args.nudges, args.rate, args.nudges / args.rate * 2 + 60))
        results.append(result)
        print(
            f"  run {run + 1}: {result['sent']} sent in {result['span']:.1f} s, "
            f"{result['rate']:.1f}/s, {result['too_many']} × 429",
            file=sys.stderr,
        )
        rows.append(
            (
                run + 1,
                result["sent"],
                result["pending"],
                result["span"],
                result["rate"],
                100 * result["share"],
                f"{result['too_many']} ({result['too_many_per_chat']} per chat)",
                result["close_per_chat"],
                result["idle"],
                result["skipped_sweeps"],
            )
        )
    print()
    print(
        table(
            [
                "run",
                "sent",
                "left",
                "first→last s",
                "messages/s",
                "% of 30/s",
                "429s",
                "per-chat gaps < 1 s",
                "idle s (gaps > 0.5 s)",
                "sweeps overran",
            ],
            rows,
            title=f"{args.nudges:,} nudges (COACHBOT_SEND_RATE={args.rate:g}) through a double enforcing "
            "30/s overall and 1/s per chat:",
        )
    )
    shares = ", ".join(f"{100 * r['share']:.1f}%" for r in results)
    refused = ", ".join(str(r["too_many"]) for r in results)
    figures = [
        figure(
            f"fan-out of {args.nudges:,} nudges, {args.runs} run(s): share of 30/s; 429s",
            f"{shares}; {refused} × 429",
            "≥ 95%, 0 × 429, each run",
            all(r["share"] >= 0.95 and r["too_many"] == 0 and r["pending"] == 0 for r in results),
            "per-chat gaps under 1 s: " + ", ".join(str(r["close_per_chat"]) for r in results),
        )
    ]
    print()
    print(table(["figure", "result", "target", "met?"], figure_rows(figures), title="Against the targets:"))
    print(
        "\nnote: the rate is from the first send to the last (the first sweep starts "
        "COACHBOT_DISPATCH_SECONDS after start-up, not counted); idle = time between sends more than 0.5 s "
        "apart; sweeps overran = job ticks APScheduler skipped because the previous sweep was still running."
    )
    save_figures(args.json, figures)


if __name__ == "__main__":
    main()
