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
      (bot.reports.anonymity.protect with the earlier ones frozen): its differences from each
      earlier release of the same month, per group and category, are treated like any other small
      group, and only the new release may hide more. At worst it hides all its answers (row totals
      stay: they count people, not what they answered). Releases of different months share no
      assessment (a month is its own check-ins, bot.reports.aggregates), so they are not compared;
      the combinations across all releases are still checked through their atoms (residual_pins,
      zero_pins).
    - /forget deletes a person's rows at once; releases that counted them stay, as they are anonymous
      aggregates, and stay what they were, so the erasure itself is not visible in any figure.

Language-free: labels are added by bot.reports.report when a release is shown.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.reports.aggregates import TOP_STEPS, RawCounts
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
    ids: Mapping[str, frozenset[int]] = field(default_factory=dict)
    """Row -> ids of the assessments it counted (no answers), to compare later releases' groups."""
    steps: tuple[str, ...] = ()
    """The most completed steps when the current month was released (names, no counts): each by
    at least k counted people; frozen with the release like every other figure."""

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
        shown[release.period] = release  # the latest of each period; a closed one is never followed
    plans = _due(raw, shown, now=now, refresh=refresh, min_group=min_group)
    if not plans:
        return Decision([shown[p] for p in raw.months if p in shown], [])

    # A month whose release would single out a small group is released with coarser rows (its
    # smallest departments folded into "other departments", at most down to the organisation
    # alone); if even that would, it keeps its last release (separate_groups). Decided before
    # protecting, so the zeros are judged against what is really published.
    kept: list[tuple[MonthPlan, dict[str, frozenset[int]]]] = []
    for plan in plans:
        before = [r for r in frozen if r.period == raw.months[plan.index]]
        for candidate in coarser(plan):
            ids = _ids_of(raw, candidate)
            if separate_groups(before, ids, min_group):
                kept.append((candidate, ids))
                break
    plans = [plan for plan, _ in kept]
    candidate_ids = [ids for _, ids in kept]
    figures = _protected(
        raw, frozen, plans, specs, all_atoms([r.ids for r in frozen], candidate_ids), min_group
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
            ids=candidate_ids[position],
            steps=top_steps(raw, min_group) if is_open else (),
        )
        made.append(release)
        shown[period] = release
    return Decision([shown[p] for p in raw.months if p in shown], made)


def coarser(plan: MonthPlan) -> Iterator[MonthPlan]:
    """The plan, then the same month with its smallest shown department folded into "other
    departments", one more at a time, ending with the organisation alone.

    Why: a refresh of the current month, or its closing release, often finds a department where
    only one or two people joined since the last release, a group a reader could single out
    (separate_groups). Refusing the release would freeze the month at its first figures; folding
    that department for this release (coarsening) keeps the month current at the organisation
    level, and every row shown still holds 0 or at least k people."""
    yield plan
    rows = [row for row in plan.rows if row != OTHER]
    members = dict(plan.members)
    while rows:
        smallest = min(rows, key=lambda row: (plan.totals[row], row))
        rows.remove(smallest)
        folded = members.pop(smallest)
        if not rows:
            yield MonthPlan(plan.index, (), {}, {ORG: plan.totals[ORG]})
            return
        members[OTHER] = members.get(OTHER, frozenset()) | folded
        shown = (*rows, OTHER)
        totals = {row: plan.totals[row] for row in rows}
        totals[OTHER] = plan.totals.get(OTHER, 0) + sum(
            plan.totals[row] for row in plan.rows if row not in rows and row != OTHER
        )
        totals[ORG] = plan.totals[ORG]
        yield MonthPlan(plan.index, shown, {row: members[row] for row in shown}, totals)


def _due(
    raw: RawCounts, shown: Mapping[date, Release], *, now: datetime, refresh: timedelta, min_group: int
) -> list[MonthPlan]:
    """Plans of the months to release now: closed months never released closed, and the current
    month when its last release is older than `refresh` (or missing)."""
    current = len(raw.months) - 1
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
    return plans


