"""Figures 1 and 2: CPU and latency per update, the coach against the framework's floor (a minimal
python-telegram-bot echo bot) and against the conventional build (ConversationHandler +
PicklePersistence flushed after every update), on the same updates in the same run.

    python bench/per_update.py [--quick] [--rate 20] [--duration 12] [--rounds 2] [--stored 1000]
                               [--growth 0,10000] [--backend sqlite|postgres] [--profile]

Every bot runs in its own process, long polling the Bot API double (bench/double_server.py), which
runs in another process with the scripted people: Poisson arrivals at --rate updates a second,
each the next step of a full check (/start, then 18 taps). The bot's CPU is read from /proc over
the load window only (after a 2-second warm-up), so it is the bot's own, the double's excluded.
Bots take turns, --rounds times, so a noisy neighbour hits all of them alike; the ratios are the
figures to trust, the absolute milliseconds depend on the machine and its load.

Rows: the echo floor (one request per update); an echo making the coach's calls with the coach's
payloads (answer, edit, send the next question with its keyboard); the coach without the rate
limiter (its own cost and latency); the coach as deployed (its flood control: at most 30 new
messages a second, one a second per chat); the conventional build. The coach and the
conventional build start with --stored people who already did a check (an organisation in
use), and a second table repeats the two with --growth other sizes. --profile then shows where
the unpaced coach's CPU goes, live (CPU inside its pieces) and by library (cProfile).
"""

from __future__ import annotations

import argparse
import asyncio
import pstats
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import figure, figure_rows, machine, save_figures, table
from bench._load import COACH, COACH_PACED, ECHO, ECHO_CALLS, PEER, Kind, Tally, measure, pair

KINDS = (ECHO, ECHO_CALLS, COACH, COACH_PACED, PEER)


async def _measure_all(args: argparse.Namespace) -> dict[str, Tally]:
    kinds = (ECHO, COACH_PACED) if args.deployed else KINDS
    tallies = {kind.label: Tally(kind) for kind in kinds}
    for round_number in range(args.rounds):
        for kind in kinds:
            result = await measure(
                kind,
                rate=args.rate,
                duration=args.duration,
                warmup=args.warmup,
                seed=args.seed + round_number,
                backend=args.backend,
                stored=0 if kind.kind.startswith("echo") else args.stored,
            )
            tallies[kind.label].add(result)
            _progress(f"round {round_number + 1}", kind, result)
    return tallies


def _progress(what: str, kind: Kind, result: dict[str, Any]) -> None:
    print(
        f"  {what}: {kind.label:<34} {result['answered']:>5} updates, "
        f"{1000 * result['bot_cpu'] / max(1, result['answered']):6.2f} ms CPU each, "
        f"p99 first reply {result['first_p99']:7.1f} ms, load average {result['loadavg']:.1f}",
        file=sys.stderr,
    )


async def _growth(args: argparse.Namespace, sizes: list[int]) -> dict[tuple[str, int], Tally]:
    """The coach and the conventional build holding more people: one short run each."""
    found: dict[tuple[str, int], Tally] = {}
    for stored in sizes:
        for kind in (COACH, PEER):
            result = await measure(
                kind,
                rate=args.rate,
                duration=args.growth_duration,
                warmup=args.warmup,
                seed=args.seed,
                backend=args.backend,
                stored=stored,
            )
            found[(kind.label, stored)] = Tally(kind, [result])
            _progress(f"{stored:,} stored", kind, result)
    return found


async def _account(args: argparse.Namespace) -> dict[str, Any]:
    """CPU inside the coach's main pieces during a live run (bot_server --account)."""
    async with pair(
        COACH, rate=args.rate, duration=args.duration, stored=args.stored, bot_extra=("--account",)
    ) as p:
        await p.load(args.rate, args.warmup)
        await p.bot.send("account")
        await p.bot.read()
        result = await p.load(args.rate, args.duration)
        await p.bot.send("account")
        accounts = await p.bot.read()
    accounts["answered"] = result["answered"]
    accounts["bot_cpu"] = result["bot_cpu"]
    return accounts


