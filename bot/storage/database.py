"""The engine, the unit of work, the read API for reports, and the schema upgrade, over SQLAlchemy.

SQLite (one process, the default) and PostgreSQL (several webhook workers) behave the same from the
caller's side; the differences are contained in how connections are set up here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, event, make_url, select, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
)
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

from bot.storage.errors import StorageUnavailable
from bot.storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

_TRANSIENT = (OperationalError, InterfaceError, DisconnectionError, SQLAlchemyTimeoutError, OSError)


#: SQLSTATEs worth a retry: connection exceptions (08…), a server shutting down or starting up
#: (57P01-57P03), too many connections (53300), serialization failure and deadlock (40001, 40P01).
_TRANSIENT_STATES = frozenset({"57P01", "57P02", "57P03", "53300", "40001", "40P01"})


def is_transient(error: BaseException) -> bool:
    """A failure of the database connection rather than of the statement: worth a retry later.

    Covers a server that is down, restarting or full (connection refused, dropped, "starting up",
    "too many clients"), a pool that timed out, and SQLite's "database is locked"; an integrity
    error or a bug is not transient.
    """
    if isinstance(error, DBAPIError):
        if error.connection_invalidated:
            return True
        state = str(getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None) or "")
        if state.startswith("08") or state in _TRANSIENT_STATES:
            return True
    if isinstance(error, _TRANSIENT):
        return True
    cause = error.__cause__ or error.__context__
    return cause is not None and cause is not error and isinstance(cause, ConnectionError | OSError)


ALEMBIC_INI = Path(__file__).with_name("alembic.ini")

#: Arbitrary constant for pg_advisory_xact_lock: two workers starting at once must not both migrate.
_MIGRATION_LOCK_KEY = 0x5BC0AC4

#: Milliseconds a SQLite connection waits for the write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_MS = 15_000

#: Execution option naming how a SQLite transaction begins (see _sqlite_begin).
_SQLITE_BEGIN = "coachbot_sqlite_begin"


def alembic_config(url: str | None = None) -> Config:
    """Alembic's config for the packaged migrations; the URL travels in attributes, not in the ini."""
    config = Config(str(ALEMBIC_INI))
    if url is not None:
        config.attributes["url"] = url
    return config


@cache
def _script() -> ScriptDirectory:
    """Parsed once per process: ensure_schema runs at every start-up and should stay cheap."""
    return ScriptDirectory.from_config(alembic_config())


def script_heads() -> frozenset[str]:
    """The revision(s) the packaged migrations lead to."""
    return frozenset(_script().get_heads())


def _current_heads(connection: Connection) -> frozenset[str]:
    return frozenset(MigrationContext.configure(connection).get_current_heads())


