"""A room of people told "open the bot now": 50 people start within two seconds and each does a
full check (/start and 18 taps), tapping a second after each reply, through the coach as deployed.

    python bench/burst.py [--quick] [--people 50] [--spread 2] [--think 1.0] [--backends sqlite,postgres]
                          [--json FILE]

As deployed: on SQLite one process long polling; on PostgreSQL a webhook worker (the production
mode), both with the bot's flood control (bot/channels/telegram/pacing.py), against a Bot API double
that enforces Telegram's limits (30 messages a second, one a second per chat; 429 beyond). Latency
is from the double handing an update out to the bot's first reply about that chat (the press
answered, a message or an edit; not "typing…"), and to the keyboard of the person's next step.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import figure, figure_rows, machine, save_figures, table
from bench._load import COACH_PACED, COACH_WEBHOOK_PACED, Kind, pair

P50_TARGET_MS = 50.0
P99_TARGET_MS = 250.0


async def room(kind: Kind, backend: str, args: argparse.Namespace) -> dict[str, Any]:
    async with pair(
        kind, rate=1, duration=240, backend=backend, think=args.think, drain=5.0, enforce_rate=True
    ) as connected:
        await connected.load(5, 1.0)  # warm-up: first-use costs out of the way
        return await connected.people(args.people, args.spread)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 people: a smoke test")
    parser.add_argument("--people", type=int, default=50)
    parser.add_argument("--spread", type=float, default=2.0, help="seconds over which they start")
    parser.add_argument("--think", type=float, default=1.0, help="seconds between a reply and the next tap")
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--json", default=None, help="write the figures for bench/all.py")
    args = parser.parse_args()
    if args.quick:
        args.people, args.think = 5, 0.3
    print(f"machine: {machine()}")
    rows, figures = [], []
    for backend in args.backends.split(","):
        kind = COACH_PACED if backend == "sqlite" else COACH_WEBHOOK_PACED
        result = asyncio.run(room(kind, backend, args))
        cpu = 1000 * result["bot_cpu"] / max(1, result["answered"])
        rows.append(
            (
                f"{backend}: {kind.label}",
                result["answered"],
                result["unanswered"],
                result["checks_completed"],
                result["first_p50"],
                result["first_p99"],
                result["done_p99"],
                result["requests_per_update"],
                cpu,
                result["too_many"],
                f"{result['loadavg']:.1f}",
            )
        )
        ok = result["unanswered"] == 0 and result["too_many"] == 0
        figures.append(
            figure(
                f"{args.people} people at once, as deployed, {backend}: update → first reply p50 / p99",
                f"{result['first_p50']:.0f} / {result['first_p99']:.0f} ms",
                f"< {P50_TARGET_MS:.0f} / < {P99_TARGET_MS:.0f} ms",
                ok and result["first_p50"] < P50_TARGET_MS and result["first_p99"] < P99_TARGET_MS,
                f"{result['answered']} updates, {result['unanswered']} unanswered, "
                f"{result['too_many']} × 429, next question p99 {result['done_p99']:.0f} ms",
            )
        )
    print()
    print(
        table(
            [
                "bot",
                "updates",
                "unanswered",
                "checks done",
                "first reply p50 ms",
                "p99 ms",
                "next question p99 ms",
                "requests/update",
                "CPU ms/update",
                "429s",
                "load avg",
            ],
            rows,
            title=f"{args.people} people starting within {args.spread:g} s, a full check each, "
            f"{args.think:g} s between a reply and the next tap:",
        )
    )
    print()
    print(table(["figure", "result", "target", "met?"], figure_rows(figures), title="Against the targets:"))
    save_figures(args.json, figures)


if __name__ == "__main__":
    main()
