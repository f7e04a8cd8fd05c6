"""The relational schema; the single source Alembic migrations are generated from and checked against.

Rows never leave bot.storage: the repositories map them to the plain dataclasses of bot.domain.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

#: Deterministic constraint names, so a migration written today can drop or alter a constraint later
#: on every backend (SQLite batch mode in particular needs the names).
NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DEPARTMENT_NAME_MAX = 64
#: Longest fear or cause id an assessment can name (knowledge/ ids; tests check they fit).
FINDING_ID_MAX = 48


def utcnow() -> datetime:
    """One clock for every default, so tests can reason about ordering."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on every backend.

    SQLite has no time zone type and SQLAlchemy drops tzinfo when it writes the text form, so values
    are normalised to UTC before storage (keeping text order equal to time order) and tagged UTC again
    when read. Naive values are refused: their meaning depends on the machine's clock setting.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r}: pass an aware (UTC) datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(
        self,
        value: datetime | None,
        dialect: Dialect,  # noqa: ARG002 (SQLAlchemy's TypeDecorator signature)
    ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    """Shares one MetaData carrying the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class DepartmentRow(Base):
    """The organisation's own department list; reports aggregate by its ids."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(DEPARTMENT_NAME_MAX), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Made by `coachbot demo-data` (migration 0008): never offered to real people, removed by
    #: `coachbot demo-data --remove`.
    demo: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class PersonRow(Base):
    """One person on one channel; (channel, external_id) is how an incoming update finds them."""

    __tablename__ = "people"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    language: Mapped[str | None] = mapped_column(String(2))
    role: Mapped[str] = mapped_column(String(16), default="employee", server_default="employee")
    standing: Mapped[str | None] = mapped_column(String(24))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    consent: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    reachable: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Champions (migration 0002): reminders of sessions are opt-in, re-check offers opt-out.
    session_reminders: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    recheck_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # Privacy (migration 0008): the department an admin or champion vouched for (a department invite
    # link). Reports count an assessment only when its department is this one, so accounts that
    # merely name a department (puppets) never lift it over COACHBOT_MIN_GROUP.
    # No foreign key: SQLite can only add one by rebuilding `people` (see migration 0008); removing
    # a department clears it (DepartmentRepository.remove_department).
    vouched_department_id: Mapped[int | None] = mapped_column(Integer)

    # Commitments (migration 0006): "Niet meer vragen" under a follow-up turns these off.
    followup_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class ReleasedFiguresRow(Base):
    """One batch of released report figures (bot.reports.releases), kept as published.

    Anonymous aggregates only (counts per group and category, no person ids); /forget leaves them.
    The batch number is taken as max + 1 by whoever releases, so two reports releasing at the same
    moment collide on the key and the second one starts over against the first one's release.
    """

    __tablename__ = "released_figures"

    batch: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    released_at: Mapped[datetime]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)


class PositionRow(Base):
    """Where a person stands in their current dialogue; `version` is the optimistic lock."""

    __tablename__ = "dialogue_positions"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    dialogue: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(48))
    values: Mapped[dict[str, Any]] = mapped_column(JSON)
    run_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AnswerRow(Base):
    """Append-only answer log: rows are inserted and deleted (forget), never updated."""

    __tablename__ = "answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    run_id: Mapped[int] = mapped_column(Integer)
    dialogue: Mapped[str] = mapped_column(String(32))
    question: Mapped[str] = mapped_column(String(48))
    option: Mapped[str | None] = mapped_column(String(48))
    text: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime] = mapped_column(default=utcnow)


