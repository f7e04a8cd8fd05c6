"""Released report figures (issue 14): what was published once is kept and answered from.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Written by hand to mirror bot.storage.models (test_migrations_match_the_models checks it).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "released_figures",
        sa.Column("batch", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("batch", name=op.f("pk_released_figures")),
    )


def downgrade() -> None:
    op.drop_table("released_figures")
