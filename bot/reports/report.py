"""The AggregateReport: one protected structure that the text, the chart and the CSV all render from.

build_report runs the SQL (bot.reports.aggregates), folds and suppresses (bot.reports.anonymity)
and resolves every label in the reader's language. Nothing downstream sees an unprotected count:
a hidden figure is None here, so no renderer can print it by mistake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

from babel.dates import format_date

from bot.content.catalog import Catalog
from bot.content.dates import short_date
from bot.content.knowledge import Knowledge
from bot.reports.aggregates import OTHER_LENS, Categories, RawCounts, collect
from bot.reports.anonymity import ORG, OTHER, Block, Department, fold, group_key, protect, protect_column
from bot.reports.commitments import CommitmentFigures, assemble_commitments, collect_commitments
from bot.storage.database import Database

#: Months the trend covers, the current one included.
DEFAULT_MONTHS = 6
NAMED, NOT_NAMED = "named", "not_named"
PHASE_MODELS = ("presence_model", "pilot_model")
_LOCALES = {"nl": "nl_NL", "en": "en_GB"}


@dataclass(frozen=True)
class Figure:
    """One published number: a count of people and its share of the row's respondents, or hidden."""

    count: int | None
    share: float | None

    @property
    def hidden(self) -> bool:
        return self.count is None


HIDDEN = Figure(None, None)


@dataclass(frozen=True)
class Measure:
    """What is counted: a phase model, one fear, one cause, or the six C's lens."""

    id: str
    kind: str
    title: str
    categories: tuple[tuple[str, str], ...]
    """(category id, label) of the categories the text and chart show."""
    implicit: tuple[str, str] | None = None
    """The rest of the row ("did not name it", "another lens"): published in the CSV, since a reader
    can often work it out anyway, and the protection treats it as a cell like any other."""


@dataclass(frozen=True)
class Row:
    """One group in one month: the whole organisation, a department, or "other departments"."""

    key: str
    name: str
    respondents: int
    figures: Mapping[tuple[str, str], Figure]

    def figure(self, measure: str, category: str) -> Figure:
        return self.figures.get((measure, category), HIDDEN)


@dataclass(frozen=True)
class Month:
    """Every group's standing at the end of one month (the current month: now)."""

    start: date
    label: str
    rows: tuple[Row, ...]
    """The organisation first, then departments (largest first), "other departments" last."""

    def row(self, key: str) -> Row | None:
        return next((row for row in self.rows if row.key == key), None)


@dataclass(frozen=True)
class Participation:
    """How many people took part in one group, now."""

    key: str
    name: str
    onboarded: Figure
    respondents: int
    active: Figure


@dataclass(frozen=True)
class AggregateReport:
    """Everything an admin may see, already protected; text, chart and CSV render from this alone."""

    language: str
    generated_at: datetime
    as_of: str
    min_group: int
    measures: tuple[Measure, ...]
    months: tuple[Month, ...]
    """Oldest first; the last is the current month. Empty when too few people took part."""
    participation: tuple[Participation, ...]
    weakest: Mapping[str, tuple[str, ...]]
    """Row key -> the weakest of the six C's (labels) now; empty when the shown figures cannot tell."""
    labels: Mapping[str, str]
    commitments: CommitmentFigures | None = None
    """Commitments made, follow-ups answered, successes (issue 13); protected the same way."""

    @property
    def current(self) -> Month | None:
        return self.months[-1] if self.months else None

    def measure(self, measure_id: str) -> Measure:
        return next(m for m in self.measures if m.id == measure_id)

    def kind(self, kind: str) -> list[Measure]:
        return [m for m in self.measures if m.kind == kind]


@dataclass
class _Family:
    measure: Measure
    categories: tuple[str, ...]
    keys: Mapping[str, str] = field(default_factory=dict)
    """Category -> "measure:category" key in RawCounts; implicit categories are absent."""
    implicit: str | None = None


def categories_of(knowledge: Knowledge) -> Categories:
    """The categories the SQL counts, from knowledge/ (phase ids in order, the six C's lens ids,
    fears and causes): a fear added there is counted without any change to code or schema."""
    phases = {model: [p.id for p in items] for model, items in knowledge.phase_models.items()}
    return Categories(
        phases=phases,
        six_cs=[item.ref for item in knowledge.kind("six_cs")],
        fears=[item.id for item in knowledge.kind("fears")],
        causes=[item.id for item in knowledge.kind("causes")],
    )


