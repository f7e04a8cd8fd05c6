"""The report as CSV: one row per group × measure × category × month, for Excel and for analysis.

UTF-8 with a byte order mark, so Excel reads the accents in department names; a Dutch report uses
";" and a decimal comma, as Dutch Excel expects, an English one "," and a point. A hidden figure is
written as "x" with status "hidden", never as a number. Everything comes from the AggregateReport,
so the CSV cannot disagree with the text or the chart.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from bot.reports.anonymity import ORG
from bot.reports.commitments import PARTITION
from bot.reports.report import AggregateReport, Figure, Measure

HIDDEN_MARK = "x"
COLUMNS = (
    "month",
    "current",
    "group_id",
    "group",
    "measure",
    "measure_label",
    "category",
    "category_label",
    "count",
    "share_percent",
    "respondents",
    "status",
)
_FORMAT = {"nl": (";", ","), "en": (",", ".")}


def _measure_id(measure: Measure) -> str:
    return f"phase:{measure.id}" if measure.kind == "phase" else measure.id


def _share(figure: Figure, decimal: str) -> str:
    if figure.share is None:
        return HIDDEN_MARK
    return f"{figure.share * 100:.1f}".replace(".", decimal)


#: A cell starting with one of these is a formula to Excel and LibreOffice (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _TextOnly:
    """A csv writer whose text cells are never formulas: a department named `=HYPERLINK(...)` is
    written as the text it is, with a leading apostrophe, as OWASP advises (issue 14)."""

    def __init__(self, writer: Any) -> None:
        self._writer = writer

    def writerow(self, row: Sequence[object]) -> None:
        self._writer.writerow(
            [
                f"'{cell}" if isinstance(cell, str) and cell.startswith(_FORMULA_START) else cell
                for cell in row
            ]
        )


def to_csv(report: AggregateReport) -> bytes:
    """The CSV document's bytes (empty table with only the header when there is no report yet)."""
    delimiter, decimal = _FORMAT.get(report.language, _FORMAT["en"])
    buffer = io.StringIO()
    writer = _TextOnly(csv.writer(buffer, delimiter=delimiter))
    writer.writerow(COLUMNS)
    current = report.current
    for month in report.months:
        is_current = "yes" if month is current else "no"
        stamp = month.start.strftime("%Y-%m")
        for row in month.rows:
            base = [stamp, is_current, row.key, row.name]
            writer.writerow([*base, "respondents", "", "", "", row.respondents, "", row.respondents, "shown"])
            for measure in report.measures:
                for category, label in _categories(measure):
                    figure = row.figure(measure.id, category)
                    writer.writerow(
                        [
                            *base,
                            _measure_id(measure),
                            measure.title,
                            category,
                            label,
                            HIDDEN_MARK if figure.count is None else figure.count,
                            _share(figure, decimal),
                            row.respondents,
                            "hidden" if figure.hidden else "shown",
                        ]
                    )
            if month is current:
                _current_rows(writer, report, row.key, row.respondents, base, decimal)
    if current is not None:
        listed = {row.key for row in current.rows}
        stamp = current.start.strftime("%Y-%m")
        for p in report.participation:
            if p.key not in listed:
                _current_rows(writer, report, p.key, p.respondents, [stamp, "yes", p.key, p.name], decimal)
    _commitment_rows(writer, report, decimal)
    return buffer.getvalue().encode("utf-8-sig")


def _commitment_rows(writer: Any, report: AggregateReport, decimal: str) -> None:
    """Measure "commitments": each row's respondents by their follow-up that month (succeeded, not
    succeeded, not answered, no commitment: a partition, as for every other measure); "top_step"
    rows name the most completed steps, the count being the rank."""
    figures = report.commitments
    if figures is None:
        return
    title = report.labels.get("commitments", "commitments")
    latest = figures.months[-1].start if figures.months else None
    for month in figures.months:
        stamp, is_current = month.start.strftime("%Y-%m"), "yes" if month.start == latest else "no"
        for row in month.rows:
            base = [stamp, is_current, row.key, row.name, "commitments", title]
            for category in PARTITION:
                count = row.counts.get(category)
                share = Figure(
                    count, None if count is None else count / row.respondents if row.respondents else 0.0
                )
                writer.writerow(
                    [
                        *base,
                        category,
                        "",
                        HIDDEN_MARK if count is None else count,
                        _share(share, decimal),
                        row.respondents,
                        "hidden" if count is None else "shown",
                    ]
                )
    for rank, step in enumerate(figures.top_steps, start=1):
        writer.writerow(["", "", ORG, "", "top_step", title, step, "", rank, "", "", "shown"])


def _categories(measure: Measure) -> list[tuple[str, str]]:
    return [*measure.categories, *([measure.implicit] if measure.implicit else [])]


def _current_rows(
    writer: Any, report: AggregateReport, key: str, respondents: int, base: Sequence[object], decimal: str
) -> None:
    participation = next((p for p in report.participation if p.key == key), None)
    if participation is not None:
        for measure, figure in (
            ("onboarded", participation.onboarded),
            ("active_30_days", participation.active),
        ):
            writer.writerow(
                [
                    *base,
                    measure,
                    report.labels.get(measure, measure),
                    "",
                    "",
                    HIDDEN_MARK if figure.count is None else figure.count,
                    "" if measure == "onboarded" else _share(figure, decimal),
                    respondents,
                    "hidden" if figure.hidden else "shown",
                ]
            )
    if key not in report.weakest:
        return
    weakest = report.weakest[key]
    lens = report.measure("lens")
    ids = [c for c, label in lens.categories if label in weakest]
    writer.writerow(
        [
            *base,
            "weakest_six_c",
            report.labels.get("weakest", "weakest"),
            "|".join(ids),
            " / ".join(weakest),
            "",
            "",
            respondents,
            "shown" if ids else "undetermined",
        ]
    )
