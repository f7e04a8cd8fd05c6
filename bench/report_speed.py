"""How long `coachbot report` takes on a 100,000-person demo organisation on SQLite.

    python bench/report_speed.py [--people 100000] [--db PATH] [--runs 3]

Creates the demo database once (in the system's temp directory unless --db is given; re-used on
later runs), then times the real command in a fresh process, as an admin would run it: start-up,
content loading, the SQL, the protection and the text. It also times the pieces in-process, so a
slow run shows where the time went. Prints a small table; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import schema_tag  # noqa: E402
from bot import PROJECT_ROOT  # noqa: E402
from bot.content.catalog import load_catalog  # noqa: E402
from bot.demo_data import fill  # noqa: E402
from bot.reports.aggregates import collect  # noqa: E402
from bot.reports.chart import render_png  # noqa: E402
from bot.reports.csv_export import to_csv  # noqa: E402
from bot.reports.report import assemble, categories_of  # noqa: E402
from bot.reports.text import render_text  # noqa: E402
from bot.storage.database import Database  # noqa: E402

ZONE = "Europe/Amsterdam"


async def _prepare(url: str, people: int) -> tuple[int, int, float]:
    catalog = load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")
    database = Database(url)
    try:
        await database.ensure_schema()
        started = time.perf_counter()
        summary = await fill(
            database, categories_of(catalog.knowledge), people=people, departments=8, months=6
        )
        return summary.people, summary.assessments, time.perf_counter() - started
    finally:
        await database.dispose()


async def _pieces(url: str) -> list[tuple[str, float]]:
    catalog = load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")
    database = Database(url)
    now = datetime.now(UTC)
    timings: list[tuple[str, float]] = []
    try:
        started = time.perf_counter()
        async with database.read() as connection:
            raw = await collect(connection, categories_of(catalog.knowledge), now=now, months=6, zone=ZONE)
        timings.append(("SQL (3 GROUP BY queries)", time.perf_counter() - started))
        started = time.perf_counter()
        report = assemble(raw, catalog, lang="en", min_group=5, generated_at=now, zone=ZONE)
        timings.append(("folding and suppression", time.perf_counter() - started))
        started = time.perf_counter()
        render_text(report, catalog)
        timings.append(("text", time.perf_counter() - started))
        started = time.perf_counter()
        to_csv(report)
        timings.append(("CSV", time.perf_counter() - started))
        started = time.perf_counter()
        render_png(report)
        timings.append(("chart (PNG)", time.perf_counter() - started))
    finally:
        await database.dispose()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--db", type=Path, default=None)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="500 people, one run: a smoke test")
    args = parser.parse_args()
    if args.quick:
        args.people, args.runs = 500, 1
    path = args.db or Path(tempfile.gettempdir()) / f"coachbot-bench-{args.people}-{schema_tag()}.db"
    url = f"sqlite+aiosqlite:///{path}"
    if not path.exists():
        people, checks, seconds = asyncio.run(_prepare(url, args.people))
        print(f"created {path}: {people:,} people, {checks:,} checks in {seconds:.1f} s")
    else:
        print(f"re-using {path}")

    environment = {**os.environ, "DATABASE_URL": url}
    command = [sys.executable, "-m", "bot", "report"]
    walls = []
    for _ in range(args.runs):
        started = time.perf_counter()
        done = subprocess.run(command, env=environment, capture_output=True, text=True, cwd=ROOT, check=False)
        walls.append(time.perf_counter() - started)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            raise SystemExit(done.returncode)
    pieces = asyncio.run(_pieces(url))

    print()
    print(f"{'what':<38}{'seconds':>10}")
    print("-" * 48)
    print(f"{'`coachbot report`, whole command':<38}{min(walls):>10.2f}   (best of {len(walls)})")
    for name, seconds in pieces:
        print(f"{'  ' + name:<38}{seconds:>10.2f}")


if __name__ == "__main__":
    main()