def labels_of(catalog: Catalog, lang: str) -> dict[str, str]:
    """The report's fixed words (group names, chart titles), from reports/labels: "key: text" lines."""
    labels: dict[str, str] = {}
    for line in catalog.renderer.render(lang, "reports/labels").splitlines():
        key, sep, text = line.partition(":")
        if sep and key.strip():
            labels[key.strip()] = text.strip()
    return labels


def _families(
    knowledge: Knowledge, categories: Categories, lang: str, labels: Mapping[str, str]
) -> list[_Family]:
    families: list[_Family] = []
    for model in PHASE_MODELS:
        phases = tuple(categories.phases[model])
        measure = Measure(
            model,
            "phase",
            knowledge.model_names[model].text("name", lang),
            tuple((p, knowledge.phase(model, p).text("name", lang)) for p in phases),
        )
        families.append(_Family(measure, phases, {p: f"{model}:{p}" for p in phases}))
    for kind, ids in (("fear", categories.fears), ("cause", categories.causes)):
        for item in ids:
            title = knowledge.get(f"{kind}s.{item}").text("title", lang)
            measure = Measure(
                f"{kind}:{item}",
                kind,
                title,
                ((NAMED, title),),
                (NOT_NAMED, labels.get(NOT_NAMED, NOT_NAMED)),
            )
            families.append(_Family(measure, (NAMED, NOT_NAMED), {NAMED: f"{kind}:{item}"}, NOT_NAMED))
    six = tuple(categories.six_cs)
    lens = Measure(
        "lens",
        "lens",
        labels.get("lens", "lens"),
        tuple((c, knowledge.get(c).text("title", lang)) for c in six),
        (OTHER_LENS, labels.get("other_lens", OTHER_LENS)),
    )
    families.append(_Family(lens, (*six, OTHER_LENS), {c: f"lens:{c}" for c in six}, OTHER_LENS))
    return families


@dataclass
class _MonthPlan:
    index: int
    rows: tuple[str, ...]
    members: dict[str, frozenset[Department]]
    totals: dict[str, int]


def _plan(raw: RawCounts, index: int, min_group: int) -> _MonthPlan | None:
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
    return _MonthPlan(index, tuple(rows), members, totals)


def _block(raw: RawCounts, plan: _MonthPlan, family: _Family) -> Block:
    by_department = raw.counts.get(plan.index, {})
    counts: dict[tuple[str, str], int] = {}
    for row in (*plan.rows, ORG):
        departments = plan.members[row] if row != ORG else frozenset(by_department)
        for category in family.categories:
            key = family.keys.get(category)
            if key is None:
                continue
            counts[(row, category)] = sum(by_department.get(d, {}).get(key, 0) for d in departments)
        if family.implicit is not None:
            counts[(row, family.implicit)] = plan.totals[row] - sum(
                counts[(row, c)] for c in family.categories if c != family.implicit
            )
    return Block(plan.rows, plan.members, family.categories, counts, plan.totals)


def _name(row: str, departments: Mapping[int, str], labels: Mapping[str, str]) -> str:
    if row == ORG:
        return labels.get("org", "organisation")
    if row == OTHER:
        return labels.get("other", "other departments")
    return departments.get(int(row[1:]), row)


def _figure(count: int, total: int, hidden: bool) -> Figure:
    if hidden:
        return HIDDEN
    return Figure(count, count / total if total else 0.0)


def month_label(start: date, lang: str) -> str:
    return format_date(start, "LLL yyyy", locale=_LOCALES[lang]).replace(".", "")


