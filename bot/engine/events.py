"""What can happen to a person in a dialogue, and what the engine answers: channel-free values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from bot.domain import AnswerRecord, Position

#: The control key of a multi-select step's "done" button; no option may use it.
DONE = "done"
#: Longest free-text answer kept; longer text is refused with a friendly reply, never cut silently.
MAX_TEXT = 1000


@dataclass(frozen=True)
class Begin:
    """Start a dialogue from its first step (a /check, or the first /start).

    `given`: values the caller knows at the start (the session being moved); conditions and
    bounds may name them, and the finish action reads them back. JSON values only.
    """

    dialogue: str
    given: Mapping[str, object] = field(default_factory=dict)


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
    #: Always selected and cannot be untied (the champion who schedules a session runs it).
    locked: bool = False
    #: Answers a multi step at once ("Iedereen"), so it is shown without a tick box.
    submit: bool = False


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


@dataclass(frozen=True)
class Refusal:
    """Why a text did not parse: a message id and what it may show (the bound as `limit`)."""

    template: str
    context: Mapping[str, object] = field(default_factory=dict)


Reply = Prompt | Notice
Problem = Literal[
    "invalid_value",
    "locked",
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
    #: Set with the problem "invalid_value": what to tell the person.
    refusal: Refusal | None = None
    #: The values of the last dialogue that finished in this turn (an aside's answers and given
    #: values, which the caller's finish action needs after the person went back to where they were).
    done_values: Mapping[str, Any] = field(default_factory=dict)
    #: The dialogue a "stop" option (or `stop()`) ended, if any.
    stopped: str | None = None

    @property
    def changed(self) -> bool:
        """Whether anything must be written."""
        return self.problem is None
