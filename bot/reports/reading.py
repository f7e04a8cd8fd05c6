"""The short written reading at the top of the report ("most teams sit in Dialogue; ...").

Only facts the shown figures already prove go in: a "top" category is named only when it is above
everything its row hides (report.top_categories), and shares come from shown cells. The words are
in knowledge/templates/reports/reading.html and its messages; this module only picks the facts.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from bot.reports.anonymity import ORG, OTHER
from bot.reports.report import NAMED, AggregateReport, Measure, Row, top_categories


def _share(value: float | None) -> str:
    return "" if value is None else f"{round(value * 100)}%"


def _label(measure: Measure, category: str) -> str:
    return dict(measure.categories)[category]


def _top_named(row: Row, measures: list[Measure]) -> tuple[Measure, float] | None:
    """The fear or cause named most in a row, when every one of them is shown and the top is unique."""
    shares = [(row.figure(m.id, NAMED).share, m) for m in measures]
    if not shares or any(share is None for share, _ in shares):
        return None
    ordered = sorted(((share or 0.0, m) for share, m in shares), key=lambda item: -item[0])
    if ordered[0][0] <= 0 or (len(ordered) > 1 and ordered[0][0] == ordered[1][0]):
        return None
    return ordered[0][1], ordered[0][0]


def reading_context(report: AggregateReport) -> dict[str, Any]:
    """Variables for reports/reading: each is empty when the figures cannot support that sentence."""
    current = report.current
    context: dict[str, Any] = {
        "teams_phase": "",
        "teams_majority": False,
        "org_phase": "",
        "org_phase_share": "",
        "org_worry": "",
        "org_worry_share": "",
        "blocker": "",
        "blocker_kind": "",
        "blocker_group": "",
        "blocker_share": "",
        "weakest": "",
        "trend_from": "",
        "trend_to": "",
        "trend_since": "",
        "trend_phase": "",
        "left_out": [],
        "left_out_teams": [],
    }
    if current is None:
        return context
    presence = report.kind("phase")[0]
    org = current.row(ORG)
    assert org is not None
    departments = [row for row in current.rows if row.key not in (ORG, OTHER)]

    tops = Counter(top[0] for row in departments if len(top := top_categories(row, presence)) == 1)
    # The reading must not contradict the table: groups it could not read are named (issue 14).
    context["left_out_teams"] = [row.name for row in departments if len(top_categories(row, presence)) != 1]
    if departments and tops:
        (phase, count), *rest = tops.most_common()
        if not rest or rest[0][1] < count:
            context.update(teams_phase=_label(presence, phase), teams_majority=count * 2 > len(departments))
    org_top = top_categories(org, presence)
    if len(org_top) == 1:
        context.update(
            org_phase=_label(presence, org_top[0]),
            org_phase_share=_share(org.figure(presence.id, org_top[0]).share),
        )

    fears = report.kind("fear")
    worry = _top_named(org, fears)
    if worry is not None:
        context.update(org_worry=worry[0].title, org_worry_share=_share(worry[1]))

    best: tuple[float, Measure, Row] | None = None
    worries = [*fears, *report.kind("cause")]
    context["left_out"] = [
        row.name for row in departments if any(row.figure(m.id, NAMED).share is None for m in worries)
    ]
    for row in departments:
        found = _top_named(row, worries)
        if found is not None and (best is None or found[1] > best[0]):
            best = (found[1], found[0], row)
    if best is not None:
        share, measure, row = best
        context.update(
            blocker=measure.title,
            blocker_kind=measure.kind,
            blocker_group=row.name,
            blocker_share=_share(share),
        )

    weakest = report.weakest.get(ORG, ())
    if len(weakest) == 1:
        context["weakest"] = weakest[0]

    if len(report.months) > 1:
        later = [c for c, _ in presence.categories][2:]
        first = report.months[0].row(ORG)
        assert first is not None
        before = [first.figure(presence.id, c).share for c in later]
        after = [org.figure(presence.id, c).share for c in later]
        if all(v is not None for v in (*before, *after)):
            context.update(
                trend_since=report.months[0].label,
                trend_phase=_label(presence, later[0]),
                trend_from=_share(sum(v or 0.0 for v in before)),
                trend_to=_share(sum(v or 0.0 for v in after)),
            )
    return context
