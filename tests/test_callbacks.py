"""Typed button data (bot.callbacks): every kind round-trips, and anything this code would not have
made (an unknown prefix, an old format, a forged or out-of-range id, a wrong field count) is None."""

from __future__ import annotations

import pytest

from bot import callbacks
from bot.callbacks import (
    AdviceTap,
    DraftTap,
    FollowupTap,
    ForgetTap,
    LanguageTap,
    RecheckTap,
    RemindersTap,
    RevokeTap,
    SessionTap,
)

EVERY_KIND = [
    ForgetTap(erase=True, version=12),
    ForgetTap(erase=False, version=0),
    LanguageTap("nl"),
    AdviceTap("why", 7, 0),
    DraftTap(3, "k", "i"),
    DraftTap(3, "y"),
    SessionTap("xy", 41),
    RevokeTap(2_147_483_647),
    FollowupTap(9),
    RemindersTap(on=True),
    RecheckTap(start=False),
]


@pytest.mark.parametrize("tap", EVERY_KIND, ids=lambda tap: type(tap).__name__)
def test_every_kind_round_trips_within_telegram_s_64_bytes(tap: callbacks.Callback) -> None:
    data = callbacks.encode(tap)
    assert callbacks.decode(data) == tap
    assert len(data.encode("utf-8")) <= 64
    assert data.startswith(f"{tap.PREFIX}{tap.VERSION}|")


def test_owners_route_presses() -> None:
    assert callbacks.owner_of(callbacks.encode(ForgetTap(True, 1))) == callbacks.COACH
    assert callbacks.owner_of("c12|who_uses|everyone") == callbacks.COACH  # the engine's answers
    assert callbacks.owner_of(callbacks.encode(SessionTap("m", 1))) == callbacks.DESK
    assert callbacks.owner_of("zz") is None
    assert set(callbacks.prefixes(callbacks.DESK)) == {"s", "m", "r", "u", "n", "k"}


@pytest.mark.parametrize(
    "data",
    [
        "",
        "z1|x",  # unknown prefix
        "f2|1|3",  # a format version this code does not know
        "f|1|3",  # no version
        "a|forget|yes",  # the format before typed callbacks
        "s|3|k|i",
        "r1|²",  # a digit that is not ASCII
        "r1|2147483648",  # one above PostgreSQL's integer
        "r1|99999999999999999999999",
        "r1|-1",
        "r1|",  # empty field
        "r1|1|2",  # one field too many
        "f1|1",  # one too few
        "f1|yes|3",  # a bool is 0 or 1
        "l1|n\x00",  # not printable
        "s1|3|k|i" + "x" * 60,  # over 64 bytes
    ],
)
def test_anything_this_code_would_not_have_made_is_none(data: str) -> None:
    assert callbacks.decode(data) is None


def test_a_field_that_would_break_the_format_is_refused_when_encoding() -> None:
    with pytest.raises(ValueError, match="without"):
        callbacks.encode(LanguageTap("n|l"))
    with pytest.raises(ValueError, match="64 bytes"):
        callbacks.encode(DraftTap(1, "d", "x" * 80))


@pytest.mark.parametrize(("text", "number"), [("12", 12), ("²", None), ("2147483648", None), ("-", None)])
def test_numbers_in_text_fields(text: str, number: int | None) -> None:
    assert callbacks.number(text) == number
