"""Commitments: the step a person said they would take, its follow-up nudge, opting out of follow-ups.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Written by hand to mirror bot.storage.models (test_migrations_match_the_models checks it).
people.followup_opt_out gets a server default, so existing rows read "follow-ups on". The new
nudges.commitment_id is added in batch mode: SQLite cannot add a foreign key to an existing table,
and the rebuild is safe because no table refers to nudges.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "people", sa.Column("followup_opt_out", sa.Boolean(), server_default=sa.false(), nullable=False)
    )
    op.create_table(
        "commitments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("department_id", sa.Integer(), nullable=True),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("followup_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("worked", sa.Text(), nullable=True),
        sa.Column("held_back", sa.String(length=48), nullable=True),
        sa.Column("shared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_commitments_person_id_people"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["assessments.id"],
            name=op.f("fk_commitments_assessment_id_assessments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
            name=op.f("fk_commitments_department_id_departments"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitments")),
    )
    op.create_index("ix_commitments_person_id_made_at", "commitments", ["person_id", "made_at"], unique=False)
    # What the report groups by: month of made_at, department.
    op.create_index(
        "ix_commitments_made_at_department_id", "commitments", ["made_at", "department_id"], unique=False
    )
    op.create_index(op.f("ix_commitments_shared_at"), "commitments", ["shared_at"], unique=False)
    with op.batch_alter_table("nudges") as batch:
        batch.add_column(sa.Column("commitment_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_nudges_commitment_id_commitments"),
            "commitments",
            ["commitment_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(op.f("ix_nudges_commitment_id"), ["commitment_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("nudges") as batch:
        batch.drop_index(op.f("ix_nudges_commitment_id"))
        batch.drop_constraint(op.f("fk_nudges_commitment_id_commitments"), type_="foreignkey")
        batch.drop_column("commitment_id")
    op.drop_index(op.f("ix_commitments_shared_at"), table_name="commitments")
    op.drop_index("ix_commitments_made_at_department_id", table_name="commitments")
    op.drop_index("ix_commitments_person_id_made_at", table_name="commitments")
    op.drop_table("commitments")
    # Not batch mode: rebuilding `people` with foreign keys on would cascade-delete every row that
    # refers to it. SQLite (3.35+) and PostgreSQL both drop a plain column in place.
    op.drop_column("people", "followup_opt_out")
