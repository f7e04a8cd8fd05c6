"""Shared test fixtures. Database fixtures: a migrated SQLite file per test, and a PostgreSQL database
created once per session and emptied before each test.

PostgreSQL comes from COACHBOT_TEST_PG_URL (default postgresql+asyncpg://postgres@127.0.0.1:5432/test);
that database is only used to CREATE/DROP a uniquely named one, so parallel runs do not collide. When
the server is unreachable PostgreSQL tests are skipped locally, and fail under CI (CI set).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from sqlalchemy import URL, make_url, text

from bot.storage.database import Database
from bot.storage.models import Base

DEFAULT_TEST_PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def _pg_base_url() -> URL:
    return make_url(os.environ.get("COACHBOT_TEST_PG_URL", DEFAULT_TEST_PG_URL))


async def _pg_admin_connection(url: URL) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=url.host,
        port=url.port,
        user=url.username,
        password=url.password,
        database=url.database,
        timeout=5,
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A destructive test stops the PostgreSQL server everything on this machine shares: it runs only
    when the caller says nothing else is using it (.ci/run does, after the everyday run)."""
    if os.environ.get("COACHBOT_ALLOW_DESTRUCTIVE") == "1":
        return
    skip = pytest.mark.skip(
        reason="stops the machine's shared PostgreSQL; runs only with COACHBOT_ALLOW_DESTRUCTIVE=1 "
        "(.ci/run sets it)"
    )
    for item in items:
        if "destructive" in item.keywords:
            item.add_marker(skip)


def sqlite_url(directory: Path) -> str:
    return f"sqlite+aiosqlite:///{directory / 'coachbot.db'}"


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def postgres_url() -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database for this test session; dropped at the end."""
    url = await _create_postgres_database("coachbot_test")
    database = Database(url)
    try:
        await database.upgrade()
    finally:
        await database.dispose()
    yield url
    await _drop_postgres_database(url)


async def _create_postgres_database(prefix: str) -> str:
    """A new, uniquely named, empty database on the test server; skips (fails under CI) without one."""
    base = _pg_base_url()
    shown = base.render_as_string(hide_password=True)
    try:
        admin = await _pg_admin_connection(base)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        reason = f"PostgreSQL is not reachable at {shown}: {exc!r}"
        if os.environ.get("CI"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(4)}"
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return base.set(database=name).render_as_string(hide_password=False)


async def _drop_postgres_database(url: str) -> None:
    admin = await _pg_admin_connection(_pg_base_url())
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await admin.close()


async def _emptied_postgres(url: str) -> Database:
    database = Database(url)
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    async with database.engine.begin() as connection:
        await connection.execute(text(f"TRUNCATE TABLE {tables} RESTART IDENTITY CASCADE"))
    return database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Sync on purpose: it may pull in the session-scoped PostgreSQL fixture, which runs on its own loop."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path)
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest_asyncio.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    """An empty, migrated database: once per backend (SQLite, PostgreSQL)."""
    if database_url.startswith("sqlite"):
        database = Database(database_url)
        await database.ensure_schema()
    else:
        database = await _emptied_postgres(database_url)
    yield database
    await database.dispose()


@pytest_asyncio.fixture
async def sqlite_database(tmp_path: Path) -> AsyncIterator[Database]:
    """An empty, migrated SQLite database, for SQLite-only behaviour."""
    database = Database(sqlite_url(tmp_path))
    await database.ensure_schema()
    yield database
    await database.dispose()


@pytest_asyncio.fixture
async def postgres_database(postgres_url: str) -> AsyncIterator[Database]:
    """An empty PostgreSQL database, for behaviour only PostgreSQL has (row locks, blocking UPDATEs).

    Tests using it should carry @pytest.mark.postgres so `-m "not postgres"` deselects them.
    """
    database = await _emptied_postgres(postgres_url)
    yield database
    await database.dispose()


@pytest.fixture
def clean_database_url(database: Database, database_url: str) -> str:  # noqa: ARG001 (migrates it)
    """The URL of an empty, migrated database, for code under test that opens its own engine."""
    return database_url


@pytest_asyncio.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def unmigrated_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database at no revision, once per backend, for tests that walk the migrations."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
        return
    url = await _create_postgres_database("coachbot_migrate")
    yield url
    await _drop_postgres_database(url)
