"""The admin report: SQL against an independent query, folding and suppression, text, CSV, chart, CLI."""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import and_, func, not_, or_, select
from sqlalchemy.orm import aliased

from bot import PROJECT_ROOT
from bot.cli import main
from bot.content.catalog import Catalog, load_catalog
from bot.demo_data import CHANNEL, fill
from bot.reports.aggregates import month_starts
from bot.reports.anonymity import ORG, OTHER, Block, fold, protect, protect_column
from bot.reports.chart import build_figure, figure_texts, render_png
from bot.reports.commitments import PARTITION
from bot.reports.csv_export import to_csv
from bot.reports.report import AggregateReport, build_report, categories_of
from bot.reports.text import render_text
from bot.storage.database import Database
from bot.storage.models import assessment_findings_table, assessments_table, departments_table, people_table
from tests.support.telegram_html import check_html

ZONE = "Europe/Amsterdam"
NOW = datetime(2026, 3, 18, 10, 30, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent


@cache
def catalog() -> Catalog:
    return load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")


async def _demo(database: Database, people: int = 500) -> None:
    await fill(
        database,
        categories_of(catalog().knowledge),
        people=people,
        departments=8,
        months=6,
        now=NOW,
        zone=ZONE,
    )


async def _independent(
    database: Database, since: datetime, before: datetime
) -> dict[int | None, dict[str, int]]:
    """Per department: people, presence-model phases and fear of time loss, from each person's latest
    assessment made from `since` to before `before` (a month is its own check-ins), found with NOT
    EXISTS (no window functions, no month arithmetic), counted when the person is vouched for that
    assessment's department."""
    a, later = assessments_table, aliased(assessments_table)
    newer = (
        select(later.c.id)
        .where(
            later.c.person_id == a.c.person_id,
            later.c.assessed_at < before,
            or_(
                later.c.assessed_at > a.c.assessed_at,
                and_(later.c.assessed_at == a.c.assessed_at, later.c.id > a.c.id),
            ),
        )
        .exists()
    )
    f = assessment_findings_table
    time_loss = (
        select(f.c.assessment_id)
        .where(f.c.assessment_id == a.c.id, f.c.kind == "fear", f.c.item == "time_loss")
        .exists()
        .label("fear_time_loss")
    )
    # Only people vouched for the department of their latest assessment count (issue 14).
    vouched = (
        select(people_table.c.vouched_department_id)
        .where(people_table.c.id == a.c.person_id)
        .scalar_subquery()
    )
    picked = select(a.c.department_id, a.c.phase_presence_model, time_loss).where(
        a.c.assessed_at >= since, a.c.assessed_at < before, not_(newer), a.c.department_id == vouched
    )
    latest = picked.subquery("latest")
    query = select(
        latest.c.department_id,
        latest.c.phase_presence_model,
        latest.c.fear_time_loss,
        func.count().label("n"),
    ).group_by(latest.c.department_id, latest.c.phase_presence_model, latest.c.fear_time_loss)
    found: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    async with database.engine.connect() as connection:
        for row in await connection.execute(query):
            counts = found[row.department_id]
            counts["people"] += row.n
            counts[row.phase_presence_model] += row.n
            counts["time_loss"] += row.n if row.fear_time_loss else 0
    return found


def _members(
    report: AggregateReport, month_index: int, key: str, departments: set[int | None]
) -> set[int | None]:
    month = report.months[month_index]
    shown = {int(r.key[1:]) for r in month.rows if r.key.startswith("d")}
    if key == ORG:
        return departments
    if key == OTHER:
        return departments - shown
    return {int(key[1:])}


async def test_report_matches_an_independent_query(database: Database) -> None:
    await _demo(database)
    report = await build_report(database, catalog(), lang="en", min_group=5, zone=ZONE, now=NOW)
    assert len(report.months) == 6
    starts = month_starts(NOW, 6, ZONE)
    ends = [*starts[1:], NOW]
    async with database.engine.connect() as connection:
        departments = {
            row.department_id for row in await connection.execute(select(assessments_table.c.department_id))
        }
    compared = 0
    for index, end in enumerate(ends):
        truth = await _independent(
            database, starts[index], end if index < 5 else datetime(2100, 1, 1, tzinfo=UTC)
        )
        month = report.months[index]
        for row in month.rows:
            members = _members(report, index, row.key, departments)
            expected = {
                key: sum(truth[d][key] for d in members) for key in ("people", "time_loss", *_phases())
            }
            assert row.respondents == expected["people"], (month.label, row.name)
            if row.key.startswith("d"):
                assert row.respondents >= 5
            for phase in _phases():
                figure = row.figure("presence_model", phase)
                if figure.count is not None:
                    assert figure.count == expected[phase], (month.label, row.name, phase)
                    compared += 1
            figure = row.figure("fear:time_loss", "named")
            if figure.count is not None:
                assert figure.count == expected["time_loss"]
                compared += 1
    assert compared > 60  # many figures are shown, and each one was checked
    # participation: onboarded people vouched for their current department, from the people table
    async with database.engine.connect() as connection:
        onboarded = (
            await connection.execute(
                select(func.count()).where(
                    people_table.c.channel == CHANNEL,
                    people_table.c.consent,
                    people_table.c.vouched_department_id == people_table.c.department_id,
                )
            )
        ).scalar_one()
    assert report.participation[0].onboarded.count == onboarded
    # active: people whose latest check of all (not only this month's) is within 30 days, counted
    # when vouched for that check's department; in Python over the rows
    async with database.engine.connect() as connection:
        checks = (await connection.execute(select(assessments_table))).mappings().all()
        vouched = dict(
            (await connection.execute(select(people_table.c.id, people_table.c.vouched_department_id))).all()
        )
    latest: dict[int, dict] = {}
    for check in checks:
        held = latest.get(check["person_id"])
        if check["assessed_at"].replace(tzinfo=UTC) <= NOW and (
            held is None or (check["assessed_at"], check["id"]) > (held["assessed_at"], held["id"])
        ):
            latest[check["person_id"]] = check
    active = sum(
        1
        for person, check in latest.items()
        if check["department_id"] is not None
        and check["department_id"] == vouched[person]
        and check["assessed_at"].replace(tzinfo=UTC) >= NOW - timedelta(days=30)
    )
    assert report.participation[0].active.count == active
    assert active > report.months[-1].rows[0].respondents  # late last month counts, this month's row not
    assert 450 < onboarded < 500  # the demo's people without a department are nobody's to vouch for
    assert report.participation[0].respondents == report.months[-1].rows[0].respondents < 500


def _phases() -> tuple[str, ...]:
    return tuple(p.id for p in catalog().knowledge.phase_models["presence_model"])


async def test_the_reading_and_the_text_fit_telegram(sqlite_database: Database) -> None:
    await _demo(sqlite_database)
    for lang in ("nl", "en"):
        report = await build_report(sqlite_database, catalog(), lang=lang, min_group=5, zone=ZONE, now=NOW)
        text = render_text(report, catalog())
        from bot.channels.telegram.splitting import TELEGRAM_LIMIT, split_message, visible_length

        for part in split_message(text):
            assert visible_length(part) <= TELEGRAM_LIMIT
            check_html(part)
        reading = text.split("\n\n")[1]
        assert reading.count("•") >= 4, reading
        assert "teams" in reading and report.labels["org"] in text and report.labels["other"] in text


async def test_a_tiny_organisation_gets_no_figures(sqlite_database: Database) -> None:
    await fill(
        sqlite_database, categories_of(catalog().knowledge), people=3, departments=2, months=2, now=NOW
    )
    report = await build_report(sqlite_database, catalog(), lang="en", min_group=5, zone=ZONE, now=NOW)
    assert report.current is None
    assert "Fewer than 5 people" in render_text(report, catalog())
    assert to_csv(report).decode("utf-8-sig").strip().count("\n") == 0  # the header only


async def test_csv_has_one_row_per_group_measure_category_and_month(sqlite_database: Database) -> None:
    await _demo(sqlite_database)
    for lang, delimiter in (("en", ","), ("nl", ";")):
        report = await build_report(sqlite_database, catalog(), lang=lang, min_group=5, zone=ZONE, now=NOW)
        document = to_csv(report)
        assert document.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(document.decode("utf-8-sig")), delimiter=delimiter))
        keys = [(r["month"], r["group_id"], r["measure"], r["category"]) for r in rows]
        assert len(keys) == len(set(keys))
        # Each row: its respondents, every category of every measure, and the four-way partition of
        # the commitments' follow-up (released with the rest); the most completed steps at the end.
        expected = sum(
            len(month.rows)
            * (
                1
                + sum(len(m.categories) + (1 if m.implicit else 0) for m in report.measures)
                + len(PARTITION)
            )
            for month in report.months
        )
        assert report.commitments is not None
        expected += len(report.commitments.top_steps)
        current = [r for r in rows if r["current"] == "yes"]
        extra = sum(1 for r in current if r["measure"] in ("onboarded", "active_30_days", "weakest_six_c"))
        assert len(rows) == expected + extra
        assert {r["month"] for r in rows} == {m.start.strftime("%Y-%m") for m in report.months}
        hidden = [r for r in rows if r["status"] == "hidden"]
        assert hidden and all(r["count"] == "x" for r in hidden)
        for r in rows:
            if r["status"] == "shown" and r["count"]:
                assert int(r["count"]) == 0 or int(r["count"]) >= 5
        decimal = "," if lang == "nl" else "."
        assert any(decimal in r["share_percent"] for r in rows if r["status"] == "shown")


