"""The report's SQL: GROUP BY over the assessments, one row per month and department, nothing per person.

Which assessment counts
    A month is *that month's check-ins*: each person who did the check in the month counts once,
    with their latest assessment made in it; someone who did not check in that month is not in
    it. (Until issue 14's "hide less" a month was everyone's latest answer up to its end; two such
    months differ by the few who joined or re-checked in between, a small group that had to be
    hidden in one of them, which hid up to 90% of a month. Months of check-ins share no
    assessment, so they cannot be subtracted from each other: bot.reports.releases protects only
    releases of the same month against each other.)

    One window (LEAD over the person's assessments in time order, ties broken by id) gives the
    month of their next assessment, so an assessment followed by another in the same month is not
    counted. The assessments are summed per (month made, month superseded, department) and those
    few hundred sums per month made: one pass over the table, whatever the number of people.

Department
    The department copied into the assessment when it was made, so history survives a move; "none"
    is kept apart (as None) and ends up in "other departments".

Vouched for (issue 14, puppets)
    A person's standing counts only when its assessment's department is the one an admin or
    champion vouched for (people.vouched_department_id, set by a department invite). Anyone else
    (a self-declared member, a puppet account, someone who moved themselves) still gets their own
    advice but is in no figure: lifting a group over COACHBOT_MIN_GROUP takes an admin's help.
    The check is on the assessment in force, after the window picks it, so a self-made move does
    not leave an older answer counting in the old department.

Fears and causes
    Rows of `assessment_findings`; one GROUP BY turns them into a 0/1 column per counted id for each
    assessment (finding_flags), so the rest of the query treats them like the phase columns.

The weakest of the six C's
    Taken from the `lens` column: each assessment stores the gap its answers pointed to most, and
    the lenses `six_cs.*` name one of the six C's. Counting lenses is a plain GROUP BY in every
    dialect, whereas the per-gap counts live in the `scores` JSON, which SQLite and PostgreSQL
    query differently. The weakest C is the one most often the person's lens.

Commitments (issue 13, released since issue 14)
    Each respondent of a month falls in one follow-up category for that month: the best answer to
    the steps they committed to in that month (succeeded: done or partly; not succeeded; not
    answered yet), or "no commitment" (the implicit rest). Counted in the department of their
    standing, so the commitment figures are one more family of the same rows, released and
    protected with everything else instead of being computed afresh per report (two fresh
    computations subtract). Nothing reads `worked` or other free text.

Free text (answers.text) is never read here: the report only touches `assessments`, their
findings, `people` and `departments`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    Integer,
    Subquery,
    and_,
    case,
    distinct,
    func,
    literal,
    or_,
    select,
    true,
    union_all,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.storage.models import (
    assessment_findings_table,
    assessments_table,
    commitments_table,
    departments_table,
    people_table,
)

#: The follow-up categories of a month's respondent (see "Commitments" above); NO_COMMITMENT is the rest.
SUCCEEDED, NOT_SUCCEEDED, UNANSWERED, NO_COMMITMENT = "succeeded", "not_succeeded", "unanswered", "none"
FOLLOW_UP = (SUCCEEDED, NOT_SUCCEEDED, UNANSWERED)
#: Outcomes that count as a success, and as an answer to the follow-up.
SUCCESS_OUTCOMES = ("done", "partly")
ANSWER_OUTCOMES = ("done", "partly", "not_done")
#: How many of the most completed steps a release names at most.
TOP_STEPS = 3

#: "Active" means a check within this many days.
ACTIVE_DAYS = 30
#: Category key for a lens that is not one of the six C's.
OTHER_LENS = "other"

Department = int | None


@dataclass(frozen=True)
class Categories:
    """The categories counted per measure, all from knowledge/: a new fear there is counted at once."""

    phases: Mapping[str, Sequence[str]]
    """Phase model id -> its phase ids in order (e.g. presence_model -> presence, dialogue, ...)."""
    six_cs: Sequence[str]
    """Lens ids of the six C's, e.g. six_cs.connections."""
    fears: Sequence[str]
    causes: Sequence[str]


@dataclass
class RawCounts:
    """What the database says, before any protection: counts per month and department."""

    months: tuple[date, ...]
    """First day of each month in the window, oldest first; the last one is the current month."""
    respondents: dict[int, dict[Department, int]] = field(default_factory=dict)
    """Month index -> department -> people who checked in that month."""
    counts: dict[int, dict[Department, dict[str, int]]] = field(default_factory=dict)
    """Month index -> department -> "measure:category" -> people."""
    active: dict[Department, int] = field(default_factory=dict)
    """Department (of their latest assessment) -> people whose latest check is within ACTIVE_DAYS."""
    onboarded: dict[Department, int] = field(default_factory=dict)
    """Department (their current one) -> people who completed onboarding (gave consent)."""
    departments: dict[int, str] = field(default_factory=dict)
    ids: dict[int, dict[Department, list[int]]] = field(default_factory=dict)
    """Month index -> department -> ids of the assessments counted there (no answers)."""
    steps: dict[str, int] = field(default_factory=dict)
    """Step id -> counted people who completed it (done or partly) in the window."""


