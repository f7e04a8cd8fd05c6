"""The prep brief: where the audience stands, what it fears, and what to say about it.

Figures describe the audience as one group, taken from the current month's released report
(bot.reports.audience): the same protection as the admins' report, and the same figures for the
same audience until the next release, so briefs for other audiences, other sessions or a moved
session cannot be subtracted from each other. An audience that is not exactly a set of the
report's rows, or has fewer than COACHBOT_MIN_GROUP respondents, gets no figures at all, not even
how many answered. A figure hidden in the report is hidden here ("×"). The departments are never
broken out one by one.
"""

from __future__ import annotations

from typing import Any

from bot.content.knowledge import Item, Knowledge
from bot.domain import AudienceFigures, SessionKind

PHASE_MODELS = ("presence_model", "pilot_model")
#: How many of the audience's fears a brief turns into uses.
TOP_FEARS = 2
#: The fears the seed names for everyone (not the manager's own), for when there are no figures.
GENERAL_FEARS = ("unwanted_messages", "time_loss", "security")


def _percent(count: int | None, total: int) -> int | None:
    if count is None:
        return None
    return round(100 * count / total) if total else 0


def _fear_view(item: Item, lang: str, count: int | None, total: int) -> dict[str, Any]:
    uses = item.fields.get("uses") or []
    return {
        "title": item.text("title", lang),
        "remedy": item.text("remedy", lang),
        "uses": [str(use[lang]) for use in uses],
        "count": count,
        "percent": None if count is None else _percent(count, total),
    }


def talking_points(knowledge: Knowledge, lang: str) -> list[str]:
    """Why colleagues would spend time on business use of their own accounts (rollout.yaml)."""
    return [
        item.text("text", lang)
        for item in knowledge.kind("rollout")
        if "title" not in item.fields and item.id != "invite_next"
    ]


def brief_context(
    knowledge: Knowledge,
    figures: AudienceFigures,
    kind: SessionKind,
    lang: str,
    min_group: int,
) -> dict[str, Any]:
    """Template variables for champions/brief: figures only for a group of at least min_group."""
    enough = figures.respondents >= min_group
    context: dict[str, Any] = {
        "enough": enough,
        "min_group": min_group,
        "talking_points": talking_points(knowledge, lang),
        "principle": knowledge.get("rollout.not_hierarchy").text("text", lang),
    }
    if kind == SessionKind.INSPIRATION:
        context["next_title"] = knowledge.get("rollout.workshop").text("title", lang)
        context["next_text"] = knowledge.get("rollout.invite_next").text("text", lang)
    else:
        context["next_title"] = knowledge.get("rollout.share_successes").text("title", lang)
        context["next_text"] = knowledge.get("rollout.share_successes").text("text", lang)
    if not enough:
        context.update(respondents=None, phases=[], fears=[], any_hidden=False, fears_hidden=False)
        context["general_fears"] = [
            _fear_view(knowledge.get(f"fears.{fear}"), lang, None, 0) for fear in GENERAL_FEARS
        ]
        return context
    total = figures.respondents
    models: list[dict[str, Any]] = []
    for model in PHASE_MODELS:
        counts = figures.phases.get(model, {})
        models.append(
            {
                "name": knowledge.model_names[model].text("name", lang),
                "phases": [
                    {
                        "name": phase.text("name", lang),
                        "count": counts.get(phase.id),
                        "percent": _percent(counts.get(phase.id), total),
                    }
                    for phase in knowledge.phase_models[model]
                ],
            }
        )
    known = [item.id for item in knowledge.kind("fears")]  # a stored id knowledge dropped is not shown
    shown = {fear: count for fear, count in figures.fears.items() if count is not None}
    named = sorted(
        (fear for fear in known if shown.get(fear, 0) > 0),
        key=lambda fear: (-shown[fear], known.index(fear)),
    )[:TOP_FEARS]
    context.update(
        respondents=total,
        phases=models,
        any_hidden=any(p["count"] is None for model in models for p in model["phases"])
        or any(count is None for count in figures.fears.values()),
        fears_hidden=any(count is None for count in figures.fears.values()),
        fears=[_fear_view(knowledge.get(f"fears.{fear}"), lang, shown[fear], total) for fear in named],
        general_fears=[]
        if named
        else [_fear_view(knowledge.get(f"fears.{fear}"), lang, None, 0) for fear in GENERAL_FEARS],
    )
    return context
