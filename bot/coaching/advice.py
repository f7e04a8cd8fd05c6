"""What the advice messages show, as plain values: the first message and the four "more" ones.

Kept apart from the templates so tests can check the substance (which phase, which step, which
answer holds it back) without parsing text, and apart from the coach so it stays pure. The first
message is one phone screen: where the organisation stands, one step, one sentence why. The rest
waits behind buttons: why this phase, worries and blockers, another step, the model behind it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.coaching.assessment import Reading, all_steps
from bot.coaching.gates import GateReading, PhaseEstimate, Requirement, Verdict
from bot.coaching.ranking import ranked_steps
from bot.coaching.rules import PHASE_MODELS, CoachingRules
from bot.coaching.steps import AdviceStep
from bot.content.knowledge import Item, Knowledge
from bot.domain import Assessment
from bot.engine.spec import Dialogue

#: At most this many reasons per model in the first message; "why this phase" has them all.
FIRST_REASONS = 2
#: At most this many moved answers in the first message's "since your last check".
FIRST_MOVES = 2


@dataclass(frozen=True)
class Moved:
    """An answer that changed since the previous check and moved a gate with it."""

    topic: str
    before: str
    after: str


@dataclass(frozen=True)
class Change:
    """The previous check against this one."""

    when: str
    before: str
    after: str
    direction: str
    moved: tuple[Moved, ...] = field(default_factory=tuple)


class AdviceViews:
    """Builds the advice messages' variables for one language from a reading."""

    def __init__(self, knowledge: Knowledge, dialogues: Mapping[str, Dialogue], rules: CoachingRules) -> None:
        self.knowledge = knowledge
        self.rules = rules
        self.steps = all_steps(dialogues)

    # -- small helpers ---------------------------------------------------------------------------

    def _text(self, ref: str, key: str, lang: str) -> str:
        return self.knowledge.get(ref).text(key, lang)

    def _topic(self, step_id: str, lang: str) -> str:
        step = self.steps.get(step_id)
        return step.topic.get(lang, step_id) if step else step_id

    def _label(self, step_id: str, key: object, lang: str) -> str:
        step = self.steps.get(step_id)
        option = step.option(str(key)) if step else None
        return option.label[lang] if option else str(key)

    def _missing(self, requirement: Requirement, answers: Mapping[str, Any], lang: str) -> str:
        """What the requirement lacks, worded for the person's own answer where content has it."""
        item = self.knowledge.get(requirement.ref)
        precise = (item.fields.get("missing_when") or {}).get(str(answers.get(requirement.step)))
        return str(precise[lang]) if precise else item.text("missing", lang)

    def _reason(self, requirement: Requirement, reading: Reading, lang: str, met: bool) -> dict[str, str]:
        answer = reading.answers.get(requirement.step)
        text = (
            self._text(requirement.ref, "holds", lang)
            if met
            else self._missing(requirement, reading.answers, lang)
        )
        return {
            "text": text,
            "topic": self._topic(requirement.step, lang),
            "answer": self._label(requirement.step, answer, lang) if answer is not None else "",
        }

    def _phase_name(self, model: str, phase: str, lang: str) -> str:
        return self.knowledge.phase(model, phase).text("name", lang)

    def _joined(self, parts: list[str]) -> str:
        """Reasons may hold commas of their own, so a semicolon keeps them apart."""
        return "; ".join(parts)

    def steps_for(self, reading: Reading) -> list[AdviceStep]:
        return ranked_steps(reading, self.rules)

    # -- the first message -----------------------------------------------------------------------

    def _standing_line(self, estimate: PhaseEstimate, reading: Reading, lang: str) -> dict[str, Any]:
        header = self.knowledge.model_names[estimate.model]
        line: dict[str, Any] = {
            "short": header.text("short", lang),
            "name": self._phase_name(estimate.model, estimate.phase, lang),
            "level": estimate.level,
            "next_name": "",
            "held_back": "",
            "maybe": "",
        }
        reading_next = estimate.next
        if reading_next is None:
            return line
        line["next_name"] = self._phase_name(estimate.model, reading_next.gate.phase, lang)
        missing = reading_next.requirements(Verdict.MISSING)
        if missing:
            texts = [self._missing(r, reading.answers, lang) for r in missing[:FIRST_REASONS]]
            line["held_back"] = self._joined(texts)
        else:
            topics = [f"‘{self._topic(r.step, lang)}’" for r in reading_next.requirements(Verdict.UNKNOWN)]
            line["maybe"] = self._joined(list(dict.fromkeys(topics)))
        return line

    def first(self, reading: Reading, lang: str, change: Change | None = None) -> dict[str, Any]:
        """The first message: both models in a line each, the one step, why, and any caveat."""
        ranked = self.steps_for(reading)
        step = ranked[0] if ranked else None
        standing = f"standings.{reading.standing}"
        return {
            "change": change,
            "moved": change.moved[:FIRST_MOVES] if change else (),
            "phases": [self._standing_line(reading.estimates[m], reading, lang) for m in PHASE_MODELS],
            "unknown_count": len(reading.unknown) if reading.uncertain else 0,
            "has_tension": bool(reading.tensions),
            "as_role": self._text(standing, "as_role", lang) if standing in self.knowledge.items else "",
            "step": self._step_view(step, lang) if step else None,
            "has_worries": bool(reading.fears or reading.causes),
        }

    def _step_view(self, step: AdviceStep, lang: str) -> dict[str, str]:
        return {
            "id": step.id,
            "text": self._text(step.ref, "text", lang),
            "why": self._text(step.ref, "why", lang),
        }

    # -- why this phase --------------------------------------------------------------------------

    def _gate_view(self, reading_gate: GateReading, reading: Reading, lang: str) -> dict[str, Any]:
        held = [self._reason(r, reading, lang, True) for r in reading_gate.requirements(Verdict.MET)]
        return {
            "name": self._phase_name(reading_gate.gate.model, reading_gate.gate.phase, lang),
            "answers": ", ".join(f"‘{a}’" for a in dict.fromkeys(r["answer"] for r in held if r["answer"])),
            "held": [self._reason(r, reading, lang, True) for r in reading_gate.requirements(Verdict.MET)],
            "missing": [
                self._reason(r, reading, lang, False) for r in reading_gate.requirements(Verdict.MISSING)
            ],
            "unknown": [self._topic(r.step, lang) for r in reading_gate.requirements(Verdict.UNKNOWN)],
        }

    def why(self, reading: Reading, lang: str, change: Change | None = None) -> dict[str, Any]:
        """Per model: the phase in the seed's words, the gates passed with the answers that opened
        them, what holds the next one back; then tensions and "don't know" answers."""
        models = []
        for model in PHASE_MODELS:
            estimate = reading.estimates[model]
            header = self.knowledge.model_names[model]
            phase = self.knowledge.phase(model, estimate.phase)
            models.append(
                {
                    "title": header.text("short", lang),
                    "name": phase.text("name", lang),
                    "level": estimate.level,
                    "character": phase.text("character", lang),
                    "people": phase.text("people", lang) if "people" in phase.fields else "",
                    "place": phase.text("place", lang) if "place" in phase.fields else "",
                    "drawback": phase.text("drawback", lang) if "drawback" in phase.fields else "",
                    "passed": [self._gate_view(g, reading, lang) for g in estimate.passed if g.verdicts],
                    "next": self._gate_view(estimate.next, reading, lang) if estimate.next else None,
                    "definition": header.text("definition", lang) if "definition" in header.fields else "",
                }
            )
        return {
            "models": models,
            "tensions": [self._text(ref, "text", lang) for ref in reading.tensions],
            "unknown": [self._topic(step, lang) for step in reading.unknown],
            "uncertain": reading.uncertain,
            "change": change,
        }

    # -- worries and blockers --------------------------------------------------------------------

    def worries(self, reading: Reading, lang: str) -> dict[str, Any]:
        """Only what the person named: each fear with its remedy and one concrete use (another one
        at each re-check), each cause with its remedy."""
        fears = []
        for fear in reading.fears:
            item = self.knowledge.get(f"fears.{fear}")
            uses = item.fields.get("uses") or []
            use = str(uses[reading.run_id % len(uses)][lang]) if uses else ""
            fears.append({"title": item.text("title", lang), "remedy": item.text("remedy", lang), "use": use})
        causes = [
            {
                "title": self._text(f"causes.{c}", "title", lang),
                "remedy": self._text(f"causes.{c}", "remedy", lang),
            }
            for c in reading.causes
        ]
        return {"fears": fears, "causes": causes}

    # -- another step ----------------------------------------------------------------------------

    def another(self, reading: Reading, rank: int, lang: str) -> dict[str, Any]:
        """The step at `rank` (0 is the first message's); past the last, back to the first."""
        ranked = self.steps_for(reading)
        wrapped = rank >= len(ranked)
        index = 0 if wrapped else rank
        return {
            "number": index + 1,
            "total": len(ranked),
            "wrapped": wrapped,
            "rank": index,
            "step": self._step_view(ranked[index], lang) if ranked else None,
        }

    # -- since the previous check ---------------------------------------------------------------

    def change(
        self,
        previous: Assessment | None,
        previous_reading: Reading | None,
        current: Reading,
        lang: str,
        when: str,
    ) -> Change | None:
        """None for a first check; otherwise the phases before and after, and the answers that moved
        a gate: a requirement that held before and not now, or the other way round."""
        if previous is None:
            return None
        before = (previous.phase_presence_model, previous.phase_pilot_model)
        after = tuple(current.estimates[m].phase for m in PHASE_MODELS)
        delta = sum(
            self._level(m, a) - self._level(m, b) for m, b, a in zip(PHASE_MODELS, before, after, strict=True)
        )
        direction = "up" if delta > 0 else "down" if delta < 0 else "same"
        moved = self._moved(previous_reading, current, lang) if previous_reading is not None else ()
        return Change(when, self._names(before, lang), self._names(after, lang), direction, moved)

    def _level(self, model: str, phase: str) -> int:
        return int(self.knowledge.phase(model, phase).fields["level"])

    def _names(self, phases: tuple[str, ...], lang: str) -> str:
        return " / ".join(self._phase_name(m, p, lang) for m, p in zip(PHASE_MODELS, phases, strict=True))

    def _moved(self, previous: Reading, current: Reading, lang: str) -> tuple[Moved, ...]:
        """Answers behind a requirement whose verdict changed, on the gates up to the one above the
        higher of the two phases (beyond that nothing was decided either time)."""
        moved: dict[str, Moved] = {}
        for model in PHASE_MODELS:
            top = max(previous.estimates[model].level, current.estimates[model].level) + 1
            for gate in self.rules.gates[model]:
                if gate.level > top:
                    break
                for requirement in gate.requirements:
                    step = requirement.step
                    if step in moved or requirement.verdict(previous.answers) == requirement.verdict(
                        current.answers
                    ):
                        continue
                    moved[step] = Moved(
                        self._topic(step, lang),
                        self._label(step, previous.answers.get(step, "–"), lang),
                        self._label(step, current.answers.get(step, "–"), lang),
                    )
        return tuple(moved.values())

    # -- the model behind it ---------------------------------------------------------------------

    def lens(self, reading: Reading, rank: int, lang: str) -> dict[str, Any]:
        """The model the step at `rank` rests on: the model as a whole, then the part it uses."""
        ranked = self.steps_for(reading)
        step = ranked[rank % len(ranked)] if ranked else None
        ref = step.lens if step else "social_model.learning"
        return self.lens_of(ref, lang)

    def lens_of(self, ref: str, lang: str) -> dict[str, Any]:
        item = self.knowledge.get(ref)
        if ref.startswith("phases."):
            return self._phase_lens(item, lang)
        model = next(
            (m for m in self.knowledge.kind("models") if ref.split(".")[0] in (m.fields.get("covers") or [])),
            None,
        )
        letter = item.fields.get("letter")
        title = item.text("title", lang) if "title" in item.fields else ""
        text_key = next(
            (k for k in ("text", "what_social_companies_do", "description") if k in item.fields), None
        )
        return {
            "model_title": model.text("title", lang) if model else "",
            "model_text": model.text("text", lang) if model else "",
            "note": model.text("note_o", lang) if model and "note_o" in model.fields else "",
            "letter": str(letter or ""),
            "title": title,
            "text": item.text(text_key, lang) if text_key else "",
            "remedy": item.text("remedy", lang) if "remedy" in item.fields else "",
            "people": "",
            "place": "",
            "drawback": "",
        }

    def _phase_lens(self, item: Item, lang: str) -> dict[str, Any]:
        parts = item.ref.split(".")
        header = self.knowledge.model_names[parts[1]]
        view: dict[str, Any] = {
            "model_title": header.text("name", lang),
            "model_text": header.text("about", lang),
            "note": "",
            "letter": "",
            "title": "",
            "text": "",
            "remedy": "",
            "people": "",
            "place": "",
            "drawback": "",
        }
        if len(parts) == 2:
            key = "advice" if "advice" in header.fields else "definition"
            view["text"] = header.text(key, lang)
            return view
        view["title"] = item.text("name", lang)
        view["text"] = item.text("character", lang)
        for key in ("people", "place", "drawback"):
            view[key] = item.text(key, lang) if key in item.fields else ""
        return view
