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
    file: Path = Path()
    line: int = 0

    def step(self, step_id: str) -> Step:
        """The step; KeyError for an unknown id (the validator makes that a content bug)."""
        return self.steps[step_id]