def _protected(
    raw: RawCounts,
    frozen: Sequence[Release],
    plans: Sequence[MonthPlan],
    specs: Sequence[FamilySpec],
    atoms: Mapping[frozenset[Place], int],
    min_group: int,
) -> list[dict[str, FamilyRelease]]:
    """Every family of the planned months, protected with the frozen releases (anonymity.protect),
    against zeros that pin an atom in combination (zero_pins), and against counts whose part left
    after the atoms known from unanimous groups is small (residual_pins)."""
    figures: list[dict[str, FamilyRelease]] = [{} for _ in plans]
    for spec in specs:
        old = [
            (number, b)
            for number, r in enumerate(frozen)
            if (b := r.block(spec.id)) is not None and b.categories == spec.categories
        ]
        new = [block_for(raw, plan, spec) for plan in plans]
        numbered = dict([*old, *((len(frozen) + i, b) for i, b in enumerate(new))])
        # Months share no assessment (a month is its own check-ins, bot.reports.aggregates), so
        # only releases of the same month can be subtracted from each other.
        periods = [frozen[n].period for n, _ in old] + [raw.months[plan.index] for plan in plans]
        for _ in range(ZERO_ROUNDS):
            protect([b for _, b in old] + new, min_group, frozen=len(old), periods=periods)
            touching = [places for places in atoms if any(n >= len(frozen) for n, _ in places)]
            extra = zero_pins(touching, numbered, first_new=len(frozen))
            extra += residual_pins(atoms, numbered, first_new=len(frozen), min_group=min_group)
            if not extra:
                break
            for number, cell in extra:
                new[number - len(frozen)].hidden.add(cell)
        else:
            for block in new:
                block.hidden.update(block.cells())
        for position, block in enumerate(new):
            figures[position][spec.id] = FamilyRelease(
                spec.categories, dict(block.counts), frozenset(block.hidden)
            )
    return figures


#: Rounds of hiding zeros that, combined across releases, would pin a small group (then all).
ZERO_ROUNDS = 6

Place = tuple[int, str]


def _ids_of(raw: RawCounts, plan: MonthPlan) -> dict[str, frozenset[int]]:
    by_department = raw.ids.get(plan.index, {})
    ids = {
        row: frozenset(i for d in plan.members[row] for i in by_department.get(d, ())) for row in plan.rows
    }
    ids[ORG] = frozenset(i for found in by_department.values() for i in found)
    return ids


def _atoms(releases: Sequence[Mapping[str, frozenset[int]]]) -> dict[frozenset[Place], frozenset[int]]:
    """Assessments grouped by the published rows they sit in (release number, row)."""
    signature: dict[int, set[Place]] = defaultdict(set)
    for number, ids in enumerate(releases):
        for row, members in ids.items():
            for assessment in members:
                signature[assessment].add((number, row))
    groups: dict[frozenset[Place], set[int]] = defaultdict(set)
    for assessment, places in signature.items():
        groups[frozenset(places)].add(assessment)
    return {places: frozenset(members) for places, members in groups.items()}


def all_atoms(
    before: Sequence[Mapping[str, frozenset[int]]], candidates: Sequence[Mapping[str, frozenset[int]]]
) -> dict[frozenset[Place], int]:
    """Every atom (see separate_groups) of the earlier and the candidate releases, with its size."""
    return {places: len(members) for places, members in _atoms([*before, *candidates]).items()}


def _zeros(block: Block, row: str) -> set[str]:
    return {c for c in block.categories if (row, c) not in block.hidden and block.value((row, c)) == 0}


def zero_pins(
    atoms: Sequence[frozenset[Place]], blocks: Mapping[int, Block], first_new: int
) -> list[tuple[int, Cell]]:
    """Shown zeros of new releases to hide, because together with zeros elsewhere they leave a small
    group a single possible category of a measure (issue 14's months compared: "nobody in IT
    chose A or B in September, nobody chose C in October", so the few counted both times chose D).

    Zeros of one single row that already leave one category are a unanimous group of at least k
    ("all of IT chose D"), which is shown on purpose; only combinations are hidden.
    """
    hide: list[tuple[int, Cell]] = []
    for places in atoms:
        rows = [(number, row) for number, row in places if number in blocks]
        if not rows:
            continue
        width = len(blocks[rows[0][0]].categories)
        excluded = set().union(*(_zeros(blocks[n], r) for n, r in rows))
        if width - len(excluded) > 1:
            continue
        if any(width - len(_zeros(blocks[n], r)) <= 1 for n, r in rows):
            continue
        for number, row in rows:
            if number >= first_new:
                hide.extend((number, (row, c)) for c in _zeros(blocks[number], row))
    return hide


def _possible(block: Block, row: str) -> set[str]:
    """The categories someone in the row may have chosen, as its shown cells tell: not a shown 0,
    and only the category of a shown cell that holds the whole row."""
    categories = set(block.categories) - _zeros(block, row)
    whole = [
        c
        for c in block.categories
        if (row, c) not in block.hidden and block.value((row, c)) == block.totals.get(row, -1)
    ]
    return categories & set(whole[:1]) if whole else categories


def _known(atoms: Iterable[frozenset[Place]], blocks: Mapping[int, Block]) -> dict[frozenset[Place], str]:
    """Atoms whose single possible category the shown cells of their rows give away."""
    known: dict[frozenset[Place], str] = {}
    for places in atoms:
        possible: set[str] | None = None
        for number, row in places:
            if number in blocks:
                here = _possible(blocks[number], row)
                possible = here if possible is None else possible & here
        if possible is not None and len(possible) == 1:
            known[places] = next(iter(possible))
    return known


