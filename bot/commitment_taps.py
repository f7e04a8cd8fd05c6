"""The buttons of commitments, made and read in one place: "Doe je dit deze week?", the follow-up's
answers and the offer to share a success.

`a|<name>|<subject>.<value>`: the subject is the assessment (commit, not now) or the commitment
(follow-up answers, sharing); the value a step id or an answer. Every decoded button is checked
against the person's own rows before it does anything, so a forged one changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.conversation import Button

ACTION = "a|"
COMMIT, NOT_NOW, OUTCOME, SHARE = "cm", "cn", "fu", "sh"
NAMES = frozenset({COMMIT, NOT_NOW, OUTCOME, SHARE})
DONE, PARTLY, NOT_DONE, STOP = "done", "partly", "not_done", "stop"
OUTCOMES = (DONE, PARTLY, NOT_DONE, STOP)
YES, NO = "yes", "no"
#: Telegram's limit on callback_data, in bytes.
CALLBACK_MAX = 64
_VALUE = re.compile(r"^[a-z0-9_]{1,40}$")


@dataclass(frozen=True)
class CommitmentTap:
    """A press on a commitment button."""

    name: str
    subject: int
    value: str

    def encode(self) -> str:
        data = f"{ACTION}{self.name}|{self.subject}.{self.value}"
        if len(data.encode()) > CALLBACK_MAX:
            raise ValueError(f"callback data over {CALLBACK_MAX} bytes: {data!r}")
        return data

    def button(self, label: str) -> Button:
        return Button(label, self.encode())

    @classmethod
    def decode(cls, name: str, value: str) -> CommitmentTap | None:
        """None for anything that is not a commitment button this code made."""
        if name not in NAMES:
            return None
        subject, _, rest = value.partition(".")
        if not (subject.isascii() and subject.isdigit() and len(subject) <= 18 and _VALUE.match(rest)):
            return None
        if name == OUTCOME and rest not in OUTCOMES:
            return None
        if name == SHARE and rest not in (YES, NO):
            return None
        return cls(name, int(subject), rest)