def _sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    """Per-connection SQLite set-up.

    WAL lets readers run while one writer commits; foreign_keys is off by default in SQLite;
    busy_timeout makes a second writer wait instead of failing at once. isolation_level=None stops
    the sqlite3 module from issuing its own (late, DML-only) BEGIN, so _sqlite_begin decides.
    """
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """PRAGMA journal_mode needs a moment of exclusive access and, unlike other statements, can
    fail with "database is locked" without waiting on busy_timeout (seen when several workers open
    a new file together), so it is retried here for up to the busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except Exception as error:  # the driver's OperationalError, whichever module defines it
            if "locked" not in str(error).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _sqlite_begin(connection: Connection) -> None:
    """BEGIN IMMEDIATE by default: take the write lock up front.

    A deferred transaction that reads and then writes cannot wait for the lock (SQLite reports
    SQLITE_BUSY at once, busy_timeout notwithstanding, when its snapshot went stale), so read-modify-
    write turns are serialised at BEGIN instead: SQLite's equivalent of SELECT ... FOR UPDATE.
    Read-only work asks for DEFERRED so it never waits for writers.
    """
    mode = connection.get_execution_options().get(_SQLITE_BEGIN, "IMMEDIATE")
    connection.exec_driver_sql(f"BEGIN {mode}")


def _engine_options(url: URL) -> dict[str, Any]:
    if url.get_backend_name() == "sqlite":
        if url.database in (None, "", ":memory:"):
            return {}  # SQLAlchemy's StaticPool: one shared connection, for throwaway experiments only
        # One writer at a time anyway: a small pool makes waiting writers queue in the pool (FIFO,
        # no polling) rather than inside SQLite's busy handler.
        return {"pool_size": 4, "max_overflow": 0, "pool_timeout": 60}
    return {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 10, "pool_recycle": 1800}


class Database:
    """One per process, shared by every task: hands out units of work and read snapshots."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self._url = make_url(url)
        self._engine: AsyncEngine = create_async_engine(self._url, echo=echo, **_engine_options(self._url))
        if self.dialect == "sqlite":
            event.listen(self._engine.sync_engine, "connect", _sqlite_connect)
            event.listen(self._engine.sync_engine, "begin", _sqlite_begin)
            reader = self._engine.execution_options(**{_SQLITE_BEGIN: "DEFERRED"})
        else:
            reader = self._engine
        self._reader = reader
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)
        self._read_sessions = async_sessionmaker(reader, expire_on_commit=False)

    @property
    def url(self) -> URL:
        return self._url

    @property
    def dialect(self) -> str:
        """The backend name, "sqlite" or "postgresql": the few places that differ branch on it."""
        return self._url.get_backend_name()

    @property
    def engine(self) -> AsyncEngine:
        """For tests and tools that set up data in bulk; the bot itself goes through the methods below."""
        return self._engine

    @asynccontextmanager
    async def transaction(self, *, read_only: bool = False) -> AsyncIterator[UnitOfWork]:
        """One unit of work: commits on normal exit, rolls back on an exception.

        `read_only` only changes locking (on SQLite such a transaction does not take the write lock
        and so never waits for, or blocks, writers); it does not forbid writes.
        """
        sessions = self._read_sessions if read_only else self._sessions
        session: AsyncSession
        try:
            async with sessions() as session, session.begin():
                yield UnitOfWork(session)
        except Exception as error:
            if is_transient(error):
                raise StorageUnavailable(type(error).__name__) from error
            raise

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside one read transaction (one snapshot), for aggregate SQL such as reports.

        On SQLite the transaction begins DEFERRED, so a long report never takes the write lock and
        never makes a turn wait; on PostgreSQL it is an ordinary transaction.
        A failure to reach the database is raised as StorageUnavailable, as for a unit of work.
        """
        try:
            async with self._reader.connect() as connection, connection.begin():
                yield connection
        except Exception as error:
            if is_transient(error):
                raise StorageUnavailable(type(error).__name__) from error
            raise

    async def ping(self) -> bool:
        """Health check: False rather than an exception, so a probe can report it."""
        try:
            async with self._reader.connect() as connection:
                await connection.execute(select(1))
        except Exception:
            log.warning("database ping failed", exc_info=True)
            return False
        return True

    async def dispose(self) -> None:
        """Closes pooled connections; call once at shutdown."""
        await self._engine.dispose()

    async def current_heads(self) -> frozenset[str]:
        """The revision(s) the database is at; empty for a database never migrated."""
        async with self._reader.connect() as connection:
            return await connection.run_sync(_current_heads)

    async def upgrade(self) -> None:
        """Alembic `upgrade head` on this database, in one transaction."""
        self._make_sqlite_directory()
        async with self._engine.begin() as connection:
            await connection.run_sync(self._upgrade, False)

    async def ensure_schema(self) -> bool:
        """Upgrades an empty or outdated database; True when it did.

        The common case, an up-to-date database, costs one read of alembic_version. A database at a
        revision this code does not know (a newer release ran against it) is left alone with a warning.
        """
        self._make_sqlite_directory()
        heads = script_heads()
        current = await self.current_heads()
        if current == heads:
            return False
        unknown = [revision for revision in current if not _known(revision)]
        if unknown:
            log.warning("database is at unknown revision(s) %s; not migrating", ", ".join(unknown))
            return False
        async with self._engine.begin() as connection:
            return await connection.run_sync(self._upgrade, True)

    def _upgrade(self, connection: Connection, only_if_behind: bool) -> bool:
        """Runs inside the caller's transaction, which Alembic then uses for every migration step.

        The lock (an advisory lock on PostgreSQL, BEGIN IMMEDIATE on SQLite) makes workers that
        start together take turns; the check repeats under it because another may have finished.
        """
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        if only_if_behind and _current_heads(connection) == script_heads():
            return False
        config = alembic_config(self._url.render_as_string(hide_password=False))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        return True

    def _make_sqlite_directory(self) -> None:
        """A fresh install points DATABASE_URL at e.g. data/coachbot.db; SQLite will not create data/."""
        database = self._url.database
        if (
            self.dialect == "sqlite"
            and database
            and database != ":memory:"
            and not database.startswith("file:")
        ):
            Path(database).parent.mkdir(parents=True, exist_ok=True)


def _known(revision: str) -> bool:
    try:
        return _script().get_revision(revision) is not None
    except CommandError:
        return False
