"""bot.storage against both backends: the repositories of a unit of work, concurrency, and the schema."""

from __future__ import annotations

import asyncio
import tomllib
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.exc import StatementError

from bot.domain import AnswerRecord, Assessment, Person, Position, Role, Standing
from bot.storage.database import Database, alembic_config, script_heads
from bot.storage.errors import StaleVersion, StorageUnavailable
from bot.storage.models import FINDING_ID_MAX, Base, assessment_findings_table, people_table

ROOT = Path(__file__).resolve().parent.parent


async def _person(database: Database, external_id: str = "1001") -> Person:
    async with database.transaction() as repo:
        person = await repo.people.person_for_update("telegram", external_id)
    assert person is not None
    return person


def _assessment(person_id: int, **changes: object) -> Assessment:
    fields: dict[str, object] = {
        "person_id": person_id,
        "run_id": 1,
        "phase_presence_model": "explore",
        "phase_pilot_model": "pilot",
        "fears": ("time_loss", "security"),
        "causes": ("silo",),
        "lens": "team",
        "scores": {"presence": 3, "detail": [1, 2]},
    }
    fields.update(changes)
    return Assessment(**fields)  # type: ignore[arg-type]


# -- people ----------------------------------------------------------------------------------------


async def test_person_for_update_creates_once(database: Database) -> None:
    async with database.transaction() as repo:
        assert await repo.people.person_for_update("telegram", "7", create=False) is None
        first = await repo.people.person_for_update("telegram", "7")
        again = await repo.people.person_for_update("telegram", "7")
        other_channel = await repo.people.person_for_update("terminal", "7")
    assert first is not None
    assert again is not None
    assert other_channel is not None
    assert first.id == again.id != other_channel.id
    assert first.role is Role.EMPLOYEE
    assert first.consent is False
    assert first.reachable is True
    assert first.created_at is not None
    assert first.created_at.tzinfo is not None


async def test_save_person_round_trip(database: Database) -> None:
    person = await _person(database)
    async with database.transaction() as repo:
        department = await repo.departments.add_department("Sales")
        person.language = "nl"
        person.role = Role.CHAMPION
        person.standing = Standing.MIDDLE_MANAGER
        person.department_id = department.id
        person.consent = True
        person.reachable = False
        await repo.people.save_person(person)
    async with database.transaction() as repo:
        stored = await repo.people.person_for_update("telegram", person.external_id, create=False)
        assert await repo.people.person(person.id) == stored
    assert stored == person
    assert stored.standing is Standing.MIDDLE_MANAGER


async def test_save_person_unknown_raises(database: Database) -> None:
    async with database.transaction() as repo:
        with pytest.raises(LookupError):
            await repo.people.save_person(Person(id=999, channel="telegram", external_id="x"))


async def test_rollback_on_exception(database: Database) -> None:
    async def failing_turn() -> None:
        async with database.transaction() as repo:
            await repo.people.person_for_update("telegram", "rolled-back")
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await failing_turn()
    async with database.transaction() as repo:
        assert await repo.people.person_for_update("telegram", "rolled-back", create=False) is None


# -- positions ---------------------------------------------------------------------------------------


async def test_position_insert_then_update(database: Database) -> None:
    person = await _person(database)
    async with database.transaction() as repo:
        assert await repo.positions.position(person.id) is None
        values = {"answers": {"q1": "a"}, "count": 2, "nested": [1, {"x": None}]}
        first = Position(person.id, "check", "q1", values=values, run_id=3)
        saved = await repo.positions.save_position(first)
        assert saved.version == 1
        assert first.version == 0
        assert await repo.positions.position(person.id) == saved
        moved = await repo.positions.save_position(
            Position(person.id, "check", "q2", values={}, run_id=3, version=1)
        )
    async with database.transaction() as repo:
        stored = await repo.positions.position(person.id)
    assert stored == moved == Position(person.id, "check", "q2", values={}, run_id=3, version=2)


