"""The storage interface the coach needs; bot/storage implements it, tests may use it directly.

Kept as Protocols so the coaching flow is written against what it needs, not against SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from bot.domain import AnswerRecord, Assessment, Department, Person, PersonalData, Position


class StorageUnavailable(Exception):
    """The database could not be reached or was busy; the turn wrote nothing and may be retried."""


class StaleVersion(Exception):
    """Another writer moved the person's position first; the caller retries the whole turn."""


class CoachRepository(Protocol):
    """Everything one update may read or write, inside one transaction."""

    async def person_for_update(
        self, channel: str, external_id: str, *, create: bool = True
    ) -> Person | None:
        """The person, row-locked until commit (on PostgreSQL) so their updates run one at a time."""

    async def person_and_position(
        self, channel: str, external_id: str, *, create: bool = True
    ) -> tuple[Person | None, Position | None]:
        """person_for_update and position in one read; later departments() may come from a cache."""

    async def save_person(self, person: Person) -> None: ...

    async def position(self, person_id: int) -> Position | None: ...

    async def save_position(self, position: Position) -> Position:
        """Insert or update; raises StaleVersion when the stored version is not position.version.

        Returns the position with its version incremented.
        """

    async def add_answers(self, answers: Sequence[AnswerRecord]) -> None: ...

    async def add_assessment(self, assessment: Assessment) -> Assessment: ...

    async def assessments(self, person_id: int, limit: int = 10) -> list[Assessment]:
        """Newest first."""

    async def departments(self) -> list[Department]:
        """Sorted by name."""

    async def department(self, department_id: int) -> Department | None: ...

    async def personal_data(self, person_id: int) -> PersonalData: ...

    async def forget_person(self, person_id: int) -> None:
        """Deletes every row that refers to the person."""

    async def claim_update(self, update_id: int) -> bool:
        """Records a Telegram update id; False when it was processed before."""


class CoachStore(Protocol):
    """Hands out one transaction (a unit of work) at a time."""

    def transaction(self, *, read_only: bool = False) -> AbstractAsyncContextManager[CoachRepository]:
        """Commits on normal exit, rolls back on an exception; read_only takes no write lock."""
