"""Released figures: what was published once is kept, and everything later answers from it.

Why
    Protecting each report on its own is not enough: two reports subtract. A newcomer between two
    runs, one person's /forget between two runs, or October taken while it was the current month
    against October in a later report each describe one person (issue 14). So the figures of a
    month are *released*: computed, protected together with every release before them, stored, and
    from then on shown as stored.

The rules
    - A closed month is released once, at the first report after it ended, and never again.
    - The current month is released at most once every COACHBOT_REPORT_REFRESH_HOURS; in between,
      every report, CSV, chart and champion's brief shows that release, whoever asks and whatever
      happened since (newcomers, erasures, moves).
    - A new release is protected together with every earlier release of the months in the window
      (bot.reports.anonymity.protect with the earlier ones frozen): its differences from each of
      them, per group and category, are treated like any other small group, and only the new
      release may hide more. At worst it hides all its answers (row totals stay: they count people,
      not what they answered).
    - /forget deletes a person's rows at once; releases that counted them stay, as they are anonymous
      aggregates, and stay what they were, so the erasure itself is not visible in any figure.

Language-free: labels are added by bot.reports.report when a release is shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.reports.aggregates import RawCounts
from bot.reports.anonymity import ORG, OTHER, Block, Cell, Department, protect, protect_column
from bot.reports.measures import FamilySpec, MonthPlan, block_for, plan_month

OPEN, CLOSED = "open", "closed"


@dataclass(frozen=True)
class FamilyRelease:
    """One family in one released month: every count (hidden ones too) and which cells are hidden.

    Hidden counts are kept so later releases can be protected against this one; they never leave
    the release except as None (bot.reports.report)."""

    categories: tuple[str, ...]
    counts: Mapping[Cell, int]
    hidden: frozenset[Cell]


@dataclass(frozen=True)
class ParticipationRelease:
    """How many people took part in one group when the current month was released."""

    key: str
    onboarded: int | None
    respondents: int
    active: int | None


@dataclass(frozen=True)
class Release:
    """One month's figures as published once."""

    period: date
    kind: str
    released_at: datetime
    rows: tuple[str, ...]
    members: Mapping[str, frozenset[Department]]
    totals: Mapping[str, int]
    families: Mapping[str, FamilyRelease]
    participation: tuple[ParticipationRelease, ...] = ()

    def block(self, family: str) -> Block | None:
        """The family as a Block with its published hidden cells, for protecting later releases."""
        released = self.families.get(family)
        if released is None:
            return None
        return Block(
            self.rows, self.members, released.categories, released.counts, self.totals, set(released.hidden)
        )


@dataclass
class Decision:
    """What to show and what to store."""

    shown: list[Release] = field(default_factory=list)
    """The release shown for each month of the window that has one, oldest first."""
    new: list[Release] = field(default_factory=list)
    """Releases made now; to be stored before anything is shown."""


def decide(
    raw: RawCounts,
    earlier: Sequence[Release],
    specs: Sequence[FamilySpec],
    *,
    now: datetime,
    refresh: timedelta,
    min_group: int,
) -> Decision:
    """Which months need a release now, and their protected figures; `earlier` oldest first."""
    window = set(raw.months)
    current = len(raw.months) - 1
    frozen = sorted((r for r in earlier if r.period in window), key=lambda r: (r.released_at, r.period))
    shown: dict[date, Release] = {}
    for release in frozen:
        if release.kind == CLOSED or raw.months.index(release.period) == current:
            shown[release.period] = release  # the latest of each period wins
    plans: list[MonthPlan] = []
    for index, period in enumerate(raw.months):
        existing = shown.get(period)
        if index < current:
            if existing is not None and existing.kind == CLOSED:
                continue
        elif existing is not None and now - existing.released_at < refresh:
            continue
        plan = plan_month(raw, index, min_group)
        if plan is not None:
            plans.append(plan)
    if not plans:
        return Decision([shown[p] for p in raw.months if p in shown], [])

    figures: list[dict[str, FamilyRelease]] = [{} for _ in plans]
    for spec in specs:
        old = [b for r in frozen if (b := r.block(spec.id)) is not None and b.categories == spec.categories]
        new = [block_for(raw, plan, spec) for plan in plans]
        protect([*old, *new], min_group, frozen=len(old))
        for position, block in enumerate(new):
            figures[position][spec.id] = FamilyRelease(
                spec.categories, dict(block.counts), frozenset(block.hidden)
            )
    made: list[Release] = []
    for position, plan in enumerate(plans):
        period = raw.months[plan.index]
        is_open = plan.index == current
        release = Release(
            period=period,
            kind=OPEN if is_open else CLOSED,
            released_at=now,
            rows=plan.rows,
            members=dict(plan.members),
            totals=dict(plan.totals),
            families=figures[position],
            participation=participation(raw, plan, min_group) if is_open else (),
        )
        made.append(release)
        shown[period] = release
    return Decision([shown[p] for p in raw.months if p in shown], made)


