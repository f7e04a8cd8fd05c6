"""`coachbot webhook set URL` / `delete`: registered once from outside, so workers never race."""

from __future__ import annotations

from telegram import Bot, Update

from bot.channels.telegram.application import bot_token
from bot.settings import Settings


def _bot(settings: Settings) -> Bot:
    base = (settings.telegram_api_base_url or "https://api.telegram.org/bot").rstrip("/")
    return Bot(bot_token(settings), base_url=base if base.endswith("/bot") else f"{base}/bot")


async def set_webhook(settings: Settings, url: str, secret: str, max_connections: int = 40) -> str:
    """Points Telegram at the proxy in front of the workers; returns what Telegram then reports."""
    async with _bot(settings) as bot:
        await bot.set_webhook(
            url, secret_token=secret, allowed_updates=Update.ALL_TYPES, max_connections=max_connections
        )
        info = await bot.get_webhook_info()
    return f"webhook set: {info.url} (pending updates: {info.pending_update_count})"


async def delete_webhook(settings: Settings) -> str:
    """Back to long polling; pending updates are kept for the next `coachbot run`."""
    async with _bot(settings) as bot:
        await bot.delete_webhook(drop_pending_updates=False)
    return "webhook deleted"
