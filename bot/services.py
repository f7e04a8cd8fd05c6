"""Builds the long-lived services once: database, content catalog, coach.

The Telegram application (in post_init), the terminal chat and the tests all come through here,
so they run the very same objects.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass

from bot.coach import Coach
from bot.content.catalog import Catalog, load_catalog
from bot.sending import SendBudget
from bot.settings import Settings
from bot.storage.database import Database


@dataclass
class Services:
    """What a running coach holds: created at start-up, closed at shutdown."""

    settings: Settings
    database: Database
    catalog: Catalog
    coach: Coach
    #: Telegram's overall send limit shared with other workers; None: this process alone sends.
    send_budget: SendBudget | None = None

    async def close(self) -> None:
        await self.database.dispose()


async def open_services(settings: Settings, *, catalog: Catalog | None = None) -> Services:
    """Load content (failing fast on a content error), open and upgrade the database."""
    catalog = catalog or load_catalog(settings.dialogues_dir, settings.knowledge_dir)
    database = Database(settings.database_url)
    try:
        await database.ensure_schema()
    except BaseException:
        await database.dispose()
        raise
    # Webhook workers on one PostgreSQL share the bot's one budget; SQLite means one process.
    budget = database.send_budget(f"{socket.gethostname()[:60]}:{os.getpid()}", settings.send_rate)
    return Services(settings, database, catalog, Coach(database, catalog, settings), budget)
