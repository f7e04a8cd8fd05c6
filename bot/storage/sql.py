"""What every repository module shares: the transaction's session and a few dialect-aware helpers.

Repositories issue Core statements on the session's connection rather than loading ORM instances:
every result is turned into a domain dataclass at once, so an identity map would only add cost and
the risk of stale objects after the UPDATE ... WHERE version = ? writes.
"""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Executable, Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession


class Repository:
    """Base of the per-aggregate repositories: all of one unit of work share one session."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session
        self._dialect = session.get_bind().dialect.name

    def _insert(self, table: Table) -> Insert:
        """A dialect INSERT, so ON CONFLICT DO NOTHING is available on both SQLite and PostgreSQL."""
        if self._dialect == "postgresql":
            return postgresql.insert(table)
        if self._dialect == "sqlite":
            return sqlite.insert(table)
        raise NotImplementedError(f"no upsert support for the {self._dialect} dialect")

    def _insert_ignoring_conflict(self, table: Table, *conflict_columns: str) -> Executable:
        stmt = self._insert(table)
        assert isinstance(stmt, postgresql.Insert | sqlite.Insert)
        return stmt.on_conflict_do_nothing(index_elements=list(conflict_columns))

    async def _rowcount(self, stmt: Executable, params: Any = None) -> int:
        result = cast(CursorResult[Any], await self._session.execute(stmt, params))
        return result.rowcount

    async def _one(self, stmt: Executable) -> RowMapping | None:
        return (await self._session.execute(stmt)).mappings().first()
