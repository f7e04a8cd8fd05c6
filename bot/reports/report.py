"""The AggregateReport: one protected structure that the text, the chart and the CSV all render from.

build_report runs the SQL (bot.reports.aggregates), folds and suppresses (bot.reports.anonymity)
and resolves every label in the reader's language. Nothing downstream sees an unprotected count:
a hidden figure is None here, so no renderer can print it by mistake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from babel.dates import format_date

from bot.content.catalog import Catalog
from bot.content.dates import short_date
from bot.content.knowledge import Knowledge
from bot.reports.aggregates import OTHER_LENS, Categories, RawCounts
from bot.reports.anonymity import ORG, OTHER
from bot.reports.commitments import PARTITION as COMMITMENT_PARTITION
from bot.reports.commitments import CommitmentFigures, FollowUpMonth, FollowUpRow
from bot.reports.measures import COMMITMENT, NAMED, NOT_NAMED, PHASE_MODELS, FamilySpec, family_specs
from bot.reports.publishing import released_months
from bot.reports.releases import CLOSED, Release, decide
from bot.storage.database import Database

#: Months the trend covers, the current one included.
DEFAULT_MONTHS = 6
#: Hours a release of the current month is shown before the next report releases it again
#: (the default of Settings.report_refresh_hours, COACHBOT_REPORT_REFRESH_HOURS).
DEFAULT_REFRESH_HOURS = 24.0
__all__ = ["NAMED", "NOT_NAMED", "PHASE_MODELS"]
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
    """Every group's check-ins of one month: each person's latest check that month (the current
    month: up to now)."""

    start: date
    label: str
    rows: tuple[Row, ...]
    """The organisation first, then departments (largest first), "other departments" last."""
    released_at: datetime | None = None
    """When these figures were released (bot.reports.releases); every later report shows them as they were."""
    closed: bool = True
    """False for the current month, whose figures stand as of `released_at`; True: as of the month's end."""

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


def _measure(spec: FamilySpec, knowledge: Knowledge, lang: str, labels: Mapping[str, str]) -> Measure:
    """A family's labels in `lang`."""
    if spec.kind == "phase":
        return Measure(
            spec.id,
            "phase",
            knowledge.model_names[spec.id].text("name", lang),
            tuple((p, knowledge.phase(spec.id, p).text("name", lang)) for p in spec.categories),
        )
    if spec.kind in ("fear", "cause"):
        title = knowledge.get(f"{spec.kind}s.{spec.id.partition(':')[2]}").text("title", lang)
        return Measure(
            spec.id, spec.kind, title, ((NAMED, title),), (NOT_NAMED, labels.get(NOT_NAMED, NOT_NAMED))
        )
    six = [c for c in spec.categories if c != spec.implicit]
    return Measure(
        spec.id,
        spec.kind,
        labels.get("lens", "lens"),
        tuple((c, knowledge.get(c).text("title", lang)) for c in six),
        (OTHER_LENS, labels.get("other_lens", OTHER_LENS)),
    )


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
    """The protected report from raw counts as one fresh release of every month (nothing released
    before): pure, so tests can feed it any organisation."""
    specs = family_specs(categories_of(catalog.knowledge))
    decision = decide(raw, [], specs, now=generated_at, refresh=timedelta(0), min_group=min_group)
    return from_releases(
        decision.shown,
        raw.departments,
        catalog,
        lang=lang,
        min_group=min_group,
        generated_at=generated_at,
        zone=zone,
    )


def from_releases(
    releases: Sequence[Release],
    departments: Mapping[int, str],
    catalog: Catalog,
    *,
    lang: str,
    min_group: int,
    generated_at: datetime,
    zone: str,
) -> AggregateReport:
    """The report from released months (oldest first; the latest stands for "now"): labels only,
    every figure as released, hidden ones as None."""
    knowledge = catalog.knowledge
    labels = labels_of(catalog, lang)
    specs = family_specs(categories_of(knowledge))
    measures = tuple(_measure(spec, knowledge, lang, labels) for spec in specs if spec.id != COMMITMENT)
    if not releases:
        as_of = short_date(generated_at, lang, zone)
        return AggregateReport(lang, generated_at, as_of, min_group, measures, (), (), {}, labels)
    # A month counts its own check-ins, so early in a month fewer than min_group people may have
    # checked in yet: the report then stands on the latest month released (its heading names it).
    as_of = short_date(releases[-1].released_at, lang, zone)
    months: list[Month] = []
    follow_up: list[FollowUpMonth] = []
    for release in releases:
        figures: dict[str, dict[tuple[str, str], Figure]] = {row: {} for row in (*release.rows, ORG)}
        for spec in specs:
            released = release.families.get(spec.id)
            for row in (*release.rows, ORG):
                for category in spec.categories:
                    cell = (row, category)
                    if released is None or category not in released.categories:
                        figures[row][(spec.id, category)] = HIDDEN
                        continue
                    figures[row][(spec.id, category)] = _figure(
                        released.counts.get(cell, 0), release.totals[row], cell in released.hidden
                    )
        rows = tuple(
            Row(row, _name(row, departments, labels), release.totals[row], figures[row])
            for row in (ORG, *release.rows)
        )
        follow_up.append(
            FollowUpMonth(
                release.period,
                tuple(
                    FollowUpRow(
                        row.key,
                        row.name,
                        row.respondents,
                        {c: row.figure(COMMITMENT, c).count for c in COMMITMENT_PARTITION},
                    )
                    for row in rows
                ),
            )
        )
        months.append(
            Month(
                release.period,
                month_label(release.period, lang),
                rows,
                release.released_at,
                release.kind == CLOSED,
            )
        )

    lens = next(m for m in measures if m.id == "lens")
    weakest: dict[str, tuple[str, ...]] = {}
    for shown in months[-1].rows:
        tops = top_categories(shown, lens)
        weakest[shown.key] = tuple(label for key, label in lens.categories if key in tops)
    participation = tuple(
        Participation(
            p.key,
            _name(p.key, departments, labels),
            HIDDEN if p.onboarded is None else Figure(p.onboarded, None),
            p.respondents,
            HIDDEN
            if p.active is None
            else Figure(p.active, p.active / p.respondents if p.respondents else 0.0),
        )
        for p in releases[-1].participation
    )
    return AggregateReport(
        language=lang,
        generated_at=generated_at,
        as_of=as_of,
        min_group=min_group,
        measures=measures,
        months=tuple(months),
        participation=participation,
        weakest=weakest,
        labels=labels,
        commitments=CommitmentFigures(tuple(follow_up), releases[-1].steps),
    )


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
    refresh_hours: float = DEFAULT_REFRESH_HOURS,
    now: datetime | None = None,
) -> AggregateReport:
    """The released figures (releasing what is due first), labelled in `lang`."""
    now = now or datetime.now(UTC)
    releases, departments = await released_months(
        database,
        categories_of(catalog.knowledge),
        min_group=min_group,
        zone=zone,
        months=months,
        refresh_hours=refresh_hours,
        now=now,
    )
    return from_releases(
        releases,
        departments,
        catalog,
        lang=lang,
        min_group=min_group,
        generated_at=now,
        zone=zone,
    )
