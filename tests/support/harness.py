"""Runs the real coach application (python-telegram-bot's HTTP stack) against the Bot API double."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from telegram.ext import Application

from bot.channels.telegram.application import build_application
from bot.channels.telegram.handlers import SERVICES
from bot.channels.telegram.runner import start_polling, stop_polling
from bot.services import Services
from bot.settings import Settings, load_settings
from tests.support.bot_api_double import BotApiDouble

#: Settings that let every nudge go at once: for tests and benches of sending itself (claims,
#: pacing, retries, sessions), whose clocks follow the real time of day. The nudge policy's own
#: tests (test_nudge_policy.py, test_commitments.py) run with the defaults.
ANY_TIME: dict[str, Any] = {
    "quiet_from": 24,
    "quiet_until": 0,
    "quiet_weekends": False,
    "max_nudges_per_week": 50,
}


def settings_for(api: BotApiDouble, database_url: str, **overrides: Any) -> Settings:
    """Settings as an operator would set them, pointed at the double and the test database."""
    return load_settings(
        telegram_bot_token=api.token,
        telegram_api_base_url=api.base_url,
        database_url=database_url,
        **overrides,
    )


@contextlib.asynccontextmanager
async def running_bot(api: BotApiDouble, database_url: str, **overrides: Any) -> AsyncIterator[Application]:  # type: ignore[type-arg]
    """The application polling the double; stopped (like SIGTERM would) on exit."""
    application = build_application(settings_for(api, database_url, **overrides))
    await start_polling(application)
    try:
        yield application
    finally:
        await stop_polling(application)


def services(application: Application) -> Services:  # type: ignore[type-arg]
    """The services the running application opened in post_init."""
    found: Services = application.bot_data[SERVICES]
    return found
