"""Handlers: each turns one kind of update into a coach event and the outcome into Bot API calls.

They know Telegram and the coach, nothing of SQL. Private chats only: the coach is personal.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator

from telegram import Update
from telegram.constants import ChatAction, ChatMemberStatus, ChatType
from telegram.ext import ContextTypes

from bot.channels.telegram.delivery import answer_query, reply_to_press, send_messages
from bot.coach import Coach
from bot.conversation import Command, Inbound, Start, Tap, Text, Visitor
from bot.router import Router
from bot.services import Services
from bot.storage.errors import StorageUnavailable

log = logging.getLogger(__name__)

CHANNEL = "telegram"
SERVICES = "services"
#: The Router (bot/router.py) commands and typed text go through, as in the terminal.
ROUTER = "router"
MODE = "mode"
WEBHOOK = "webhook"
#: Set by the error handler when a webhook turn failed for a reason a redelivery can cure.
retry_wanted: contextvars.ContextVar[bool] = contextvars.ContextVar("retry_wanted", default=False)
#: How often a group is told that the coach works in private chats only (seconds).
GROUP_HINT_EVERY = 3600.0
TOLD_PRIVATE_ONLY = "told_private_only_at"
#: A reply slower than this gets a "typing…" indicator first.
TYPING_AFTER = 0.6


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    """The long-lived services post_init put in bot_data."""
    services: Services = context.bot_data[SERVICES]
    return services


def _coach(context: ContextTypes.DEFAULT_TYPE) -> Coach:
    return services_of(context).coach


def visitor_of(update: Update) -> Visitor | None:
    """The person behind an update; None for updates without a user (channel posts)."""
    user = update.effective_user
    if user is None:
        return None
    return Visitor(CHANNEL, str(user.id), user.language_code)


@contextlib.asynccontextmanager
async def _typing(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> AsyncIterator[None]:
    """Shows "typing…" only if the reply takes longer than a moment: no request on fast turns."""

    async def later() -> None:
        await asyncio.sleep(TYPING_AFTER)
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)

    task = asyncio.create_task(later())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


async def _run(update: Update, context: ContextTypes.DEFAULT_TYPE, inbound: Inbound) -> None:
    visitor = visitor_of(update)
    chat = update.effective_chat
    if visitor is None or chat is None:
        return
    router: Router = context.bot_data[ROUTER]
    async with _typing(context, chat.id):
        outcome = await router.handle(
            visitor, inbound, update_id=update.update_id, bot_username=context.bot.username
        )
    if outcome.duplicate:
        # Redelivered: the first delivery may have died before replying; the question again.
        log.info("update.duplicate", extra={"update_id": update.update_id})
    await send_messages(context.bot, chat.id, outcome)


def _command_of(text: str) -> Inbound:
    word, _, argument = text[1:].partition(" ")
    name = word.split("@")[0].lower()
    argument = argument.strip()
    return Start(argument or None) if name == "start" else Command(name, argument)


async def on_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A slash command in a private chat: /start, /check, /schedule, … and unknown ones alike; the
    router sends it to the coach or the desk by the command table."""
    message = update.effective_message
    if message is None or not message.text:
        return
    await _run(update, context, _command_of(message.text))


async def on_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Typed text in a private chat: an answer in an open dialogue (the desk's or the coach's), or a hint."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    await _run(update, context, Text(message.text))


async def on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A button press: answered exactly once, the question edited in place, the next one sent."""
    query = update.callback_query
    visitor = visitor_of(update)
    if query is None or visitor is None:
        return
    chat_id = query.message.chat.id if query.message else int(visitor.external_id)
    try:
        async with _typing(context, chat_id):
            outcome = await _coach(context).handle(visitor, Tap(query.data or ""), update_id=update.update_id)
    except StorageUnavailable:
        if context.bot_data.get(MODE) != WEBHOOK:
            await answer_query(query, None)  # polling: this delivery is the only one
        raise  # webhook: Telegram redelivers, and that delivery answers the press
    except Exception:
        await answer_query(query, None)
        raise
    if outcome.duplicate:
        # Redelivered: the current question again, in case the first delivery died before its
        # reply. No answer to the press: if the first delivery gave one, Telegram refuses another.
        log.info("update.duplicate", extra={"update_id": update.update_id})
        await send_messages(context.bot, chat_id, outcome)
        return
    await answer_query(query, outcome.notice)
    await reply_to_press(context.bot, query, chat_id, outcome)


async def on_unsupported(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Stickers, photos, voice, locations, documents…: one short reply saying what works."""
    await _reply_fixed(update, context, "coach/unsupported")


async def on_group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A command in a group: point to a private chat, once an hour per group (Telegram allows a
    bot 20 messages a minute in a group, and repeating the hint is noise). Chatter is ignored."""
    now = time.monotonic()
    told = context.chat_data.get(TOLD_PRIVATE_ONLY) if context.chat_data is not None else None
    if told is not None and now - told < GROUP_HINT_EVERY:
        log.info("group.hint_skipped", extra={"update_id": update.update_id})
        return
    if context.chat_data is not None:
        context.chat_data[TOLD_PRIVATE_ONLY] = now
    await _reply_fixed(update, context, "coach/private_only")


async def _reply_fixed(update: Update, context: ContextTypes.DEFAULT_TYPE, template: str) -> None:
    visitor = visitor_of(update)
    chat = update.effective_chat
    if visitor is None or chat is None:
        return
    outcome = await _coach(context).say(visitor, template)
    await send_messages(context.bot, chat.id, outcome)


async def on_ignored(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    """Edits and channel posts: replying would be noise, so nothing is sent, on purpose."""
    log.info("update.ignored", extra={"update_id": update.update_id})


async def on_membership(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The person blocked (or unblocked) the bot in their private chat."""
    member = update.my_chat_member
    visitor = visitor_of(update)
    if member is None or visitor is None or member.chat.type != ChatType.PRIVATE:
        return
    status = member.new_chat_member.status
    reachable = status not in (ChatMemberStatus.BANNED, ChatMemberStatus.LEFT)
    await _coach(context).set_reachable(visitor, reachable)
    log.info("person.reachable", extra={"reachable": reachable})


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log with the update id (no personal text), apologise to the person, keep serving others."""
    update_id = update.update_id if isinstance(update, Update) else None
    transient = isinstance(context.error, StorageUnavailable)
    if transient and context.bot_data.get(MODE) == WEBHOOK:
        # Telegram redelivers on a non-2xx answer: no apology now, the retry will answer.
        retry_wanted.set(True)
        log.warning("handler.storage_unavailable", extra={"update_id": update_id})
        return
    if transient:
        log.warning("handler.storage_unavailable", extra={"update_id": update_id})
    else:
        log.error("handler.failed", extra={"update_id": update_id}, exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != ChatType.PRIVATE:
        return
    with contextlib.suppress(Exception):
        coach = _coach(context)
        lang = coach.language_for(update.effective_user.language_code if update.effective_user else None)
        text = coach.catalog.renderer.render(lang, "coach/busy" if transient else "coach/error")
        await context.bot.send_message(update.effective_chat.id, text)
