"""The application factory: every handler, the rate limiter, and the services' lifecycle.

Long-lived services are opened in post_init and closed in post_shutdown, so the bot, the tests
and any runner build exactly the same thing.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from telegram import BotCommand, BotCommandScopeChat
from telegram.error import TelegramError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)

from bot import commands
from bot.channels.telegram import admin, champions, handlers
from bot.channels.telegram.ordering import PerPersonUpdates
from bot.channels.telegram.pacing import FloodControl
from bot.domain import Role
from bot.logs import redact_everywhere
from bot.services import open_services
from bot.settings import Settings

log = logging.getLogger(__name__)

TOKEN_FORMAT = re.compile(r"^\d{3,}:[A-Za-z0-9_-]{20,}$")
#: Languages with their own command menu; the first is also the default for everyone else.
MENU_LANGUAGES = ("en", "nl")


class ConfigurationError(Exception):
    """Something the operator must fix before the bot can start."""


def bot_token(settings: Settings) -> str:
    """The token, checked for shape so a typo fails at once with a clear line."""
    if settings.telegram_bot_token is None or not settings.telegram_bot_token.get_secret_value():
        raise ConfigurationError("TELEGRAM_BOT_TOKEN is not set; create a bot with @BotFather first")
    token = settings.telegram_bot_token.get_secret_value().strip()
    if not TOKEN_FORMAT.match(token):
        raise ConfigurationError("TELEGRAM_BOT_TOKEN is malformed; it looks like 123456789:AAE…")
    return token


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    settings: Settings = application.bot_data["settings"]
    services = await open_services(settings)
    application.bot_data[handlers.SERVICES] = services
    flood = application.bot.rate_limiter
    if isinstance(flood, FloodControl) and services.send_budget is not None:
        flood.share(services.send_budget)
    champions.start(application)  # the desk, and the nudge dispatcher as a repeating job
    await set_command_menus(application)


async def _post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    services = application.bot_data.pop(handlers.SERVICES, None)
    if services is not None:
        await services.close()


async def set_command_menus(application: Application) -> None:  # type: ignore[type-arg]
    """One menu per language via setMyCommands, from the command table; English is the default.
    Admins listed in the settings get the admins' menu in their own chat."""
    services = application.bot_data[handlers.SERVICES]
    render = services.catalog.renderer.render

    def menu(lang: str, role: Role) -> list[BotCommand]:
        return [BotCommand(spec.name, render(lang, spec.about)) for spec in commands.menu(role)]

    for lang in MENU_LANGUAGES:
        language_code = None if lang == MENU_LANGUAGES[0] else lang
        await application.bot.set_my_commands(menu(lang, Role.EMPLOYEE), language_code=language_code)
        admin_commands = menu(lang, Role.ADMIN)
        for admin_id in services.settings.admin_ids:
            try:
                await application.bot.set_my_commands(
                    admin_commands, scope=BotCommandScopeChat(admin_id), language_code=language_code
                )
            except TelegramError as error:  # e.g. an admin who never opened the chat: "chat not found"
                log.warning("menu.admin_failed", extra={"reason": error.message})


def build_application(settings: Settings, *, webhook: bool = False, paced: bool = True) -> Application:  # type: ignore[type-arg]
    """The Telegram application with every handler registered; nothing is opened yet.

    A webhook worker has no Updater: the web server hands it updates one request at a time.
    `paced=False` drops the flood-limit pacing: only for benchmarks that measure the coach's own
    capacity against a local double, never for Telegram itself.
    """
    token = bot_token(settings)
    redact_everywhere(token)
    # Typed loosely: rate_limiter() changes the builder's type parameter (the bot's rate-limit args).
    builder: ApplicationBuilder[Any, Any, Any, Any, Any, Any] = (
        Application.builder().token(token).post_init(_post_init).post_shutdown(_post_shutdown)
    )
    if paced:
        # New messages under Telegram's flood limits, replies ahead of nudges; 429s retried.
        builder = builder.rate_limiter(FloodControl(settings.send_rate))
    if webhook:
        # Requests of different people run at once, one person's in order. Polling stays one
        # update at a time: measured, concurrency there cost ~6 ms more CPU per update (interleaved
        # turns, more typing indicators) and gained no latency on two shared cores (bench/README.md).
        builder = builder.updater(None).concurrent_updates(PerPersonUpdates())
    if settings.telegram_api_base_url:
        base = settings.telegram_api_base_url.rstrip("/")
        builder = builder.base_url(base if base.endswith("/bot") else f"{base}/bot")
        builder = builder.base_file_url(base.removesuffix("/bot") + "/file/bot")
    application = builder.build()
    application.bot_data["settings"] = settings
    application.bot_data[handlers.MODE] = handlers.WEBHOOK if webhook else "polling"
    register_handlers(application)
    return application


def register_handlers(application: Application) -> None:  # type: ignore[type-arg]
    """The routing table, in priority order."""
    private = filters.ChatType.PRIVATE
    application.add_handler(ChatMemberHandler(handlers.on_membership, ChatMemberHandler.MY_CHAT_MEMBER))
    champions.register_handlers(application)  # before the generic command and button handlers
    reports = "|".join(admin.COMMANDS)
    admin_command = private & filters.UpdateType.MESSAGE & filters.Regex(rf"^/({reports})(@\w+)?(\s|$)")
    application.add_handler(MessageHandler(admin_command & filters.Regex(r"^/report"), admin.on_report))
    application.add_handler(MessageHandler(admin_command & filters.Regex(r"^/export"), admin.on_export))
    application.add_handler(CallbackQueryHandler(handlers.on_tap))
    application.add_handler(
        MessageHandler(filters.UpdateType.EDITED | filters.UpdateType.CHANNEL_POSTS, handlers.on_ignored)
    )
    application.add_handler(MessageHandler(private & filters.COMMAND, handlers.on_command))
    application.add_handler(MessageHandler(private & filters.TEXT, handlers.on_text))
    application.add_handler(MessageHandler(private, handlers.on_unsupported))
    application.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.COMMAND, handlers.on_group))
    application.add_handler(MessageHandler(filters.ChatType.GROUPS, handlers.on_ignored))
    application.add_error_handler(handlers.on_error)
