"""Invites: single-use links for a role, kept only as the SHA-256 of their code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from bot.domain import Role
from bot.storage.models import invites_table
from bot.storage.sql import Repository


@dataclass(frozen=True)
class InviteState:
    """What is known about a code that could not be used: why it was refused."""

    role: Role
    used: bool
    expires_at: datetime
    department_id: int | None = None
    """Set for a department invite (issue 14): opening it vouches for the person's department."""


class InviteRepository(Repository):
    """The `invites` rows, inside the caller's transaction."""

    async def add_invite(
        self,
        *,
        code_hash: str,
        role: Role,
        label: str | None,
        created_by: int | None,
        created_at: datetime,
        expires_at: datetime,
        department_id: int | None = None,
    ) -> int:
        result = await self._session.execute(
            invites_table.insert()
            .values(
                code_hash=code_hash,
                role=str(role),
                label=label,
                created_by=created_by,
                created_at=created_at,
                expires_at=expires_at,
                department_id=department_id,
            )
            .returning(invites_table.c.id)
        )
        return int(result.scalar_one())

    async def use_invite(self, code_hash: str, person_id: int, now: datetime) -> Role | None:
        """Marks an unused, unexpired invite used by the person and returns its role, atomically.

        The conditions sit in the UPDATE itself, so of two people racing for one code exactly one
        gets a row back (PostgreSQL re-checks them on the locked row; SQLite serialises writers).
        """
        result = await self._session.execute(
            update(invites_table)
            .where(
                invites_table.c.code_hash == code_hash,
                invites_table.c.used_at.is_(None),
                invites_table.c.expires_at > now,
            )
            .values(used_at=now, used_by=person_id)
            .returning(invites_table.c.role)
        )
        role = result.scalar_one_or_none()
        return None if role is None else Role(role)

    async def invite_state(self, code_hash: str) -> InviteState | None:
        row = (
            await self._session.execute(
                select(
                    invites_table.c.role,
                    invites_table.c.used_at,
                    invites_table.c.expires_at,
                    invites_table.c.department_id,
                ).where(invites_table.c.code_hash == code_hash)
            )
        ).first()
        if row is None:
            return None
        return InviteState(
            role=Role(row.role),
            used=row.used_at is not None,
            expires_at=row.expires_at,
            department_id=row.department_id,
        )
