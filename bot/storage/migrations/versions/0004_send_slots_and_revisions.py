"""Send slots shared by webhook workers; revision counters for data processes cache.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Written by hand to mirror bot.storage.models (test_migrations_match_the_models checks it).
send_slots is filled by the workers themselves (its size is COACHBOT_SEND_RATE); revisions starts
empty, which reads as revision 0.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_slots",
        sa.Column("slot", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("busy_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holder", sa.String(length=80), nullable=True),
        sa.PrimaryKeyConstraint("slot", name=op.f("pk_send_slots")),
    )
    op.create_table(
        "revisions",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_revisions")),
    )


def downgrade() -> None:
    op.drop_table("revisions")
    op.drop_table("send_slots")
