"""Fears and causes as rows: assessment_findings replaces the eight fear_*/cause_* columns.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

A new fear or cause in knowledge/ is then a content change, not a schema change. Existing data moves:
every true column becomes one row (kind "fear" or "cause", the id, its place in the old order).

The order of the steps matters on SQLite, where dropping a column rebuilds the table (DROP and
re-create) and, with foreign keys on, dropping a table runs its ON DELETE actions: so the rows are
copied into a table without its foreign key first, the columns dropped, and the foreign key added
last. Written by hand to mirror bot.storage.models (test_migrations_match_the_models checks it).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The ids the old columns stood for, in the order they were reported (frozen here: the migration
#: must not read knowledge/ or the models, which move on).
_COLUMNS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("fear", ("unwanted_messages", "time_loss", "security", "role_loss")),
    ("cause", ("middle_managers", "silo", "culture", "fear")),
)
_FOREIGN_KEY = "fk_assessment_findings_assessment_id_assessments"


def _old_assessments() -> sa.TableClause:
    return sa.table(
        "assessments",
        sa.column("id", sa.Integer()),
        *(sa.column(f"{kind}_{item}", sa.Boolean()) for kind, items in _COLUMNS for item in items),
    )


_findings = sa.table(
    "assessment_findings",
    sa.column("assessment_id", sa.Integer()),
    sa.column("kind", sa.String()),
    sa.column("item", sa.String()),
    sa.column("ordinal", sa.Integer()),
)


def upgrade() -> None:
    op.create_table(
        "assessment_findings",
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("item", sa.String(length=48), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("assessment_id", "kind", "item", name=op.f("pk_assessment_findings")),
    )
    assessments = _old_assessments()
    for kind, items in _COLUMNS:
        for ordinal, item in enumerate(items):
            op.execute(
                _findings.insert().from_select(
                    ["assessment_id", "kind", "item", "ordinal"],
                    sa.select(
                        assessments.c.id,
                        sa.literal(kind, sa.String()),
                        sa.literal(item, sa.String()),
                        sa.literal(ordinal, sa.Integer()),
                    ).where(assessments.c[f"{kind}_{item}"].is_(sa.true())),
                )
            )
    with op.batch_alter_table("assessments") as batch:
        for kind, items in _COLUMNS:
            for item in items:
                batch.drop_column(f"{kind}_{item}")
    with op.batch_alter_table("assessment_findings") as batch:
        batch.create_foreign_key(
            op.f(_FOREIGN_KEY), "assessments", ["assessment_id"], ["id"], ondelete="CASCADE"
        )


def downgrade() -> None:
    """Back to columns; a finding whose id the old columns do not know (a newer fear) is dropped."""
    with op.batch_alter_table("assessment_findings") as batch:
        batch.drop_constraint(op.f(_FOREIGN_KEY), type_="foreignkey")
    with op.batch_alter_table("assessments") as batch:
        for kind, items in _COLUMNS:
            for item in items:
                batch.add_column(
                    sa.Column(f"{kind}_{item}", sa.Boolean(), server_default=sa.false(), nullable=False)
                )
    assessments = _old_assessments()
    for kind, items in _COLUMNS:
        for item in items:
            found = sa.select(_findings.c.assessment_id).where(
                _findings.c.kind == kind, _findings.c.item == item
            )
            op.execute(
                assessments.update().where(assessments.c.id.in_(found)).values({f"{kind}_{item}": sa.true()})
            )
    op.drop_table("assessment_findings")