async def test_chart_is_a_readable_picture(sqlite_database: Database) -> None:
    await _demo(sqlite_database)
    report = await build_report(sqlite_database, catalog(), lang="en", min_group=5, zone=ZONE, now=NOW)
    png = render_png(report)
    image = Image.open(io.BytesIO(png))
    width, height = image.size
    # Portrait, for a phone, scrolled: both phase models and the worries made it taller (issue 14).
    assert width >= 800 and 1.0 < height / width < 3.0
    grey = list(image.convert("L").tobytes())
    assert statistics.pstdev(grey) > 20  # not blank
    assert sum(1 for value in grey if value < 250) > len(grey) // 5  # ink on a fifth of it at least
    assert report.current is not None
    texts = figure_texts(build_figure(report))
    assert {f"{row.name} ({row.respondents})" for row in report.current.rows} <= set(texts)
    folded = set(await _department_names(sqlite_database)) - {row.name for row in report.current.rows}
    assert folded  # the demo organisation has a department too small to show on its own
    assert not [text for text in texts for name in folded if name in text]
    (ROOT / "docs").mkdir(exist_ok=True)
    (ROOT / "docs" / "report-chart.png").write_bytes(png)


async def _department_names(database: Database) -> list[str]:
    """Every department, the demo's included (they are never offered to people, so not listed)."""
    async with database.engine.connect() as connection:
        return list((await connection.execute(select(departments_table.c.name))).scalars())