def month_starts(now: datetime, count: int, zone: str) -> list[datetime]:
    """The first instant of the current month and the `count - 1` before it, in `zone`, as UTC."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz)
    year, month = local.year, local.month
    starts: list[datetime] = []
    for _ in range(count):
        starts.append(datetime(year, month, 1, tzinfo=tz).astimezone(UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return list(reversed(starts))


def _flag(column: ColumnElement[Any]) -> ColumnElement[int]:
    return case((column, 1), else_=0)


def _findings(categories: Categories) -> list[tuple[str, str, str]]:
    """(measure key, kind, id) of every fear and cause counted; its 0/1 column is named by position."""
    return [(f"fear:{f}", "fear", f) for f in categories.fears] + [
        (f"cause:{c}", "cause", c) for c in categories.causes
    ]


def finding_flags(categories: Categories) -> Subquery:
    """One row per assessment with findings: a 0/1 column `found<i>` per counted fear and cause.

    A single GROUP BY over assessment_findings, LEFT JOINed to the assessments (those without
    findings have no row and count as 0); an id not counted here is simply not asked for.
    """
    f = assessment_findings_table
    return (
        select(
            f.c.assessment_id,
            *(
                func.max(case((and_(f.c.kind == kind, f.c.item == item), 1), else_=0)).label(f"found{i}")
                for i, (_, kind, item) in enumerate(_findings(categories))
            ),
        )
        .group_by(f.c.assessment_id)
        .subquery("findings")
    )


def measure_columns(categories: Categories, source: Any) -> list[tuple[str, ColumnElement[int]]]:
    """("measure:category", SUM(...)) for every counted category of `source` (a selectable)."""
    columns: list[tuple[str, ColumnElement[int]]] = []
    for model, phases in categories.phases.items():
        column = source.c[f"phase_{model}"]
        columns.extend((f"{model}:{p}", func.sum(_flag(column == p))) for p in phases)
    columns.extend(
        (key, func.sum(source.c[f"found{i}"])) for i, (key, _, _) in enumerate(_findings(categories))
    )
    columns.extend((f"lens:{lens}", func.sum(_flag(source.c.lens == lens))) for lens in categories.six_cs)
    return columns


async def collect(
    connection: AsyncConnection,
    categories: Categories,
    *,
    now: datetime,
    months: int,
    zone: str,
) -> RawCounts:
    """Every count the report needs, in three GROUP BY queries on one connection."""
    starts = month_starts(now, months, zone)
    raw = RawCounts(months=tuple(s.astimezone(ZoneInfo(zone)).date() for s in starts))
    a = assessments_table
    month_index = case(
        *((a.c.assessed_at < start, index) for index, start in enumerate(starts)), else_=len(starts)
    )
    found = finding_flags(categories)
    picked = [
        a.c.person_id,
        a.c.id,
        a.c.assessed_at,
        a.c.department_id,
        a.c.lens,
        *(a.c[f"phase_{model}"] for model in categories.phases),
        *(
            func.coalesce(found.c[f"found{i}"], 0).label(f"found{i}")
            for i in range(len(_findings(categories)))
        ),
    ]
    people = people_table
    vouched = case((people.c.vouched_department_id == a.c.department_id, 1), else_=0)
    base = (
        select(*picked, vouched.label("vouched"), month_index.label("mi"))
        .select_from(
            a.outerjoin(found, found.c.assessment_id == a.c.id).join(people, people.c.id == a.c.person_id)
        )
        .where(a.c.assessed_at <= now)
        .subquery("base")
    )
    # One window over each person's assessments in time order: the month of the next one. An
    # assessment followed by another in the same month is not the person's check-in of that month.
    following = func.lead(base.c.mi).over(
        partition_by=base.c.person_id, order_by=(base.c.assessed_at, base.c.id)
    )
    rec = select(base, following.label("next_mi")).subquery("rec")
    month_list = union_all(*(select(literal(i, Integer).label("m")) for i in range(1, len(starts) + 1)))
    month_rows = (
        month_list.subquery("months")
        if len(starts) > 1
        else select(literal(1, Integer).label("m")).subquery("months")
    )
    # Records are first summed per (month made, month superseded, department): a few hundred rows
    # at most, whatever the number of people. Each person has at most one check-in per month (the
    # latest of the month), so adding those sums per month made counts every person once; the
    # latest record of all (next_mi NULL) also gives "active".
    columns = measure_columns(categories, rec)
    cutoff = now - timedelta(days=ACTIVE_DAYS)
    spans = (
        select(
            rec.c.mi,
            rec.c.next_mi,
            rec.c.department_id,
            func.count(distinct(rec.c.person_id)).label("n"),
            func.sum(_flag(rec.c.assessed_at >= cutoff)).label("active"),
            *(expression.label(f"c{i}") for i, (_, expression) in enumerate(columns)),
        )
        .where(or_(rec.c.next_mi.is_(None), rec.c.next_mi > rec.c.mi), rec.c.vouched == 1)
        .group_by(rec.c.mi, rec.c.next_mi, rec.c.department_id)
        .subquery("spans")
    )
    query = (
        select(
            month_rows.c.m,
            spans.c.department_id,
            func.sum(spans.c.n).label("n"),
            *(func.sum(spans.c[f"c{i}"]).label(f"c{i}") for i in range(len(columns))),
        )
        .select_from(
            spans.join(
                month_rows,
                spans.c.mi == month_rows.c.m,
            )
        )
        .group_by(month_rows.c.m, spans.c.department_id)
    )
    # Which assessments stand behind each month and department: ids only (no answers), so a new
    # release can be checked against the groups earlier releases described (bot.reports.releases).
    members = (
        select(month_rows.c.m, rec.c.department_id, rec.c.id, rec.c.person_id)
        .select_from(rec.join(month_rows, rec.c.mi == month_rows.c.m))
        .where(or_(rec.c.next_mi.is_(None), rec.c.next_mi > rec.c.mi), rec.c.vouched == 1)
    )
    standing: list[tuple[int, Department, int]] = []
    for row in (await connection.execute(members)).mappings():
        raw.ids.setdefault(int(row["m"]) - 1, {}).setdefault(row["department_id"], []).append(int(row["id"]))
        standing.append((int(row["m"]) - 1, row["department_id"], int(row["person_id"])))
    for row in (await connection.execute(query)).mappings():
        index = int(row["m"]) - 1
        department = row["department_id"]
        raw.respondents.setdefault(index, {})[department] = int(row["n"])
        raw.counts.setdefault(index, {})[department] = {
            key: int(row[f"c{i}"] or 0) for i, (key, _) in enumerate(columns)
        }
    # Active: each person's latest assessment of all (not only this month's check-ins) within
    # ACTIVE_DAYS, in that assessment's department.
    active = (
        select(spans.c.department_id, func.sum(spans.c.active).label("active"))
        .where(spans.c.next_mi.is_(None))
        .group_by(spans.c.department_id)
    )
    for row in (await connection.execute(active)).mappings():
        raw.active[row["department_id"]] = int(row["active"] or 0)
    follow_up = await _follow_up(connection, starts, now)
    for index, department, person in standing:
        category = follow_up.get((index, person))
        if category is not None:
            found_in = raw.counts.setdefault(index, {}).setdefault(department, {})
            found_in[f"commitment:{category}"] = found_in.get(f"commitment:{category}", 0) + 1
    raw.steps = await _completed_steps(connection, starts[0], now)

    onboarded = select(people.c.department_id, func.count().label("n")).where(
        people.c.consent.is_(true()), people.c.vouched_department_id == people.c.department_id
    )
    for row in (await connection.execute(onboarded.group_by(people.c.department_id))).mappings():
        raw.onboarded[row["department_id"]] = int(row["n"])
    for row in (
        await connection.execute(select(departments_table.c.id, departments_table.c.name))
    ).mappings():
        raw.departments[int(row["id"])] = str(row["name"])
    return raw


async def _follow_up(
    connection: AsyncConnection, starts: Sequence[datetime], now: datetime
) -> dict[tuple[int, int], str]:
    """(month index, person) -> their follow-up category for the steps they committed to that month.

    One GROUP BY per person and month; the result is joined in Python to the standing assessments
    (which already decide who counts where), so a commitment counts exactly where its maker does."""
    c = commitments_table
    month_index = case(
        *((c.c.made_at < start, index) for index, start in enumerate(starts)), else_=len(starts)
    )
    query = (
        select(
            month_index.label("mi"),
            c.c.person_id,
            func.max(case((c.c.outcome.in_(SUCCESS_OUTCOMES), 1), else_=0)).label("ok"),
            func.max(case((c.c.outcome.in_(ANSWER_OUTCOMES), 1), else_=0)).label("answered"),
        )
        .where(c.c.made_at >= starts[0], c.c.made_at <= now)
        .group_by(month_index, c.c.person_id)
    )
    categories: dict[tuple[int, int], str] = {}
    for row in (await connection.execute(query)).mappings():
        category = SUCCEEDED if row["ok"] else NOT_SUCCEEDED if row["answered"] else UNANSWERED
        categories[(int(row["mi"]) - 1, int(row["person_id"]))] = category
    return categories


async def _completed_steps(connection: AsyncConnection, start: datetime, now: datetime) -> dict[str, int]:
    """Step id -> people counted in the report (vouched for) who completed it in the window."""
    c, people = commitments_table, people_table
    query = (
        select(c.c.step, func.count(distinct(c.c.person_id)).label("n"))
        .join(people, people.c.id == c.c.person_id)
        .where(
            c.c.made_at >= start,
            c.c.made_at <= now,
            c.c.outcome.in_(SUCCESS_OUTCOMES),
            people.c.vouched_department_id == people.c.department_id,
        )
        .group_by(c.c.step)
    )
    return {str(row["step"]): int(row["n"]) for row in (await connection.execute(query)).mappings()}
