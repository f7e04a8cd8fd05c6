"""One unit of work: a single transaction, and the repositories of every aggregate inside it.

`Database.transaction()` hands one out. Every repository shares its session, so a turn that reads
the person, moves their position, logs answers and plans a nudge commits or rolls back as one.
Repositories are made on first use: a turn pays only for the ones it touches.
"""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.domain import Person, PersonalData, Position
from bot.storage.answers import AnswerRepository
from bot.storage.assessments import AssessmentRepository
from bot.storage.commitments import CommitmentRepository
from bot.storage.departments import DepartmentRepository
from bot.storage.inspiration_sessions import SessionRepository
from bot.storage.invites import InviteRepository
from bot.storage.models import (
    PERSON_TABLES,
    assessment_findings_table,
    assessments_table,
    people_table,
    positions_table,
    revisions_table,
)
from bot.storage.nudges import NudgeRepository
from bot.storage.people import PeopleRepository, person_of
from bot.storage.positions import PositionRepository, position_of
from bot.storage.releases import ReleaseRepository
from bot.storage.revisions import DEPARTMENTS, DepartmentCache, SeenRevisions
from bot.storage.roles import RoleRepository
from bot.storage.updates import UpdateRepository


class UnitOfWork:
    """The repositories of one transaction; what spans all of them (a person's data) lives here too."""

    def __init__(self, session: AsyncSession, department_cache: DepartmentCache | None = None) -> None:
        self._session = session
        self._department_cache = department_cache
        self._seen = SeenRevisions()

    @cached_property
    def people(self) -> PeopleRepository:
        return PeopleRepository(self._session)

    @cached_property
    def positions(self) -> PositionRepository:
        return PositionRepository(self._session)

    @cached_property
    def answers(self) -> AnswerRepository:
        return AnswerRepository(self._session)

    @cached_property
    def assessments(self) -> AssessmentRepository:
        return AssessmentRepository(self._session)

    @cached_property
    def releases(self) -> ReleaseRepository:
        return ReleaseRepository(self._session)

    @cached_property
    def departments(self) -> DepartmentRepository:
        return DepartmentRepository(self._session, self._department_cache, self._seen)

    @cached_property
    def updates(self) -> UpdateRepository:
        return UpdateRepository(self._session)

    @cached_property
    def roles(self) -> RoleRepository:
        return RoleRepository(self._session)

    @cached_property
    def invites(self) -> InviteRepository:
        return InviteRepository(self._session)

    @cached_property
    def sessions(self) -> SessionRepository:
        return SessionRepository(self._session)

    @cached_property
    def nudges(self) -> NudgeRepository:
        return NudgeRepository(self._session)

    @cached_property
    def commitments(self) -> CommitmentRepository:
        return CommitmentRepository(self._session)

    # -- what a turn starts from, in one statement --------------------------------------------------

    async def person_and_position(
        self, channel: str, external_id: str, *, create: bool = True
    ) -> tuple[Person | None, Position | None]:
        """The person (row-locked on PostgreSQL, created when `create`, as people.person_for_update
        does), their position, and the departments' revision for the process's cache: one SELECT
        where a turn used to need three."""
        revision = (
            select(revisions_table.c.revision).where(revisions_table.c.name == DEPARTMENTS).scalar_subquery()
        )
        query = (
            select(
                people_table,
                *(column.label(f"pos_{column.name}") for column in positions_table.c),
                func.coalesce(revision, 0).label("departments_revision"),
            )
            .select_from(
                people_table.outerjoin(positions_table, positions_table.c.person_id == people_table.c.id)
            )
            .where(people_table.c.channel == channel, people_table.c.external_id == external_id)
            .with_for_update(of=people_table)
        )
        row = (await self._session.execute(query)).mappings().first()
        if row is None and create:  # first contact: created (race-safe) there, then read as above
            await self.people.person_for_update(channel, external_id, create=True)
            row = (await self._session.execute(query)).mappings().first()
        if row is None:
            return None, None
        self._seen.departments = int(row["departments_revision"])
        position = None
        if row["pos_person_id"] is not None:
            position = position_of({c.name: row[f"pos_{c.name}"] for c in positions_table.c})
        return person_of(row), position

    # -- a person's data, across every aggregate ---------------------------------------------------

    async def personal_data(self, person_id: int) -> PersonalData:
        """Everything stored about the person (for /mydata); LookupError when there is no such person."""
        person = await self.people.person(person_id)
        if person is None:
            raise LookupError(f"no person with id {person_id}")
        department = (
            None if person.department_id is None else await self.departments.department(person.department_id)
        )
        return PersonalData(
            person=person,
            department=None if department is None else department.name,
            answers=tuple(await self.answers.answers_of(person_id)),
            assessments=tuple(await self.assessments.assessments(person_id, limit=None)),
            commitments=tuple(await self.commitments.commitments_of(person_id)),
        )

    async def forget_person(self, person_id: int) -> None:
        """Deletes every row about the person, table by table, so erasure does not hinge on FK cascades."""
        theirs = select(assessments_table.c.id).where(assessments_table.c.person_id == person_id)
        await self._session.execute(
            delete(assessment_findings_table).where(assessment_findings_table.c.assessment_id.in_(theirs))
        )
        for table in PERSON_TABLES:
            await self._session.execute(delete(table).where(table.c.person_id == person_id))
        await self._session.execute(delete(people_table).where(people_table.c.id == person_id))
