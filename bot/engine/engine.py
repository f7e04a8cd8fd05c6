"""Turns: (position, event) -> (new position, answers, replies). No I/O, no clock, no channel."""

from __future__ import annotations

import dataclasses
import unicodedata
from collections.abc import Callable, Mapping, Sequence
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
    Refusal,
    Reply,
    Say,
    TurnResult,
)
from bot.engine.machine import DialogueMachine
from bot.engine.spec import END, Dialogue, Option, Step

#: Option lists that come from data (departments, champions), keyed by `options_from` name.
DynamicOptions = Mapping[str, Sequence[OptionView]]
#: A caller's parser for `parse: <name>` text steps: the value (JSON: str, int) or why not.
Parser = Callable[[str], "object | Refusal"]
Parsers = Mapping[str, Parser]
#: Where an aside keeps the position it interrupted, to resume it when it ends.
RESUME_KEY = "resume"
#: Where a dialogue keeps the values given at its start (Begin.given).
GIVEN_KEY = "given"
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
        parsers: Parsers | None = None,
    ) -> TurnResult:
        """Apply one event. A refused event returns the position unchanged with a `problem`."""
        facts = facts or {}
        dynamic = dynamic or {}
        if isinstance(event, Begin):
            return self._begin(position, event, facts, dynamic)
        step = self.current_step(position)
        if step is None:
            return TurnResult(position, problem="idle")
        if isinstance(event, Choose):
            return self._choose(position, step, event, facts, dynamic)
        return self._say(position, step, event, facts, dynamic, parsers or {})

    def stop(self, position: Position, dynamic: DynamicOptions | None = None) -> TurnResult:
        """End the current dialogue without finishing it (/cancel, a "stop" option).

        An aside gives the person back the position it interrupted, with that question again;
        any other dialogue leaves the person idle. Nothing is answered or logged.
        """
        dialogue = self.dialogues.get(position.dialogue)
        if dialogue is None or self.current_step(position) is None:
            return TurnResult(position, problem="idle")
        replies: list[Reply] = []
        if dialogue.aside:
            new = self._resume(position, dynamic or {}, replies)
        else:
            new = _replace(position, state=END)
        return TurnResult(
            new, replies=tuple(replies), stopped=dialogue.id, done_values=deepcopy(position.values)
        )

    def revisit(
        self,
        position: Position,
        step_id: str,
        *,
        selected: Sequence[str] = (),
        dynamic: DynamicOptions | None = None,
    ) -> TurnResult:
        """Ask an earlier step of the current dialogue again, with `selected` ticked on a multi step.

        For a finish action that finds an answer no longer holds (a department removed since it
        was chosen): the caller says why and the person answers that question anew.
        """
        dialogue = self.dialogues.get(position.dialogue)
        step = dialogue.steps.get(step_id) if dialogue else None
        if dialogue is None or step is None or step.kind == "info":
            return TurnResult(position, problem="stale")
        values = deepcopy(position.values)
        values.setdefault("answers", {}).pop(step_id, None)
        if step.kind == "multi":
            values.setdefault("selected", {})[step_id] = list(selected)
        new = _replace(position, state=step_id, values=values)
        return TurnResult(new, replies=(self._prompt(dialogue.id, step, values, dynamic or {}),))

    def _begin(
        self, position: Position, event: Begin, facts: Mapping[str, object], dynamic: DynamicOptions
    ) -> TurnResult:
        dialogue = self.dialogues.get(event.dialogue)
        if dialogue is None:
            return TurnResult(position, problem="unknown_dialogue")
        new = self._enter_dialogue(position, dialogue, event.given)
        replies: list[Reply] = []
        finished: list[str] = []
        done: dict[str, Any] = {}
        new = self._settle(new, facts, dynamic, replies, finished, done)
        return TurnResult(new, replies=tuple(replies), finished=tuple(finished), done_values=done)

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
        chosen = step.option(event.option)
        if chosen is not None and chosen.stop:
            stopped = self.stop(position, dynamic)
            return dataclasses.replace(stopped, answered_step=step.id, chosen=(chosen.key,))
        if step.kind == "multi":
            if chosen is not None and chosen.submit:
                values.get("selected", {}).pop(step.id, None)
                return self._answer(position, step, values, (chosen.key,), None, facts, dynamic)
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
        shown = {o.key: o for o in self._options(step, dynamic)}
        exclusive = {o.key for o in step.options if o.exclusive}
        locked = [k for k, o in shown.items() if o.locked]
        stored = _ticked(step, values)
        values.setdefault("selected", {})
        # Locked options are always in; anything no longer offered (a department removed) is out.
        selected = [*locked, *(k for k in stored if k in shown and k not in locked)]
        if key == DONE:
            if not selected and not step.optional:
                return TurnResult(position, problem="pick_one")
            values["selected"].pop(step.id, None)
            return self._answer(position, step, values, tuple(selected), None, facts, dynamic)
        if key not in shown:
            return TurnResult(position, problem="unknown_option")
        if key in locked:
            return TurnResult(position, problem="locked")
        if key in selected:
            selected.remove(key)
        elif key in exclusive:
            selected = [*locked, key]
        else:
            selected = [k for k in selected if k not in exclusive] + [key]
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
        parsers: Parsers,
    ) -> TurnResult:
        text = clean_text(event.text)
        if step.kind == "text" and step.parse is not None:
            values = deepcopy(position.values)
            parsed = self._parse(step, text, _facts(facts, values), parsers)
            if isinstance(parsed, Refusal):
                return TurnResult(position, problem="invalid_value", refusal=parsed)
            return self._answer(position, step, values, (), text, facts, dynamic, value=parsed)
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

    def _parse(self, step: Step, text: str, known: Mapping[str, object], parsers: Parsers) -> object:
        """The value of a `parse` step's text, or a Refusal naming the step's `invalid` message."""
        limit = known.get(step.maximum) if isinstance(step.maximum, str) else step.maximum
        refusal = Refusal(step.invalid or "", {"limit": limit if limit is not None else ""})
        if step.parse == "number":
            cleaned = text.strip()
            if not (cleaned.isascii() and cleaned.isdigit()) or len(cleaned) > 12:
                return refusal
            number = int(cleaned)
            bound = int(limit) if isinstance(limit, int | str) and str(limit).isdigit() else None
            return number if step.minimum <= number and (bound is None or number <= bound) else refusal
        if step.parse == "line":
            line = " ".join(text.split())
            return line if line and isinstance(limit, int) and len(line) <= limit else refusal
        parser = parsers.get(step.parse or "")
        if parser is None:
            raise LookupError(f"no parser {step.parse!r} for step {step.id!r}")
        return parser(text)

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
        *,
        value: object = None,
    ) -> TurnResult:
        answers_log = tuple(
            AnswerRecord(position.person_id, position.run_id, position.dialogue, step.id, option=k)
            for k in keys
        ) or (AnswerRecord(position.person_id, position.run_id, position.dialogue, step.id, text=text),)
        values.pop(HEARD_KEY, None)  # any answer settles what was heard in typed text
        recorded = values.setdefault("answers", {})
        if step.kind == "multi":
            recorded[step.id] = list(keys)
        else:
            recorded[step.id] = keys[0] if keys else (text if value is None else value)
        if step.store and keys:
            values.setdefault("profile", {})[step.store] = keys[0]
        moved = _replace(position, values=values)
        replies: list[Reply] = []
        finished: list[str] = []
        done: dict[str, Any] = {}
        state = self.machines[position.dialogue].advance(step.id, _facts(facts, values))
        moved = self._settle(_replace(moved, state=state), facts, dynamic, replies, finished, done)
        return TurnResult(
            moved,
            answers=answers_log,
            replies=tuple(replies),
            answered_step=step.id,
            chosen=keys,
            finished=tuple(finished),
            done_values=done,
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

    def _enter_dialogue(
        self, position: Position, dialogue: Dialogue, given: Mapping[str, object] | None = None
    ) -> Position:
        values = deepcopy(position.values)
        run_id = position.run_id
        if dialogue.aside:
            # The interrupted position waits inside the aside's values; an aside begun inside
            # another aside takes over what that one would have resumed.
            current = self.dialogues.get(position.dialogue)
            if current is not None and current.aside:
                resume = values.get(RESUME_KEY)
            else:
                resume = {
                    "dialogue": position.dialogue,
                    "state": position.state,
                    "values": values,
                    "run_id": run_id,
                }
            values = {"profile": values.get("profile", {}), GIVEN_KEY: dict(given or {}), RESUME_KEY: resume}
        elif dialogue.new_run or run_id == 0:
            run_id += 1
            values = {"profile": values.get("profile", {})}
        if given and not dialogue.aside:
            values[GIVEN_KEY] = dict(given)
        return _replace(position, dialogue=dialogue.id, state=dialogue.start, values=values, run_id=run_id)

    def _resume(self, position: Position, dynamic: DynamicOptions, replies: list[Reply]) -> Position:
        """The position an aside interrupted, with its question asked again (idle: nothing)."""
        resume = position.values.get(RESUME_KEY)
        if not isinstance(resume, dict) or resume.get("dialogue") not in self.dialogues:
            values = {"profile": position.values.get("profile", {})}
            return _replace(position, dialogue=IDLE_DIALOGUE, state=END, values=values)
        back = _replace(
            position,
            dialogue=resume["dialogue"],
            state=resume["state"],
            values=resume["values"],
            run_id=resume["run_id"],
        )
        step = self.current_step(back)
        if step is not None and step.kind != "info":
            replies.append(self._prompt(back.dialogue, step, back.values, dynamic))
        return back

    def _settle(
        self,
        position: Position,
        facts: Mapping[str, object],
        dynamic: DynamicOptions,
        replies: list[Reply],
        finished: list[str],
        done: dict[str, Any],
    ) -> Position:
        """Walk through info steps and finished dialogues until a question (or idleness)."""
        for _ in range(100):  # the validator forbids loops of info steps; this guards anyway
            dialogue = self.dialogues[position.dialogue]
            if position.state == END:
                finished.append(dialogue.id)
                done.clear()
                done.update(deepcopy(position.values))
                if dialogue.aside:
                    return self._resume(position, dynamic, replies)
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
        static = tuple(OptionView(o.key, o.label, submit=o.submit) for o in step.options)
        return from_source + static

    def _prompt(
        self, dialogue_id: str, step: Step, values: Mapping[str, Any], dynamic: DynamicOptions
    ) -> Prompt:
        selected = set(_ticked(step, values))
        options = tuple(
            OptionView(o.key, o.label, o.key in selected or o.locked, o.locked, o.submit)
            for o in self._options(step, dynamic)
        )
        return Prompt(dialogue_id, step.id, step.template, step.kind, options, step.optional)


def _ticked(step: Step, values: Mapping[str, Any]) -> list[str]:
    """What a multi step shows ticked: the ticks so far, or, asked again, what was answered."""
    ticking = values.get("selected", {})
    if step.id in ticking:
        return list(ticking[step.id])
    answered = values.get("answers", {}).get(step.id)
    submits = {o.key for o in step.options if o.submit}
    return [k for k in answered if k not in submits] if isinstance(answered, list) else []


def _facts(facts: Mapping[str, object], values: Mapping[str, Any]) -> dict[str, object]:
    """What conditions see: the person's profile, then this run's answers."""
    merged: dict[str, object] = dict(facts)
    merged.update(values.get(GIVEN_KEY, {}))
    merged.update(values.get("profile", {}))
    merged.update(values.get("answers", {}))
    return merged


def _replace(position: Position, **changes: Any) -> Position:
    """A moved copy; the caller's position is never changed in place (a refused turn keeps it)."""
    return dataclasses.replace(position, **changes)
