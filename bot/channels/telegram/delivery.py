"""Turns a coach Outcome into Bot API calls: answer the press, edit in place, send the rest."""

from __future__ import annotations

import logging

from telegram import Bot, CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest

from bot.channels.telegram.splitting import split_message
from bot.conversation import Button, Outcome

log = logging.getLogger(__name__)

_HARMLESS_EDIT_ERRORS = ("message is not modified", "message to edit not found", "message can't be edited")


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


async def edit_pressed(query: CallbackQuery, outcome: Outcome) -> None:
    """Show the choice in the question itself (or new ticks on a multi-select)."""
    edit = outcome.edit
    if edit is None or query.message is None:
        return
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


async def send_messages(bot: Bot, chat_id: int, outcome: Outcome) -> None:
    """Each message in order, split under Telegram's limit; the buttons ride on the last part."""
    for message in outcome.messages:
        parts = split_message(message.text)
        for index, part in enumerate(parts):
            markup = keyboard(message.buttons) if index == len(parts) - 1 else None
            await bot.send_message(chat_id, part, parse_mode=ParseMode.HTML, reply_markup=markup)
