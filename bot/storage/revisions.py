"""A process's copy of data that rarely changes (departments), kept until its revision moves.

Every change to the departments bumps their counter in the `revisions` table in the same
transaction; each turn reads that counter inside a statement it runs anyway (the person's row), so
all processes, whatever changed the list (`coachbot departments`, another worker), see a change at
their next turn, and no turn reads the list itself while it is unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain import Department

DEPARTMENTS = "departments"


@dataclass
class SeenRevisions:
    """The revisions one unit of work read; None: not read, or changed in this transaction."""

    departments: int | None = None


@dataclass
class DepartmentCache:
    """The departments as of `revision`; shared by every transaction of one Database."""

    revision: int | None = None
    departments: tuple[Department, ...] = ()

    def get(self, revision: int) -> list[Department] | None:
        return list(self.departments) if self.revision == revision else None

    def put(self, revision: int, departments: list[Department]) -> None:
        self.revision = revision
        self.departments = tuple(departments)
