"""Departments: the organisation's own list, so aggregates do not splinter into spellings."""

from __future__ import annotations

import unicodedata

from sqlalchemy import delete, false, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Department
from bot.storage.models import (
    DEPARTMENT_NAME_MAX,
    assessments_table,
    departments_table,
    invites_table,
    people_table,
    revisions_table,
    utcnow,
)
from bot.storage.revisions import DEPARTMENTS, DepartmentCache, SeenRevisions
from bot.storage.sql import Repository


def normalise_department_name(name: str) -> str:
    """The spelling stored for a department: one admin's stray spaces must not make a second one.

    Raises ValueError for a name that is empty or longer than the column allows.
    """
    # Zero-width, right-to-left and other invisible characters would make look-alike departments
    # ("Sa\u200bles" next to "Sales") that split people and the figures (issue 14): NFKC folds
    # compatibility forms, and format (Cf) and control (Cc) characters are dropped.
    visible = "".join(
        ch for ch in unicodedata.normalize("NFKC", name) if unicodedata.category(ch) not in ("Cf", "Cc")
    )
    cleaned = " ".join(visible.split())
    if not cleaned:
        raise ValueError("a department name cannot be empty")
    if len(cleaned) > DEPARTMENT_NAME_MAX:
        raise ValueError(f"a department name can have at most {DEPARTMENT_NAME_MAX} characters")
    return cleaned


class DepartmentRepository(Repository):
    """The `departments` rows, inside the caller's transaction, and the process's copy of them."""

    def __init__(
        self, session: AsyncSession, cache: DepartmentCache | None = None, seen: SeenRevisions | None = None
    ) -> None:
        super().__init__(session)
        self._cache = cache
        self._seen = seen or SeenRevisions()

    async def departments(self) -> list[Department]:
        """Sorted by name, case-insensitively, as people expect to read a list.

        From the process's cache when this transaction saw the revision the cache holds (no SQL):
        a turn reads the revision with the person (UnitOfWork.person_and_position).
        """
        cache, revision = self._cache, self._seen.departments
        if cache is not None and revision is not None:
            cached = cache.get(revision)
            if cached is not None:
                return cached
        # Demo departments (coachbot demo-data) are never offered to real people.
        rows = await self._session.execute(
            select(departments_table.c.id, departments_table.c.name).where(
                departments_table.c.demo.is_(false())
            )
        )
        found = sorted(
            (Department(id=row.id, name=row.name) for row in rows), key=lambda d: (d.name.casefold(), d.name)
        )
        if cache is not None and revision is not None:
            cache.put(revision, found)
        return found

    async def _changed(self) -> None:
        """Bumps the revision in this transaction: every process reloads at its next turn."""
        self._seen.departments = None
        stmt = self._insert(revisions_table).values(name=DEPARTMENTS, revision=1)
        assert isinstance(stmt, postgresql.Insert | sqlite.Insert)
        await self._session.execute(
            stmt.on_conflict_do_update(
                index_elements=["name"], set_={"revision": revisions_table.c.revision + 1}
            )
        )

    async def department(self, department_id: int) -> Department | None:
        row = await self._one(
            select(departments_table.c.id, departments_table.c.name).where(
                departments_table.c.id == department_id
            )
        )
        return None if row is None else Department(id=row["id"], name=row["name"])

    async def department_by_name(self, name: str) -> Department | None:
        """Matches the way admins type: surrounding or doubled spaces and letter case do not matter.

        Compared in Python because SQLite's lower() only folds ASCII; department lists are short.
        """
        try:
            wanted = normalise_department_name(name).casefold()
        except ValueError:
            return None
        for department in await self.departments():
            if department.name.casefold() == wanted:
                return department
        return None

    async def add_department(self, name: str) -> Department:
        """Raises ValueError for an invalid name or one that differs from an existing one only in case."""
        cleaned = normalise_department_name(name)
        await self._refuse_duplicate(cleaned, except_id=None)
        result = await self._session.execute(
            departments_table.insert()
            .values(name=cleaned, created_at=utcnow())
            .returning(departments_table.c.id)
        )
        await self._changed()
        return Department(id=result.scalar_one(), name=cleaned)

    async def rename_department(self, department_id: int, name: str) -> Department:
        """Same rules as add_department; changing only the case of the current name is allowed."""
        cleaned = normalise_department_name(name)
        await self._refuse_duplicate(cleaned, except_id=department_id)
        count = await self._rowcount(
            update(departments_table).where(departments_table.c.id == department_id).values(name=cleaned)
        )
        if count != 1:
            raise LookupError(f"no department with id {department_id}")
        await self._changed()
        return Department(id=department_id, name=cleaned)

    async def remove_department(self, department_id: int) -> None:
        """People and past assessments stay; they just lose the reference.

        Done by explicit UPDATEs rather than ON DELETE SET NULL alone, so the outcome does not depend
        on SQLite's foreign_keys pragma being on for the connection.
        """
        for table in (people_table, assessments_table):
            await self._session.execute(
                update(table).where(table.c.department_id == department_id).values(department_id=None)
            )
        # Vouches and department invites carry no foreign key (see migration 0008): cleared here, so
        # a later department that gets the same id inherits neither.
        await self._session.execute(
            update(people_table)
            .where(people_table.c.vouched_department_id == department_id)
            .values(vouched_department_id=None)
        )
        await self._session.execute(
            delete(invites_table).where(invites_table.c.department_id == department_id)
        )
        count = await self._rowcount(delete(departments_table).where(departments_table.c.id == department_id))
        if count != 1:
            raise LookupError(f"no department with id {department_id}")
        await self._changed()

    async def _refuse_duplicate(self, cleaned: str, *, except_id: int | None) -> None:
        existing = await self.department_by_name(cleaned)
        if existing is not None and existing.id != except_id:
            raise ValueError(f"a department named {existing.name!r} already exists")
