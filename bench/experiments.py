"""What changes in bot/ would gain, measured: the unpaced coach as shipped against the same coach
with one change applied in the bench process only (bench/bot_server.py --experiment).

    python bench/experiments.py [--quick] [--rate 20] [--duration 12] [--rounds 2]

- sniffio: `sniffio` importable, as adding it to the project's dependencies would make it. Since
  anyio 4.11 stopped installing it, httpcore tries (and fails) to import it on every lock it
  creates, several times per Bot API request (encode/httpcore discussion #1102, PR #1103).
- departments: the departments read once instead of in every turn.
Same load as bench/per_update.py (Poisson, full checks, long polling, 1,000 stored checks);
the variants take turns so the machine's noise hits them alike.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import machine, table
from bench._load import COACH, ECHO, Tally, measure

VARIANTS = {
    "coach as shipped": (),
    "+ sniffio installed": ("--experiment=sniffio",),
    "+ departments read once": ("--experiment=departments",),
    "+ both": ("--experiment=sniffio,departments",),
}


async def _run(args: argparse.Namespace) -> dict[str, Tally]:
    tallies = {name: Tally(COACH) for name in VARIANTS}
    tallies["echo floor + sniffio"] = Tally(ECHO)
    for round_number in range(args.rounds):
        for name, extra in VARIANTS.items():
            result = await measure(
                COACH,
                rate=args.rate,
                duration=args.duration,
                warmup=args.warmup,
                seed=args.seed + round_number,
                stored=args.stored,
                bot_extra=extra,
            )
            tallies[name].add(result)
            print(
                f"  round {round_number + 1}: {name:<26} "
                f"{1000 * result['bot_cpu'] / result['answered']:6.2f} ms CPU/update, "
                f"p99 {result['first_p99']:6.1f} ms",
                file=sys.stderr,
            )
        result = await measure(
            ECHO,
            rate=args.rate,
            duration=args.duration,
            warmup=args.warmup,
            seed=args.seed + round_number,
            bot_extra=("--experiment=sniffio",),
        )
        tallies["echo floor + sniffio"].add(result)
    return tallies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--duration", type=float, default=12.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--stored", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        args.duration, args.warmup, args.rounds, args.stored = 2.0, 0.5, 1, 50
    print(f"machine: {machine()}")
    tallies = asyncio.run(_run(args))
    base = tallies["coach as shipped"].cpu_ms_per_update
    floor = tallies["echo floor + sniffio"].cpu_ms_per_update
    rows = [
        (
            name,
            t.cpu_ms_per_update,
            100 * (t.cpu_ms_per_update / base - 1),
            t.cpu_ms_per_update / floor,
            t.p("first_ms", 0.5),
            t.p("first_ms", 0.99),
        )
        for name, t in tallies.items()
    ]
    print()
    print(
        table(
            ["variant", "CPU ms/update", "vs shipped %", "× echo (+sniffio)", "p50 ms", "p99 ms"],
            rows,
            title=f"Unpaced coach, Poisson {args.rate:g}/s, changes applied in the bench process only:",
        )
    )
    print("\nnote: 2 shared cores, noisy; differences of a few per cent are within the noise.")


if __name__ == "__main__":
    main()
