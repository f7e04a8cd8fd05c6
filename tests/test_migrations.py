"""Migrations that move data, walked from an older revision holding data, on SQLite and PostgreSQL.

0003 turns the eight fear_*/cause_* columns of `assessments` into rows of `assessment_findings`.
SQLite runs with foreign keys on (as the app does), which is what would make a careless table
rebuild cascade the new rows away.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from sqlalchemy import Connection

from bot.storage.database import Database, alembic_config, script_heads
from bot.storage.models import assessment_findings_table

FEARS = ("unwanted_messages", "time_loss", "security", "role_loss")
CAUSES = ("middle_managers", "silo", "culture", "fear")
T0 = datetime(2026, 3, 1, 9, tzinfo=UTC)

#: The tables as revision 0002 has them (the models have moved on).
_meta = sa.MetaData()
_people = sa.Table(
    "people",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String),
    sa.Column("external_id", sa.String),
    sa.Column("created_at", sa.DateTime(timezone=True)),
)
_assessments = sa.Table(
    "assessments",
    _meta,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("person_id", sa.Integer),
    sa.Column("run_id", sa.Integer),
    sa.Column("assessed_at", sa.DateTime(timezone=True)),
    sa.Column("phase_presence_model", sa.String),
    sa.Column("phase_pilot_model", sa.String),
    sa.Column("lens", sa.String),
    sa.Column("scores", sa.JSON),
    *(sa.Column(f"fear_{f}", sa.Boolean) for f in FEARS),
    *(sa.Column(f"cause_{c}", sa.Boolean) for c in CAUSES),
)


def _flag_sets() -> Iterator[tuple[tuple[str, ...], tuple[str, ...]]]:
    """Every fear alone, every cause alone, none, all, and a few mixtures."""
    yield (), ()
    yield FEARS, CAUSES
    for fear in FEARS:
        yield (fear,), ()
    for cause in CAUSES:
        yield (), (cause,)
    yield ("time_loss", "role_loss"), ("silo", "fear")
    yield ("unwanted_messages", "security"), ("middle_managers",)


def _walk(connection: Connection, url: str, revision: str, down: bool) -> None:
    config = alembic_config(url)
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


async def _migrate(database: Database, revision: str, *, down: bool = False) -> None:
    """Alembic inside one of the app's own transactions (SQLite: BEGIN IMMEDIATE, foreign keys on)."""
    url = database.url.render_as_string(hide_password=False)
    async with database.engine.begin() as connection:
        await connection.run_sync(_walk, url, revision, down)


async def _columns(database: Database, table: str) -> set[str]:
    async with database.engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: {c["name"] for c in sa.inspect(sync).get_columns(table)}
        )


async def test_0003_moves_fears_and_causes_into_rows_and_back(unmigrated_database_url: str) -> None:
    database = Database(unmigrated_database_url)
    try:
        await _migrate(database, "0002")
        expected: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        async with database.engine.begin() as connection:
            people = await connection.execute(
                _people.insert().returning(_people.c.id),
                [{"channel": "telegram", "external_id": str(i), "created_at": T0} for i in range(3)],
            )
            person_ids = list(people.scalars())
            for index, (fears, causes) in enumerate(_flag_sets()):
                row = {
                    "person_id": person_ids[index % 3],
                    "run_id": index + 1,
                    "assessed_at": T0 + timedelta(days=index),
                    "phase_presence_model": "presence",
                    "phase_pilot_model": "pilot",
                    "lens": "six_cs.content",
                    "scores": {},
                    **{f"fear_{f}": f in fears for f in FEARS},
                    **{f"cause_{c}": c in causes for c in CAUSES},
                }
                new_id = await connection.execute(_assessments.insert().returning(_assessments.c.id), row)
                expected[new_id.scalar_one()] = (fears, causes)

        assert await database.ensure_schema() is True  # what the app does at start-up
        assert await database.current_heads() == script_heads()
        columns = await _columns(database, "assessments")
        assert not {c for c in columns if c.startswith(("fear_", "cause_"))}
        found: dict[int, tuple[tuple[str, ...], tuple[str, ...]]] = {}
        async with database.transaction(read_only=True) as repo:
            for person_id in person_ids:
                for assessment in await repo.assessments.assessments(person_id, limit=None):
                    assert assessment.id is not None
                    found[assessment.id] = (assessment.fears, assessment.causes)
        assert found == expected  # every flag moved, in the order the columns were reported in
        async with database.engine.connect() as connection:
            rows = await connection.scalar(sa.select(sa.func.count()).select_from(assessment_findings_table))
        assert rows == sum(len(f) + len(c) for f, c in expected.values())

        await _migrate(database, "0002", down=True)
        async with database.engine.connect() as connection:
            back = (await connection.execute(sa.select(_assessments))).mappings().all()
        assert {
            row["id"]: (
                tuple(f for f in FEARS if row[f"fear_{f}"]),
                tuple(c for c in CAUSES if row[f"cause_{c}"]),
            )
            for row in back
        } == expected
        assert "assessment_findings" not in await _tables(database)
    finally:
        await database.dispose()


async def _tables(database: Database) -> set[str]:
    async with database.engine.connect() as connection:
        return await connection.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))


async def test_0008_counts_people_whose_department_was_set_before_as_vouched(
    unmigrated_database_url: str,
) -> None:
    """Issue 14: reports count only vouched-for members; people who joined before the upgrade keep
    counting (their department was set before puppets were a concern), people without one do not."""
    database = Database(unmigrated_database_url)
    try:
        await _migrate(database, "0007")
        async with database.engine.begin() as connection:
            await connection.execute(
                sa.text("INSERT INTO departments (name, created_at) VALUES ('IT', :at), ('Sales', :at)"),
                {"at": T0},
            )
            ids = dict((await connection.execute(sa.text("SELECT name, id FROM departments"))).all())
            for external, department in (("1", ids["IT"]), ("2", ids["Sales"]), ("3", None)):
                await connection.execute(
                    sa.text(
                        "INSERT INTO people (channel, external_id, language, consent, created_at,"
                        " department_id) VALUES ('telegram', :e, 'nl', :c, :at, :d)"
                    ),
                    {"e": external, "c": True, "at": T0, "d": department},
                )
        await _migrate(database, "0008")
        async with database.engine.connect() as connection:
            rows = (
                await connection.execute(
                    sa.text("SELECT external_id, department_id, vouched_department_id FROM people")
                )
            ).all()
            vouched = {external: (department, vouch) for external, department, vouch in rows}
        assert vouched == {"1": (ids["IT"], ids["IT"]), "2": (ids["Sales"], ids["Sales"]), "3": (None, None)}
    finally:
        await database.dispose()