async def test_stale_version_from_an_old_copy(database: Database) -> None:
    person = await _person(database)
    async with database.transaction() as repo:
        current = await repo.positions.save_position(Position(person.id, "check", "q1"))
    async with database.transaction() as repo:
        await repo.positions.save_position(Position(person.id, "check", "q2", version=current.version))
    async with database.transaction() as repo:
        with pytest.raises(StaleVersion):
            await repo.positions.save_position(Position(person.id, "check", "q3", version=current.version))
        with pytest.raises(StaleVersion):
            await repo.positions.save_position(Position(person.id, "check", "q3", version=0))
        # The failed writes leave the transaction usable (no aborted PostgreSQL transaction).
        stored = await repo.positions.position(person.id)
    assert stored is not None
    assert (stored.state, stored.version) == ("q2", 2)


async def test_stale_version_when_two_first_writers_race(database: Database) -> None:
    person = await _person(database)
    async with database.transaction() as repo:
        await repo.positions.save_position(Position(person.id, "check", "q1"))
    async with database.transaction() as repo:
        with pytest.raises(StaleVersion):
            await repo.positions.save_position(Position(person.id, "intro", "start"))


@pytest.mark.postgres
async def test_concurrent_save_position_one_wins(postgres_database: Database) -> None:
    """Two transactions holding version 1: the second UPDATE blocks on the row, then finds it moved."""
    database = postgres_database
    person = await _person(database)
    async with database.transaction() as repo:
        await repo.positions.save_position(Position(person.id, "check", "q1"))
    both_read = asyncio.Barrier(2)
    first_saved = asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with database.transaction() as repo:
            position = await repo.positions.position(person.id)
            assert position is not None
            await both_read.wait()
            await repo.positions.save_position(
                Position(person.id, "check", "first", version=position.version)
            )
            first_saved.set()
            await asyncio.sleep(0.3)
            order.append("first commits")

    async def second() -> None:
        async with database.transaction() as repo:
            position = await repo.positions.position(person.id)
            assert position is not None
            await both_read.wait()
            await first_saved.wait()
            order.append("second saves")
            try:
                await repo.positions.save_position(
                    Position(person.id, "check", "second", version=position.version)
                )
            except StaleVersion:
                order.append("second is stale")

    await asyncio.wait_for(asyncio.gather(first(), second()), timeout=10)
    assert order == ["second saves", "first commits", "second is stale"]
    async with database.transaction() as repo:
        stored = await repo.positions.position(person.id)
    assert stored is not None
    assert (stored.state, stored.version) == ("first", 2)


# -- concurrency of person_for_update --------------------------------------------------------------


async def test_person_for_update_serialises_transactions(database: Database) -> None:
    """The second turn for a person waits until the first commits (row lock; BEGIN IMMEDIATE on SQLite)."""
    person = await _person(database)
    first_locked = asyncio.Event()
    order: list[str] = []

    async def first() -> None:
        async with database.transaction() as repo:
            await repo.people.person_for_update("telegram", person.external_id)
            order.append("first locked")
            first_locked.set()
            await asyncio.sleep(0.3)
            order.append("first commits")

    async def second() -> None:
        await first_locked.wait()
        order.append("second asks")
        async with database.transaction() as repo:
            await repo.people.person_for_update("telegram", person.external_id)
            order.append("second locked")

    await asyncio.wait_for(asyncio.gather(first(), second()), timeout=20)
    assert order == ["first locked", "second asks", "first commits", "second locked"]


async def test_concurrent_first_contact_creates_one_person(database: Database) -> None:
    async def arrive() -> int:
        async with database.transaction() as repo:
            person = await repo.people.person_for_update("telegram", "new")
            assert person is not None
            await asyncio.sleep(0.05)
            return person.id

    ids = await asyncio.wait_for(asyncio.gather(*(arrive() for _ in range(5))), timeout=30)
    assert len(set(ids)) == 1
    async with database.engine.connect() as connection:
        count = await connection.scalar(select(func.count()).select_from(people_table))
    assert count == 1


# -- answers, assessments, personal data -------------------------------------------------------------


