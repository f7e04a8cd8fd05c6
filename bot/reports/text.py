"""The report as Telegram HTML: what an admin reads in the chat and, stripped of tags, in the terminal."""

from __future__ import annotations

from markupsafe import Markup

from bot.content.catalog import Catalog
from bot.reports.anonymity import ORG
from bot.reports.commitments import SUCCEEDED, CommitmentFigures, FollowUpRow, with_commitments
from bot.reports.reading import reading_context
from bot.reports.report import NAMED, AggregateReport, Figure, Measure, Row, month_label


def render_text(report: AggregateReport, catalog: Catalog) -> str:
    """The report as Telegram HTML (split it with splitting.split_message before sending)."""
    lang = report.language
    renderer = catalog.renderer
    if report.current is None:
        too_small = renderer.render(lang, "reports/too_small", min_group=report.min_group)
        if report.commitments is None or not report.commitments.months:
            return too_small
        mark = report.labels.get("hidden_mark", "x")
        return (
            too_small + "\n\n" + render_commitments(report.commitments, catalog, lang, mark, report.min_group)
        )
    mark = report.labels.get("hidden_mark", "x")
    context = reading_context(report)
    reading = Markup(
        renderer.render(lang, "reports/reading", min_group=report.min_group, mark=mark, **context)
    )
    current = report.current

    def cells(row: Row, measure: Measure) -> list[dict[str, str]]:
        return [
            {"label": label, "value": percent(row.figure(measure.id, c), mark)}
            for c, label in measure.categories
        ]

    phases = [
        {
            "title": m.title,
            "rows": [{"name": r.name, "n": r.respondents, "cells": cells(r, m)} for r in current.rows],
        }
        for m in report.kind("phase")
    ]

    def named(kind: str) -> list[dict[str, object]]:
        return [
            {
                "name": r.name,
                "n": r.respondents,
                "cells": [
                    {"label": m.title, "value": percent(r.figure(m.id, NAMED), mark)}
                    for m in report.kind(kind)
                ],
            }
            for r in current.rows
        ]

    trend = []
    keys = [r.key for r in current.rows]
    keys += [r.key for month in report.months for r in month.rows if r.key not in keys]
    for key in dict.fromkeys(keys):
        models = report.kind("phase") if key == ORG else report.kind("phase")[:1]
        name = next(r.name for month in report.months for r in month.rows if r.key == key)
        parts = [
            {
                "model": m.title,
                "lines": [
                    {"label": month.label, "n": row.respondents, "cells": cells(row, m)}
                    for month in report.months
                    if (row := month.row(key)) is not None
                ],
            }
            for m in models
        ]
        trend.append({"name": name, "parts": parts})
    main = renderer.render(
        lang,
        "reports/report",
        as_of=report.as_of,
        month=current.label,
        min_group=report.min_group,
        mark=mark,
        other=report.labels.get("other", ""),
        reading=reading,
        participation=[
            {
                "name": p.name,
                "onboarded": count(p.onboarded, mark),
                "respondents": p.respondents,
                "active": count(p.active, mark),
            }
            for p in report.participation
        ],
        phases=phases,
        fears=named("fear"),
        causes=named("cause"),
        weakest=[
            {"name": r.name, "value": " / ".join(report.weakest.get(r.key, ())) or "–"} for r in current.rows
        ],
        trend=trend,
    )
    if report.commitments is None:
        return main
    return main + "\n\n" + render_commitments(report.commitments, catalog, lang, mark, report.min_group)


def render_commitments(
    figures: CommitmentFigures, catalog: Catalog, lang: str, mark: str, min_group: int
) -> str:
    """The commitments section: the latest month by group, earlier months for the organisation."""

    def line(row: FollowUpRow) -> dict[str, object]:
        share = row.success_share
        ok = row.counts.get(SUCCEEDED)
        return {
            "name": row.name,
            "people": mark if row.people is None else row.people,
            "answered": mark if row.answered is None else row.answered,
            "share": mark if share is None or ok is None else f"{round(share * 100)}%",
        }

    current = None
    trend = []
    months = with_commitments(figures.months)
    if months:
        latest = months[-1]
        current = {"label": month_label(latest.start, lang), "rows": [line(r) for r in latest.rows]}
        trend = [{"label": month_label(m.start, lang), **line(m.rows[0])} for m in months[:-1]]
    knowledge = catalog.knowledge
    steps = [
        {
            "text": knowledge.get(f"steps.{step}").text("text", lang)
            if f"steps.{step}" in knowledge.items
            else step
        }
        for step in figures.top_steps
    ]
    return catalog.renderer.render(
        lang, "reports/commitments", current=current, trend=trend, steps=steps, min_group=min_group
    )


def percent(figure: Figure, mark: str) -> str:
    """A share as a whole percentage; "<1%" rather than a "0%" that is not nobody."""
    if figure.hidden or figure.share is None:
        return mark
    if 0 < figure.share < 0.005:
        return "<1%"
    return f"{round(figure.share * 100)}%"


def count(figure: Figure, mark: str) -> str:
    return mark if figure.count is None else str(figure.count)
