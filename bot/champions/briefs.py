"""The prep brief: where the audience stands, what it fears, and what to say about it.

Figures describe the audience as one group: each respondent's latest assessment in the session's
departments (everyone's, for a session for the whole organisation), counted by storage
(`repo.assessments.audience_figures`). With fewer than
COACHBOT_MIN_GROUP respondents nothing about the group is shown, not even how many answered. The
departments are never broken out one by one: subtracting one department's figures from the group's
would describe a group too small to show.
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


def _percent(count: int, total: int) -> int:
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
        context.update(respondents=None, phases=[], fears=[])
        context["general_fears"] = [
            _fear_view(knowledge.get(f"fears.{fear}"), lang, None, 0) for fear in GENERAL_FEARS
        ]
        return context
    total = figures.respondents
    models = []
    for model in PHASE_MODELS:
        counts = figures.phases.get(model, {})
        models.append(
            {
                "name": knowledge.model_names[model].text("name", lang),
                "phases": [
                    {
                        "name": phase.text("name", lang),
                        "count": counts.get(phase.id, 0),
                        "percent": _percent(counts.get(phase.id, 0), total),
                    }
                    for phase in knowledge.phase_models[model]
                ],
            }
        )
    known = [item.id for item in knowledge.kind("fears")]  # a stored id knowledge dropped is not shown
    named = sorted(
        (fear for fear in known if figures.fears.get(fear, 0) > 0),
        key=lambda fear: (-figures.fears[fear], known.index(fear)),
    )[:TOP_FEARS]
    context.update(
        respondents=total,
        phases=models,
        fears=[
            _fear_view(knowledge.get(f"fears.{fear}"), lang, figures.fears[fear], total) for fear in named
        ],
        general_fears=[]
        if named
        else [_fear_view(knowledge.get(f"fears.{fear}"), lang, None, 0) for fear in GENERAL_FEARS],
    )
    return context
