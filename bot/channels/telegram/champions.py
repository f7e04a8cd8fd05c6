"""Telegram side of the champions: their commands and buttons, and the nudge dispatcher's sender.

The handlers turn updates into ChampionDesk calls and Outcomes into Bot API calls, like the coach's
handlers. The dispatcher runs as a repeating JobQueue job; its state lives in the database, so the
job being in memory (lost on restart, one per process) costs nothing.
"""

from __future__ import annotations

import logging
import re
import time

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ContextTypes,
    ExtBot,
)

from bot.champions.clock import SYSTEM_CLOCK, Clock
from bot.champions.desk import TAP_PREFIXES, ChampionDesk
from bot.champions.dispatcher import Blocked, Dispatcher, SendFailed, Throttled, Undeliverable, Unsure
from bot.channels.telegram.delivery import answer_query, edit_pressed, keyboard, send_messages
from bot.channels.telegram.handlers import ROUTER, SERVICES, visitor_of
from bot.channels.telegram.pacing import Lane
from bot.channels.telegram.splitting import split_message
from bot.conversation import Message, Outcome
from bot.router import Router
from bot.services import Services

log = logging.getLogger(__name__)

DESK = "champion_desk"
DISPATCHER = "nudge_dispatcher"
CLOCK = "clock"
#: The desk's callback_data prefixes (bot.callbacks); every other press is the coach's.
CALLBACK_PATTERN = "^[" + "".join(re.escape(prefix) for prefix in TAP_PREFIXES) + "]"
JOB_NAME = "nudge-dispatcher"
#: How long one sweep job keeps claiming full batches before it lets the next tick start afresh.
SWEEP_JOB_SECONDS = 240.0


class TelegramNudgeSender:
    """Sends one nudge message in the bulk lane, split under Telegram's length limit; maps errors.

    The bot's flood control (pacing.FloodControl) paces it behind replies and waits out 429s; a
    429 still there after its retries becomes Throttled, and the nudge is handed back for later.
    """

    def __init__(self, bot: ExtBot) -> None:  # type: ignore[type-arg]
        self.bot = bot

    async def send(self, chat_id: int, message: Message) -> None:
        parts = split_message(message.text)
        for index, part in enumerate(parts):
            markup = keyboard(message.buttons) if index == len(parts) - 1 else None
            try:
                await self._send_part(chat_id, part, markup)
            except (Blocked, Undeliverable, Unsure, Throttled) as error:
                raise (SendFailed(index, error) if index else error) from error

    async def _send_part(self, chat_id: int, text: str, markup: object) -> None:
        try:
            await self.bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,  # type: ignore[arg-type]
                rate_limit_args=Lane.BULK,
            )
        except RetryAfter as error:
            raise Throttled(f"429 after the flood control's retries: {error.message}") from error
        except Forbidden as error:
            raise Blocked(error.message) from error
        except BadRequest as error:
            raise Undeliverable(error.message) from error
        except (TimedOut, NetworkError) as error:
            raise Unsure(error.message) from error
        except TelegramError as error:
            raise Undeliverable(error.message) from error


# -- wiring ------------------------------------------------------------------------------------------


def register_handlers(application: Application) -> None:  # type: ignore[type-arg]
    """The desk's buttons, before the coach's generic ones. Its commands and a dialogue's typed
    answers reach it through the router (handlers.on_command, handlers.on_text)."""
    application.add_handler(CallbackQueryHandler(on_tap, pattern=CALLBACK_PATTERN))


def start(application: Application) -> None:  # type: ignore[type-arg]
    """Called from post_init once the services are open: the desk, the dispatcher and its job."""
    services: Services = application.bot_data[SERVICES]
    clock: Clock = application.bot_data.setdefault(CLOCK, SYSTEM_CLOCK)
    services.coach.clock = clock
    desk = ChampionDesk(services.database, services.coach, services.settings, clock)
    application.bot_data[DESK] = desk
    application.bot_data[ROUTER] = Router(services.coach, desk)
    application.bot_data[DISPATCHER] = Dispatcher(
        services.database, TelegramNudgeSender(application.bot), services.catalog, services.settings, clock
    )
    if application.job_queue is None:
        log.warning("no job queue: nudges are not sent (install python-telegram-bot[job-queue])")
        return
    interval = services.settings.dispatch_seconds
    application.job_queue.run_repeating(
        sweep_job,
        interval=interval,
        first=interval,
        name=JOB_NAME,
        job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
    )


def use_clock(application: Application, clock: Clock) -> None:  # type: ignore[type-arg]
    """Points the coach, the desk and the dispatcher at another clock (tests move a ManualClock)."""
    application.bot_data[CLOCK] = clock
    if SERVICES in application.bot_data:
        application.bot_data[SERVICES].coach.clock = clock
    for key in (DESK, DISPATCHER):
        if key in application.bot_data:
            application.bot_data[key].clock = clock


def dispatcher_of(application: Application) -> Dispatcher:  # type: ignore[type-arg]
    found: Dispatcher = application.bot_data[DISPATCHER]
    return found


async def sweep_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The repeating job: sweeps while batches come back full (a fan-out keeps the pipe filled
    instead of idling until the next tick); an error is logged and the next tick tries again."""
    dispatcher: Dispatcher | None = context.bot_data.get(DISPATCHER)
    if dispatcher is None:
        return
    started = time.monotonic()
    try:
        while True:
            report = await dispatcher.sweep()
            if report.claimed < dispatcher.batch or time.monotonic() - started > SWEEP_JOB_SECONDS:
                break
    except Exception:
        log.exception("nudges.sweep_failed")


# -- handlers ----------------------------------------------------------------------------------------


def _desk(context: ContextTypes.DEFAULT_TYPE) -> ChampionDesk:
    desk: ChampionDesk = context.bot_data[DESK]
    return desk


async def on_tap(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on a desk button: answered always, edited in place where the outcome says so."""
    query, visitor = update.callback_query, visitor_of(update)
    if query is None or visitor is None:
        return
    chat_id = query.message.chat.id if query.message else int(visitor.external_id)
    outcome = Outcome()
    try:
        outcome = await _desk(context).tap(visitor, query.data or "", update_id=update.update_id)
    finally:
        await answer_query(query, outcome.notice)
    if outcome.duplicate:
        return
    await edit_pressed(query, outcome)
    await send_messages(context.bot, chat_id, outcome)
