"""Roles: who is a champion or an admin, and the invite label admins tell them apart by."""

from __future__ import annotations

from sqlalchemy import select, update

from bot.domain import Role, RoleHolder
from bot.storage.models import invites_table, people_table
from bot.storage.sql import Repository


class RoleRepository(Repository):
    """The role column of `people`, read together with `invites`, inside the caller's transaction."""

    async def set_role(self, person_id: int, role: Role) -> None:
        await self._session.execute(
            update(people_table).where(people_table.c.id == person_id).values(role=str(role))
        )

    async def role_holders(self) -> list[RoleHolder]:
        """Champions and admins with the label of the invite they accepted (newest), admins first."""
        label = (
            select(invites_table.c.label)
            .where(invites_table.c.used_by == people_table.c.id)
            .order_by(invites_table.c.used_at.desc(), invites_table.c.id.desc())
            .limit(1)
            .scalar_subquery()
        )
        rows = await self._session.execute(
            select(people_table.c.id, people_table.c.role, people_table.c.external_id, label.label("label"))
            .where(people_table.c.role.in_([str(Role.CHAMPION), str(Role.ADMIN)]))
            .order_by(people_table.c.role, people_table.c.id)
        )
        return [
            RoleHolder(person_id=r.id, role=Role(r.role), label=r.label, external_id=r.external_id)
            for r in rows
        ]
