"""Runs the application with long polling until SIGINT/SIGTERM, then stops cleanly.

Our own small loop rather than Application.run_polling so tests drive the very same start and
stop sequence, and so start-up failures become one clear line instead of a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys

from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import Application

from bot.channels.telegram.application import ConfigurationError, build_application
from bot.settings import Settings

log = logging.getLogger(__name__)

EXIT_CONFIG = 2
EXIT_UNREACHABLE = 1


async def start_polling(application: Application) -> None:  # type: ignore[type-arg]
    """initialize → post_init → polling → start: the order Application.run_polling uses."""
    await application.initialize()
    if application.post_init:
        await application.post_init(application)
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
    )
    await application.start()


async def stop_polling(application: Application) -> None:  # type: ignore[type-arg]
    """The reverse, tolerant of a half-started application."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    if application.post_shutdown:
        await application.post_shutdown(application)
    await application.shutdown()


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Run until `stop` is set or a stop signal arrives; returns the exit code."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    application = build_application(settings)
    try:
        await start_polling(application)
    except InvalidToken:
        await _quiet_stop(application)
        return _fail(
            "Telegram rejected the token (TELEGRAM_BOT_TOKEN); check it with @BotFather", EXIT_CONFIG
        )
    except (NetworkError, TimedOut) as error:
        await _quiet_stop(application)
        return _fail(f"cannot reach the Telegram Bot API: {_reason(error)}", EXIT_UNREACHABLE)
    except TelegramError as error:
        await _quiet_stop(application)
        return _fail(f"Telegram refused to start the bot: {_reason(error)}", EXIT_UNREACHABLE)
    log.info("bot.started")
    try:
        await stop.wait()
    finally:
        log.info("bot.stopping")
        await stop_polling(application)
    return 0


async def _quiet_stop(application: Application) -> None:  # type: ignore[type-arg]
    with contextlib.suppress(Exception):
        await stop_polling(application)


def _reason(error: TelegramError) -> str:
    return str(error.message).splitlines()[0] if error.message else type(error).__name__


def _fail(message: str, code: int) -> int:
    print(f"coachbot: {message}", file=sys.stderr)
    return code


def run_polling(settings: Settings) -> int:
    """`coachbot run`."""
    try:
        return asyncio.run(serve(settings))
    except ConfigurationError as error:
        return _fail(str(error), EXIT_CONFIG)
    except KeyboardInterrupt:
        return 0