async def test_add_answers_bulk_thousand(database: Database) -> None:
    person = await _person(database)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    records = [
        AnswerRecord(
            person_id=person.id,
            run_id=1 + i // 500,
            dialogue="check",
            question=f"q{i % 40}",
            option=None if i % 3 == 0 else f"o{i % 4}",
            text="free text" if i % 3 == 0 else None,
            answered_at=start + timedelta(seconds=i),
        )
        for i in range(1000)
    ]
    async with database.transaction() as repo:
        await repo.answers.add_answers(list(reversed(records)))
        await repo.answers.add_answers([])
    async with database.transaction() as repo:
        data = await repo.personal_data(person.id)
    assert data.answers == tuple(records)


async def test_answers_without_timestamp_get_now(database: Database) -> None:
    person = await _person(database)
    before = datetime.now(UTC)
    async with database.transaction() as repo:
        await repo.answers.add_answers([AnswerRecord(person.id, 1, "check", "q1", option="yes")])
        data = await repo.personal_data(person.id)
    (answer,) = data.answers
    assert answer.answered_at is not None
    assert answer.answered_at >= before - timedelta(seconds=1)


async def test_assessments_round_trip_newest_first(database: Database) -> None:
    person = await _person(database)
    base = datetime(2026, 3, 1, 12, tzinfo=UTC)
    async with database.transaction() as repo:
        department = await repo.departments.add_department("Operations")
        stored = [
            await repo.assessments.add_assessment(
                _assessment(
                    person.id,
                    run_id=run,
                    assessed_at=base + timedelta(days=run),
                    department_id=department.id,
                    standing="employee",
                )
            )
            for run in range(1, 13)
        ]
        everything = await repo.assessments.add_assessment(
            _assessment(
                person.id,
                run_id=13,
                fears=("role_loss", "security", "role_loss", "time_loss"),
                causes=("fear", "silo"),
                lens=None,
            )
        )
    assert all(a.id is not None for a in stored)
    async with database.transaction() as repo:
        latest = await repo.assessments.assessments(person.id)
        two = await repo.assessments.assessments(person.id, limit=2)
    assert latest[0] == everything
    assert latest[0].fears == ("role_loss", "security", "time_loss")  # as given, each once
    assert latest[0].causes == ("fear", "silo")
    assert latest[1:] == list(reversed(stored))[:9]
    assert two == latest[:2]
    assert latest[1].scores == {"presence": 3, "detail": [1, 2]}
    assert latest[1].department_id == department.id
    assert latest[1].standing == "employee"


async def test_a_fear_the_schema_never_heard_of_is_stored_and_read_back(database: Database) -> None:
    """Fears and causes are rows: a fear added to knowledge/ tomorrow needs no migration."""
    person = await _person(database)
    new_fear = "x" * FINDING_ID_MAX
    async with database.transaction() as repo:
        stored = await repo.assessments.add_assessment(
            _assessment(person.id, fears=("fomo", new_fear, "time_loss"), causes=("no_budget",))
        )
    async with database.transaction(read_only=True) as repo:
        (read,) = await repo.assessments.assessments(person.id)
        data = await repo.personal_data(person.id)
    assert read == stored == data.assessments[0]
    assert read.fears == ("fomo", new_fear, "time_loss")
    assert read.causes == ("no_budget",)


@pytest.mark.parametrize("fears", [("",), ("x" * (FINDING_ID_MAX + 1),)])
async def test_a_fear_id_the_column_cannot_hold_is_refused(
    database: Database, fears: tuple[str, ...]
) -> None:
    person = await _person(database)
    async with database.transaction() as repo:
        with pytest.raises(ValueError, match="fear or cause id"):
            await repo.assessments.add_assessment(_assessment(person.id, fears=fears))
        assert await repo.assessments.assessments(person.id) == []


async def test_an_assessment_without_fears_or_causes(database: Database) -> None:
    person = await _person(database)
    async with database.transaction() as repo:
        stored = await repo.assessments.add_assessment(_assessment(person.id, fears=(), causes=()))
    async with database.transaction() as repo:
        assert await repo.assessments.assessments(person.id) == [stored]
    assert (stored.fears, stored.causes) == ((), ())