def residual_pins(
    atoms: Mapping[frozenset[Place], int], blocks: Mapping[int, Block], first_new: int, min_group: int
) -> list[tuple[int, Cell]]:
    """Shown cells of new releases to hide, because what is left of them after the people whose
    answer is already known leaves a small group (issue 14's complement rule).

    A unanimous group of at least k is shown on purpose ("nobody in Sales named security"), so
    each of its people's answer is known to a reader who knows who they are. Subtracted from a
    later figure that counts them too ("3 of the 6 named it"), what is left describes the others
    alone: "1 of these 4 did not name it" is a group below k. So every shown cell of a new release
    is checked with the known people taken out: the rest of it must be 0 or at least k (the rest
    of its complement is checked as that category's own cell).
    """
    known = _known(atoms, blocks)
    if not known:
        return []
    known_before = _known(atoms, {n: b for n, b in blocks.items() if n < first_new})
    by_place = _by_place(atoms)
    hide: list[tuple[int, Cell]] = []
    for number, block in blocks.items():
        for row in block.all_rows():
            inside = by_place.get((number, row), [])
            unknown = [places for places in inside if places not in known]
            if not unknown or len(unknown) == len(inside):
                continue
            for category in block.categories:
                cell = (row, category)
                if cell in block.hidden:
                    continue
                rest = block.value(cell) - sum(
                    atoms[places] for places in inside if known.get(places) == category
                )
                if not 0 < rest < min_group:
                    continue
                if number >= first_new:
                    hide.append((number, cell))
                    continue
                # An earlier release's figure, made small by what the new ones give away: the new
                # releases' cells that make those people known are hidden instead.
                for places in inside:
                    if places in known and places not in known_before:
                        hide.extend(_telling(places, blocks, first_new))
    return hide


def _by_place(atoms: Iterable[frozenset[Place]]) -> dict[Place, list[frozenset[Place]]]:
    """Place (release number, row) -> the atoms counted there."""
    by_place: dict[Place, list[frozenset[Place]]] = defaultdict(list)
    for places in atoms:
        for place in places:
            by_place[place].append(places)
    return by_place


def _telling(places: frozenset[Place], blocks: Mapping[int, Block], first_new: int) -> list[tuple[int, Cell]]:
    """The shown cells of new releases that narrow the atom at `places` down: its rows' zeros and
    cells that hold a whole row."""
    cells: list[tuple[int, Cell]] = []
    for number, row in places:
        if number < first_new or number not in blocks:
            continue
        block = blocks[number]
        for category in block.categories:
            cell = (row, category)
            if cell not in block.hidden and block.value(cell) in (0, block.totals.get(row, -1)):
                cells.append((number, cell))
    return cells


def separate_groups(
    before: Sequence[Release], candidate: Mapping[str, frozenset[int]], min_group: int
) -> bool:
    """Whether releasing `candidate` after `before` (the same month's earlier releases) keeps every
    group a reader can single out at 0 or at least `min_group` people.

    A reader who knows who joined, left, moved or was erased between two releases of a month can
    tell apart the assessments that sit in exactly the same published rows (an *atom*: "in IT in
    the first release, gone in the second"). The cells protect groups, not atoms, so the zeros and
    totals of two releases combined can pin an atom's answers (issue 14's newcomer, an erasure, or
    rows folded differently). A release that makes a new atom of 1..k-1 people is not made; the
    month's last release stays shown until enough has changed.
    """
    if not before:
        return True
    releases = [*(r.ids for r in before), candidate]

    def atoms(upto: int) -> set[frozenset[int]]:
        signature: dict[int, set[tuple[int, str]]] = defaultdict(set)
        for number, release in enumerate(releases[:upto]):
            for row, ids in release.items():
                for assessment in ids:
                    signature[assessment].add((number, row))
        groups: dict[frozenset[tuple[int, str]], set[int]] = defaultdict(set)
        for assessment, places in signature.items():
            groups[frozenset(places)].add(assessment)
        return {frozenset(members) for members in groups.values()}

    old = atoms(len(before))
    return all(len(atom) >= min_group for atom in atoms(len(releases)) - old)


def top_steps(raw: RawCounts, min_group: int) -> tuple[str, ...]:
    """The steps most counted people completed in the window, each by at least `min_group`, most
    first: names only, as a count that changes between releases would describe the few who
    completed it in between."""
    ranked = sorted(
        ((step, n) for step, n in raw.steps.items() if n >= min_group), key=lambda s: (-s[1], s[0])
    )
    return tuple(step for step, _ in ranked[:TOP_STEPS])


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
        "ids": {row: sorted(ids) for row, ids in release.ids.items()},
        "steps": list(release.steps),
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
        ids={row: frozenset(ids) for row, ids in data["ids"].items()},
        steps=tuple(data.get("steps", ())),
    )
