"""Typed answers in the conversation (issue 12, part 2): what someone types instead of tapping.

Two places, both decided by the dialogue data, not by step names:
- a button question (choice, multi): a typed answer that means one option is that tap when the
  understanding is sure (bot.understanding.options.TAKE), is asked back with one confirm button
  when it is less sure, and otherwise gets a short reply listing the answers and the question again.
  The confirm button is the option's own answer token, so it needs no stored state, survives a
  restart, and a press after the question moved on is refused as stale like any old button;
- a text step with `understand: topics`: the coach says which fears and causes it heard ("Ik hoor:
  …. Klopt dat?" [Ja] [Niet helemaal]); confirmed topics join the answers of the steps whose
  options carry those topics as flags, as rows like taps, so the assessment and the advice use
  them. "Niet helemaal" lets the person tick the right ones (or none). Nothing heard: a short
  honest reply, and the dialogue goes on.

Privacy: the typed text is read in the turn it arrives and never stored. While the person is
asked to confirm, the position keeps only the topic ids heard (`heard` in its values); they go
with any answer to the step, /cancel, a new check, or /forget, and /mydata shows them meanwhile.
What is kept afterwards is the confirmed topics, as answers the person could have tapped.
Reports and briefs read options and assessments only, so they never see typed text.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, replace
from typing import Any

from bot.content.catalog import Catalog
from bot.conversation import Button, Edit, Message, Outcome, ticked
from bot.domain import Person, Position
from bot.engine.choice_token import ChoiceToken
from bot.engine.engine import HEARD_KEY, DynamicOptions, clean_text
from bot.engine.events import MAX_TEXT, Choose, Prompt, TurnResult
from bot.engine.spec import Step
from bot.storage.unit_of_work import UnitOfWork
from bot.understanding import match_option, understand

#: The action name of the buttons under "Ik hoor: …" (callback data `a|heard|<version>.<what>`).
HEARD_ACTION = "heard"
_YES, _SOME, _DONE, _TOGGLE = "yes", "some", "done", "t"

#: Writes a turn and renders its replies (the coach's own commit), so both paths store alike.
Commit = Callable[[UnitOfWork, Person, str, TurnResult], Awaitable[Outcome]]
#: Renders a question with its buttons as the coach shows it.
Question = Callable[[str, Position, Prompt], Message]
#: The facts conditions see about a person.
Facts = Callable[[Person], Mapping[str, object]]


@dataclass(frozen=True)
class Pending:
    """Topics heard in typed text, waiting for the person's yes; `picked` is set while they pick."""

    step: str
    topics: tuple[str, ...]
    picked: tuple[str, ...] | None = None

    @classmethod
    def of(cls, values: Mapping[str, Any]) -> Pending | None:
        raw = values.get(HEARD_KEY)
        if not isinstance(raw, dict) or not isinstance(raw.get("step"), str):
            return None
        picked = raw.get("picked")
        return cls(
            raw["step"],
            tuple(str(t) for t in raw.get("topics", [])),
            tuple(str(t) for t in picked) if isinstance(picked, list) else None,
        )

    def stored(self) -> dict[str, Any]:
        """As kept in the position's values (topic ids only, never the text)."""
        return {
            "step": self.step,
            "topics": list(self.topics),
            "picked": list(self.picked) if self.picked is not None else None,
        }


@dataclass(frozen=True)
class HeardTap:
    """A press under "Ik hoor: …": the version it was shown at, and what was pressed."""

    version: int
    what: str

    def encode(self) -> str:
        return f"{self.version}.{self.what}"

    @classmethod
    def decode(cls, value: str) -> HeardTap | None:
        version, _, what = value.partition(".")
        if not (version.isascii() and version.isdigit()) or not what:
            return None
        return cls(int(version), what)