async def test_personal_data(database: Database) -> None:
    person = await _person(database)
    t0 = datetime(2026, 2, 1, tzinfo=UTC)
    async with database.transaction() as repo:
        department = await repo.departments.add_department("Finance")
        person.department_id = department.id
        await repo.people.save_person(person)
        await repo.answers.add_answers(
            [
                AnswerRecord(person.id, 1, "check", "q2", option="b", answered_at=t0 + timedelta(minutes=2)),
                AnswerRecord(person.id, 1, "check", "q1", option="a", answered_at=t0 + timedelta(minutes=1)),
            ]
        )
        older = await repo.assessments.add_assessment(_assessment(person.id, assessed_at=t0))
        newer = await repo.assessments.add_assessment(
            _assessment(person.id, run_id=2, assessed_at=t0 + timedelta(days=1))
        )
        someone_else = await repo.people.person_for_update("telegram", "other")
        assert someone_else is not None
        await repo.answers.add_answers([AnswerRecord(someone_else.id, 1, "check", "q1", option="z")])
    async with database.transaction(read_only=True) as repo:
        data = await repo.personal_data(person.id)
        with pytest.raises(LookupError):
            await repo.personal_data(12345)
    assert data.person == person
    assert data.department == "Finance"
    assert [a.question for a in data.answers] == ["q1", "q2"]
    assert data.assessments == (newer, older)


# -- forget ----------------------------------------------------------------------------------------------


def _tables_referring_to_people() -> list[tuple[str, str]]:
    return [
        (table.name, fk.parent.name)
        for table in Base.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == "people"
    ]


