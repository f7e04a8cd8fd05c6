"""Figure 1, second half: the highest rate of arriving updates the coach sustains in one process
with p99 first-reply latency under 250 ms, unpaced and paced.

    python bench/capacity.py [--quick] [--backend sqlite|postgres] [--duration 8] [--webhook] [--floor]

One bot process and one double process stay up while the double offers Poisson loads of rising
rate (new people each time): 10, 20, 30, 40, 50, 60, 80, 100, 120, 150 … updates a second, each
for --duration seconds. A rate counts as sustained when every update got its reply within the
drain time, the replies kept pace (answered rate ≥ 95% of the offered rate) and the p99 from
hand-out to first reply stayed under 250 ms. The ladder stops at the second failure.

Rows:
- coach, unpaced: build_application(paced=False), long polling: the coach's own capacity.
- coach, as deployed: with the bot's flood control (bot/channels/telegram/pacing.py), which paces
  only new messages (30 a second, one a second per chat); a tap's answer and edit are not paced.
- --webhook: the coach as a webhook worker (updates of different people at once).
- --floor: the echo floor, for scale.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import figure, figure_rows, machine, save_figures, table
from bench._load import COACH, COACH_PACED, COACH_WEBHOOK, ECHO, Kind, pair

LADDER = (10, 20, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300)
LIMIT_MS = 250.0


def sustained(result: dict[str, Any]) -> bool:
    return (
        result["unanswered"] == 0
        and result["answered_rate"] >= 0.95 * result["offered_rate"]
        and result["first_p99"] < LIMIT_MS
    )


async def climb(kind: Kind, args: argparse.Namespace) -> list[tuple[float, dict[str, Any]]]:
    probes: list[tuple[float, dict[str, Any]]] = []
    async with pair(kind, rate=10, duration=args.duration, backend=args.backend, drain=5.0) as connected:
        await connected.load(10, 1.0)  # warm-up
        failures = 0
        for rate in LADDER:
            if rate > args.max_rate:
                break
            result = await connected.load(rate, args.duration)
            probes.append((rate, result))
            ok = sustained(result)
            print(
                f"  {kind.label:<32} {rate:>5}/s offered {result['offered_rate']:6.1f}/s, answered "
                f"{result['answered_rate']:6.1f}/s, p99 {result['first_p99']:8.1f} ms, "
                f"{1000 * result['bot_cpu'] / max(1, result['answered']):5.2f} ms CPU/update, "
                f"load average {result['loadavg']:.1f}: {'sustained' if ok else 'not sustained'}",
                file=sys.stderr,
            )
            failures += 0 if ok else 1
            if failures >= 2:
                break
    return probes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per rate")
    parser.add_argument("--max-rate", type=float, default=300.0)
    parser.add_argument("--webhook", action="store_true", help="also the coach as a webhook worker")
    parser.add_argument("--floor", action="store_true", help="also the echo floor")
    parser.add_argument("--deployed", action="store_true", help="only the coach as deployed (bench/all.py)")
    parser.add_argument("--json", default=None, help="write the figures for bench/all.py")
    args = parser.parse_args()
    kinds = [COACH_PACED] if args.deployed else [COACH, COACH_PACED]
    if args.webhook:
        kinds.append(COACH_WEBHOOK)
    if args.floor:
        kinds.insert(0, ECHO)
    if args.quick:
        args.duration, args.max_rate = 1.5, 20.0

    print(f"machine: {machine()}")
    print(
        f"coach on {args.backend}; Poisson loads of {args.duration:g} s per rate; sustained = all answered, "
        f"pace kept, p99 first reply < {LIMIT_MS:.0f} ms"
    )
    results = {kind.label: asyncio.run(climb(kind, args)) for kind in kinds}
    rows = []
    best: dict[str, float] = {}
    for label, probes in results.items():
        good = [rate for rate, result in probes if sustained(result)]
        best[label] = max(good, default=0.0)
        at_best = next((r for rate, r in probes if rate == best[label]), None)
        rows.append(
            (
                label,
                f"{best[label]:g}/s" if good else "< 10/s",
                at_best["first_p50"] if at_best else float("nan"),
                at_best["first_p99"] if at_best else float("nan"),
                1000 * at_best["bot_cpu"] / max(1, at_best["answered"]) if at_best else float("nan"),
                max(r["loadavg"] for _, r in probes),
            )
        )
    print()
    print(
        table(
            [
                "bot",
                "highest sustained rate",
                "p50 ms there",
                "p99 ms there",
                "CPU ms/update",
                "max load avg",
            ],
            rows,
            title=f"Highest rate sustained with p99 first reply < {LIMIT_MS:.0f} ms "
            f"(one process, {args.backend}):",
        )
    )
    figures = [
        figure(
            f"sustained rate with p99 < {LIMIT_MS:.0f} ms, one process, {args.backend}, {label}",
            f"{rate:g}/s" if rate else f"< {LADDER[0]}/s",
            "≥ 100/s",
            rate >= 100,
        )
        for label, rate in best.items()
        if label != ECHO.label
    ]
    print()
    print(table(["figure", "result", "target", "met?"], figure_rows(figures), title="Against the targets:"))
    save_figures(args.json, figures)
    print("\nnote: 2 shared cores, other people's jobs run at the same time; the rates move with their load.")


if __name__ == "__main__":
    main()