def participation(raw: RawCounts, plan: MonthPlan, min_group: int) -> tuple[ParticipationRelease, ...]:
    """People onboarded and active per group, now: counts of people, with small groups hidden."""
    rows = [row for row in plan.rows if row != OTHER]
    members: dict[str, frozenset[Department]] = {row: plan.members[row] for row in rows}
    shown_departments = {d for row in rows for d in members[row]}
    leftover = frozenset({*raw.departments, *raw.onboarded, None} - shown_departments)
    if rows and (OTHER in plan.rows or sum(raw.onboarded.get(d, 0) for d in leftover) > 0):
        rows.append(OTHER)
        members[OTHER] = leftover

    def column(source: Mapping[Department, int]) -> dict[str, int]:
        values = {row: sum(source.get(d, 0) for d in members[row]) for row in rows}
        values[ORG] = sum(source.values())
        return values

    onboarded = column(raw.onboarded)
    active = column(raw.active)
    hidden_onboarded = protect_column(onboarded, min_group)
    hidden_active = protect_column(active, min_group)
    return tuple(
        ParticipationRelease(
            row,
            None if row in hidden_onboarded else onboarded[row],
            plan.totals.get(row, 0),
            None if row in hidden_active else active[row],
        )
        for row in (ORG, *rows)
    )


# -- storage form -----------------------------------------------------------------------------------


def to_json(release: Release) -> dict[str, Any]:
    """The release as plain JSON (stored in released_figures.payload)."""
    return {
        "period": release.period.isoformat(),
        "kind": release.kind,
        "released_at": release.released_at.isoformat(),
        "rows": list(release.rows),
        "members": {row: sorted(members, key=str) for row, members in release.members.items()},
        "totals": dict(release.totals),
        "families": {
            family: {
                "categories": list(figures.categories),
                "counts": [[row, category, n] for (row, category), n in figures.counts.items()],
                "hidden": sorted([row, category] for row, category in figures.hidden),
            }
            for family, figures in release.families.items()
        },
        "participation": [[p.key, p.onboarded, p.respondents, p.active] for p in release.participation],
    }


def from_json(data: Mapping[str, Any]) -> Release:
    """Inverse of to_json."""
    return Release(
        period=date.fromisoformat(data["period"]),
        kind=str(data["kind"]),
        released_at=datetime.fromisoformat(data["released_at"]),
        rows=tuple(data["rows"]),
        members={row: frozenset(members) for row, members in data["members"].items()},
        totals={row: int(n) for row, n in data["totals"].items()},
        families={
            family: FamilyRelease(
                tuple(figures["categories"]),
                {(row, category): int(n) for row, category, n in figures["counts"]},
                frozenset((row, category) for row, category in figures["hidden"]),
            )
            for family, figures in data["families"].items()
        },
        participation=tuple(
            ParticipationRelease(str(key), onboarded, int(respondents), active)
            for key, onboarded, respondents, active in data["participation"]
        ),
    )