async def _rows_referring_to(database: Database, person_id: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    async with database.engine.connect() as connection:
        for table_name, column in [("people", "id"), *_tables_referring_to_people()]:
            table = Base.metadata.tables[table_name]
            counts[table_name] = (
                await connection.scalar(
                    select(func.count()).select_from(table).where(table.c[column] == person_id)
                )
                or 0
            )
    return counts


async def test_forget_person_leaves_nothing(database: Database) -> None:
    # Every table that can refer to a person; a new one must be added here and handled by forget.
    assert {name for name, _ in _tables_referring_to_people()} == {
        "answers",
        "assessments",
        "commitments",
        "dialogue_positions",
        "inspiration_sessions",
        "invites",
        "nudges",
        "session_champions",
        "session_drafts",
    }
    coach_tables = {"people", "answers", "assessments", "dialogue_positions", "commitments"}
    person = await _person(database, "forget-me")
    keeper = await _person(database, "keep-me")
    for someone in (person, keeper):
        async with database.transaction() as repo:
            await repo.positions.save_position(Position(someone.id, "check", "q1"))
            await repo.answers.add_answers([AnswerRecord(someone.id, 1, "check", "q1", option="a")])
            stored = await repo.assessments.add_assessment(_assessment(someone.id))
            await repo.commitments.add_commitment(
                person_id=someone.id,
                step="employee_share_a_tip",
                made_at=datetime(2026, 12, 1, 10, tzinfo=UTC),
                followup_due_at=datetime(2026, 12, 8, 10, tzinfo=UTC),
                assessment_id=stored.id,
                department_id=None,
            )
    before = await _rows_referring_to(database, person.id)
    assert all(before[name] for name in coach_tables)
    async with database.engine.connect() as connection:
        findings_before = await connection.scalar(select(func.count()).select_from(assessment_findings_table))
    async with database.transaction() as repo:
        await repo.forget_person(person.id)
    assert set((await _rows_referring_to(database, person.id)).values()) == {0}
    async with database.engine.connect() as connection:
        findings_after = await connection.scalar(select(func.count()).select_from(assessment_findings_table))
    assert (findings_before, findings_after) == (6, 3)  # three each (two fears, one cause); the keeper's stay
    kept = await _rows_referring_to(database, keeper.id)
    assert {kept[name] for name in coach_tables} == {1}
    async with database.transaction() as repo:
        assert await repo.people.person_for_update("telegram", "forget-me", create=False) is None


# -- processed updates -----------------------------------------------------------------------------------


async def test_claim_update_once(database: Database) -> None:
    async with database.transaction() as repo:
        assert await repo.updates.claim_update(123_456_789_012) is True
        assert await repo.updates.claim_update(123_456_789_012) is False
    async with database.transaction() as repo:
        assert await repo.updates.claim_update(123_456_789_012) is False
        assert await repo.updates.claim_update(5) is True


async def test_prune_processed_updates(database: Database) -> None:
    async with database.transaction() as repo:
        for update_id in range(3):
            await repo.updates.claim_update(update_id)
    async with database.transaction() as repo:
        assert await repo.updates.prune_processed_updates(datetime.now(UTC) - timedelta(hours=1)) == 0
        assert await repo.updates.prune_processed_updates(datetime.now(UTC) + timedelta(seconds=1)) == 3
        assert await repo.updates.claim_update(1) is True


# -- departments ---------------------------------------------------------------------------------------


async def test_departments_add_list_find(database: Database) -> None:
    async with database.transaction() as repo:
        sales = await repo.departments.add_department("  Sales \t and   Marketing ")
        it = await repo.departments.add_department("IT")
        hr = await repo.departments.add_department("human resources")
        assert sales.name == "Sales and Marketing"
        assert await repo.departments.departments() == [hr, it, sales]
        assert await repo.departments.department(it.id) == it
        assert await repo.departments.department(9999) is None
        assert await repo.departments.department_by_name("sales AND marketing") == sales
        assert await repo.departments.department_by_name("  it ") == it
        assert await repo.departments.department_by_name("Legal") is None
        assert await repo.departments.department_by_name("   ") is None


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
async def test_department_invalid_names(database: Database, name: str) -> None:
    async with database.transaction() as repo:
        with pytest.raises(ValueError, match="department name"):
            await repo.departments.add_department(name)
        assert await repo.departments.departments() == []


async def test_department_name_limit_is_inclusive(database: Database) -> None:
    async with database.transaction() as repo:
        department = await repo.departments.add_department("x" * 64)
    assert len(department.name) == 64


async def test_department_duplicates_ignore_case_and_spaces(database: Database) -> None:
    async with database.transaction() as repo:
        await repo.departments.add_department("Zoë Team")
        for duplicate in ("Zoë Team", "zoë team", " ZOË   TEAM "):
            with pytest.raises(ValueError, match="already exists"):
                await repo.departments.add_department(duplicate)
        assert len(await repo.departments.departments()) == 1


async def test_rename_department(database: Database) -> None:
    async with database.transaction() as repo:
        sales = await repo.departments.add_department("Sales")
        await repo.departments.add_department("Support")
        assert await repo.departments.rename_department(sales.id, "sales") == sales.__class__(
            sales.id, "sales"
        )
        renamed = await repo.departments.rename_department(sales.id, " Sales  EMEA ")
        with pytest.raises(ValueError, match="already exists"):
            await repo.departments.rename_department(sales.id, "SUPPORT")
        with pytest.raises(ValueError, match="department name"):
            await repo.departments.rename_department(sales.id, " ")
        with pytest.raises(LookupError):
            await repo.departments.rename_department(9999, "Elsewhere")
    assert renamed.name == "Sales EMEA"
    async with database.transaction() as repo:
        assert await repo.departments.department(sales.id) == renamed


async def test_remove_department_keeps_people_and_history(database: Database) -> None:
    person = await _person(database)
    async with database.transaction() as repo:
        department = await repo.departments.add_department("Legal")
        person.department_id = department.id
        await repo.people.save_person(person)
        await repo.assessments.add_assessment(_assessment(person.id, department_id=department.id))
    async with database.transaction() as repo:
        await repo.departments.remove_department(department.id)
        with pytest.raises(LookupError):
            await repo.departments.remove_department(department.id)
    async with database.transaction() as repo:
        stored = await repo.people.person(person.id)
        (assessment,) = await repo.assessments.assessments(person.id)
        assert await repo.departments.departments() == []
    assert stored is not None
    assert stored.department_id is None
    assert assessment.department_id is None


# -- time zones ---------------------------------------------------------------------------------------------


async def test_timestamps_round_trip_as_aware_utc(database: Database) -> None:
    person = await _person(database)
    plus_two = timezone(timedelta(hours=2))
    local = datetime(2026, 6, 30, 23, 30, 15, 123456, tzinfo=plus_two)
    async with database.transaction() as repo:
        await repo.answers.add_answers(
            [AnswerRecord(person.id, 1, "check", "q1", option="a", answered_at=local)]
        )
        stored = await repo.assessments.add_assessment(_assessment(person.id, assessed_at=local))
    async with database.transaction() as repo:
        data = await repo.personal_data(person.id)
    for value in (data.answers[0].answered_at, data.assessments[0].assessed_at, data.person.created_at):
        assert value is not None
        assert value.utcoffset() == timedelta(0)
    assert data.answers[0].answered_at == local
    assert data.answers[0].answered_at is not None
    assert data.answers[0].answered_at.hour == 21  # 23:30 at +02:00, as UTC
    assert data.assessments[0] == stored
    assert data.assessments[0].assessed_at == local


async def test_naive_timestamps_are_refused(database: Database) -> None:
    person = await _person(database)
    async with database.transaction() as repo:
        with pytest.raises(StatementError, match="naive datetime"):
            await repo.answers.add_answers(
                [AnswerRecord(person.id, 1, "check", "q1", answered_at=datetime(2026, 1, 1))]
            )


async def test_time_range_queries_compare_instants(database: Database) -> None:
    """On SQLite timestamps are text: the UTC normalisation is what makes comparisons correct."""
    async with database.transaction() as repo:
        await repo.updates.claim_update(1)
    later_in_another_zone = datetime.now(timezone(timedelta(hours=-10))) + timedelta(minutes=1)
    async with database.transaction() as repo:
        assert await repo.updates.prune_processed_updates(later_in_another_zone) == 1


# -- schema and lifecycle ------------------------------------------------------------------------------------


async def test_migrations_match_the_models(database: Database) -> None:
    def differences(connection: object) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, Base.metadata))

    async with database.engine.connect() as connection:
        assert await connection.run_sync(differences) == []
    assert await database.current_heads() == script_heads()


