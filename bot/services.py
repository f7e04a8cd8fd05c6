"""Builds the long-lived services once: database, content catalog, coach.

The Telegram application (in post_init), the terminal chat and the tests all come through here,
so they run the very same objects.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.coach import Coach
from bot.content.catalog import Catalog, load_catalog
from bot.settings import Settings
from bot.storage.database import Database


@dataclass
class Services:
    """What a running coach holds: created at start-up, closed at shutdown."""

    settings: Settings
    database: Database
    catalog: Catalog
    coach: Coach

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
    return Services(settings, database, catalog, Coach(database, catalog, settings))