def _profile(args: argparse.Namespace) -> None:
    accounts = asyncio.run(_account(args))
    updates = max(1, accounts["answered"])
    rows = [("all of the bot process", 1000 * accounts["bot_cpu"] / updates, updates)]
    for name, seconds in sorted(accounts["accounts"].items(), key=lambda kv: -kv[1]):
        rows.append((name, 1000 * seconds / updates, accounts["calls"][name]))
    print()
    print(
        table(
            ["piece", "CPU ms per update", "calls"],
            rows,
            title="Where the unpaced coach's CPU goes, live (process CPU inside each coroutine; the poll "
            "for the next update runs during the coach's awaits and is counted there):",
        )
    )
    path = Path(tempfile.gettempdir()) / "coachbot-bench-coach.prof"
    asyncio.run(measure(COACH, rate=args.rate, duration=args.duration, warmup=args.warmup, profile=str(path)))
    print()
    print(profile_summary(path))


def _package(filename: str) -> str:
    """Which library (or which part of the coach) a profiled function belongs to."""
    marker = "site-packages/"
    if marker in filename:
        return filename.split(marker, 1)[1].split("/", 1)[0].removesuffix(".py")
    if "/bot/" in filename:
        parts = filename.split("/bot/", 1)[1].split("/")
        return "bot/" + (parts[0] if len(parts) > 1 else parts[0].removesuffix(".py"))
    if filename.startswith(("~", "<")):
        return "builtins (C)"
    if "/lib/python3" in filename:
        return "stdlib/" + filename.rsplit("/", 1)[1].removesuffix(".py")
    return filename.rsplit("/", 1)[-1]


