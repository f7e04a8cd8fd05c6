"""`coachbot report` and `coachbot demo-data`: the admin report and a demo organisation, in the terminal."""

from __future__ import annotations

import sys
from pathlib import Path

from bot.channels.terminal import plain
from bot.content.catalog import load_catalog
from bot.settings import Settings
from bot.storage.database import Database


def _write(target: str, data: bytes) -> str:
    """Writes to a file, or to standard output for "-"; returns what to call it in a message."""
    if target == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return "standard output"
    Path(target).write_bytes(data)
    return target


async def report_command(
    settings: Settings, *, lang: str, months: int, csv: str | None = None, chart: str | None = None
) -> int:
    """Prints the report (or writes it as CSV and/or the chart); returns the exit code."""
    from bot.reports.csv_export import to_csv
    from bot.reports.report import build_report
    from bot.reports.text import render_text

    catalog = load_catalog(settings.dialogues_dir, settings.knowledge_dir)
    database = Database(settings.database_url)
    try:
        await database.ensure_schema()
        report = await build_report(
            database,
            catalog,
            lang=lang,
            min_group=settings.min_group,
            zone=settings.timezone,
            months=months,
            refresh_hours=settings.report_refresh_hours,
        )
    finally:
        await database.dispose()
    if csv is not None:
        where = _write(csv, to_csv(report))
        if csv != "-":
            print(f"CSV written to {where}", file=sys.stderr)
    if chart is not None and report.current is not None:
        from bot.reports.chart import render_png  # matplotlib only when a picture is asked for

        where = _write(chart, render_png(report))
        if chart != "-":
            print(f"chart written to {where}", file=sys.stderr)
    if csv is None and chart is None:
        print(plain(render_text(report, catalog)))
    return 0


async def demo_command(settings: Settings, *, people: int, departments: int, months: int, seed: int) -> int:
    """Fills the database with a demo organisation; returns the exit code."""
    from bot.demo_data import CHANNEL, fill
    from bot.reports.report import categories_of

    catalog = load_catalog(settings.dialogues_dir, settings.knowledge_dir)
    database = Database(settings.database_url)
    try:
        await database.ensure_schema()
        summary = await fill(
            database,
            categories_of(catalog.knowledge),
            people=people,
            departments=departments,
            months=months,
            seed=seed,
            zone=settings.timezone,
        )
    finally:
        await database.dispose()
    print(
        f"added {summary.people} people (channel {CHANNEL!r}) in {summary.departments} departments, "
        f"{summary.assessments} checks over {summary.months} months; try `coachbot report`"
    )
    return 0


async def demo_remove_command(settings: Settings) -> int:
    """`coachbot demo-data --remove`: the demo organisation out again; returns the exit code."""
    from bot.demo_data import remove

    database = Database(settings.database_url)
    try:
        await database.ensure_schema()
        people, departments = await remove(database)
    finally:
        await database.dispose()
    print(f"removed {people} demo people and {departments} demo departments, and the released report figures")
    return 0
