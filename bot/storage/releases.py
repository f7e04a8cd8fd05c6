"""released_figures: the store of bot.reports.releases (one JSON payload per batch of releases)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.storage.models import released_figures_table


async def load_batches(connection: AsyncConnection) -> tuple[int, list[dict[str, Any]]]:
    """(latest batch number, every released month's payload, oldest batch first)."""
    table = released_figures_table
    rows = (await connection.execute(select(table.c.batch, table.c.payload).order_by(table.c.batch))).all()
    payloads = [month for _, payload in rows for month in payload["months"]]
    return (rows[-1][0] if rows else 0), payloads


class ReleaseRepository:
    """Writes batches of released figures inside a unit of work."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def store(self, batch: int, released_at: datetime, months: Sequence[dict[str, Any]]) -> None:
        """Stores one batch; raises IntegrityError when another report took the number first."""
        await self._session.execute(
            insert(released_figures_table).values(
                batch=batch, released_at=released_at, payload={"months": list(months)}
            )
        )
