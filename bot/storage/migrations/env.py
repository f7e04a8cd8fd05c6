"""Alembic environment for the coach's schema.

Two ways in: the app (bot.storage.database.Database) hands over a connection that is already inside
its transaction via config.attributes["connection"]; the command line gets an engine built from
`-x url=...` or, failing that, DATABASE_URL through bot.settings. alembic.ini carries no URL so a
real one is never committed.
"""

from __future__ import annotations

import asyncio
from logging.config import fileConfig
from typing import Any

from alembic import context
from sqlalchemy import Connection

from bot.storage.models import Base, UTCDateTime

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or context.get_x_argument(as_dictionary=True).get("url")
    if url:
        return str(url)
    from bot.settings import load_settings

    return load_settings().database_url


def _render_item(type_: str, obj: object, autogen_context: object) -> str | bool:  # noqa: ARG001 (alembic's hook signature)
    # Migrations must not import the models (they change; a migration must not), so the UTC
    # wrapper is written as the column type it stores.
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _options(dialect_name: str) -> dict[str, Any]:
    # SQLite cannot ALTER most things in place: batch mode rebuilds the table instead. Its DDL is
    # still transactional because Database issues a real BEGIN on every SQLite connection.
    sqlite = dialect_name == "sqlite"
    return {
        "target_metadata": target_metadata,
        "render_as_batch": sqlite,
        "transactional_ddl": True if sqlite else None,
        "compare_type": True,
        "render_item": _render_item,
    }


def run_migrations_offline() -> None:
    url = _url()
    options = _options(url.split(":", 1)[0].split("+", 1)[0])
    context.configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"}, **options)
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    context.configure(connection=connection, **_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    from bot.storage.database import Database

    database = Database(_url())
    try:
        async with database.engine.connect() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await database.dispose()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        do_run_migrations(connection)
        return
    if config.config_file_name is not None and config.attributes.get("configure_logging", True):
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    asyncio.run(run_async_migrations())


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
