"""The report's picture: both phase models by department now, how the organisation moved per month,
and its most named fears and causes.

Matplotlib's object API on the Agg canvas (no pyplot, no display, no global state), so it renders
in a worker thread or a test alike. Sized for a phone: 1080 pixels wide, like a phone screen, with
fonts large enough to read there without zooming. Only shown groups get a bar and a label; what is
hidden in a row is one grey "hidden" segment, whose size a reader can already compute (respondents
minus the shown cells) and which is never less than the smallest group shown.
"""

from __future__ import annotations

import io

from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.gridspec import SubplotSpec
from matplotlib.patches import Patch

from bot.reports.report import NAMED, AggregateReport, Measure, Row

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


def _now_bars(axes: Axes, rows: list[Row], measure: Measure, title: str) -> None:
    """One bar per group: the measure's categories as shares, the hidden remainder grey."""
    for position, row in enumerate(rows):
        left = 0.0
        for share, colour, label in _segments(row, measure):
            axes.barh(position, share, left=left, color=colour, edgecolor="white", height=0.78)
            if label and share >= _MIN_LABEL:
                axes.text(
                    left + share / 2,
                    position,
                    label,
                    ha="center",
                    va="center",
                    fontsize=_FONT - 3,
                    color=_text_colour(colour),
                )
            left += share
    axes.set_yticks(range(len(rows)))
    axes.set_yticklabels([f"{row.name} ({row.respondents})" for row in rows], fontsize=_FONT - 2)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xticks([0, 0.25, 0.5, 0.75, 1])
    axes.set_xticklabels(["0", "25", "50", "75", "100%"], fontsize=_FONT - 4)
    axes.set_title(title, fontsize=_FONT + 2, loc="left", pad=12)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)


def _worries(report: AggregateReport) -> list[tuple[str, float | None]]:
    """(title, share of the organisation naming it; None when hidden) of every fear and cause,
    most named first and hidden ones last: the top fears and causes."""
    org = report.months[-1].rows[0]
    found = [(m.title, org.figure(m.id, NAMED).share) for m in (*report.kind("fear"), *report.kind("cause"))]
    return sorted(found, key=lambda item: (item[1] is None, -(item[1] or 0.0)))


def build_figure(report: AggregateReport) -> Figure:
    """The figure itself (tests read its texts); render_png turns it into the picture sent.

    Both phase models by group now, the first model month by month, and the whole organisation's
    fears and causes, most named first (issue 14: the chart showed one model only)."""
    current = report.current
    assert current is not None, "no chart without a report"
    measure, second = report.kind("phase")[0], report.kind("phase")[1]
    rows = list(current.rows)
    months = report.months
    worries = _worries(report)
    bar_rows = len(rows)
    legend_in, bars_in, gap_in, trend_in = 1.5, 0.6 * bar_rows + 0.9, 1.2, 4.2
    second_in, worries_in, foot_in = 0.6 * bar_rows + 1.6, 0.45 * len(worries) + 0.9, 1.1
    height_in = legend_in + bars_in + gap_in + trend_in + gap_in + second_in + gap_in + worries_in + foot_in
    figure = Figure(figsize=(WIDTH_PX / DPI, height_in), dpi=DPI)
    FigureCanvasAgg(figure)

    def band(top_in: float, size_in: float, left: float) -> SubplotSpec:
        top = 1 - top_in / height_in
        return figure.add_gridspec(1, 1, left=left, right=0.97, top=top, bottom=top - size_in / height_in)[0]

    trend_top = legend_in + bars_in + gap_in
    second_top = trend_top + trend_in + gap_in
    worries_top = second_top + second_in + gap_in
    grid = (
        band(legend_in + 0.5, bars_in - 0.5, 0.36),
        band(trend_top, trend_in, 0.1),
        band(second_top + 1.0, second_in - 1.0, 0.36),
        band(worries_top, worries_in, 0.46),
    )
    _now_bars(figure.add_subplot(grid[0]), rows, measure, report.labels.get("chart_phase_title", ""))

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

    second_axes = figure.add_subplot(grid[2])
    _now_bars(second_axes, rows, second, second.title)
    second_axes.legend(
        handles=[
            Patch(color=c, label=label)
            for (_, label), c in zip(second.categories, PHASE_COLOURS, strict=False)
        ],
        loc="lower left",
        bbox_to_anchor=(-0.55, 1.08),
        ncol=4,
        fontsize=_FONT - 6,
        frameon=False,
    )

    worries_axes = figure.add_subplot(grid[3])
    mark = report.labels.get("hidden_mark", "x")
    for position, (_, worry) in enumerate(worries):
        if worry is None:
            worries_axes.text(0.01, position, mark, va="center", fontsize=_FONT - 3, color="#707070")
            continue
        worries_axes.barh(position, worry, color=PHASE_COLOURS[2], height=0.7)
        worries_axes.text(worry + 0.01, position, f"{round(worry * 100)}%", va="center", fontsize=_FONT - 4)
    worries_axes.set_yticks(range(len(worries)))
    worries_axes.set_yticklabels([title for title, _ in worries], fontsize=_FONT - 4)
    worries_axes.invert_yaxis()
    worries_axes.set_xlim(0, 1)
    worries_axes.set_xticks([0, 0.5, 1])
    worries_axes.set_xticklabels(["0", "50", "100%"], fontsize=_FONT - 4)
    title = worries_axes.set_title(
        f"{report.labels.get('chart_worries_title', '')} ({current.rows[0].name})",
        fontsize=_FONT + 2,
        loc="left",
        pad=12,
    )
    title.set_x(-0.75)  # start under the other titles, left of the long category labels
    for side in ("top", "right"):
        worries_axes.spines[side].set_visible(False)

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
