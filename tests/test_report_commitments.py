"""The report's commitment figures, on SQLite and PostgreSQL: equal to an independent SQL query,
released and protected like every other figure (one more family of the respondents' rows), and
never showing free text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, text

from bot import PROJECT_ROOT
from bot.content.catalog import load_catalog
from bot.domain import Assessment, CommitmentOutcome
from bot.reports.anonymity import ORG, OTHER
from bot.reports.commitments import NOT_SUCCEEDED, SUCCEEDED, UNANSWERED
from bot.reports.csv_export import to_csv
from bot.reports.report import build_report
from bot.reports.text import render_text
from bot.storage.database import Database
from bot.storage.models import released_figures_table
from tests.support.telegram_html import check_html

NOW = datetime(2026, 12, 15, 12, tzinfo=UTC)
MONTH_START = datetime(2026, 11, 30, 23, tzinfo=UTC)  # 1 December, Amsterdam time
ZONE = "Europe/Amsterdam"
SECRET = "GEHEIM-vrije-tekst"
CATALOG = load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")

#: department -> (outcome of each person's commitment this month); None: not answered.
THIS_MONTH = {
    "Sales": ["done"] * 5 + ["not_done"] * 5,
    "Finance": ["partly"] * 6,
    "IT": ["done", "done"],
}


#: Sales also has people who took the check but committed to nothing this month.
WITHOUT_COMMITMENT = {"Sales": 5}


async def _fill(database: Database) -> dict[str, int]:
    """Everyone took the check in November and again on 2 December, vouched for their department
    (a month counts its own check-ins, and only vouched ones); most committed to steps in November
    and December."""
    async with database.transaction() as repo:
        departments = {name: (await repo.departments.add_department(name)).id for name in THIS_MONTH}
        number = 0
        for name, outcomes in THIS_MONTH.items():
            for outcome in [*outcomes, *([False] * WITHOUT_COMMITMENT.get(name, 0))]:
                number += 1
                person = await repo.people.person_for_update("terminal", f"p{number}", create=True)
                assert person is not None
                await repo.people.vouch(person.id, departments[name])
                for assessed_at in (MONTH_START - timedelta(days=20), MONTH_START + timedelta(days=1)):
                    await repo.assessments.add_assessment(
                        Assessment(
                            person_id=person.id,
                            run_id=number,
                            phase_presence_model="presence",
                            phase_pilot_model="pilot",
                            fears=(),
                            causes=(),
                            lens=None,
                            scores={},
                            department_id=departments[name],
                            assessed_at=assessed_at,
                        )
                    )
                if outcome is False:
                    continue
                for made_at, step, result in (
                    # An older commitment last month (outside this month's row) ...
                    (MONTH_START - timedelta(days=10), "employee_invite_colleague", "done"),
                    # ... and this month's, plus a second one this month for some (counted once).
                    (MONTH_START + timedelta(days=2), "employee_share_a_tip", outcome),
                    *(
                        [(MONTH_START + timedelta(days=9), "employee_share_a_tip", None)]
                        if number % 3 == 0
                        else []
                    ),
                ):
                    made = await repo.commitments.add_commitment(
                        person_id=person.id,
                        step=step,
                        made_at=made_at,
                        followup_due_at=None,
                        assessment_id=None,
                        department_id=departments[name],
                    )
                    if result is not None:
                        await repo.commitments.record_outcome(made.id, CommitmentOutcome(result), made_at)
                        await repo.commitments.set_worked(made.id, SECRET)
                        await repo.commitments.set_shared(made.id, made_at)
    return departments


#: Independent of bot.reports: people per department this month, and their best follow-up answer.
INDEPENDENT = text(
    """
    SELECT department_id,
           COUNT(DISTINCT person_id) AS people,
           COUNT(*) AS made,
           COUNT(DISTINCT CASE WHEN outcome IN ('done', 'partly') THEN person_id END) AS ok,
           COUNT(DISTINCT CASE WHEN outcome IN ('done', 'partly', 'not_done') THEN person_id END) AS answered
    FROM commitments
    WHERE made_at >= :start AND made_at <= :now
    GROUP BY department_id
    """
)


async def test_the_figures_match_an_independent_query(database: Database) -> None:
    departments = await _fill(database)
    async with database.engine.connect() as connection:
        start = MONTH_START if database.engine.dialect.name != "sqlite" else MONTH_START.replace(tzinfo=None)
        now = NOW if database.engine.dialect.name != "sqlite" else NOW.replace(tzinfo=None)
        rows = (await connection.execute(INDEPENDENT, {"start": start, "now": now})).mappings().all()
    expected = {
        r["department_id"]: {
            "people": r["people"],
            "made": r["made"],
            SUCCEEDED: r["ok"],
            NOT_SUCCEEDED: r["answered"] - r["ok"],
            UNANSWERED: r["people"] - r["answered"],
        }
        for r in rows
    }
    report = await build_report(database, CATALOG, lang="nl", min_group=5, zone=ZONE, now=NOW)
    assert report.commitments is not None
    current = report.commitments.months[-1]
    assert current.start.month == 12
    shown = {row.key: row for row in current.rows}
    # Sales (15 respondents) and Finance (6) have rows; IT (2) is folded into "other departments"
    # with the smallest.
    groups = {ORG: set(expected), f"d{departments['Sales']}": {departments["Sales"]}}
    groups[OTHER] = {departments["Finance"], departments["IT"]}
    assert set(shown) == set(groups)
    compared = 0
    for key, members in groups.items():
        row = shown[key]
        assert row.people == sum(expected[d]["people"] for d in members)
        for category in (SUCCEEDED, NOT_SUCCEEDED, UNANSWERED):
            true_value = sum(expected[d][category] for d in members)
            if row.counts[category] is None:
                continue
            assert row.counts[category] == true_value
            assert true_value == 0 or true_value >= 5  # a shown cell is about 0 or at least k people
            compared += 1
    assert compared == 9
    # The organisation's row, straight: 18 people, 13 succeeded of 18 who answered.
    org = shown[ORG]
    assert (org.people, org.answered, org.counts[SUCCEEDED]) == (18, 18, 13)
    assert org.success_share == 13 / 18
    # Last month every one of them completed the older step: the most completed step (no count).
    assert report.commitments.top_steps[0] == "employee_invite_colleague"
    # November: all 18 succeeded, the 5 who committed to nothing are the rest of the 23.
    november = {row.key: row for row in report.commitments.months[0].rows}
    assert report.commitments.months[0].start.month == 11
    assert (november[ORG].people, november[ORG].counts[SUCCEEDED]) == (18, 18)


async def test_the_report_never_shows_free_text_and_hides_small_groups(database: Database) -> None:
    await _fill(database)
    report = await build_report(database, CATALOG, lang="nl", min_group=5, zone=ZONE, now=NOW)
    rendered = render_text(report, CATALOG)
    assert "Voornemens en hoe ze gingen" in rendered
    assert SECRET not in rendered
    assert SECRET not in to_csv(report).decode("utf-8-sig")
    check_html(rendered)
    # With a group size above everyone who committed (18 of 23 respondents): no step is named and
    # no shown cell is about 1..18 people. (The releases made with k = 5 are dropped first: a
    # release is kept whatever the setting, so a new k applies from the next release on.)
    async with database.engine.begin() as connection:
        await connection.execute(delete(released_figures_table))
    strict = await build_report(database, CATALOG, lang="en", min_group=19, zone=ZONE, now=NOW)
    assert strict.commitments is not None and strict.commitments.months
    assert strict.commitments.top_steps == ()
    for month in strict.commitments.months:
        for row in month.rows:
            assert row.people is None or not 0 < row.people < 19
            assert all(n is None or n == 0 or n >= 19 for n in row.counts.values()), row
