"""The commitments in the admin report: per month and department, how many people committed to a
step, how many answered the follow-up, how many of those succeeded; and the most completed steps.

Counted like the rest of the report, in distinct people, under the same rules (bot.reports.anonymity):
a month needs COACHBOT_MIN_GROUP people who committed in it, small departments fold into "other
departments", small cells are hidden with secondary suppression across rows and months. Each
person in a month falls in exactly one category of the follow-up (their best answer that month):
succeeded (done or partly), not succeeded, or not answered (yet) - a partition of the row, as the
protection needs. A step is named among the most completed only when at least COACHBOT_MIN_GROUP
people completed it. Nothing here reads `worked` or any other free text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.reports.aggregates import month_starts
from bot.reports.anonymity import ORG, OTHER, Block, Department, fold, group_key, protect
from bot.storage.models import commitments_table

SUCCEEDED, NOT_SUCCEEDED, UNANSWERED = "succeeded", "not_succeeded", "unanswered"
CATEGORIES = (SUCCEEDED, NOT_SUCCEEDED, UNANSWERED)
#: Outcomes that count as a success, and as an answer to the follow-up.
SUCCESS_OUTCOMES = ("done", "partly")
ANSWER_OUTCOMES = ("done", "partly", "not_done")
#: How many of the most completed steps the report names at most.
TOP_STEPS = 3


@dataclass
class RawCommitments:
    """Unprotected counts straight from SQL; never leaves this module's assemble()."""

    months: tuple[date, ...]
    people: dict[int, dict[Department, int]] = field(default_factory=dict)
    commitments: dict[int, dict[Department, int]] = field(default_factory=dict)
    counts: dict[int, dict[Department, dict[str, int]]] = field(default_factory=dict)
    steps: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FollowUpRow:
    """One group in one month; a hidden figure is None."""

    key: str
    name: str
    people: int
    commitments: int
    counts: Mapping[str, int | None]

    @property
    def answered(self) -> int | None:
        """People who answered the follow-up: shown only when both of its parts are."""
        ok, not_ok = self.counts.get(SUCCEEDED), self.counts.get(NOT_SUCCEEDED)
        return None if ok is None or not_ok is None else ok + not_ok

    @property
    def success_share(self) -> float | None:
        answered = self.answered
        ok = self.counts.get(SUCCEEDED)
        return None if not answered or ok is None else ok / answered


@dataclass(frozen=True)
class FollowUpMonth:
    start: date
    rows: tuple[FollowUpRow, ...]


@dataclass(frozen=True)
class CommitmentFigures:
    """What the report shows about commitments, already protected."""

    months: tuple[FollowUpMonth, ...]
    top_steps: tuple[tuple[str, int], ...]
    """(step id, people who completed it), most first; only steps of at least min_group people."""


async def collect_commitments(
    connection: AsyncConnection, *, now: datetime, months: int, zone: str
) -> RawCommitments:
    """Two GROUP BY queries: people per month, department and follow-up category; people per step."""
    starts = month_starts(now, months, zone)
    raw = RawCommitments(months=tuple(s.astimezone(ZoneInfo(zone)).date() for s in starts))
    c = commitments_table
    month_index = case(
        *((c.c.made_at < start, index) for index, start in enumerate(starts)), else_=len(starts)
    )
    in_window = and_(c.c.made_at >= starts[0], c.c.made_at <= now)
    base = (
        select(
            month_index.label("mi"),
            c.c.department_id,
            c.c.person_id,
            case((c.c.outcome.in_(SUCCESS_OUTCOMES), 1), else_=0).label("ok"),
            case((c.c.outcome.in_(ANSWER_OUTCOMES), 1), else_=0).label("answered"),
        )
        .where(in_window)
        .subquery("base")
    )
    person = (
        select(
            base.c.mi,
            base.c.department_id,
            base.c.person_id,
            func.count().label("made"),
            func.max(base.c.ok).label("ok"),
            func.max(base.c.answered).label("answered"),
        )
        .group_by(base.c.mi, base.c.department_id, base.c.person_id)
        .subquery("person_month")
    )
    query = select(
        person.c.mi,
        person.c.department_id,
        func.count().label("people"),
        func.sum(person.c.made).label("made"),
        func.sum(person.c.ok).label("ok"),
        func.sum(case((and_(person.c.answered == 1, person.c.ok == 0), 1), else_=0)).label("not_ok"),
    ).group_by(person.c.mi, person.c.department_id)
    for row in (await connection.execute(query)).mappings():
        index = int(row["mi"]) - 1
        department = row["department_id"]
        people, ok, not_ok = int(row["people"]), int(row["ok"] or 0), int(row["not_ok"] or 0)
        raw.people.setdefault(index, {})[department] = people
        raw.commitments.setdefault(index, {})[department] = int(row["made"])
        raw.counts.setdefault(index, {})[department] = {
            SUCCEEDED: ok,
            NOT_SUCCEEDED: not_ok,
            UNANSWERED: people - ok - not_ok,
        }
    steps = (
        select(c.c.step, func.count(distinct(c.c.person_id)).label("n"))
        .where(in_window, c.c.outcome.in_(SUCCESS_OUTCOMES))
        .group_by(c.c.step)
    )
    for row in (await connection.execute(steps)).mappings():
        raw.steps[str(row["step"])] = int(row["n"])
    return raw


def assemble_commitments(
    raw: RawCommitments,
    departments: Mapping[int, str],
    *,
    min_group: int,
    name_of: Callable[[str], str],
) -> CommitmentFigures:
    """Folded and suppressed figures; `name_of` names a row key (ORG, OTHER, d<id>)."""
    plans: list[tuple[int, tuple[str, ...], dict[str, frozenset[Department]], dict[str, int]]] = []
    for index in range(len(raw.months)):
        people = raw.people.get(index, {})
        total = sum(people.values())
        if total < min_group:
            continue
        folding = fold(people, min_group, {*departments, None})
        members = {group_key(d): frozenset([d]) for d in folding.shown}
        shown = [group_key(d) for d in folding.shown]
        if folding.shown and sum(people.get(d, 0) for d in folding.other):
            shown.append(OTHER)
            members[OTHER] = folding.other
        rows = tuple(shown)
        totals = {row: sum(people.get(d, 0) for d in members[row]) for row in rows}
        totals[ORG] = total
        members[ORG] = frozenset(people)
        plans.append((index, rows, members, totals))
    blocks = []
    for index, rows, members, totals in plans:
        by_department = raw.counts.get(index, {})
        counts = {
            (row, category): sum(by_department.get(d, {}).get(category, 0) for d in members[row])
            for row in (*rows, ORG)
            for category in CATEGORIES
        }
        blocks.append(Block(rows, {r: members[r] for r in rows}, CATEGORIES, counts, totals))
    protect(blocks, min_group)
    months: list[FollowUpMonth] = []
    for (index, rows, members, totals), block in zip(plans, blocks, strict=True):
        made = raw.commitments.get(index, {})
        months.append(
            FollowUpMonth(
                raw.months[index],
                tuple(
                    FollowUpRow(
                        row,
                        name_of(row),
                        totals[row],
                        sum(made.get(d, 0) for d in members[row]),
                        {
                            category: None
                            if (row, category) in block.hidden
                            else block.value((row, category))
                            for category in CATEGORIES
                        },
                    )
                    for row in (ORG, *rows)
                ),
            )
        )
    top = sorted(((step, n) for step, n in raw.steps.items() if n >= min_group), key=lambda s: (-s[1], s[0]))
    return CommitmentFigures(tuple(months), tuple(top[:TOP_STEPS]))
