"""Privacy (issue 14): released report figures, and departments vouched for.

released_figures keeps what was published once; people.vouched_department_id and
invites.department_id let an admin's or champion's department invite vouch for a member. Both
are plain columns (see upgrade()).

Everyone whose department was set before this upgrade counts as vouched for that department:
their organisation's reports must not empty overnight, and a puppet attack needs accounts made
*after* the report started checking who vouched (docs/privacy.md, "Puppet accounts").

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Numbered 0008, after the commitments (0006) and dropping session_drafts (0007): those shipped
first, and a database already at 0006 or 0007 must still get this one.

Written by hand to mirror bot.storage.models (test_migrations_match_the_models checks it).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain integers, no foreign keys: SQLite could only add one by rebuilding `people`, and dropping
    # `people` with foreign keys on would cascade every person's answers away (see 0003).
    # DepartmentRepository.remove_department clears both columns instead.
    op.add_column("people", sa.Column("vouched_department_id", sa.Integer(), nullable=True))
    people = sa.table("people", sa.column("department_id", sa.Integer()), sa.column("vouched_department_id"))
    op.execute(
        people.update()
        .where(people.c.department_id.is_not(None))
        .values(vouched_department_id=people.c.department_id)
    )
    op.add_column("invites", sa.Column("department_id", sa.Integer(), nullable=True))
    op.add_column("departments", sa.Column("demo", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_table(
        "released_figures",
        sa.Column("batch", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("batch", name=op.f("pk_released_figures")),
    )


def downgrade() -> None:
    op.drop_table("released_figures")
    # ALTER TABLE ... DROP COLUMN in place (SQLite 3.35+), never a rebuild of `people`.
    op.drop_column("departments", "demo")
    op.drop_column("invites", "department_id")
    op.drop_column("people", "vouched_department_id")