def profile_summary(path: Path, top: int = 14) -> str:
    """Own time by library, and the functions with the most own time."""
    stats = pstats.Stats(str(path))
    raw = stats.stats  # type: ignore[attr-defined]
    idle = sum(v[2] for k, v in raw.items() if k[2] == "<method 'poll' of 'select.epoll' objects>")
    total = (sum(v[2] for v in raw.values()) - idle) or 1.0
    by_package: dict[str, float] = defaultdict(float)
    for (filename, _line, name), (_cc, _nc, own, _cum, _callers) in raw.items():
        if name != "<method 'poll' of 'select.epoll' objects>":
            by_package[_package(filename)] += own
    rows = sorted(by_package.items(), key=lambda kv: -kv[1])[:top]
    lines = [
        table(
            ["library (own time)", "share %"],
            [(name, 100 * seconds / total) for name, seconds in rows],
            title="The same by library (cProfile, wall-clock own time with the event loop's idle wait "
            "left out; cProfile inflates code made of many small Python calls):",
        )
    ]
    functions = sorted(
        ((k, v) for k, v in raw.items() if k[2] != "<method 'poll' of 'select.epoll' objects>"),
        key=lambda kv: -kv[1][2],
    )[:top]
    lines.append("")
    lines.append(
        table(
            ["function", "calls", "own %", "cumulative %"],
            [
                (f"{_package(f)}:{name}", nc, 100 * own / total, 100 * cum / total)
                for (f, _l, name), (_cc, nc, own, cum, _c) in functions
            ],
            title="Functions with the most own time:",
        )
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test in seconds")
    parser.add_argument("--rate", type=float, default=20.0, help="updates a second (Poisson)")
    parser.add_argument("--duration", type=float, default=12.0, help="seconds per measured run")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--stored", type=int, default=1000, help="people with a finished check already stored (coach, peer)"
    )
    parser.add_argument(
        "--growth",
        default="0,10000",
        help="other stored sizes for the coach-vs-conventional table ('' = none)",
    )
    parser.add_argument("--growth-duration", type=float, default=6.0)
    parser.add_argument("--profile", action="store_true", help="also show where the unpaced coach's CPU goes")
    parser.add_argument(
        "--deployed", action="store_true", help="only the echo floor and the coach as deployed (bench/all.py)"
    )
    parser.add_argument("--json", default=None, help="write the figures for bench/all.py")
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup, args.rounds, args.stored, args.growth = 2.0, 0.5, 1, 50, ""

    print(f"machine: {machine()}")
    print(
        f"load: Poisson {args.rate:g} updates/s for {args.duration:g} s per run, "
        f"{args.rounds} round(s) taking turns; long polling, one update at a time; coach on {args.backend}; "
        f"scripted full checks (/start + 18 taps); coach and conventional build hold "
        f"{args.stored:,} earlier checks"
    )
    tallies = asyncio.run(_measure_all(args))
    sizes = [int(x) for x in args.growth.split(",") if x.strip()]
    growth = asyncio.run(_growth(args, sizes)) if sizes else {}
    echo = tallies[ECHO.label]
    paced = tallies[COACH_PACED.label]
    peer = tallies.get(PEER.label)
    coach = tallies.get(COACH.label, paced)
    rows = []
    for tally in tallies.values():
        rows.append(
            (
                tally.kind.label,
                tally.answered,
                tally.cpu_ms_per_update,
                tally.cpu_ms_per_update / echo.cpu_ms_per_update,
                tally.requests_per_update,
                tally.p("first_ms", 0.50),
                tally.p("first_ms", 0.99),
                tally.p("done_ms", 0.99),
                100 * tally.total("answered") / max(1, tally.total("offered")),
            )
        )
    runs = [r for t in tallies.values() for r in t.runs]
    mix = (
        f"{sum(r['checks_completed'] for r in runs):,} checks completed, "
        f"load average {min(r['loadavg'] for r in runs):.1f}–{max(r['loadavg'] for r in runs):.1f} on "
        f"{__import__('os').cpu_count()} cores"
    )
    print()
    print(
        table(
            [
                "bot",
                "updates",
                "CPU ms/update",
                "× echo",
                "requests/update",
                "first reply p50 ms",
                "p99 ms",
                "next question p99 ms",
                "answered %",
            ],
            rows,
            title="Per update (bot process CPU over the load; latency from the double handing the update "
            f"out to the bot's first reply, and to the keyboard of the next step). {mix}:",
        )
    )
    if growth and peer is not None:
        growth_rows = []
        for stored in sorted({*sizes, args.stored}):
            c = coach if stored == args.stored else growth[(COACH.label, stored)]
            q = peer if stored == args.stored else growth[(PEER.label, stored)]
            growth_rows.append(
                (
                    f"{stored:,}",
                    c.cpu_ms_per_update,
                    q.cpu_ms_per_update,
                    c.cpu_ms_per_update / q.cpu_ms_per_update,
                    q.p("first_ms", 0.99),
                    100 * q.total("answered") / max(1, q.total("offered")),
                )
            )
        print()
        print(
            table(
                [
                    "people stored",
                    "coach CPU ms/update",
                    "conventional CPU ms/update",
                    "coach ÷ conventional",
                    "conventional p99 ms",
                    "conventional answered %",
                ],
                growth_rows,
                title="Coach against the conventional build as the stored people grow (PicklePersistence "
                "rewrites every person on every flush):",
            )
        )
    ratio = paced.cpu_ms_per_update / echo.cpu_ms_per_update
    figures = [
        figure(
            f"{args.rate:g} updates/s Poisson, as deployed: update → first reply p99",
            f"{paced.p('first_ms', 0.99):.0f} ms",
            "< 100 ms",
            paced.p("first_ms", 0.99) < 100 and paced.total("unanswered") == 0,
            f"p50 {paced.p('first_ms', 0.50):.0f} ms, next question p99 {paced.p('done_ms', 0.99):.0f} ms, "
            f"{paced.answered} updates",
        ),
        figure(
            "CPU per update ÷ echo floor, same updates, same run (as deployed)",
            f"{ratio:.2f} ({paced.cpu_ms_per_update:.1f} / {echo.cpu_ms_per_update:.1f} ms)",
            "≤ 2.5",
            ratio <= 2.5,
            f"Bot API requests per update {paced.requests_per_update:.2f} / {echo.requests_per_update:.2f}",
        ),
    ]
    if peer is not None:
        figures.append(
            figure(
                f"coach ÷ conventional build, CPU per update, {args.stored:,} stored",
                f"{coach.cpu_ms_per_update / peer.cpu_ms_per_update:.2f} "
                f"(as deployed {paced.cpu_ms_per_update / peer.cpu_ms_per_update:.2f})",
                "< 1.0",
                coach.cpu_ms_per_update / peer.cpu_ms_per_update < 1.0,
            )
        )
    print()
    print(table(["figure", "result", "target", "met?"], figure_rows(figures), title="Against the targets:"))
    save_figures(args.json, figures)
    print(
        "\nnote: 2 shared cores, other people's jobs run at the same time; trust the ratios more than "
        "the milliseconds. The double's own CPU is in its own process and not counted."
    )
    if args.profile:
        _profile(args)


if __name__ == "__main__":
    main()