def test_reports_never_read_free_text() -> None:
    for path in (PROJECT_ROOT / "bot" / "reports").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert "answers_table" not in source and "AnswerRow" not in source, path


def test_cli_demo_data_and_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    assert main(["demo-data", "--people", "200", "--departments", "5", "--seed", "3"]) == 0
    assert "added 200 people" in capsys.readouterr().out
    assert main(["report", "--lang", "nl"]) == 0
    out = capsys.readouterr().out
    assert "Waar de organisatie staat" in out and "<b>" not in out
    target = tmp_path / "report.csv"
    assert main(["report", "--csv", str(target), "--chart", str(tmp_path / "chart.png")]) == 0
    assert (
        target.read_bytes().startswith(b"\xef\xbb\xbf") and (tmp_path / "chart.png").stat().st_size > 10_000
    )
    assert main(["demo-data", "--people", "0"]) == 2
    assert "at least 1" in capsys.readouterr().err


# -- the protection rules on hand-made tables ----------------------------------------------------------


def _block(rows: dict[str, list[int]], categories: tuple[str, ...] = ("a", "b", "c", "d")) -> Block:
    counts = {(row, c): v for row, values in rows.items() for c, v in zip(categories, values, strict=True)}
    groups = tuple(r for r in rows if r != ORG)
    org = [sum(rows[r][i] for r in groups) for i in range(len(categories))]
    counts.update({(ORG, c): v for c, v in zip(categories, org, strict=True)})
    totals = {row: sum(values) for row, values in rows.items()} | {ORG: sum(org)}
    return Block(groups, {r: frozenset([r]) for r in groups}, categories, counts, totals)


