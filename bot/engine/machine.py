"""One shared `transitions` machine per dialogue; a person's state is attached only for one step.

A machine per person costs ~360 µs and ~20 KB each; a shared machine with the state restored per
turn costs ~8 µs and retains nothing (FACTS.md). So the machine holds no person between turns.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from transitions import EventData, Machine

from bot.engine.spec import END, Condition, Dialogue

PROCEED = "proceed"


class _Cursor:
    """The short-lived model: a state string and the facts conditions may look at."""

    state: str

    def __init__(self, facts: Mapping[str, object]) -> None:
        self.facts = facts


def _predicate(condition: Condition) -> Callable[[EventData], bool]:
    def holds(event: EventData) -> bool:
        model: Any = event.model
        return condition.holds(model.facts)

    return holds


class DialogueMachine:
    """Built once at start-up from a Dialogue spec; `advance` is safe to call for anyone."""

    def __init__(self, dialogue: Dialogue) -> None:
        self.dialogue = dialogue
        self._machine = Machine(
            model=None,
            states=[*dialogue.steps, END],
            initial=dialogue.start,
            auto_transitions=False,
            send_event=True,
            ignore_invalid_triggers=False,
        )
        for step in dialogue.steps.values():
            for rule in step.next:
                conditions: list[Callable[..., bool | None]] | None = (
                    [_predicate(rule.when)] if rule.when else None
                )
                self._machine.add_transition(
                    PROCEED,
                    step.id,
                    rule.target,
                    conditions=conditions,  # type: ignore[arg-type]
                )

    def advance(self, state: str, facts: Mapping[str, object]) -> str:
        """The state after leaving `state`: the first `next` rule whose condition holds."""
        # Event.trigger takes the model directly: the cursor is never added to the machine, which
        # halves the cost against add_model/remove_model and leaves nothing behind on an error.
        cursor = _Cursor(facts)
        cursor.state = state
        self._machine.events[PROCEED].trigger(cursor)
        return cursor.state

    @property
    def attached(self) -> int:
        """How many models are attached right now; zero between turns, by design."""
        return len(self._machine.models)