def assemble(
    raw: RawCounts,
    catalog: Catalog,
    *,
    lang: str,
    min_group: int,
    generated_at: datetime,
    zone: str,
) -> AggregateReport:
    """The protected report from raw counts: pure, so tests can feed it any organisation."""
    knowledge = catalog.knowledge
    labels = labels_of(catalog, lang)
    categories = categories_of(knowledge)
    families = _families(knowledge, categories, lang, labels)
    plans = [p for i in range(len(raw.months)) if (p := _plan(raw, i, min_group)) is not None]
    as_of = short_date(generated_at, lang, zone)
    current_index = len(raw.months) - 1
    if not plans or plans[-1].index != current_index:
        return AggregateReport(
            lang, generated_at, as_of, min_group, tuple(f.measure for f in families), (), (), {}, labels
        )

    figures: list[dict[str, dict[tuple[str, str], Figure]]] = [{} for _ in plans]
    weakest: dict[str, tuple[str, ...]] = {}
    for family in families:
        blocks = [_block(raw, plan, family) for plan in plans]
        protect(blocks, min_group)
        for position, block in enumerate(blocks):
            for row in block.all_rows():
                target = figures[position].setdefault(row, {})
                for category in family.categories:
                    cell = (row, category)
                    target[(family.measure.id, category)] = _figure(
                        block.value(cell), block.totals[row], cell in block.hidden
                    )
    months: list[Month] = []
    for position, plan in enumerate(plans):
        rows = tuple(
            Row(row, _name(row, raw.departments, labels), plan.totals[row], figures[position][row])
            for row in (ORG, *plan.rows)
        )
        months.append(Month(raw.months[plan.index], month_label(raw.months[plan.index], lang), rows))

    current = plans[-1]
    lens = next(f for f in families if f.measure.id == "lens")
    for shown in months[-1].rows:
        tops = top_categories(shown, lens.measure)
        weakest[shown.key] = tuple(label for key, label in lens.measure.categories if key in tops)

    participation = _participation(raw, current, labels, min_group)
    return AggregateReport(
        language=lang,
        generated_at=generated_at,
        as_of=as_of,
        min_group=min_group,
        measures=tuple(f.measure for f in families),
        months=tuple(months),
        participation=participation,
        weakest=weakest,
        labels=labels,
    )


def _participation(
    raw: RawCounts, plan: _MonthPlan, labels: Mapping[str, str], min_group: int
) -> tuple[Participation, ...]:
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
    result: list[Participation] = []
    for row in (ORG, *rows):
        respondents = plan.totals.get(row, 0)
        result.append(
            Participation(
                row,
                _name(row, raw.departments, labels),
                HIDDEN if row in hidden_onboarded else Figure(onboarded[row], None),
                respondents,
                HIDDEN
                if row in hidden_active
                else Figure(active[row], active[row] / respondents if respondents else 0.0),
            )
        )
    return tuple(result)


def top_categories(row: Row, measure: Measure) -> list[str]:
    """The most frequent categories of a row, only when the shown figures already prove it.

    Whatever is hidden in the row adds up to at most its respondents minus the shown counts, which a
    reader can compute; naming the shown top tells nothing new when it is above that remainder.
    """
    every = [c for c, _ in measure.categories] + ([measure.implicit[0]] if measure.implicit else [])
    known = sum(count for c in every if (count := row.figure(measure.id, c).count) is not None)
    remainder = row.respondents - known
    shown = [(row.figure(measure.id, c).count, c) for c, _ in measure.categories]
    counts = [(count, c) for count, c in shown if count is not None]
    if not counts:
        return []
    top = max(count for count, _ in counts)
    if top <= 0 or top <= remainder:
        return []
    return [c for count, c in counts if count == top]


async def build_report(
    database: Database,
    catalog: Catalog,
    *,
    lang: str,
    min_group: int,
    zone: str,
    months: int = DEFAULT_MONTHS,
    now: datetime | None = None,
) -> AggregateReport:
    """Counts from the database, protected and labelled in `lang`."""
    now = now or datetime.now(UTC)
    async with database.read() as connection:
        raw = await collect(connection, categories_of(catalog.knowledge), now=now, months=months, zone=zone)
        committed = await collect_commitments(connection, now=now, months=months, zone=zone)
    report = assemble(raw, catalog, lang=lang, min_group=min_group, generated_at=now, zone=zone)
    figures = assemble_commitments(
        committed,
        raw.departments,
        min_group=min_group,
        name_of=lambda key: _name(key, raw.departments, report.labels),
    )
    return replace(report, commitments=figures)
