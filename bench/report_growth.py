"""Figure 4: `coachbot report` as the data grows: 10,000, 100,000 and 1,000,000 checks, on SQLite
and PostgreSQL, so the growth is visible.

    python bench/report_growth.py [--quick] [--sizes 10000,100000,1000000] [--unit checks|answers]
                                  [--backend both|sqlite|postgres] [--runs 3] [--drop]

What grows: the report aggregates completed checks (the `assessments` table, one row per check,
each the outcome of 18 answers). --unit checks (the default) counts those rows: the strict
reading, a million rows to scan. --unit answers counts answers, 18 to a check, so 1,000,000
answers are 55,556 checks. The databases are
demo organisations from `coachbot demo-data`'s code (bot.demo_data.fill, Core bulk inserts, in
chunks), built once and kept for later runs: SQLite files in the system's temp directory,
PostgreSQL databases named coachbot_bench_report_<size>_<migration head> (--drop removes them
afterwards). Never commit them.

Timed per size, best of --runs:
- the whole command: `python -m bot report` in a fresh process (start-up, content, schema check,
  SQL, protection, text), as an admin runs it;
- the report itself: build_report + render_text in this process (what grows with the data);
- start-up alone: the command on an empty database, the part that does not grow.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select

from bench._common import PYTHON, ROOT, machine, schema_tag, table, verdict
from bench._load import PG_ADMIN
from bot import PROJECT_ROOT
from bot.content.catalog import Catalog, load_catalog
from bot.storage.database import Database
from bot.storage.models import assessments_table

ZONE = "Europe/Amsterdam"
#: Checks per demo person, roughly (first checks plus re-checks over six months).
CHECKS_PER_PERSON = 1.5
CHUNK_PEOPLE = 40_000
#: Answers behind one check: language, consent, standing, department, nine phase questions,
#: fears and causes (a tap and "done" each), anything else.
ANSWERS_PER_CHECK = 18


def _pg_name(size: int) -> str:
    return f"coachbot_bench_report_{size}_{schema_tag()}"


def sqlite_url(size: int) -> str:
    path = Path(tempfile.gettempdir()) / f"coachbot-bench-report-{size}-{schema_tag()}.db"
    return f"sqlite+aiosqlite:///{path}"


def postgres_url(size: int) -> str:
    from sqlalchemy import make_url

    return make_url(PG_ADMIN).set(database=_pg_name(size)).render_as_string(hide_password=False)


async def _pg_admin(statement: str) -> None:
    import asyncpg
    from sqlalchemy import make_url

    base = make_url(PG_ADMIN)
    connection = await asyncpg.connect(
        host=base.host, port=base.port, user=base.username, password=base.password, database=base.database
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


async def _pg_exists(size: int) -> bool:
    import asyncpg
    from sqlalchemy import make_url

    base = make_url(PG_ADMIN)
    connection = await asyncpg.connect(
        host=base.host, port=base.port, user=base.username, password=base.password, database=base.database
    )
    try:
        found = await connection.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", _pg_name(size))
    finally:
        await connection.close()
    return bool(found)


async def _checks(url: str) -> int:
    database = Database(url)
    try:
        await database.ensure_schema()
        async with database.engine.connect() as connection:
            return int(
                (await connection.execute(select(func.count()).select_from(assessments_table))).scalar_one()
            )
    finally:
        await database.dispose()


async def prepare(backend: str, size: int, catalog: Catalog) -> tuple[str, int, float]:
    """The database for `size` checks: re-used when it is there, else filled in chunks."""
    from bot.demo_data import fill
    from bot.reports.report import categories_of

    if backend == "sqlite":
        url = sqlite_url(size)
    else:
        url = postgres_url(size)
        if not await _pg_exists(size):
            await _pg_admin(f'CREATE DATABASE "{_pg_name(size)}"')
    have = await _checks(url)
    started = time.perf_counter()
    chunk = 0
    database = Database(url)
    try:
        while have < size:
            people = max(1, min(CHUNK_PEOPLE, int((size - have) / CHECKS_PER_PERSON) + 1))
            await fill(
                database,
                categories_of(catalog.knowledge),
                people=people,
                departments=8,
                months=6,
                seed=1 + chunk,
                zone=ZONE,
            )
            chunk += 1
            have = await _checks(url)
            print(f"  {backend}: {have:,} checks …", file=sys.stderr)
        if chunk and backend == "sqlite":
            async with database.engine.connect() as connection:
                await connection.exec_driver_sql("ANALYZE")
        if chunk and backend == "postgres":
            await _pg_admin_analyze(url)
    finally:
        await database.dispose()
    return url, have, (time.perf_counter() - started) if chunk else 0.0


async def _pg_admin_analyze(url: str) -> None:
    import asyncpg
    from sqlalchemy import make_url

    target = make_url(url)
    connection = await asyncpg.connect(
        host=target.host,
        port=target.port,
        user=target.username,
        password=target.password,
        database=target.database,
    )
    try:
        await connection.execute("VACUUM ANALYZE")
    finally:
        await connection.close()


def whole_command(url: str, runs: int) -> float:
    environment = {**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [PYTHON, "-m", "bot", "report"],
            env=environment,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        best = min(best, time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"coachbot report failed: {done.stderr.strip()[-500:]}")
    return best


async def in_process(url: str, catalog: Catalog, runs: int) -> float:
    from bot.reports.report import build_report
    from bot.reports.text import render_text

    database = Database(url)
    best = float("inf")
    try:
        await build_report(database, catalog, lang="en", min_group=5, zone=ZONE, months=6)  # warm-up
        for _ in range(runs):
            started = time.perf_counter()
            report = await build_report(database, catalog, lang="en", min_group=5, zone=ZONE, months=6)
            render_text(report, catalog)
            best = min(best, time.perf_counter() - started)
    finally:
        await database.dispose()
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--backend", choices=("both", "sqlite", "postgres"), default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--drop", action="store_true", help="remove the PostgreSQL databases afterwards")
    parser.add_argument(
        "--unit",
        choices=("checks", "answers"),
        default="checks",
        help="what --sizes count: checks (rows the report scans) or answers (18 to a check)",
    )
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.runs = "1000,4000", 1
    given = [int(s) for s in args.sizes.split(",")]
    sizes = [max(1, round(s / ANSWERS_PER_CHECK)) for s in given] if args.unit == "answers" else given
    named = dict(zip(sizes, given, strict=True))
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    catalog = load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")

    print(f"machine: {machine()}")
    rows = []
    figures: dict[tuple[str, int], float] = {}
    whole: dict[tuple[str, int], float] = {}
    for backend in backends:
        empty_url = sqlite_url(0) if backend == "sqlite" else postgres_url(0)
        if backend == "postgres" and not asyncio.run(_pg_exists(0)):
            asyncio.run(_pg_admin(f'CREATE DATABASE "{_pg_name(0)}"'))
        asyncio.run(_checks(empty_url))
        start_up = whole_command(empty_url, args.runs)
        previous: tuple[int, float] | None = None
        for size in sizes:
            url, checks, built = asyncio.run(prepare(backend, size, catalog))
            command = whole_command(url, args.runs)
            report = asyncio.run(in_process(url, catalog, args.runs))
            figures[(backend, size)] = report
            whole[(backend, size)] = command
            growth = "–"
            if previous is not None:
                growth = f"×{report / previous[1]:.1f} for ×{checks / previous[0]:.0f} data"
            previous = (checks, report)
            rows.append(
                (
                    backend,
                    f"{checks:,}",
                    f"{checks * ANSWERS_PER_CHECK:,}",
                    command,
                    report,
                    start_up,
                    growth,
                    f"built in {built:.0f} s" if built else "cached",
                )
            )
    print()
    print(
        table(
            [
                "backend",
                "checks",
                "≈ answers",
                "whole command s",
                "report s",
                "start-up s",
                "report growth",
                "database",
            ],
            rows,
            title="`coachbot report` as the data grows (best of "
            f"{args.runs}; start-up = the command on an empty database):",
        )
    )
    largest = max(sizes)
    target_rows = []
    for backend in backends:
        report = figures[(backend, largest)]
        command = whole[(backend, largest)]
        target_rows.append(
            (
                f"report on {named[largest]:,} {args.unit}, {backend} (report / whole command)",
                f"{report:.2f} s / {command:.2f} s",
                "< 1 s",
                verdict(report < 1.0),
            )
        )
        if len(sizes) > 1:
            first, last = min(sizes), largest
            factor = figures[(backend, last)] / max(1e-9, figures[(backend, first)])
            target_rows.append(
                (
                    f"growth {named[first]:,} → {named[last]:,} {args.unit}, {backend}",
                    f"×{factor:.1f} for ×{last / first:.0f}",
                    f"≤ ×{last / first:.0f}",
                    verdict(factor <= last / first),
                )
            )
    print()
    print(table(["figure", "result", "target", "met?"], target_rows, title="Against the targets:"))
    print("\nnote: 2 shared cores, noisy; the whole command adds a constant start-up (Python, content).")
    if args.drop and "postgres" in backends:
        for size in [0, *sizes]:
            asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{_pg_name(size)}" WITH (FORCE)'))


if __name__ == "__main__":
    main()
