"""A dialogue as data: frozen dataclasses loaded from dialogues/*.yaml.

Frozen so one loaded spec can be shared by every person's turn without copying.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

StepKind = Literal["choice", "multi", "text", "info"]
#: What a text step may `understand` in what is typed: the coach's own topics (fears, causes).
UNDERSTAND = ("topics",)
#: What a text step may `parse` by itself; the caller may supply more parsers by name (a date and
#: time needs a clock and a zone, which the engine does not have).
BUILTIN_PARSERS = ("number", "line")
END = "end"
LANGUAGES = ("nl", "en")


@dataclass(frozen=True)
class Condition:
    """`when: {fact: value-or-list}`: every named fact must hold one of the listed values."""

    facts: Mapping[str, frozenset[str]]

    def holds(self, facts: Mapping[str, object]) -> bool:
        """Lists (multi answers) match when they share a value; a missing fact never matches."""
        for name, wanted in self.facts.items():
            have = facts.get(name)
            if isinstance(have, list | tuple | set | frozenset):
                if not wanted.intersection(str(v) for v in have):
                    return False
            elif have is None or str(have) not in wanted:
                return False
        return True


@dataclass(frozen=True)
class Rule:
    """Go to `target` when `when` holds (or always, when it is None); the first match wins."""

    target: str
    when: Condition | None = None
    line: int = 0


@dataclass(frozen=True)
class Option:
    """An answer a person can tap, with what choosing it means for the coaching."""

    key: str
    label: Mapping[str, str]
    flags: tuple[str, ...] = ()
    gaps: tuple[str, ...] = ()
    exclusive: bool = False
    #: On a multi step: choosing it answers the step at once with this option alone ("the whole
    #: organisation" instead of ticking departments and then "done").
    submit: bool = False
    #: Choosing it stops the dialogue as /cancel would (a "No, stop" under a summary).
    stop: bool = False
    line: int = 0


@dataclass(frozen=True)
class Step:
    """One state of a dialogue: a question (choice, multi, text) or a notice (info)."""

    id: str
    kind: StepKind
    template: str
    options: tuple[Option, ...] = ()
    options_from: str | None = None
    store: str | None = None
    optional: bool = False
    next: tuple[Rule, ...] = ()
    topic: Mapping[str, str] = field(default_factory=dict)
    #: `understand: topics` on a text step: what is typed is heard, echoed and, once confirmed,
    #: joins the answers as topics (the text itself is not kept); None: the text is the answer.
    understand: str | None = None
    #: `parse: <name>` on a text step: the text must read as a value (a number, a short line, or
    #: what a caller-supplied parser reads, such as a date and time); the value is the answer.
    parse: str | None = None
    #: Bounds of a `number` (whole numbers from `min` to `max`) or the longest `line`; `max` may
    #: name an earlier answer or given value instead of a number ("no more than came").
    minimum: int = 0
    maximum: int | str | None = None
    #: The message that says why a parsed text was refused; it gets the bound as `limit`.
    invalid: str | None = None
    line: int = 0

    def option(self, key: str) -> Option | None:
        """The static option with this key, if any."""
        for option in self.options:
            if option.key == key:
                return option
        return None


@dataclass(frozen=True)
class Dialogue:
    """A whole dialogue; `then` chains the next one, `on_finish` names what the coach does at the end."""

    id: str
    start: str
    steps: Mapping[str, Step]
    then: tuple[Rule, ...] = ()
    on_finish: str | None = None
    new_run: bool = False
    #: An aside (scheduling a session) runs beside the dialogue the person was in: that one is
    #: kept in the position and resumes where it stood when the aside ends or is stopped.
    aside: bool = False
    file: Path = Path()
    line: int = 0

    def step(self, step_id: str) -> Step:
        """The step; KeyError for an unknown id (the validator makes that a content bug)."""
        return self.steps[step_id]
