"""Drop session_drafts: the champions' dialogues keep their place in dialogue_positions now.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Scheduling, moving and follow-up reports became YAML dialogues on the coach's engine (issue 11,
point 1), so their place is a position like the check's. Drafts lived at most an hour, so dropping
the table with whatever drafts are in it loses no more than a dialogue begun in the last hour: the
person types /schedule again. An old draft's buttons in a chat are answered as stale.
The downgrade creates the table again, empty, as migration 0002 made it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_table("session_drafts")


def downgrade() -> None:
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
