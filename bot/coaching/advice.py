"""Builds what the advice template shows from an assessment and the knowledge: plain strings.

Kept apart from the template so tests can check the substance of the advice (which remedy,
which phase, which reasons) without parsing rendered text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.coaching.assessment import PHASE_MODELS, all_steps
from bot.content.knowledge import Knowledge
from bot.domain import Assessment
from bot.engine.spec import Dialogue


@dataclass(frozen=True)
class Change:
    """How the phases moved since the previous check."""

    when: str
    before: str
    after: str
    direction: str


def _answer_label(dialogues: Mapping[str, Dialogue], step_id: str, key: str, lang: str) -> dict[str, str]:
    steps = all_steps(dialogues)
    step = steps.get(step_id)
    option = step.option(key) if step else None
    topic = step.topic.get(lang, step_id) if step else step_id
    return {"topic": topic, "label": option.label[lang] if option else key}


def _phase_names(knowledge: Knowledge, assessment: Assessment, lang: str) -> str:
    return " / ".join(
        knowledge.phase(model, phase).text("name", lang)
        for model, phase in zip(PHASE_MODELS, _phases(assessment), strict=True)
    )


def _phases(assessment: Assessment) -> tuple[str, str]:
    return assessment.phase_presence_model, assessment.phase_pilot_model


def _level(knowledge: Knowledge, model: str, phase: str) -> int:
    return int(knowledge.phase(model, phase).fields["level"])


def change_between(
    knowledge: Knowledge, previous: Assessment | None, current: Assessment, lang: str, when: str
) -> Change | None:
    """None for a first check; otherwise the phases before and after and the overall direction."""
    if previous is None:
        return None
    delta = sum(
        _level(knowledge, m, now) - _level(knowledge, m, before)
        for m, before, now in zip(PHASE_MODELS, _phases(previous), _phases(current), strict=True)
    )
    direction = "up" if delta > 0 else "down" if delta < 0 else "same"
    before, after = _phase_names(knowledge, previous, lang), _phase_names(knowledge, current, lang)
    return Change(when, before, after, direction)


def advice_context(
    knowledge: Knowledge,
    dialogues: Mapping[str, Dialogue],
    assessment: Assessment,
    lang: str,
    change: Change | None = None,
) -> dict[str, Any]:
    """The advice template's variables, in one language."""
    phases = []
    for model, phase_id in zip(PHASE_MODELS, _phases(assessment), strict=True):
        phase = knowledge.phase(model, phase_id)
        reasons = assessment.scores.get("reasons", {}).get(model, [])
        capped = assessment.scores.get("capped_by", {}).get(model, [])
        phases.append(
            {
                "model": model,
                "model_name": knowledge.model_names[model].text("name", lang),
                "phase": phase_id,
                "phase_name": phase.text("name", lang),
                "level": phase.fields["level"],
                "character": phase.text("character", lang),
                "people": phase.text("people", lang),
                "drawback": phase.text("drawback", lang),
                "next_step": phase.text("next_step", lang),
                "reasons": [_answer_label(dialogues, s, k, lang) for s, k in reasons],
                "capped": [_answer_label(dialogues, s, k, lang) for s, k in capped],
            }
        )
    standing = None
    if assessment.standing and f"standings.{assessment.standing}" in knowledge.items:
        item = knowledge.get(f"standings.{assessment.standing}")
        standing = {
            "id": item.id,
            "title": item.text("title", lang),
            "advice": item.text("role_advice", lang),
        }
    fears = []
    for fear_id in assessment.fears:
        item = knowledge.get(f"fears.{fear_id}")
        first_use = item.fields["uses"][0][lang]
        fears.append(
            {
                "id": fear_id,
                "title": item.text("title", lang),
                "remedy": item.text("remedy", lang),
                "use": first_use,
            }
        )
    causes = []
    for cause_id in assessment.causes:
        item = knowledge.get(f"causes.{cause_id}")
        causes.append(
            {
                "id": cause_id,
                "title": item.text("title", lang),
                "remedy": item.text("remedy", lang),
                "first_step": item.text("first_step", lang),
            }
        )
    lens_item = knowledge.get(assessment.lens or "social_model.learning")
    lens = {
        "ref": lens_item.ref,
        "title": lens_item.text("title", lang),
        "text": lens_item.text("text" if "text" in lens_item.fields else "what_social_companies_do", lang),
        "remedy": lens_item.text("remedy", lang) if "remedy" in lens_item.fields else "",
    }
    return {
        "phases": phases,
        "standing": standing,
        "fears": fears,
        "causes": causes,
        "lens": lens,
        "change": change,
    }
