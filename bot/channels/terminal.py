"""`coachbot chat`: the same coach in the terminal, with numbered options instead of buttons.

Everything goes through the Router, as in Telegram, so every command of the command table that is
meant for the terminal works here. Reads lines synchronously on purpose: nothing else runs while
the person thinks, and a blocking read lets Ctrl-C and Ctrl-D end the chat at once, cleanly.
"""

from __future__ import annotations

import html
import re
from typing import TextIO

from bot.conversation import Button, Command, Inbound, Message, Outcome, Start, Tap, Text, Visitor
from bot.engine.choice_token import ChoiceToken
from bot.engine.events import DONE
from bot.router import Router

_TAG = re.compile(r"<[^>]+>")
#: One number, or several separated by commas or spaces; each may end in "." or ")" as options are
#: shown ("1." or "1)").
_NUMBERS = re.compile(r"^\s*\d+[.)]?(\s*[, ]\s*\d+[.)]?)*\s*$")
CHANNEL = "terminal"
#: The onboarding step that asks the language: `--lang` answers it for the person.
LANGUAGE_STEP = "language"


def plain(markup: str) -> str:
    """Telegram HTML as terminal text."""
    return html.unescape(_TAG.sub("", markup))


class TerminalChat:
    """One person's chat over a pair of text streams (a real terminal, or a test's StringIO)."""

    def __init__(
        self,
        router: Router,
        visitor: Visitor,
        reader: TextIO,
        writer: TextIO,
        *,
        language_given: bool = False,
    ) -> None:
        self.router = router
        self.visitor = visitor
        self.reader = reader
        self.writer = writer
        self.language_given = language_given and visitor.language_hint is not None
        self.buttons: list[Button] = []
        self.question: Message | None = None
        self.language = visitor.language_hint or "en"
        self.kept = True

    def _render(self, message_id: str, **context: object) -> str:
        return self.router.coach.catalog.renderer.render(self.language, message_id, **context)

    async def run(self) -> int:
        """Chat until end of input or Ctrl-C; returns the exit code."""
        try:
            await self._begin()
            while True:
                line = self.reader.readline()
                if line == "":  # end of input: Ctrl-D, or a closed pipe
                    break
                for item in self._parse(line.rstrip("\r\n")):
                    # A number is resolved only now: each tap on a multi-select re-issues the buttons.
                    await self._send(Tap(self.buttons[item - 1].data) if isinstance(item, int) else item)
        except KeyboardInterrupt:  # Ctrl-C: one press ends the chat
            pass
        self._say(self._render("terminal/bye" if self.kept else "terminal/bye_nothing_kept"))
        return 0

    async def _begin(self) -> None:
        """/start; with `--lang` the language question is answered already, and only greets."""
        outcome = await self.router.handle(self.visitor, Start())
        choice = self._language_choice(outcome) if self.language_given else None
        if choice is None:
            self._show(outcome, Start())
            return
        self.language = outcome.language
        self._say(plain(self._render("onboarding/welcome")))
        await self._send(Tap(choice.data))

    def _language_choice(self, outcome: Outcome) -> Button | None:
        for message in outcome.messages:
            for button in (b for row in message.buttons for b in row):
                token = ChoiceToken.decode(button.data)
                if token and token.step == LANGUAGE_STEP and token.option == self.visitor.language_hint:
                    return button
        return None

    def _parse(self, line: str) -> list[Inbound | int]:
        stripped = line.strip()
        if stripped.startswith("/"):
            word, _, argument = stripped[1:].partition(" ")
            name = word.split("@")[0].lower()
            return [Start(argument or None)] if name == "start" else [Command(name, argument.strip())]
        if self.buttons and _NUMBERS.match(stripped):
            numbers = [int(n.rstrip(".)")) for n in re.split(r"[,\s]+", stripped) if n]
            fits = all(1 <= n <= len(self.buttons) for n in numbers)
            if not fits or (len(numbers) > 1 and not self._multi_select()):
                self._wrong_input()
                return []
            return list(numbers)
        if not stripped and self.buttons:
            self._wrong_input()
            return []
        return [Text(line)]

    def _wrong_input(self) -> None:
        """The one answer to input that fits no option: what is possible, then the question again."""
        if len(self.buttons) == 1:  # a question to type the answer to, with one way out
            self._say(self._render("terminal/type_or_choose", label=self.buttons[0].label))
        else:
            several = "terminal/choose_several" if self._multi_select() else "terminal/choose_one"
            self._say(self._render(several, count=len(self.buttons)))
        if self.question is not None:
            self._message(self.question)
        else:
            self._options(self.buttons)

    def _multi_select(self) -> bool:
        """Several numbers on one line only make sense where several answers can be ticked."""
        token = ChoiceToken.decode(self.buttons[-1].data) if self.buttons else None
        return token is not None and token.option == DONE

    async def _send(self, inbound: Inbound) -> None:
        outcome = await self.router.handle(self.visitor, inbound)
        self._show(outcome, inbound)

    def _show(self, outcome: Outcome, inbound: Inbound) -> None:
        self.language = outcome.language
        if outcome.notice:
            self._say(f"({outcome.notice})")
        if outcome.edit is not None:
            if outcome.edit.text is None:  # a multi-select toggle: show the new ticks
                self._options([b for row in outcome.edit.buttons for b in row])
                if self.question is not None:
                    self.question = Message(self.question.text, outcome.edit.buttons)
            elif isinstance(inbound, Tap) and ChoiceToken.decode(inbound.data) is None:
                self._say(plain(outcome.edit.text))  # an action's result, shown where the press was
                if outcome.edit.buttons:  # the message now asks something else ("Niet helemaal")
                    self.question = Message(outcome.edit.text, outcome.edit.buttons)
                    self._options([b for row in outcome.edit.buttons for b in row])
        for message in outcome.messages:
            self._message(message)
        if outcome.forgotten:
            self.buttons, self.question, self.kept = [], None, False
        elif outcome.changed:
            self.kept = True

    def _message(self, message: Message) -> None:
        self._say(plain(message.text))
        buttons = [b for row in message.buttons for b in row]
        if buttons:
            self.question = message
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
