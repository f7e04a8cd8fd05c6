"""The compact token behind an answer button: position version, step and option.

Carrying the version lets any channel reject a press from a keyboard the person has moved past
without storing anything per message. Telegram allows 64 bytes of callback_data; the validator
checks every shipped option fits with the largest version we expect.
"""

from __future__ import annotations

from dataclasses import dataclass

CALLBACK_DATA_LIMIT = 64
#: Versions grow by one per turn; seven digits is decades of daily use.
LARGEST_VERSION = 9_999_999
_SEPARATOR = "|"
_PREFIX = "c"


@dataclass(frozen=True)
class ChoiceToken:
    """A press on an answer button, as the channel hands it back."""

    version: int
    step: str
    option: str

    def encode(self) -> str:
        """The callback_data string."""
        return f"{_PREFIX}{self.version}{_SEPARATOR}{self.step}{_SEPARATOR}{self.option}"

    @classmethod
    def decode(cls, data: str) -> ChoiceToken | None:
        """None for anything that is not a well-formed token (forged or foreign data)."""
        if not data.startswith(_PREFIX) or len(data.encode("utf-8")) > CALLBACK_DATA_LIMIT:
            return None
        parts = data[len(_PREFIX) :].split(_SEPARATOR)
        if len(parts) != 3 or not (parts[0].isascii() and parts[0].isdigit()) or not parts[1] or not parts[2]:
            return None
        return cls(int(parts[0]), parts[1], parts[2])


def token_size(step: str, option: str) -> int:
    """Bytes the token for this step and option takes at the largest expected version."""
    return len(ChoiceToken(LARGEST_VERSION, step, option).encode().encode("utf-8"))
