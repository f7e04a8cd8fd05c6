"""The report's picture: phase by department now, and how the whole organisation moved per month.

Matplotlib's object API on the Agg canvas (no pyplot, no display, no global state), so it renders
in a worker thread or a test alike. Sized for a phone: 1080 pixels wide, like a phone screen, with
fonts large enough to read there without zooming. Only shown groups get a bar and a label; what is
hidden in a row is one grey "hidden" segment, whose size a reader can already compute (respondents
minus the shown cells) and which is never less than the smallest group shown.
"""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.gridspec import SubplotSpec
from matplotlib.patches import Patch

from bot.reports.report import AggregateReport, Measure, Row

WIDTH_PX = 1080
DPI = 100
#: Phases from first to last: light to dark, readable in grey too (viridis).
PHASE_COLOURS = ("#fde725", "#5ec962", "#21918c", "#3b528b")
HIDDEN_COLOUR = "#d0d0d0"
_FONT = 19
_MIN_LABEL = 0.09


def _segments(row: Row, measure: Measure) -> list[tuple[float, str, str]]:
    """(share, colour, label) left to right; the hidden remainder last, in grey."""
    parts: list[tuple[float, str, str]] = []
    shown = 0
    for (category, _), colour in zip(measure.categories, PHASE_COLOURS, strict=False):
        figure = row.figure(measure.id, category)
        if figure.count is None or not row.respondents:
            continue
        shown += figure.count
        share = figure.count / row.respondents
        parts.append((share, colour, f"{round(share * 100)}%"))
    if row.respondents and shown < row.respondents:
        parts.append(((row.respondents - shown) / row.respondents, HIDDEN_COLOUR, ""))
    return parts


def _text_colour(colour: str) -> str:
    return "black" if colour in (PHASE_COLOURS[0], PHASE_COLOURS[1], HIDDEN_COLOUR) else "white"


def build_figure(report: AggregateReport) -> Figure:
    """The figure itself (tests read its texts); render_png turns it into the picture sent."""
    current = report.current
    assert current is not None, "no chart without a report"
    measure = report.kind("phase")[0]
    rows = list(current.rows)
    months = report.months
    bar_rows = len(rows)
    legend_in, bars_in, gap_in, trend_in, foot_in = 1.5, 0.6 * bar_rows + 0.9, 1.2, 4.2, 1.1
    height_in = legend_in + bars_in + gap_in + trend_in + foot_in
    figure = Figure(figsize=(WIDTH_PX / DPI, height_in), dpi=DPI)
    FigureCanvasAgg(figure)

    def band(top_in: float, size_in: float, left: float) -> SubplotSpec:
        top = 1 - top_in / height_in
        return figure.add_gridspec(1, 1, left=left, right=0.97, top=top, bottom=top - size_in / height_in)[0]

    grid = (band(legend_in + 0.5, bars_in - 0.5, 0.36), band(legend_in + bars_in + gap_in, trend_in, 0.1))
    now_axes = figure.add_subplot(grid[0])
    for position, row in enumerate(rows):
        left = 0.0
        for share, colour, label in _segments(row, measure):
            now_axes.barh(position, share, left=left, color=colour, edgecolor="white", height=0.78)
            if label and share >= _MIN_LABEL:
                now_axes.text(
                    left + share / 2,
                    position,
                    label,
                    ha="center",
                    va="center",
                    fontsize=_FONT - 3,
                    color=_text_colour(colour),
                )
            left += share
    now_axes.set_yticks(range(bar_rows))
    now_axes.set_yticklabels([f"{row.name} ({row.respondents})" for row in rows], fontsize=_FONT - 2)
    now_axes.invert_yaxis()
    now_axes.set_xlim(0, 1)
    now_axes.set_xticks([0, 0.25, 0.5, 0.75, 1])
    now_axes.set_xticklabels(["0", "25", "50", "75", "100%"], fontsize=_FONT - 4)
    now_axes.set_title(report.labels.get("chart_phase_title", ""), fontsize=_FONT + 2, loc="left", pad=12)
    for side in ("top", "right"):
        now_axes.spines[side].set_visible(False)

    trend_axes = figure.add_subplot(grid[1])
    for position, month in enumerate(months):
        org = month.rows[0]
        bottom = 0.0
        for share, colour, label in _segments(org, measure):
            trend_axes.bar(position, share, bottom=bottom, color=colour, edgecolor="white", width=0.72)
            if label and share >= _MIN_LABEL:
                trend_axes.text(
                    position,
                    bottom + share / 2,
                    label,
                    ha="center",
                    va="center",
                    fontsize=_FONT - 4,
                    color=_text_colour(colour),
                )
            bottom += share
    trend_axes.set_xticks(range(len(months)))
    trend_axes.set_xticklabels([f"{m.label}\n({m.rows[0].respondents})" for m in months], fontsize=_FONT - 5)
    trend_axes.set_ylim(0, 1)
    trend_axes.set_yticks([0, 0.5, 1])
    trend_axes.set_yticklabels(["0", "50", "100%"], fontsize=_FONT - 4)
    trend_axes.set_title(report.labels.get("chart_trend_title", ""), fontsize=_FONT + 2, loc="left", pad=12)
    for side in ("top", "right"):
        trend_axes.spines[side].set_visible(False)

    legend = [
        Patch(color=c, label=label) for (_, label), c in zip(measure.categories, PHASE_COLOURS, strict=False)
    ]
    legend.append(Patch(color=HIDDEN_COLOUR, label=report.labels.get("chart_hidden", "hidden")))
    figure.legend(
        handles=legend,
        loc="upper center",
        ncol=3,
        fontsize=_FONT - 4,
        frameon=False,
        bbox_to_anchor=(0.5, 1 - 0.1 / height_in),
        title=measure.title,
        title_fontsize=_FONT - 2,
    )
    return figure


def render_png(report: AggregateReport) -> bytes:
    """The chart as PNG bytes, 1080 pixels wide."""
    figure = build_figure(report)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def figure_texts(figure: Figure) -> list[str]:
    """Every piece of text the chart draws (titles, labels, ticks, legend), for anonymity checks."""
    texts: list[str] = []
    for axes in figure.axes:
        texts.extend(text.get_text() for text in axes.texts)
        texts.extend(label.get_text() for label in [*axes.get_xticklabels(), *axes.get_yticklabels()])
        texts.extend(axes.get_title(loc) for loc in ("left", "center", "right"))
    for legend in figure.legends:
        texts.extend(text.get_text() for text in legend.get_texts())
        texts.append(legend.get_title().get_text())
    return [text for text in texts if text]
