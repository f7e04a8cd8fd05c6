"""Less work per tap: a turn runs four SQL statements, and reads the departments only when another
process (or this one) changed them; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from bot.coach import Coach
from bot.content.catalog import load_catalog
from bot.conversation import Start, Tap
from bot.settings import load_settings
from bot.storage.database import Database
from tests.test_coaching import Chat


@contextmanager
def statements(database: Database) -> Iterator[list[str]]:
    """Every SQL statement the database's engine runs meanwhile (transaction control left out)."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:
        first = statement.split(None, 1)[0].upper()
        if first not in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            seen.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)


def _coach(database: Database) -> Coach:
    settings = load_settings()
    return Coach(database, load_catalog(settings.dialogues_dir, settings.knowledge_dir), settings)


async def test_a_tap_costs_four_statements_and_no_department_read(database: Database):
    chat = Chat(_coach(database), "4001")
    await chat.onboard("en")
    with statements(database) as seen:
        await chat.coach.handle(chat.visitor, Tap(chat.buttons[0].data), update_id=71)
    kinds = [s.split(None, 1)[0].upper() for s in seen]
    assert kinds == ["INSERT", "SELECT", "UPDATE", "INSERT"], seen  # claim, read, position, answer
    assert not any("FROM departments" in s for s in seen)


async def test_departments_changed_elsewhere_show_at_the_next_turn(database: Database, database_url: str):
    """`coachbot departments` runs in another process: its changes bump a revision every worker
    reads with its turn, so the list is reloaded then, and only then."""
    coach = _coach(database)
    elsewhere = Database(database_url)
    try:
        chat = Chat(coach, "4002")
        await chat.send(Start())
        await chat.tap("en")
        await chat.tap("yes")
        await chat.tap("employee")  # the department question is on screen
        assert chat.buttons and not any("Sales" in b.label for b in chat.buttons)
        async with elsewhere.transaction() as repo:
            sales = await repo.departments.add_department("Sales")
        await chat.send(Start())  # the question again, now with Sales
        assert any(b.label == "Sales" for b in chat.buttons)
        with statements(database) as seen:
            await chat.send(Start())
        assert not any("FROM departments" in s for s in seen)  # unchanged: from the cache
        async with elsewhere.transaction() as repo:
            await repo.departments.rename_department(sales.id, "Sales & Support")
        await chat.send(Start())
        assert any(b.label == "Sales & Support" for b in chat.buttons)
        async with elsewhere.transaction() as repo:
            await repo.departments.remove_department(sales.id)
        await chat.send(Start())
        assert not any("Sales" in b.label for b in chat.buttons)
    finally:
        await elsewhere.dispose()
