"""Several webhook workers, one send budget: messages a second to Telegram never above its limit.

    python bench/workers.py [--quick] [--workers 2] [--people 100] [--json FILE]

Two `coachbot run --webhook` processes on one PostgreSQL database, a Bot API double enforcing
Telegram's limits (30 messages a second overall, one a second per chat; 429 beyond). Each of
--people people sends /start, /help and /privacy, a little over a second apart (as a person types),
all people at once, each update posted to the workers in turn: three new messages per person, far
more than 30 a second asked for at the start. Measured at the double: the most
messages that arrived in any sliding second, the rate over the whole burst, and the 429s drawn.
Without the shared budget each worker would send 30 a second and the double would refuse half.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench._common import figure, figure_rows, machine, save_figures, table
from bench._load import database
from tests.support.bot_api_double import BotApiDouble
from tests.support.webhook_driver import deliver, start_worker, stop_worker

TELEGRAM_RATE = 30
COMMANDS = ("/start", "/help", "/privacy")
FIRST_USER = 930_000_000
#: Seconds between one person's commands: human typing, and over Telegram's one a second per chat.
PERSON_GAP = 1.2


def busiest_second(times: list[float]) -> int:
    """The most arrivals in any sliding one-second window."""
    times = sorted(times)
    most, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


async def burst(workers: int, people: int) -> dict[str, Any]:
    logs = tempfile.mkdtemp(prefix="coachbot-workers-")
    async with database("postgres") as url, BotApiDouble(enforce_rate=True) as api:
        running = [await start_worker(api, url, os.path.join(logs, f"w{i}.log")) for i in range(workers)]
        urls = [w.url for w in running]
        users = [api.user(FIRST_USER + i, f"P{i}", "en") for i in range(people)]
        try:
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200)) as session:

                async def person(index: int) -> None:
                    for turn, command in enumerate(COMMANDS):
                        if turn:
                            await asyncio.sleep(PERSON_GAP)
                        update = api.stamp(users[index].text_update(command))
                        await deliver(session, urls, update, index + turn, deadline=300)

                started = time.monotonic()
                await asyncio.gather(*(person(i) for i in range(people)))
                elapsed = time.monotonic() - started
        finally:
            for worker in running:
                await stop_worker(worker)
        sends = sorted(r.time for r in api.requests if r.method == "sendMessage" and r.ok)
    span = sends[-1] - sends[0] if len(sends) > 1 else float("nan")
    return {
        "messages": len(sends),
        "busiest": busiest_second(sends),
        "rate": (len(sends) - 1) / span if len(sends) > 1 else 0.0,
        "too_many": api.too_many,
        "elapsed": elapsed,
        "loadavg": os.getloadavg()[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10 people: a smoke test")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--people", type=int, default=100)
    parser.add_argument("--json", default=None, help="write the figures for bench/all.py")
    args = parser.parse_args()
    if args.quick:
        args.people = 10
    print(f"machine: {machine()}")
    result = asyncio.run(burst(args.workers, args.people))
    print()
    print(
        table(
            ["workers", "people", "messages", "busiest second", "messages/s overall", "429s", "load avg"],
            [
                (
                    args.workers,
                    args.people,
                    result["messages"],
                    result["busiest"],
                    result["rate"],
                    result["too_many"],
                    f"{result['loadavg']:.1f}",
                )
            ],
            title=f"{args.people} people × {len(COMMANDS)} messages through {args.workers} webhook workers "
            f"on one PostgreSQL, a double enforcing {TELEGRAM_RATE}/s:",
        )
    )
    figures = [
        figure(
            f"{args.workers} webhook workers: messages/s to Telegram (busiest second)",
            f"{result['busiest']} (overall {result['rate']:.1f}/s, {result['too_many']} × 429)",
            f"never above {TELEGRAM_RATE}/s",
            result["busiest"] <= TELEGRAM_RATE and result["too_many"] == 0,
            f"{result['messages']} messages",
        )
    ]
    print()
    print(table(["figure", "result", "target", "met?"], figure_rows(figures), title="Against the targets:"))
    save_figures(args.json, figures)


if __name__ == "__main__":
    main()
