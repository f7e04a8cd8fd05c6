"""Telegram update ids already handled, so a redelivered update is a no-op."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete

from bot.storage.models import processed_updates_table, utcnow
from bot.storage.sql import Repository


class UpdateRepository(Repository):
    """The `processed_updates` rows, inside the caller's transaction."""

    async def claim_update(self, update_id: int) -> bool:
        """True for the first claim of an update id; a redelivery (or a racing worker) gets False."""
        count = await self._rowcount(
            self._insert_ignoring_conflict(processed_updates_table, "update_id"),
            {"update_id": update_id, "processed_at": utcnow()},
        )
        return count == 1

    async def prune_processed_updates(self, older_than: datetime) -> int:
        """Telegram stops redelivering after a day, so older claims only cost space; returns the count."""
        return await self._rowcount(
            delete(processed_updates_table).where(processed_updates_table.c.processed_at < older_than)
        )