def test_folding_keeps_other_departments_at_min_group_or_empty() -> None:
    folding = fold({1: 20, 2: 7, 3: 4, None: 1}, 5, known=[1, 2, 3, 4])
    assert folding.shown == (1, 2) and folding.other == {3, 4, None}
    # 3 and the person without a department make 3 < 5: the smallest shown department joins them
    folding = fold({1: 20, 2: 7, 3: 2, None: 1}, 5)
    assert 3 in folding.other and None in folding.other
    assert folding.shown == (1,) and 2 in folding.other
    assert fold({1: 3, 2: 4}, 5).shown == ()


def test_a_single_small_cell_takes_a_second_one_with_it() -> None:
    block = _block({"x": [2, 10, 8, 0], "y": [6, 9, 7, 9]})
    protect([block], 5)
    hidden_x = {c for r, c in block.hidden if r == "x"}
    assert ("x", "a") in block.hidden and len(hidden_x) >= 2
    # every row and column with a hidden cell has at least two, and they add up to at least 5
    for row in ("x", "y", ORG):
        cells = [c for r, c in block.hidden if r == row]
        assert len(cells) != 1
    for c in "abcd":
        assert len([r for r, cc in block.hidden if cc == c and r != ORG]) != 1
    assert block.value(("x", "d")) == 0 and ("x", "d") not in block.hidden  # zeros stay shown


def test_a_month_difference_cannot_isolate_newcomers() -> None:
    before = _block({"x": [10, 10, 0, 0], "y": [10, 10, 0, 0]})
    after = _block({"x": [12, 10, 0, 0], "y": [10, 10, 0, 0]})  # two newcomers in x, both in "a"
    protect([before, after], 5)
    known = ("x", "a") not in before.hidden and ("x", "a") not in after.hidden
    assert not known, "x/a in both months would show that the 2 newcomers chose a"


def test_one_column_figures_hide_at_least_two() -> None:
    hidden = protect_column({ORG: 40, "d1": 3, "d2": 20, "d3": 17}, 5)
    assert hidden == {"d1", "d3"}
    assert protect_column({ORG: 40, "d1": 20, "d2": 20}, 5) == set()


async def test_early_in_a_month_the_report_stands_on_the_last_month_released(database: Database) -> None:
    """A month counts its own check-ins, so on the 2nd of November two check-ins are too few for a
    November release: the report shows October (named in its heading), not "no report yet", and
    the two November answers appear nowhere."""
    from tests.support.privacy_world import Org, answers

    org = Org(database, zone=ZONE, now=datetime(2026, 10, 20, 9, tzinfo=UTC))
    for i in range(6):
        await org.answer(f"it{i}", "IT", answers("dialogue" if i < 3 else "presence", "pilot"))
    october = await org.report()
    assert october.current is not None and october.current.start.month == 10
    org.later(days=13)  # 2 November
    for i in range(2):
        await org.answer(f"it{i}", "IT", answers("social_business", "integration"))
    for lang, month in (("en", "Oct 2026"), ("nl", "okt 2026")):
        report = await org.report(lang)
        assert report.current is not None and [m.start.month for m in report.months] == [10]
        assert report.current.row(ORG).respondents == 6
        assert report.current.row(ORG).figure("presence_model", "social_business").count == 0
        text = render_text(report, catalog())
        assert month in text.split("\n")[1], text.split("\n")[:2]
        assert "No report yet" not in text and "Nog geen overzicht" not in text
    assert org.attacks() == []