async def test_ensure_schema_on_empty_file_then_no_op(tmp_path: Path) -> None:
    path = tmp_path / "coachbot.db"
    path.touch()
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        assert await database.current_heads() == frozenset()
        assert await database.ensure_schema() is True
        assert path.stat().st_size > 0
        assert await database.current_heads() == script_heads()
        assert await database.ensure_schema() is False
        async with database.transaction() as repo:
            assert await repo.updates.claim_update(1) is True
        assert await database.ensure_schema() is False
        async with database.transaction() as repo:
            assert await repo.updates.claim_update(1) is False  # data survived the no-op
    finally:
        await database.dispose()


async def test_ensure_schema_creates_a_missing_directory(tmp_path: Path) -> None:
    path = tmp_path / "data" / "coachbot.db"
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        assert await database.ensure_schema() is True
    finally:
        await database.dispose()
    assert path.exists()


async def test_ensure_schema_with_a_path_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    database = Database("sqlite+aiosqlite:///coachbot.db")
    try:
        assert await database.ensure_schema() is True
        assert await database.ping() is True
    finally:
        await database.dispose()
    assert (tmp_path / "coachbot.db").exists()


async def test_concurrent_ensure_schema_migrates_once(database_url: str) -> None:
    """Several workers starting together: one migrates, the others find the schema in place."""
    # The PostgreSQL session database is migrated already: there every racing start-up is a no-op.
    expected = {False} if database_url.startswith("postgresql") else {True, False}
    databases = [Database(database_url) for _ in range(3)]
    try:
        results = await asyncio.gather(*(db.ensure_schema() for db in databases))
    finally:
        for db in databases:
            await db.dispose()
    assert set(results) == expected
    assert results.count(True) <= 1


