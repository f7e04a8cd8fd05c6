"""Every speed figure of issue 15 against its target, in one table, from one run.

    python bench/all.py [--quick] [--out FILE]

Runs, one after the other (each prints its own detailed tables to stderr here):
  bench/burst.py     50 people at once, as deployed, SQLite and PostgreSQL
  bench/per_update.py --deployed     20 updates/s Poisson; CPU per update against the echo floor
  bench/capacity.py --deployed       highest sustained rate with p99 < 250 ms, one process
  bench/workers.py   2 webhook workers sharing the send budget
  bench/fanout.py    2,000 nudges, 3 runs
then prints the date, the commit, the machine, the load average before and after, and the table.
Takes about 20 minutes (--quick: tiny sizes, a minute or two; a smoke test, not figures).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import PYTHON, ROOT, figure, figure_rows, machine, table

SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("bench/burst.py",),
    ("bench/per_update.py", "--deployed", "--stored", "1000", "--growth", ""),
    ("bench/capacity.py", "--deployed"),
    ("bench/workers.py",),
    ("bench/fanout.py",),
)


def _commit() -> str:
    found = subprocess.run(
        ["git", "log", "-1", "--format=%h %s"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    return found.stdout.strip()[:72] + (" (+ uncommitted changes)" if dirty.stdout.strip() else "")


def run(script: tuple[str, ...], quick: bool, directory: str) -> list[dict[str, Any]]:
    """One script in a child process; its figures come back through --json."""
    out = os.path.join(directory, Path(script[0]).stem + ".json")
    command = [PYTHON, *script, "--json", out, *(["--quick"] if quick else [])]
    print(f"== {' '.join(command[1:])}", file=sys.stderr, flush=True)
    done = subprocess.run(command, cwd=ROOT, stdout=sys.stderr, check=False)
    if done.returncode != 0 or not os.path.exists(out):
        return [figure(script[0], f"failed (exit {done.returncode})", "runs", False)]
    figures: list[dict[str, Any]] = json.loads(Path(out).read_text())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the scripts run, no figures")
    parser.add_argument("--out", default=None, help="also write the table (markdown) to this file")
    args = parser.parse_args()
    started = datetime.datetime.now(datetime.UTC)
    load_before = os.getloadavg()
    figures: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="coachbot-bench-all-") as directory:
        for script in SCRIPTS:
            figures.extend(run(script, args.quick, directory))
    load_after = os.getloadavg()
    header = (
        f"{started:%Y-%m-%d %H:%M} UTC, commit {_commit()}\n"
        f"{machine()}; load average (1/5/15 min) before {'/'.join(f'{x:.1f}' for x in load_before)}, "
        f"after {'/'.join(f'{x:.1f}' for x in load_after)}"
        + (" — QUICK: smoke sizes, not figures" if args.quick else "")
    )
    rows = figure_rows(figures)
    print()
    print(header)
    print()
    print(table(["figure", "result", "target", "met?"], rows))
    notes = [f"- {f['figure']}: {f['note']}" for f in figures if f.get("note")]
    if notes:
        print()
        print("\n".join(notes))
    if args.out:
        lines = [header.replace("\n", "  \n"), "", "| figure | result | target | met? |", "|---|---|---|---|"]
        lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
        lines += ["", *notes]
        Path(args.out).write_text("\n".join(lines) + "\n")
    sys.exit(0)


if __name__ == "__main__":
    main()
