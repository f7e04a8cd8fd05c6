"""Runs the application (long polling, or as a webhook worker) until SIGINT/SIGTERM.

Our own small loop rather than Application.run_polling, so tests drive the very same start and
stop sequence and start-up failures become one clear line instead of a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import signal
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from aiohttp import web
from telegram import Update
from telegram.error import InvalidToken, NetworkError, TelegramError, TimedOut
from telegram.ext import Application

from bot.channels.telegram.application import ConfigurationError, build_application
from bot.channels.telegram.handlers import SERVICES
from bot.channels.telegram.webhook import WebhookWorker
from bot.settings import Settings

log = logging.getLogger(__name__)

EXIT_CONFIG = 2
EXIT_UNREACHABLE = 1
#: Telegram's rule for secret_token.
SECRET_FORMAT = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
PROCESSED_UPDATES_KEPT = timedelta(days=3)
HOUSEKEEPING_EVERY = 3600.0

App = Application  # type: ignore[type-arg]


async def _open(application: App) -> None:
    """initialize → post_init: the order Application.run_polling uses."""
    await application.initialize()
    if application.post_init:
        await application.post_init(application)


async def _close(application: App) -> None:
    """The reverse, tolerant of a half-started application."""
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
    if application.post_shutdown:
        await application.post_shutdown(application)
    await application.shutdown()


async def start_polling(application: App) -> None:
    """Open, poll, start."""
    await _open(application)
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0.0, timeout=10, allowed_updates=Update.ALL_TYPES, drop_pending_updates=False
    )
    await application.start()


async def stop_polling(application: App) -> None:
    await _close(application)


async def start_webhook_worker(
    application: App, listen: str, port: int, url_path: str, secret: str
) -> web.AppRunner:
    """Open, start, listen; never calls setWebhook (`coachbot webhook set` does, once)."""
    await _open(application)
    await application.start()
    runner = web.AppRunner(WebhookWorker(application, url_path, secret).web_app(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, listen, port).start()
    return runner


async def stop_webhook_worker(application: App, runner: web.AppRunner | None) -> None:
    """Stop taking requests first, then let the application finish what it holds."""
    if runner is not None:
        await runner.cleanup()
    await _close(application)


async def _serve(
    application: App,
    start: Callable[[], Awaitable[object]],
    stop_all: Callable[[], Awaitable[None]],
    stop: asyncio.Event | None,
) -> int:
    """Start, wait for a stop signal, stop; start-up failures become one line and an exit code."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await start()
    except (TelegramError, OSError) as error:
        with contextlib.suppress(Exception):
            await stop_all()
        return _explain(error)
    log.info("bot.started", extra={"mode": "webhook" if application.updater is None else "polling"})
    housekeeping = asyncio.create_task(_housekeeping(application))
    try:
        await stop.wait()
    finally:
        housekeeping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await housekeeping
        log.info("bot.stopping")
        await stop_all()
    return 0


def _explain(error: BaseException) -> int:
    if isinstance(error, InvalidToken):
        return _fail(
            "Telegram rejected the token (TELEGRAM_BOT_TOKEN); check it with @BotFather", EXIT_CONFIG
        )
    if isinstance(error, NetworkError | TimedOut):
        return _fail(f"cannot reach the Telegram Bot API: {_reason(error)}", EXIT_UNREACHABLE)
    if isinstance(error, TelegramError):
        return _fail(f"Telegram refused to start the bot: {_reason(error)}", EXIT_UNREACHABLE)
    if isinstance(error, OSError):
        return _fail(f"cannot listen: {error.strerror or error}", EXIT_UNREACHABLE)
    return _fail(str(error), EXIT_UNREACHABLE)


async def serve(settings: Settings, stop: asyncio.Event | None = None) -> int:
    """Long polling until stopped; returns the exit code."""
    application = build_application(settings)
    return await _serve(
        application, lambda: start_polling(application), lambda: stop_polling(application), stop
    )


async def serve_webhook(
    settings: Settings, listen: str, port: int, url_path: str, secret: str, stop: asyncio.Event | None = None
) -> int:
    """A webhook worker until stopped; returns the exit code."""
    application = build_application(settings, webhook=True)
    runners: list[web.AppRunner] = []

    async def start() -> None:
        runners.append(await start_webhook_worker(application, listen, port, url_path, secret))

    async def stop_all() -> None:
        await stop_webhook_worker(application, runners[0] if runners else None)

    return await _serve(application, start, stop_all, stop)


async def _housekeeping(application: App) -> None:
    """Forget processed update ids after a few days: Telegram redelivers within hours, not days."""
    while True:
        services = application.bot_data.get(SERVICES)
        if services is not None:
            try:
                async with services.database.transaction() as repo:
                    pruned = await repo.updates.prune_processed_updates(
                        datetime.now(UTC) - PROCESSED_UPDATES_KEPT
                    )
                log.info("housekeeping.pruned", extra={"rows": pruned})
            except Exception:
                log.warning("housekeeping.failed", exc_info=True)
        await asyncio.sleep(HOUSEKEEPING_EVERY)


def _reason(error: TelegramError) -> str:
    return str(error.message).splitlines()[0] if error.message else type(error).__name__


def _fail(message: str, code: int) -> int:
    print(f"coachbot: {message}", file=sys.stderr)
    return code


def webhook_secret(settings: Settings, given: str | None) -> str:
    """The secret from --secret-token or TELEGRAM_WEBHOOK_SECRET, checked against Telegram's rule."""
    secret = given or (
        settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    )
    if not secret:
        raise ConfigurationError("a webhook needs --secret-token or TELEGRAM_WEBHOOK_SECRET")
    if not SECRET_FORMAT.match(secret):
        raise ConfigurationError(
            "the webhook secret may hold only A-Z, a-z, 0-9, _ and -, up to 256 characters"
        )
    return secret


def run_webhook(settings: Settings, listen: str, port: int, url_path: str, secret: str | None) -> int:
    """`coachbot run --webhook …`."""
    try:
        return asyncio.run(serve_webhook(settings, listen, port, url_path, webhook_secret(settings, secret)))
    except ConfigurationError as error:
        return _fail(str(error), EXIT_CONFIG)
    except KeyboardInterrupt:
        return 0


def run_polling(settings: Settings) -> int:
    """`coachbot run`."""
    try:
        return asyncio.run(serve(settings))
    except ConfigurationError as error:
        return _fail(str(error), EXIT_CONFIG)
    except KeyboardInterrupt:
        return 0
