"""Dialogue positions: where each person stands in their current dialogue, under an optimistic lock."""

from __future__ import annotations

import dataclasses

from sqlalchemy import select, update

from bot.domain import Position
from bot.storage.errors import StaleVersion
from bot.storage.models import positions_table, utcnow
from bot.storage.sql import Repository


class PositionRepository(Repository):
    """The `dialogue_positions` rows, inside the caller's transaction."""

    async def position(self, person_id: int) -> Position | None:
        row = await self._one(select(positions_table).where(positions_table.c.person_id == person_id))
        if row is None:
            return None
        return Position(
            person_id=row["person_id"],
            dialogue=row["dialogue"],
            state=row["state"],
            values=dict(row["values"] or {}),
            run_id=row["run_id"],
            version=row["version"],
        )

    async def save_position(self, position: Position) -> Position:
        """Compare-and-set on `version`: a writer holding an old copy gets StaleVersion, not a lost update.

        Version 0 means "no row yet"; the INSERT ignores a conflict so that losing the race to
        another first writer does not abort the PostgreSQL transaction, and reports it as stale.
        Returns the position with its version incremented.
        """
        fields = {
            "dialogue": position.dialogue,
            "state": position.state,
            "values": dict(position.values),
            "run_id": position.run_id,
            "version": position.version + 1,
            "updated_at": utcnow(),
        }
        if position.version == 0:
            count = await self._rowcount(
                self._insert_ignoring_conflict(positions_table, "person_id"),
                {"person_id": position.person_id, **fields},
            )
        else:
            count = await self._rowcount(
                update(positions_table)
                .where(
                    positions_table.c.person_id == position.person_id,
                    positions_table.c.version == position.version,
                )
                .values(**fields)
            )
        if count != 1:
            raise StaleVersion(
                f"position of person {position.person_id} is no longer at version {position.version}"
            )
        return dataclasses.replace(position, values=dict(position.values), version=position.version + 1)
