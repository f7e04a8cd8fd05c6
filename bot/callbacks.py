"""Typed button data: small dataclasses, one prefix each, with a format version.

Every button the bot makes is one of these; `encode` writes it and `decode` reads it back, so no
code splits callback data by hand. Telegram hands back whatever a client sends: data with an unknown
prefix, an old format version, a field that does not parse (a forged id such as "²", a number out
of the database's range) decodes to None, and the caller answers it as stale.

Data is `<prefix><version>|<field>|<field>…`, at most Telegram's 64 bytes. The engine's answer
buttons ("c<position version>|step|option", bot.engine.choice_token) keep their own format; "c" is
reserved for them here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar, get_type_hints

SEPARATOR = "|"
CALLBACK_DATA_LIMIT = 64
#: Ids and versions are PostgreSQL integers: anything above is forged.
INT_MAX = 2_147_483_647
#: The engine's answer buttons (bot.engine.choice_token) use this prefix.
CHOICE_PREFIX = "c"
COACH = "coach"
DESK = "desk"


class Callback:
    """Base of every typed button: its prefix, format version and who answers it."""

    PREFIX: ClassVar[str]
    VERSION: ClassVar[int]
    OWNER: ClassVar[str]


_REGISTRY: dict[str, type[Callback]] = {}
C = TypeVar("C", bound=type[Callback])


def register(prefix: str, owner: str, version: int = 1) -> Callable[[C], C]:
    """Class decorator: `prefix` is one lowercase letter no other callback uses."""

    def wrap(cls: C) -> C:
        if len(prefix) != 1 or not prefix.isalpha() or prefix in _REGISTRY or prefix == CHOICE_PREFIX:
            raise ValueError(f"callback prefix {prefix!r} is taken or malformed")
        cls.PREFIX, cls.VERSION, cls.OWNER = prefix, version, owner
        _REGISTRY[prefix] = cls
        return cls

    return wrap


def prefixes(owner: str) -> tuple[str, ...]:
    """The prefixes one owner answers (Telegram routes presses by these)."""
    return tuple(p for p, cls in _REGISTRY.items() if owner == cls.OWNER)


def owner_of(data: str) -> str | None:
    """Who answers this data, by its prefix alone (decoding is the owner's job)."""
    if data.startswith(CHOICE_PREFIX):
        return COACH
    cls = _REGISTRY.get(data[:1])
    return cls.OWNER if cls else None


def encode(callback: Callback) -> str:
    fields = [_write(getattr(callback, f.name)) for f in dataclasses.fields(callback)]  # type: ignore[arg-type]
    data = SEPARATOR.join([f"{callback.PREFIX}{callback.VERSION}", *fields])
    if len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        raise ValueError(f"callback data over {CALLBACK_DATA_LIMIT} bytes: {data!r}")
    return data


def decode(data: str) -> Callback | None:
    """The callback this data stands for; None for anything this code would not have made."""
    if not data or len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
        return None
    head, *values = data.split(SEPARATOR)
    cls = _REGISTRY.get(head[:1])
    if cls is None or head[1:] != str(cls.VERSION):
        return None
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if len(values) != len(fields):
        return None
    hints = get_type_hints(cls)
    parsed: dict[str, object] = {}
    for field, raw in zip(fields, values, strict=True):
        value = _read(hints[field.name], raw)
        if value is None:
            return None
        parsed[field.name] = value
    return cls(**parsed)


def number(text: str) -> int | None:
    """An id written in a text field ("12"), or None when it is not one a database could hold."""
    value = _read(int, text)
    return value if isinstance(value, int) else None


def _write(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    text = str(value)
    if not text or SEPARATOR in text:
        raise ValueError(f"a callback field must be non-empty and without {SEPARATOR!r}: {value!r}")
    return text


def _read(kind: object, raw: str) -> object | None:
    if kind is bool:
        return {"1": True, "0": False}.get(raw)
    if kind is int:
        if not (raw.isascii() and raw.isdigit()) or len(raw) > len(str(INT_MAX)):
            return None
        number = int(raw)
        return number if number <= INT_MAX else None
    if not raw or not raw.isascii() or not raw.isprintable():
        return None
    return raw


# -- the coach's buttons ------------------------------------------------------------------------------


@register("f", COACH)
@dataclass(frozen=True)
class ForgetTap(Callback):
    """/forget's answer. `version` is the position's when it was asked: a "No" moves it on, so an
    older "Yes" can never erase afterwards."""

    erase: bool
    version: int


@register("l", COACH)
@dataclass(frozen=True)
class LanguageTap(Callback):
    """/language's answer."""

    code: str


@register("a", COACH)
@dataclass(frozen=True)
class AdviceTap(Callback):
    """A press on an advice button: which message, for which assessment, at which step rank."""

    name: str
    assessment_id: int
    rank: int


# -- the champions' desk -----------------------------------------------------------------------------


@register("s", DESK)
@dataclass(frozen=True)
class DraftTap(Callback):
    """An answer in the scheduling, moving or follow-up dialogue, for the draft at `version`."""

    version: int
    action: str
    argument: str = "-"


@register("m", DESK)
@dataclass(frozen=True)
class SessionTap(Callback):
    """/sessions: move ("m"), cancel ("x"), and the cancel's yes ("xy") and no ("xn")."""

    action: str
    session_id: int


@register("r", DESK)
@dataclass(frozen=True)
class RevokeTap(Callback):
    """/revoke: take this person's role away."""

    person_id: int


@register("u", DESK)
@dataclass(frozen=True)
class FollowupTap(Callback):
    """A follow-up nudge's button: report how this session went."""

    session_id: int


@register("n", DESK)
@dataclass(frozen=True)
class RemindersTap(Callback):
    """Reminders of sessions on or off."""

    on: bool


@register("k", DESK)
@dataclass(frozen=True)
class RecheckTap(Callback):
    """A re-check offer: take the check now, or never be offered one again."""

    start: bool
