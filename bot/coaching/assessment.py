"""From a check's answers to a reading: the phase on both models, fears, causes, weakest C.

The phases come from the gates (bot/coaching/gates.py), never from an average. The reading keeps
the answers it was made from (option keys only, never typed text), so the advice, its "why" and a
later re-check can be explained from the same facts, and re-read after the content improves.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from bot.coaching.gates import UNKNOWN, GateReading, PhaseEstimate, Verdict, estimate, read_gate
from bot.coaching.rules import PHASE_MODELS, CoachingRules
from bot.domain import Assessment
from bot.engine.spec import Dialogue, Option, Step

FEAR_PREFIX = "fears."
CAUSE_PREFIX = "causes."
SIX_CS_PREFIX = "six_cs."
#: When no answer shows a weak C, the lens is the part of S.O.C.I.A.L. that never ends (seed 000).
DEFAULT_LENS = "social_model.learning"
#: With this many "don't know" answers the estimate is called a first estimate.
UNCERTAIN_AFTER = 3
#: Whom the coach advises when the role is not known (people from before onboarding asked it).
DEFAULT_STANDING = "employee"

Answers = Mapping[str, Any]

__all__ = ["DEFAULT_LENS", "PHASE_MODELS", "Reading", "all_steps", "assess", "read", "reading_of"]


@dataclass(frozen=True)
class Reading:
    """Everything the coach concluded from one check, for one person."""

    answers: Mapping[str, Any]
    standing: str
    fears: tuple[str, ...]
    causes: tuple[str, ...]
    estimates: Mapping[str, PhaseEstimate]
    personal: GateReading
    weakest_c: str | None
    gaps: Mapping[str, int]
    unknown: tuple[str, ...]
    tensions: tuple[str, ...]
    run_id: int = 0

    @property
    def uncertain(self) -> bool:
        """Too many "don't know" answers, or answers that contradict each other."""
        return len(self.unknown) >= UNCERTAIN_AFTER or bool(self.tensions)

    def facts(self) -> dict[str, object]:
        """What conditions on steps and tensions see."""
        facts: dict[str, object] = dict(self.answers)
        facts.update({model: e.phase for model, e in self.estimates.items()})
        facts["standing"] = self.standing
        return facts


def all_steps(dialogues: Mapping[str, Dialogue]) -> dict[str, Step]:
    """Steps of every dialogue by id; the validator keeps step ids unique across dialogues."""
    steps: dict[str, Step] = {}
    for dialogue in dialogues.values():
        steps.update(dialogue.steps)
    return steps


def _chosen(answers: Answers, steps: Mapping[str, Step]) -> list[tuple[Step, Option]]:
    """The answered options in the order of the steps; typed text is no option and is left out."""
    chosen: list[tuple[Step, Option]] = []
    for step_id, step in steps.items():
        answer = answers.get(step_id)
        for key in answer if isinstance(answer, list) else [answer]:
            option = step.option(str(key)) if key is not None else None
            if option is not None:
                chosen.append((step, option))
    return chosen


def _option_answers(chosen: list[tuple[Step, Option]]) -> dict[str, Any]:
    """Step -> key (or keys, for a multi step): the answers as conditions read them."""
    kept: dict[str, Any] = {}
    for step, option in chosen:
        if step.kind == "multi":
            kept.setdefault(step.id, []).append(option.key)
        else:
            kept[step.id] = option.key
    return kept


def read(
    answers: Answers,
    rules: CoachingRules,
    dialogues: Mapping[str, Dialogue],
    *,
    standing: str | None = None,
    run_id: int = 0,
    fears: tuple[str, ...] | None = None,
    causes: tuple[str, ...] | None = None,
) -> Reading:
    """The reading of one check. `fears`/`causes` override the ones in the answers (stored ones)."""
    chosen = _chosen(answers, all_steps(dialogues))
    kept = _option_answers(chosen)
    flags = [flag for _, option in chosen for flag in option.flags]
    if fears is None:
        fears = tuple(dict.fromkeys(f.removeprefix(FEAR_PREFIX) for f in flags if f.startswith(FEAR_PREFIX)))
    if causes is None:
        causes = tuple(
            dict.fromkeys(c.removeprefix(CAUSE_PREFIX) for c in flags if c.startswith(CAUSE_PREFIX))
        )
    gaps = Counter(gap for _, option in chosen for gap in option.gaps if gap.startswith(SIX_CS_PREFIX))
    weakest = max(gaps, key=lambda ref: (gaps[ref], -list(gaps).index(ref))) if gaps else None
    estimates = {model: estimate(rules.gates[model], kept) for model in PHASE_MODELS}
    unknown = tuple(step for step, key in kept.items() if key == UNKNOWN)
    reading = Reading(
        answers=kept,
        standing=standing or DEFAULT_STANDING,
        fears=fears,
        causes=causes,
        estimates=estimates,
        personal=read_gate(rules.personal, kept),
        weakest_c=weakest,
        gaps=dict(gaps),
        unknown=unknown,
        tensions=(),
        run_id=run_id,
    )
    facts = reading.facts()
    tensions = tuple(t.ref for t in rules.tensions if t.when.holds(facts))
    return replace(reading, tensions=tensions)


def assess(
    person_id: int,
    run_id: int,
    answers: Answers,
    rules: CoachingRules,
    dialogues: Mapping[str, Dialogue],
    *,
    department_id: int | None = None,
    standing: str | None = None,
) -> Assessment:
    """The assessment of one completed check, as it is stored."""
    reading = read(answers, rules, dialogues, standing=standing, run_id=run_id)
    scores = {
        "levels": {model: e.level for model, e in reading.estimates.items()},
        "held_back": {
            model: [r.ref for r, v in e.next.verdicts if v is not Verdict.MET] if e.next else []
            for model, e in reading.estimates.items()
        },
        "answers": dict(reading.answers),
        "unknown": list(reading.unknown),
        "tensions": list(reading.tensions),
        "gaps": dict(reading.gaps),
    }
    return Assessment(
        person_id=person_id,
        run_id=run_id,
        phase_presence_model=reading.estimates["presence_model"].phase,
        phase_pilot_model=reading.estimates["pilot_model"].phase,
        fears=reading.fears,
        causes=reading.causes,
        lens=reading.weakest_c or DEFAULT_LENS,
        scores=scores,
        department_id=department_id,
        standing=standing,
    )


def reading_of(
    assessment: Assessment, rules: CoachingRules, dialogues: Mapping[str, Dialogue]
) -> Reading | None:
    """The reading behind a stored assessment; None for one stored before readings kept answers."""
    answers = assessment.scores.get("answers")
    if not isinstance(answers, dict):
        return None
    return read(
        answers,
        rules,
        dialogues,
        standing=assessment.standing,
        run_id=assessment.run_id,
        fears=assessment.fears,
        causes=assessment.causes,
    )
