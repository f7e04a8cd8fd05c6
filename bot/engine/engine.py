"""Turns: (position, event) -> (new position, answers, replies). No I/O, no clock, no channel."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Mapping, Sequence
from copy import deepcopy
from typing import Any

from bot.domain import AnswerRecord, Position
from bot.engine.events import (
    DONE,
    MAX_TEXT,
    Begin,
    Choose,
    Event,
    Notice,
    OptionView,
    Prompt,
    Reply,
    Say,
    TurnResult,
)
from bot.engine.machine import DialogueMachine
from bot.engine.spec import END, Dialogue, Option, Step

#: Option lists that come from the organisation (departments), keyed by `options_from` name.
DynamicOptions = Mapping[str, Sequence[OptionView]]
#: Where a position keeps topics heard in typed text while the person is asked to confirm them.
HEARD_KEY = "heard"
_PLAIN = Option("", {})
#: An idle person: not in any dialogue.
IDLE_DIALOGUE = ""


def idle_position(person_id: int) -> Position:
    """Where someone stands before any dialogue."""
    return Position(person_id=person_id, dialogue=IDLE_DIALOGUE, state=END, values={}, run_id=0)


def clean_text(text: str) -> str:
    """Free text without control characters (they break terminals and logs) and outer blanks."""
    kept = (ch if ch in "\n\t" or unicodedata.category(ch)[0] != "C" else " " for ch in text)
    return "".join(kept).strip()


class DialogueEngine:
    """Holds one DialogueMachine per dialogue and runs turns for anyone against them."""

    def __init__(self, dialogues: Mapping[str, Dialogue]) -> None:
        self.dialogues = dict(dialogues)
        self.machines = {key: DialogueMachine(d) for key, d in self.dialogues.items()}

    # -- reading a position -------------------------------------------------------------------

    def current_step(self, position: Position) -> Step | None:
        """The step the person is on, or None when idle (or the dialogue was removed since)."""
        dialogue = self.dialogues.get(position.dialogue)
        if dialogue is None or position.state == END:
            return None
        return dialogue.steps.get(position.state)

    def prompt_for(self, position: Position, dynamic: DynamicOptions | None = None) -> Prompt | None:
        """The question the person is on, for re-asking after a restart or a stray message."""
        step = self.current_step(position)
        if step is None or step.kind == "info":
            return None
        return self._prompt(position.dialogue, step, position.values, dynamic or {})

    # -- the turn -----------------------------------------------------------------------------

    def turn(
        self,
        position: Position,
        event: Event,
        *,
        facts: Mapping[str, object] | None = None,
        dynamic: DynamicOptions | None = None,
    ) -> TurnResult:
        """Apply one event. A refused event returns the position unchanged with a `problem`."""
        facts = facts or {}
        dynamic = dynamic or {}
        if isinstance(event, Begin):
            return self._begin(position, event.dialogue, facts, dynamic)
        step = self.current_step(position)
        if step is None:
            return TurnResult(position, problem="idle")
        if isinstance(event, Choose):
            return self._choose(position, step, event, facts, dynamic)
        return self._say(position, step, event, facts, dynamic)

    def _begin(
        self, position: Position, dialogue_id: str, facts: Mapping[str, object], dynamic: DynamicOptions
    ) -> TurnResult:
        dialogue = self.dialogues.get(dialogue_id)
        if dialogue is None:
            return TurnResult(position, problem="unknown_dialogue")
        new = self._enter_dialogue(position, dialogue)
        replies: list[Reply] = []
        finished: list[str] = []
        new = self._settle(new, facts, dynamic, replies, finished)
        return TurnResult(new, replies=tuple(replies), finished=tuple(finished))

    def _choose(
        self,
        position: Position,
        step: Step,
        event: Choose,
        facts: Mapping[str, object],
        dynamic: DynamicOptions,
    ) -> TurnResult:
        if event.version != position.version or event.step != step.id:
            return TurnResult(position, problem="stale")
        values = deepcopy(position.values)
        if step.kind == "multi":
            return self._toggle_or_finish(position, step, event.option, values, facts, dynamic)
        known = {o.key for o in self._options(step, dynamic)}
        if event.option not in known or step.kind == "info":
            return TurnResult(position, problem="unknown_option")
        return self._answer(position, step, values, (event.option,), None, facts, dynamic)

    def _toggle_or_finish(
        self,
        position: Position,
        step: Step,
        key: str,
        values: dict[str, Any],
        facts: Mapping[str, object],
        dynamic: DynamicOptions,
    ) -> TurnResult:
        selected: list[str] = list(values.setdefault("selected", {}).get(step.id, []))
        if key == DONE:
            if not selected:
                return TurnResult(position, problem="pick_one")
            values["selected"].pop(step.id, None)
            return self._answer(position, step, values, tuple(selected), None, facts, dynamic)
        options = {o.key: o for o in step.options}
        if key not in options:
            return TurnResult(position, problem="unknown_option")
        if key in selected:
            selected.remove(key)
        elif options[key].exclusive:
            selected = [key]
        else:
            selected = [k for k in selected if not options[k].exclusive] + [key]
        values["selected"][step.id] = selected
        new = _replace(position, values=values)
        prompt = self._prompt(position.dialogue, step, values, dynamic)
        return TurnResult(new, replies=(prompt,), answered_step=step.id, toggled=True)

    def _say(
        self,
        position: Position,
        step: Step,
        event: Say,
        facts: Mapping[str, object],
        dynamic: DynamicOptions,
    ) -> TurnResult:
        text = clean_text(event.text)
        if step.kind != "text":
            match = self._label_match(step, text, dynamic)
            if match is None:
                return TurnResult(position, problem="tap_expected")
            return self._choose(position, step, Choose(position.version, step.id, match), facts, dynamic)
        if not text:
            return TurnResult(position, problem="empty_text")
        if len(text) > MAX_TEXT:
            return TurnResult(position, problem="text_too_long")
        return self._answer(position, step, deepcopy(position.values), (), text, facts, dynamic)

    def _label_match(self, step: Step, text: str, dynamic: DynamicOptions) -> str | None:
        """A typed answer that is exactly one option's label counts as that tap (multi: no)."""
        if step.kind != "choice" or not text:
            return None
        folded = text.casefold()
        for option in self._options(step, dynamic):
            if any(label.casefold() == folded for label in option.label.values()):
                return option.key
        return None

    def _answer(
        self,
        position: Position,
        step: Step,
        values: dict[str, Any],
        keys: tuple[str, ...],
        text: str | None,
        facts: Mapping[str, object],
        dynamic: DynamicOptions,
    ) -> TurnResult:
        answers_log = tuple(
            AnswerRecord(position.person_id, position.run_id, position.dialogue, step.id, option=k)
            for k in keys
        ) or (AnswerRecord(position.person_id, position.run_id, position.dialogue, step.id, text=text),)
        values.pop(HEARD_KEY, None)  # any answer settles what was heard in typed text
        recorded = values.setdefault("answers", {})
        recorded[step.id] = list(keys) if step.kind == "multi" else (keys[0] if keys else text)
        if step.store and keys:
            values.setdefault("profile", {})[step.store] = keys[0]
        moved = _replace(position, values=values)
        replies: list[Reply] = []
        finished: list[str] = []
        state = self.machines[position.dialogue].advance(step.id, _facts(facts, values))
        moved = self._settle(_replace(moved, state=state), facts, dynamic, replies, finished)
        return TurnResult(
            moved,
            answers=answers_log,
            replies=tuple(replies),
            answered_step=step.id,
            chosen=keys,
            finished=tuple(finished),
        )

    def note(
        self,
        position: Position,
        step_id: str,
        topics: Mapping[str, Sequence[str]],
        *,
        facts: Mapping[str, object] | None = None,
        dynamic: DynamicOptions | None = None,
    ) -> TurnResult:
        """Answer the current text step with what the person confirmed hearing in their text.

        `topics` maps a step of this run to option keys (the fears and causes heard): each joins
        that step's answer as if tapped (an exclusive "none of these" gives way) and is logged like
        a tap. The typed text itself is neither kept in the position nor logged: it was needed
        only to hear the topics. A step that has moved on since is refused as stale.
        """
        step = self.current_step(position)
        if step is None or step.id != step_id or step.kind != "text":
            return TurnResult(position, problem="stale")
        values = deepcopy(position.values)
        answers = values.setdefault("answers", {})
        logged: list[AnswerRecord] = []
        for target_id, keys in topics.items():
            found = self._step_anywhere(target_id)
            if found is None:
                continue
            dialogue_id, target = found
            options = {o.key: o for o in target.options}
            have = answers.get(target_id)
            merged = [
                k for k in (have if isinstance(have, list) else []) if not options.get(k, _PLAIN).exclusive
            ]
            for key in keys:
                if key in options and key not in merged:
                    merged.append(key)
                    logged.append(
                        AnswerRecord(position.person_id, position.run_id, dialogue_id, target_id, option=key)
                    )
            answers[target_id] = merged
        result = self._answer(position, step, values, (), None, facts or {}, dynamic or {})
        return dataclasses.replace(result, answers=tuple(logged))

    def _step_anywhere(self, step_id: str) -> tuple[str, Step] | None:
        """The dialogue and step of a step id (the validator keeps step ids unique)."""
        for dialogue in self.dialogues.values():
            if step_id in dialogue.steps:
                return dialogue.id, dialogue.steps[step_id]
        return None

    # -- moving through steps -----------------------------------------------------------------

    def _enter_dialogue(self, position: Position, dialogue: Dialogue) -> Position:
        values = deepcopy(position.values)
        run_id = position.run_id
        if dialogue.new_run or run_id == 0:
            run_id += 1
            values = {"profile": values.get("profile", {})}
        return _replace(position, dialogue=dialogue.id, state=dialogue.start, values=values, run_id=run_id)

    def _settle(
        self,
        position: Position,
        facts: Mapping[str, object],
        dynamic: DynamicOptions,
        replies: list[Reply],
        finished: list[str],
    ) -> Position:
        """Walk through info steps and finished dialogues until a question (or idleness)."""
        for _ in range(100):  # the validator forbids loops of info steps; this guards anyway
            dialogue = self.dialogues[position.dialogue]
            if position.state == END:
                finished.append(dialogue.id)
                following = self._then(dialogue, _facts(facts, position.values))
                if following is None:
                    return position
                position = self._enter_dialogue(position, following)
                continue
            step = dialogue.steps[position.state]
            if step.kind != "info":
                replies.append(self._prompt(dialogue.id, step, position.values, dynamic))
                return position
            replies.append(Notice(dialogue.id, step.template))
            state = self.machines[dialogue.id].advance(step.id, _facts(facts, position.values))
            position = _replace(position, state=state)
        raise RuntimeError(f"dialogue {position.dialogue!r} does not settle")

    def _then(self, dialogue: Dialogue, facts: Mapping[str, object]) -> Dialogue | None:
        for rule in dialogue.then:
            if rule.when is None or rule.when.holds(facts):
                return self.dialogues.get(rule.target)
        return None

    def _options(self, step: Step, dynamic: DynamicOptions) -> tuple[OptionView, ...]:
        from_source = tuple(dynamic.get(step.options_from, ())) if step.options_from else ()
        static = tuple(OptionView(o.key, o.label) for o in step.options)
        return from_source + static

    def _prompt(
        self, dialogue_id: str, step: Step, values: Mapping[str, Any], dynamic: DynamicOptions
    ) -> Prompt:
        selected = set(values.get("selected", {}).get(step.id, []))
        options = tuple(OptionView(o.key, o.label, o.key in selected) for o in self._options(step, dynamic))
        return Prompt(dialogue_id, step.id, step.template, step.kind, options, step.optional)


def _facts(facts: Mapping[str, object], values: Mapping[str, Any]) -> dict[str, object]:
    """What conditions see: the person's profile, then this run's answers."""
    merged: dict[str, object] = dict(facts)
    merged.update(values.get("profile", {}))
    merged.update(values.get("answers", {}))
    return merged


def _replace(position: Position, **changes: Any) -> Position:
    """A moved copy; the caller's position is never changed in place (a refused turn keeps it)."""
    return dataclasses.replace(position, **changes)
