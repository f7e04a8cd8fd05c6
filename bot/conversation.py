"""What channels hand the coach and what it hands back: plain values, no Telegram, no SQL."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Visitor:
    """Who is talking: a channel and that channel's id for them, plus the client's language."""

    channel: str
    external_id: str
    language_hint: str | None = None


@dataclass(frozen=True)
class Start:
    """/start, with an optional deep-link payload (reserved for invite codes)."""

    payload: str | None = None


@dataclass(frozen=True)
class Command:
    """Any other slash command, without the slash, lower-case."""

    name: str
    argument: str = ""


@dataclass(frozen=True)
class Tap:
    """A button press, with the button's data as the channel received it."""

    data: str


@dataclass(frozen=True)
class Text:
    """Typed text."""

    text: str


Inbound = Start | Command | Tap | Text


@dataclass(frozen=True)
class Button:
    """An answer button: what it says and the data it sends back."""

    label: str
    data: str


@dataclass(frozen=True)
class Message:
    """One message to send: HTML text and rows of buttons.

    `question`: a dialogue's next question, which a channel may show in place of the message
    whose button was just pressed (Telegram folds it into that edit); anything else, such as the
    advice, is a message of its own.
    """

    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    question: bool = False


@dataclass(frozen=True)
class Edit:
    """How to change the message whose button was pressed. `text=None` changes only the buttons."""

    text: str | None
    buttons: tuple[tuple[Button, ...], ...] = ()


@dataclass(frozen=True)
class Outcome:
    """The coach's answer to one inbound event."""

    messages: tuple[Message, ...] = ()
    edit: Edit | None = None
    notice: str | None = None
    language: str = "en"
    forgotten: bool = False
    changed: bool = False
    duplicate: bool = False


def ticked(label: str, selected: bool) -> str:
    """A multi-select option's label with its tick box, the same in every channel and dialogue."""
    return ("✅ " if selected else "▫️ ") + label
