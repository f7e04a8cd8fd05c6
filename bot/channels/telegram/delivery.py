"""Turns a coach Outcome into Bot API calls: answer the press, edit in place, send the rest.

It also decides how few calls an outcome needs, since each call is the largest cost the bot
controls and every new message counts against Telegram's limits (one a second per chat):
- adjacent messages are joined when the first has no buttons and the two fit about a phone screen
  (a welcome and the first question arrive as one message);
- after a press, the next question is folded into the edit of the pressed message, under the
  answered question and its choice: one edit instead of an edit and a new message. The person
  reads their choice and the next question in one place, and the keyboard stays under their thumb
  instead of the chat scrolling; the answered question still shows the choice (the convention),
  and /mydata lists every answer. Longer questions, and whatever is not a question (the advice
  after a check), still arrive as new messages: the advice is the message people come back to.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence

from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, MaybeInaccessibleMessage
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.channels.telegram.splitting import split_message, visible_length
from bot.conversation import Button, Edit, Message, Outcome

log = logging.getLogger(__name__)

_HARMLESS_EDIT_ERRORS = ("message is not modified", "message to edit not found", "message can't be edited")
#: Visible characters a joined or folded message may have: about a phone screen.
JOIN_LIMIT = 1200
_GAP = "\n\n"


def joined(messages: Sequence[Message]) -> list[Message]:
    """Adjacent messages as one where the first has no buttons and both fit a phone screen."""
    result: list[Message] = []
    for message in messages:
        if result and not result[-1].buttons and _fits(result[-1].text, message.text):
            result[-1] = Message(result[-1].text + _GAP + message.text, message.buttons, message.question)
        else:
            result.append(message)
    return result


def folded(edit: Edit | None, messages: Sequence[Message]) -> tuple[Edit | None, list[Message]]:
    """The edit of a pressed message with the next question under it, when that reads well:
    the edit shows text without buttons and the next message is a short dialogue question (not the
    advice or another answer of substance, which keep a message of their own)."""
    rest = joined(messages)
    if edit is None or edit.text is None or edit.buttons or not rest or not rest[0].question:
        return edit, rest
    if not _fits(edit.text, rest[0].text):
        return edit, rest
    return Edit(edit.text + _GAP + rest[0].text, rest[0].buttons), rest[1:]


def _fits(first: str, second: str) -> bool:
    return visible_length(first + _GAP + second) <= JOIN_LIMIT


def keyboard(rows: tuple[tuple[Button, ...], ...]) -> InlineKeyboardMarkup | None:
    """Inline keyboard for the buttons, or None when there are none."""
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in rows]
    )


async def answer_query(query: CallbackQuery, notice: str | None) -> None:
    """Every press gets an answer, or the person's client shows a spinner; a late one is harmless."""
    try:
        await query.answer(notice)
    except BadRequest as error:
        log.info("callback.answer_failed", extra={"reason": error.message})


async def reply_to_press(bot: Bot, query: CallbackQuery, chat_id: int, outcome: Outcome) -> None:
    """After the press is answered: the edit (with the next question folded in when it reads
    well), then the remaining messages; if the edit cannot be made, the question goes as a message."""
    edit, rest = folded(outcome.edit, outcome.messages)
    edited = await _edit(query, edit)
    if edit is not outcome.edit and not edited:
        rest = joined(outcome.messages)
    await _send(bot, chat_id, rest)


async def edit_pressed(query: CallbackQuery, outcome: Outcome) -> None:
    """Show the choice in the question itself (or new ticks on a multi-select)."""
    await _edit(query, outcome.edit)


async def _edit(query: CallbackQuery, edit: Edit | None) -> bool:
    """True when the pressed message now shows `edit`; harmless refusals are logged, not raised."""
    if edit is None or query.message is None:
        return False
    if _already_shows(query.message, edit):
        # A repeated or replayed press: Telegram would refuse the same content ("not modified").
        log.info("edit.unchanged")
        return True
    try:
        if edit.text is None:
            await query.edit_message_reply_markup(reply_markup=keyboard(edit.buttons))
        else:
            await query.edit_message_text(
                edit.text, parse_mode=ParseMode.HTML, reply_markup=keyboard(edit.buttons)
            )
    except BadRequest as error:
        if not any(harmless in error.message.lower() for harmless in _HARMLESS_EDIT_ERRORS):
            raise
        log.info("edit.skipped", extra={"reason": error.message})
        return "not modified" in error.message.lower()
    return True


def _already_shows(message: MaybeInaccessibleMessage, edit: Edit) -> bool:
    """True when the pressed message, as the press carried it, already reads as `edit`.

    Compared as HTML with entities unescaped on both sides, since Telegram's rendering of the
    message (text_html) and the catalog's escape quotes differently; any other difference edits.
    """
    shown = getattr(message, "text_html", None) if getattr(message, "text", None) else None
    wanted = keyboard(edit.buttons)
    markup = getattr(message, "reply_markup", None)
    if (markup.to_dict() if markup else None) != (wanted.to_dict() if wanted else None):
        return False
    if edit.text is None:
        return True
    return shown is not None and html.unescape(shown) == html.unescape(edit.text)


async def send_messages(bot: Bot, chat_id: int, outcome: Outcome) -> None:
    """Each message in order (adjacent ones joined where they fit), split under Telegram's limit."""
    await _send(bot, chat_id, joined(outcome.messages))


async def _send(bot: Bot, chat_id: int, messages: Sequence[Message]) -> None:
    """The buttons ride on the last part of a message that had to be split."""
    for message in messages:
        parts = split_message(message.text)
        for index, part in enumerate(parts):
            markup = keyboard(message.buttons) if index == len(parts) - 1 else None
            await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML, reply_markup=markup)
