"""Champions: invites, inspiration sessions, their departments and champions, nudges, dialogue drafts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

Written by hand to mirror bot.storage.models (test_migrations_match_the_models checks it). The two
opt-in columns on people get server defaults, so existing rows read "no reminders, re-checks on".
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # ADD COLUMN with a constant default needs no table rebuild, on SQLite either.
    op.add_column(
        "people", sa.Column("session_reminders", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.add_column(
        "people", sa.Column("recheck_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False)
    )

    op.create_table(
        "invites",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("label", sa.String(length=48), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("used_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["people.id"], name=op.f("fk_invites_created_by_people"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["used_by"], ["people.id"], name=op.f("fk_invites_used_by_people"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invites")),
        sa.UniqueConstraint("code_hash", name=op.f("uq_invites_code_hash")),
    )
    op.create_index(op.f("ix_invites_used_by"), "invites", ["used_by"], unique=False)

    op.create_table(
        "inspiration_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attended", sa.Integer(), nullable=True),
        sa.Column("want_workshop", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["people.id"],
            name=op.f("fk_inspiration_sessions_created_by_people"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspiration_sessions")),
    )
    op.create_index(
        op.f("ix_inspiration_sessions_starts_at"), "inspiration_sessions", ["starts_at"], unique=False
    )

    op.create_table(
        "session_departments",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_session_departments_department_id_departments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["inspiration_sessions.id"],
            name=op.f("fk_session_departments_session_id_inspiration_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "department_id", name=op.f("pk_session_departments")),
    )
    op.create_index(
        op.f("ix_session_departments_department_id"), "session_departments", ["department_id"], unique=False
    )

    op.create_table(
        "session_champions",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_session_champions_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["inspiration_sessions.id"],
            name=op.f("fk_session_champions_session_id_inspiration_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", "person_id", name=op.f("pk_session_champions")),
    )
    op.create_index(op.f("ix_session_champions_person_id"), "session_champions", ["person_id"], unique=False)

    op.create_table(
        "nudges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("offset_minutes", sa.Integer(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.Column("dedupe_key", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_nudges_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["inspiration_sessions.id"],
            name=op.f("fk_nudges_session_id_inspiration_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nudges")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_nudges_dedupe_key")),
    )
    op.create_index(op.f("ix_nudges_person_id"), "nudges", ["person_id"], unique=False)
    op.create_index(op.f("ix_nudges_session_id"), "nudges", ["session_id"], unique=False)
    op.create_index(op.f("ix_nudges_due_at"), "nudges", ["due_at"], unique=False)
    # What the dispatcher's claim scans: pending rows in due order.
    op.create_index("ix_nudges_status_due_at", "nudges", ["status", "due_at"], unique=False)

    op.create_table(
        "session_drafts",
        sa.Column("person_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("flow", sa.String(length=16), nullable=False),
        sa.Column("step", sa.String(length=24), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_session_drafts_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("person_id", name=op.f("pk_session_drafts")),
    )


def downgrade() -> None:
    op.drop_table("session_drafts")
    op.drop_table("nudges")
    op.drop_table("session_champions")
    op.drop_table("session_departments")
    op.drop_table("inspiration_sessions")
    op.drop_table("invites")
    # SQLite drops a column only by rebuilding the table: batch mode does that.
    with op.batch_alter_table("people") as batch:
        batch.drop_column("recheck_opt_out")
        batch.drop_column("session_reminders")