class AssessmentRow(Base):
    """One completed check; department and standing are copied in so history survives later moves."""

    __tablename__ = "assessments"
    __table_args__ = (
        Index("ix_assessments_person_id_assessed_at", "person_id", "assessed_at"),
        Index("ix_assessments_department_id_assessed_at", "department_id", "assessed_at"),
        Index("ix_assessments_assessed_at_phase_presence_model", "assessed_at", "phase_presence_model"),
        Index("ix_assessments_assessed_at_phase_pilot_model", "assessed_at", "phase_pilot_model"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(Integer)
    assessed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    phase_presence_model: Mapped[str] = mapped_column(String(24))
    phase_pilot_model: Mapped[str] = mapped_column(String(24))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    standing: Mapped[str | None] = mapped_column(String(24))
    lens: Mapped[str | None] = mapped_column(String(64))
    scores: Mapped[dict[str, Any]] = mapped_column(JSON)


class AssessmentFindingRow(Base):
    """A fear or cause one assessment found (migration 0003): rows, so a new one is a content change.

    `kind` is "fear" or "cause", `item` the knowledge id, `ordinal` its place in the assessment's list.
    """

    __tablename__ = "assessment_findings"

    assessment_id: Mapped[int] = mapped_column(
        ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    item: Mapped[str] = mapped_column(String(FINDING_ID_MAX), primary_key=True)
    ordinal: Mapped[int] = mapped_column(Integer)


class ProcessedUpdateRow(Base):
    """Telegram update ids already handled, so a redelivered update is ignored; pruned by age."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    processed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class SendSlotRow(Base):
    """One of the bot's message slots, shared by webhook workers (bot/storage/send_budget.py).

    Busy while a message is on its way and for a window after its answer; PostgreSQL only uses it.
    """

    __tablename__ = "send_slots"

    slot: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    busy_until: Mapped[datetime] = mapped_column()
    holder: Mapped[str | None] = mapped_column(String(80))


class RevisionRow(Base):
    """A counter per kind of rarely changed data (departments): processes cache that data and
    reload it when its counter moved, instead of reading it on every turn."""

    __tablename__ = "revisions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger)


def _table(row: type[Base]) -> Table:
    """Declarative classes type `__table__` loosely; the repositories want Core Tables."""
    table = row.__table__
    assert isinstance(table, Table)
    return table


departments_table = _table(DepartmentRow)
people_table = _table(PersonRow)
positions_table = _table(PositionRow)
answers_table = _table(AnswerRow)
assessments_table = _table(AssessmentRow)
assessment_findings_table = _table(AssessmentFindingRow)
processed_updates_table = _table(ProcessedUpdateRow)
send_slots_table = _table(SendSlotRow)
released_figures_table = _table(ReleasedFiguresRow)
revisions_table = _table(RevisionRow)

#: Every table holding a person's data by person_id, children first, for forget_person (the findings
#: of their assessments go first, by assessment).
PERSON_TABLES: tuple[Table, ...] = (answers_table, assessments_table, positions_table)


# -- champions (migration 0002) ----------------------------------------------------------------------

INVITE_LABEL_MAX = 48
SESSION_PLACE_MAX = 200


class InviteRow(Base):
    """A single-use invite link for a role; only the SHA-256 of the code is kept."""

    __tablename__ = "invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    #: The admin's own note on whom the link is for; how champions are told apart without names.
    label: Mapped[str | None] = mapped_column(String(INVITE_LABEL_MAX))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    #: Erasing the person erases the invite too: its label says who they are.
    used_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    #: A department invite (migration 0008): opening it puts the person in this department, vouched for.
    department_id: Mapped[int | None] = mapped_column(Integer)


class InspirationSessionRow(Base):
    """An inspiration session or practical workshop; starts_at is UTC, entered as local wall-clock time."""

    __tablename__ = "inspiration_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    place: Mapped[str] = mapped_column(String(SESSION_PLACE_MAX))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None]
    attended: Mapped[int | None] = mapped_column(Integer)
    want_workshop: Mapped[int | None] = mapped_column(Integer)


class SessionDepartmentRow(Base):
    """The departments a session is for; none means the whole organisation."""

    __tablename__ = "session_departments"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("inspiration_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class SessionChampionRow(Base):
    """Who runs a session."""

    __tablename__ = "session_champions"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("inspiration_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class NudgeRow(Base):
    """A message owed to one person at due_at; the dispatcher claims, sends and marks it."""

    __tablename__ = "nudges"
    __table_args__ = (Index("ix_nudges_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("inspiration_sessions.id", ondelete="CASCADE"), index=True
    )
    #: Minutes from the session's start (negative: before), so a moved session moves its nudges.
    offset_minutes: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", server_default="pending")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(String(200))
    #: Set where two planners could race to add the same nudge (re-check offers).
    dedupe_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The commitment a follow-up asks about (migration 0006); erased with it.
    commitment_id: Mapped[int | None] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"), index=True
    )


invites_table = _table(InviteRow)
inspiration_sessions_table = _table(InspirationSessionRow)
session_departments_table = _table(SessionDepartmentRow)
session_champions_table = _table(SessionChampionRow)
nudges_table = _table(NudgeRow)

# -- commitments (migration 0006) --------------------------------------------------------------------

STEP_ID_MAX = 64
HELD_BACK_MAX = 48


class CommitmentRow(Base):
    """A step a person said they would take this week, and how it went.

    `worked` is the person's own optional text; it leaves /mydata only when `shared_at` is set.
    """

    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_person_id_made_at", "person_id", "made_at"),
        Index("ix_commitments_made_at_department_id", "made_at", "department_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    assessment_id: Mapped[int | None] = mapped_column(ForeignKey("assessments.id", ondelete="SET NULL"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id", ondelete="SET NULL"))
    step: Mapped[str] = mapped_column(String(STEP_ID_MAX))
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    followup_due_at: Mapped[datetime]
    outcome: Mapped[str | None] = mapped_column(String(16))
    answered_at: Mapped[datetime | None]
    worked: Mapped[str | None] = mapped_column(Text)
    held_back: Mapped[str | None] = mapped_column(String(HELD_BACK_MAX))
    shared_at: Mapped[datetime | None] = mapped_column(index=True)


commitments_table = _table(CommitmentRow)

# forget_person deletes these too, so erasure does not hinge on the cascades above.
PERSON_TABLES = (
    *PERSON_TABLES,
    nudges_table,
    session_champions_table,
    commitments_table,
)