async def test_upgrade_is_idempotent(database: Database) -> None:
    await database.upgrade()
    assert await database.current_heads() == script_heads()


async def test_command_line_environment(tmp_path: Path) -> None:
    """env.py's own engine path (alembic CLI): upgrade, then `alembic check` finds no model drift."""
    config = alembic_config(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    config.attributes["configure_logging"] = False
    # env.py calls asyncio.run, which needs a thread without a running loop.
    await asyncio.to_thread(command.upgrade, config, "head")
    await asyncio.to_thread(command.check, config)
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}")
    try:
        assert await database.current_heads() == script_heads()
    finally:
        await database.dispose()


async def test_ping(database: Database) -> None:
    assert await database.ping() is True


async def test_ping_unreachable_is_false() -> None:
    database = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        assert await database.ping() is False
    finally:
        await database.dispose()


async def test_sqlite_connection_settings(sqlite_database: Database) -> None:
    async with sqlite_database.engine.connect() as connection:
        pragmas = {
            name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar()
            for name in ("journal_mode", "foreign_keys", "busy_timeout")
        }
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["foreign_keys"] == 1
    assert pragmas["busy_timeout"]
    assert int(pragmas["busy_timeout"]) >= 1000


async def test_sqlite_read_only_transaction_does_not_wait_for_a_writer(sqlite_database: Database) -> None:
    database = sqlite_database
    await _person(database, "reader-sees-me")
    writer_holds_lock = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with database.transaction() as repo:
            await repo.people.person_for_update("telegram", "writer")
            writer_holds_lock.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await writer_holds_lock.wait()
    try:
        async with asyncio.timeout(2), database.transaction(read_only=True) as repo:
            found = await repo.people.person_for_update("telegram", "reader-sees-me", create=False)
        assert found is not None
    finally:
        release.set()
        await task


async def test_read_snapshot_for_reports(database: Database) -> None:
    """Database.read(): the public way for aggregate SQL to read, on both backends."""
    await _person(database, "counted")
    async with database.read() as connection:
        assert await connection.scalar(select(func.count()).select_from(people_table)) == 1


async def test_sqlite_read_snapshot_does_not_wait_for_a_writer(sqlite_database: Database) -> None:
    """A report must never make a turn wait, nor wait for one: read() starts DEFERRED on SQLite."""
    database = sqlite_database
    await _person(database, "reader-sees-me")
    writer_holds_lock = asyncio.Event()
    release = asyncio.Event()

    async def writer() -> None:
        async with database.transaction() as repo:
            await repo.people.person_for_update("telegram", "writer")
            writer_holds_lock.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await writer_holds_lock.wait()
    try:
        async with asyncio.timeout(2), database.read() as connection:
            seen = await connection.scalar(select(func.count()).select_from(people_table))
        assert seen == 1  # the writer's uncommitted person is not in the snapshot
    finally:
        release.set()
        await task


async def test_read_from_an_unreachable_server_is_storage_unavailable() -> None:
    database = Database("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        with pytest.raises(StorageUnavailable):
            async with database.read() as connection:
                await connection.execute(select(1))
    finally:
        await database.dispose()


def test_packaging_ships_the_migrations() -> None:
    """`pip install .` must carry env.py, script.py.mako, every revision and alembic.ini."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["bot.storage"]
    storage = ROOT / "bot" / "storage"
    shipped = {path for pattern in patterns for path in storage.glob(pattern)}
    needed = {
        storage / "alembic.ini",
        storage / "migrations" / "env.py",
        *(storage / "migrations" / "versions").glob("*.py"),
    }
    assert needed <= shipped
    # script.py.mako is only needed to write new revisions, from a checkout; it is fine either way.
    assert (storage / "migrations" / "script.py.mako").exists()
