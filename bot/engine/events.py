"""What can happen to a person in a dialogue, and what the engine answers: channel-free values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.domain import AnswerRecord, Position

#: The control key of a multi-select step's "done" button; no option may use it.
DONE = "done"
#: Longest free-text answer kept; longer text is refused with a friendly reply, never cut silently.
MAX_TEXT = 1000


@dataclass(frozen=True)
class Begin:
    """Start a dialogue from its first step (a /check, or the first /start)."""

    dialogue: str


@dataclass(frozen=True)
class Choose:
    """A tap (or a typed number in the terminal) on an option of a given step and version."""

    version: int
    step: str
    option: str


@dataclass(frozen=True)
class Say:
    """Free text the person typed."""

    text: str


Event = Begin | Choose | Say


@dataclass(frozen=True)
class OptionView:
    """An option as shown: its key, its label per language, whether it is ticked (multi)."""

    key: str
    label: Mapping[str, str]
    selected: bool = False


@dataclass(frozen=True)
class Prompt:
    """A question to show, with its options."""

    dialogue: str
    step: str
    template: str
    kind: str
    options: tuple[OptionView, ...]
    optional: bool = False


@dataclass(frozen=True)
class Notice:
    """A message without a question (an `info` step)."""

    dialogue: str
    template: str


Reply = Prompt | Notice
Problem = Literal[
    "stale",
    "unknown_option",
    "tap_expected",
    "empty_text",
    "text_too_long",
    "pick_one",
    "idle",
    "unknown_dialogue",
]


@dataclass(frozen=True)
class TurnResult:
    """Everything a turn decided; the caller stores `position` and `answers` before replying."""

    position: Position
    answers: tuple[AnswerRecord, ...] = ()
    replies: tuple[Reply, ...] = ()
    problem: Problem | None = None
    answered_step: str | None = None
    chosen: tuple[str, ...] = ()
    toggled: bool = False
    finished: tuple[str, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        """Whether anything must be written."""
        return self.problem is None
