"""Estimates a phase on both models from a check's answers, with the answers that led there.

Each answer points to a level (1-4) per model; the estimate is the rounded mean of those levels,
then held down by any cap an answer sets (seed 002: no social business while social media sit with
one department or top management does not use them). The reasons are kept so the advice can show
*why*, and stored so the assessment can be re-read later.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain import Assessment
from bot.engine.spec import Dialogue, Option, Step

PHASE_MODELS = ("presence_model", "pilot_model")
FEAR_PREFIX = "fears."
CAUSE_PREFIX = "causes."
#: When no answer shows a gap, the lens is the one that never ends (seed 000).
DEFAULT_LENS = "social_model.learning"

Answers = Mapping[str, Any]


@dataclass(frozen=True)
class PhaseReading:
    """A phase estimate on one model and the answers behind it."""

    model: str
    level: int
    reasons: tuple[tuple[str, str], ...]
    capped_by: tuple[tuple[str, str], ...]


def _chosen(answers: Answers, steps: Mapping[str, Step]) -> list[tuple[Step, Option]]:
    """The answered options in the order of the steps, so reasons read like the check did."""
    chosen: list[tuple[Step, Option]] = []
    for step_id, step in steps.items():
        answer = answers.get(step_id)
        keys = answer if isinstance(answer, list) else [answer]
        for key in keys:
            option = step.option(str(key)) if key is not None else None
            if option is not None:
                chosen.append((step, option))
    return chosen


def read_phase(model: str, chosen: list[tuple[Step, Option]]) -> PhaseReading:
    """The phase on one model; an unanswered model reads as its first phase."""
    signals = [
        (step.id, option.key, option.levels[model]) for step, option in chosen if model in option.levels
    ]
    if not signals:
        return PhaseReading(model, 1, (), ())
    mean = sum(level for _, _, level in signals) / len(signals)
    uncapped = max(1, min(4, math.floor(mean + 0.5)))
    caps = [(step.id, option.key, option.caps[model]) for step, option in chosen if model in option.caps]
    level = min([uncapped, *(cap for _, _, cap in caps)])
    capped_by = tuple((s, k) for s, k, cap in caps if cap < uncapped)
    closest = min(abs(lv - level) for _, _, lv in signals)
    reasons = tuple((s, k) for s, k, lv in signals if abs(lv - level) == closest)
    return PhaseReading(model, level, reasons, capped_by)


def all_steps(dialogues: Mapping[str, Dialogue]) -> dict[str, Step]:
    """Steps of every dialogue by id; the validator keeps step ids unique across dialogues."""
    steps: dict[str, Step] = {}
    for dialogue in dialogues.values():
        steps.update(dialogue.steps)
    return steps


def assess(
    person_id: int,
    run_id: int,
    answers: Answers,
    dialogues: Mapping[str, Dialogue],
    phase_ids: Mapping[str, list[str]],
    *,
    department_id: int | None = None,
    standing: str | None = None,
) -> Assessment:
    """The assessment of one completed check. `phase_ids` lists each model's phases in order."""
    chosen = _chosen(answers, all_steps(dialogues))
    readings = {model: read_phase(model, chosen) for model in PHASE_MODELS}
    flags = [flag for _, option in chosen for flag in option.flags]
    fears = tuple(dict.fromkeys(f.removeprefix(FEAR_PREFIX) for f in flags if f.startswith(FEAR_PREFIX)))
    causes = tuple(dict.fromkeys(f.removeprefix(CAUSE_PREFIX) for f in flags if f.startswith(CAUSE_PREFIX)))
    gaps = Counter(gap for _, option in chosen for gap in option.gaps)
    lens = max(gaps, key=lambda ref: (gaps[ref], -list(gaps).index(ref))) if gaps else DEFAULT_LENS
    scores = {
        "levels": {m: r.level for m, r in readings.items()},
        "reasons": {m: [list(pair) for pair in r.reasons] for m, r in readings.items()},
        "capped_by": {m: [list(pair) for pair in r.capped_by] for m, r in readings.items()},
        "gaps": dict(gaps),
    }
    return Assessment(
        person_id=person_id,
        run_id=run_id,
        phase_presence_model=phase_ids["presence_model"][readings["presence_model"].level - 1],
        phase_pilot_model=phase_ids["pilot_model"][readings["pilot_model"].level - 1],
        fears=fears,
        causes=causes,
        lens=lens,
        scores=scores,
        department_id=department_id,
        standing=standing,
    )
