"""The report's figures as protectable tables: which measures are counted, per month, in which rows.

Language-free on purpose: a release (bot.reports.releases) is made once and then shown in either
language, in the report, the CSV, the chart and the champions' briefs alike.

How a figure is protected, and how a new one gets the same protection
    Every figure the report shows is a cell of a *family*: one measure (a phase model, one fear,
    one cause, the six C's lens) counted per month in the rows of that month's plan (the whole
    organisation, each department of at least COACHBOT_MIN_GROUP respondents, "other
    departments"), with categories that add up to the row's respondents. `block_for` turns a family
    and a month into an anonymity.Block; bot.reports.releases protects every new block together
    with everything released before (cell suppression, complementary suppression, differences
    between months and between releases), and stores the result. A new figure (say, the share of
    people with a commitment kept) gets all of that by being one more FamilySpec:

    1. count it in bot.reports.aggregates (one more "measure:category" column per department and
       month; people, never free text);
    2. add a FamilySpec here whose categories add up to the row (use `implicit` for the rest, e.g.
       "not kept"), so the row-total relation holds;
    3. give it labels in bot.reports.report (`_measure`); renderers read Figures, never counts.

    A figure that is not a partition of the row's respondents (a sum, an average) cannot be
    protected this way; make it a partition (bands) or leave it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.reports.aggregates import FOLLOW_UP, NO_COMMITMENT, OTHER_LENS, Categories, RawCounts
from bot.reports.anonymity import ORG, OTHER, Block, Department, fold, group_key

PHASE_MODELS = ("presence_model", "pilot_model")
NAMED, NOT_NAMED = "named", "not_named"
#: The family of the follow-up to commitments (bot.reports.commitments shows it in its own section).
COMMITMENT = "commitment"


@dataclass(frozen=True)
class FamilySpec:
    """One measure as a table: its categories and where RawCounts keeps each one."""

    id: str
    kind: str
    categories: tuple[str, ...]
    keys: Mapping[str, str] = field(default_factory=dict)
    """Category -> "measure:category" key in RawCounts; the implicit category is absent."""
    implicit: str | None = None
    """The category that is the rest of the row (its count is respondents minus the others)."""


def family_specs(categories: Categories) -> list[FamilySpec]:
    """Every family the report counts, in the order the report shows them."""
    specs: list[FamilySpec] = []
    for model in PHASE_MODELS:
        phases = tuple(categories.phases[model])
        specs.append(FamilySpec(model, "phase", phases, {p: f"{model}:{p}" for p in phases}))
    for kind, ids in (("fear", categories.fears), ("cause", categories.causes)):
        for item in ids:
            specs.append(
                FamilySpec(f"{kind}:{item}", kind, (NAMED, NOT_NAMED), {NAMED: f"{kind}:{item}"}, NOT_NAMED)
            )
    six = tuple(categories.six_cs)
    specs.append(FamilySpec("lens", "lens", (*six, OTHER_LENS), {c: f"lens:{c}" for c in six}, OTHER_LENS))
    specs.append(
        FamilySpec(
            COMMITMENT,
            COMMITMENT,
            (*FOLLOW_UP, NO_COMMITMENT),
            {c: f"commitment:{c}" for c in FOLLOW_UP},
            NO_COMMITMENT,
        )
    )
    return specs


@dataclass
class MonthPlan:
    """The rows of one month: which departments each row holds and how many respondents it has."""

    index: int
    rows: tuple[str, ...]
    members: dict[str, frozenset[Department]]
    totals: dict[str, int]


def plan_month(raw: RawCounts, index: int, min_group: int) -> MonthPlan | None:
    """Folds the month's departments (anonymity.fold); None when the organisation is too small."""
    respondents = raw.respondents.get(index, {})
    total = sum(respondents.values())
    if total < min_group:
        return None
    known: set[Department] = {*raw.departments, None}
    folding = fold(respondents, min_group, known)
    members: dict[str, frozenset[Department]] = {group_key(d): frozenset([d]) for d in folding.shown}
    rows = [group_key(d) for d in folding.shown]
    other = sum(respondents.get(d, 0) for d in folding.other)
    if folding.shown and other:
        rows.append(OTHER)
        members[OTHER] = folding.other
    if not folding.shown:
        members = {}
    totals = {row: sum(respondents.get(d, 0) for d in members[row]) for row in rows}
    totals[ORG] = total
    return MonthPlan(index, tuple(rows), members, totals)


def block_for(raw: RawCounts, plan: MonthPlan, spec: FamilySpec) -> Block:
    """One family in one month as an (unprotected) Block."""
    by_department = raw.counts.get(plan.index, {})
    counts: dict[tuple[str, str], int] = {}
    for row in (*plan.rows, ORG):
        departments = plan.members[row] if row != ORG else frozenset(by_department)
        for category in spec.categories:
            key = spec.keys.get(category)
            if key is None:
                continue
            counts[(row, category)] = sum(by_department.get(d, {}).get(key, 0) for d in departments)
        if spec.implicit is not None:
            counts[(row, spec.implicit)] = plan.totals[row] - sum(
                counts[(row, c)] for c in spec.categories if c != spec.implicit
            )
    return Block(plan.rows, plan.members, spec.categories, counts, plan.totals)