class TypedAnswers:
    """Typed answers for the coach: it hands in how it commits a turn and renders a question."""

    def __init__(self, catalog: Catalog, *, commit: Commit, question: Question, facts: Facts) -> None:
        self.catalog = catalog
        self.engine = catalog.engine
        self.commit = commit
        self.question = question
        self.facts = facts
        #: topic id (an option flag such as fears.time_loss) -> (multi step, option key) that means it.
        self.topic_options: dict[str, tuple[str, str]] = {}
        for dialogue in catalog.dialogues.values():
            for step in dialogue.steps.values():
                if step.kind != "multi":
                    continue
                for option in step.options:
                    for flag in option.flags:
                        self.topic_options.setdefault(flag, (step.id, option.key))

    # -- typed text -----------------------------------------------------------------------------

    async def text(
        self,
        repo: UnitOfWork,
        person: Person,
        position: Position,
        lang: str,
        text: str,
        dynamic: DynamicOptions,
    ) -> Outcome | None:
        """The outcome of typed text at the current step; None when the engine's own handling
        applies (idle, a plain text step, empty or too long text)."""
        step = self.engine.current_step(position)
        typed = clean_text(text)
        if step is None or not typed or len(typed) > MAX_TEXT:
            return None
        if step.kind in ("choice", "multi"):
            return await self._at_question(repo, person, position, lang, step, typed, dynamic)
        if step.kind == "text" and step.understand == "topics":
            return await self._at_free_text(repo, person, position, lang, step, typed, dynamic)
        return None

    async def _at_question(
        self,
        repo: UnitOfWork,
        person: Person,
        position: Position,
        lang: str,
        step: Step,
        typed: str,
        dynamic: DynamicOptions,
    ) -> Outcome:
        prompt = self.engine.prompt_for(position, dynamic)
        assert prompt is not None  # a choice or multi step always has a prompt
        match = match_option(typed, lang, prompt.options, step=step.id)
        question = self.question(lang, position, prompt)
        if match is None:
            labels = [_label(o.label, lang) for o in prompt.options]
            hint = (
                self._render(lang, "typed/unclear", options=labels)
                + " "
                + self._render(lang, "coach/tap_expected")
            )
            return Outcome(messages=(replace(question, text=f"{hint}\n\n{question.text}"),), language=lang)
        label = next(_label(o.label, lang) for o in prompt.options if o.key == match.key)
        if not match.sure:
            token = ChoiceToken(position.version, step.id, match.key).encode()
            button = Button(self._render(lang, "typed/button_confirm_option", choice=label), token)
            ask = self._render(lang, "typed/confirm_option", choice=label)
            return Outcome(messages=(Message(ask, ((button,),)),), language=lang)
        if step.kind == "multi" and any(o.key == match.key and o.selected for o in prompt.options):
            note = self._render(lang, "typed/already", choice=label)
            return Outcome(messages=(replace(question, text=f"{note}\n\n{question.text}"),), language=lang)
        result = self.engine.turn(
            position,
            Choose(position.version, step.id, match.key),
            facts=self.facts(person),
            dynamic=dynamic,
        )
        if result.problem is not None:
            return Outcome(messages=(question,), language=lang)
        outcome = await self.commit(repo, person, lang, result)
        taken = self._render(outcome.language, "typed/taken", choice=label)
        return _prefixed(outcome, taken)

    async def _at_free_text(
        self,
        repo: UnitOfWork,
        person: Person,
        position: Position,
        lang: str,
        step: Step,
        typed: str,
        dynamic: DynamicOptions,
    ) -> Outcome:
        heard = understand(typed, lang)
        order = list(self.topic_options)  # as the dialogue asks them: fears, then causes
        topics = tuple(sorted((t.id for t in heard.topics if t.id in self.topic_options), key=order.index))
        if not topics:
            result = self.engine.note(position, step.id, {}, facts=self.facts(person), dynamic=dynamic)
            outcome = await self.commit(repo, person, lang, result)
            return _prefixed(outcome, self._render(lang, "typed/heard_nothing"), separate=True)
        saved = await self._keep(repo, position, Pending(step.id, topics))
        return Outcome(
            messages=(self._heard_message(lang, saved.version, topics),), language=lang, changed=True
        )

    # -- presses under "Ik hoor: …" -------------------------------------------------------------

    async def tap(
        self,
        repo: UnitOfWork,
        person: Person,
        position: Position,
        lang: str,
        value: str,
        dynamic: DynamicOptions,
    ) -> Outcome:
        """Yes, not quite, a tick, or done; a press from an older message is answered as stale."""
        tap = HeardTap.decode(value)
        pending = Pending.of(position.values)
        step = self.engine.current_step(position)
        if tap is None or pending is None or step is None or step.id != pending.step:
            return self._stale(lang)
        if tap.version != position.version:
            return self._stale(lang)
        if tap.what == _YES and pending.picked is None:
            return await self._finish(repo, person, position, lang, pending.topics, dynamic)
        if tap.what == _SOME and pending.picked is None:
            saved = await self._keep(repo, position, replace(pending, picked=()))
            buttons = self._pick_buttons(lang, saved.version, pending.topics, ())
            return Outcome(edit=Edit(self._render(lang, "typed/pick"), buttons), language=lang, changed=True)
        if tap.what == _DONE and pending.picked is not None:
            return await self._finish(repo, person, position, lang, pending.picked, dynamic)
        index = tap.what.removeprefix(_TOGGLE)
        if tap.what.startswith(_TOGGLE) and index.isdigit() and pending.picked is not None:
            if int(index) >= len(pending.topics):
                return self._stale(lang)
            topic = pending.topics[int(index)]
            picked = set(pending.picked) ^ {topic}
            ordered = tuple(t for t in pending.topics if t in picked)
            saved = await self._keep(repo, position, replace(pending, picked=ordered))
            buttons = self._pick_buttons(lang, saved.version, pending.topics, ordered)
            return Outcome(edit=Edit(None, buttons), language=lang, changed=True)
        return self._stale(lang)

    async def _finish(
        self,
        repo: UnitOfWork,
        person: Person,
        position: Position,
        lang: str,
        topics: Sequence[str],
        dynamic: DynamicOptions,
    ) -> Outcome:
        """The confirmed topics join their steps' answers; the text step is answered; the dialogue
        goes on (at the end of the check: the assessment, now with these topics)."""
        pending = Pending.of(position.values)
        assert pending is not None
        keys: dict[str, list[str]] = {}
        for topic in topics:
            step_id, key = self.topic_options[topic]
            keys.setdefault(step_id, []).append(key)
        result = self.engine.note(position, pending.step, keys, facts=self.facts(person), dynamic=dynamic)
        if result.problem is not None:
            return self._stale(lang)
        outcome = await self.commit(repo, person, lang, result)
        done = self._render(lang, "typed/heard_done", topics=[self.topic_label(t, lang) for t in topics])
        return replace(outcome, edit=Edit(done))

    # -- helpers --------------------------------------------------------------------------------

    def pending_message(self, position: Position, lang: str) -> Message | None:
        """The "Ik hoor: …" question again when it is still open (after /start or a restart)."""
        pending = Pending.of(position.values)
        if pending is None or self.engine.current_step(position) is None:
            return None
        if pending.picked is not None:
            buttons = self._pick_buttons(lang, position.version, pending.topics, pending.picked)
            return Message(self._render(lang, "typed/pick"), buttons)
        return self._heard_message(lang, position.version, pending.topics)

    def pending_labels(self, position: Position | None, lang: str) -> list[str]:
        """What /mydata shows of typed text while it waits for a yes: the topics heard (the text
        itself was never kept)."""
        pending = Pending.of(position.values) if position is not None else None
        return [self.topic_label(t, lang) for t in pending.topics] if pending else []

    def topic_label(self, topic: str, lang: str) -> str:
        """A topic as the person saw it: the label of the option that means it."""
        step_id, key = self.topic_options[topic]
        for dialogue in self.catalog.dialogues.values():
            step = dialogue.steps.get(step_id)
            option = step.option(key) if step else None
            if option is not None:
                return _label(option.label, lang)
        return topic

    async def _keep(self, repo: UnitOfWork, position: Position, pending: Pending) -> Position:
        values = deepcopy(position.values)
        values[HEARD_KEY] = pending.stored()
        return await repo.positions.save_position(replace(position, values=values))

    def _heard_message(self, lang: str, version: int, topics: Sequence[str]) -> Message:
        text = self._render(lang, "typed/heard", topics=[self.topic_label(t, lang) for t in topics])
        buttons = (
            (
                Button(self._render(lang, "typed/button_yes"), self._data(version, _YES)),
                Button(self._render(lang, "typed/button_not_quite"), self._data(version, _SOME)),
            ),
        )
        return Message(text, buttons)

    def _pick_buttons(
        self, lang: str, version: int, topics: Sequence[str], picked: Sequence[str]
    ) -> tuple[tuple[Button, ...], ...]:
        rows = [
            (
                Button(
                    ticked(self.topic_label(topic, lang), topic in picked),
                    self._data(version, f"{_TOGGLE}{index}"),
                ),
            )
            for index, topic in enumerate(topics)
        ]
        rows.append((Button(self._render(lang, "coach/button_done"), self._data(version, _DONE)),))
        return tuple(rows)

    @staticmethod
    def _data(version: int, what: str) -> str:
        return f"a|{HEARD_ACTION}|{HeardTap(version, what).encode()}"

    def _stale(self, lang: str) -> Outcome:
        return Outcome(notice=self._render(lang, "coach/stale"), language=lang)

    def _render(self, lang: str, template: str, **context: Any) -> str:
        return self.catalog.renderer.render(lang, template, **context)


def _label(label: Mapping[str, str], lang: str) -> str:
    return label.get(lang) or next(iter(label.values()))


def _prefixed(outcome: Outcome, text: str, *, separate: bool = False) -> Outcome:
    """The outcome with `text` before its first message (or as a message of its own)."""
    if separate or not outcome.messages:
        return replace(outcome, messages=(Message(text), *outcome.messages))
    first, *rest = outcome.messages
    return replace(outcome, messages=(replace(first, text=f"{text}\n\n{first.text}"), *rest))
