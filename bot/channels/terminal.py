"""`coachbot chat`: the same coach in the terminal, with numbered options instead of buttons.

Reads lines synchronously on purpose: nothing else runs while the person thinks, and a blocking
read lets Ctrl-C and Ctrl-D end the chat cleanly without a stray reader thread.
"""

from __future__ import annotations

import html
import re
from typing import TextIO

from bot.coach import Coach
from bot.conversation import Button, Command, Inbound, Message, Outcome, Start, Tap, Text, Visitor
from bot.engine.choice_token import ChoiceToken
from bot.engine.events import DONE

_TAG = re.compile(r"<[^>]+>")
_NUMBERS = re.compile(r"^\s*\d+(\s*[, ]\s*\d+)*\s*$")
CHANNEL = "terminal"


def plain(markup: str) -> str:
    """Telegram HTML as terminal text."""
    return html.unescape(_TAG.sub("", markup))


class TerminalChat:
    """One person's chat over a pair of text streams (a real terminal, or a test's StringIO)."""

    def __init__(self, coach: Coach, visitor: Visitor, reader: TextIO, writer: TextIO) -> None:
        self.coach = coach
        self.visitor = visitor
        self.reader = reader
        self.writer = writer
        self.buttons: list[Button] = []
        self.language = visitor.language_hint or "en"

    async def run(self) -> int:
        """Chat until end of input or Ctrl-C; returns the exit code."""
        await self._send(Start())
        while True:
            try:
                line = self.reader.readline()
            except KeyboardInterrupt:
                line = ""
            if line == "":  # end of input: Ctrl-D, or a closed pipe
                self._say(self.coach.catalog.renderer.render(self.language, "terminal/bye"))
                return 0
            for item in self._parse(line.rstrip("\r\n")):
                # A number is resolved only now: each tap on a multi-select re-issues the buttons.
                await self._send(Tap(self.buttons[item - 1].data) if isinstance(item, int) else item)

    def _parse(self, line: str) -> list[Inbound | int]:
        stripped = line.strip()
        if stripped.startswith("/"):
            word, _, argument = stripped[1:].partition(" ")
            name = word.split("@")[0].lower()
            return [Start(argument or None)] if name == "start" else [Command(name, argument.strip())]
        if self.buttons and _NUMBERS.match(stripped):
            numbers = [int(n) for n in re.split(r"[,\s]+", stripped) if n]
            if any(not 1 <= n <= len(self.buttons) for n in numbers):
                self._say(
                    self.coach.catalog.renderer.render(
                        self.language, "terminal/out_of_range", count=len(self.buttons)
                    )
                )
                return []
            if len(numbers) > 1 and not self._multi_select():
                self._say(self.coach.catalog.renderer.render(self.language, "terminal/one_number"))
                return []
            return list(numbers)
        if not stripped and self.buttons:
            self._say(self.coach.catalog.renderer.render(self.language, "terminal/hint"))
            return []
        return [Text(line)]

    def _multi_select(self) -> bool:
        """Several numbers on one line only make sense where several answers can be ticked."""
        token = ChoiceToken.decode(self.buttons[-1].data) if self.buttons else None
        return token is not None and token.option == DONE

    async def _send(self, inbound: Inbound) -> None:
        outcome = await self.coach.handle(self.visitor, inbound)
        self._show(outcome, inbound)

    def _show(self, outcome: Outcome, inbound: Inbound) -> None:
        self.language = outcome.language
        if outcome.notice:
            self._say(f"({outcome.notice})")
        if outcome.edit is not None:
            if outcome.edit.text is None:  # a multi-select toggle: show the new ticks
                self._options([b for row in outcome.edit.buttons for b in row])
            elif isinstance(inbound, Tap) and inbound.data.startswith("a|"):
                self._say(plain(outcome.edit.text))
                if outcome.edit.buttons:  # the message now asks something else ("Niet helemaal")
                    self._options([b for row in outcome.edit.buttons for b in row])
        for message in outcome.messages:
            self._message(message)
        if outcome.forgotten:
            self.buttons = []

    def _message(self, message: Message) -> None:
        self._say(plain(message.text))
        buttons = [b for row in message.buttons for b in row]
        if buttons:
            self._options(buttons)

    def _options(self, buttons: list[Button]) -> None:
        self.buttons = buttons
        self.writer.write("\n")
        for index, button in enumerate(buttons, start=1):
            self.writer.write(f"  {index}. {button.label}\n")
        self.writer.write("> ")
        self.writer.flush()

    def _say(self, text: str) -> None:
        self.writer.write(f"\n{text}\n")
        self.writer.flush()
