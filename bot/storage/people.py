"""People: who someone is on a channel, their profile, and the preferences nudges depend on."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.engine import RowMapping

from bot.domain import Person, Role, Standing
from bot.storage.models import people_table, utcnow
from bot.storage.sql import Repository


class PeopleRepository(Repository):
    """The `people` rows, inside the caller's transaction."""

    async def person_for_update(
        self, channel: str, external_id: str, *, create: bool = True
    ) -> Person | None:
        """The person, row-locked until commit on PostgreSQL, created on first contact when `create`.

        Creation uses INSERT ... ON CONFLICT DO NOTHING followed by the locking SELECT, so two
        first updates racing for the same new person both end up with the one row, one after the
        other, instead of one of them failing on the unique constraint.
        """
        query = (
            select(people_table)
            .where(people_table.c.channel == channel, people_table.c.external_id == external_id)
            .with_for_update()
        )
        row = await self._one(query)
        if row is None and create:
            await self._session.execute(
                self._insert_ignoring_conflict(people_table, "channel", "external_id"),
                {"channel": channel, "external_id": external_id, "created_at": utcnow()},
            )
            row = await self._one(query)
        return None if row is None else person_of(row)

    async def person(self, person_id: int) -> Person | None:
        """A person by id without locking, for admin views and /mydata."""
        row = await self._one(select(people_table).where(people_table.c.id == person_id))
        return None if row is None else person_of(row)

    async def vouch(self, person_id: int, department_id: int) -> None:
        """Puts the person in the department, vouched for (a department invite; issue 14)."""
        await self._session.execute(
            update(people_table)
            .where(people_table.c.id == person_id)
            .values(department_id=department_id, vouched_department_id=department_id)
        )

    async def save_person(self, person: Person) -> None:
        """Writes the mutable fields; channel and external_id identify the person and never change."""
        count = await self._rowcount(
            update(people_table)
            .where(people_table.c.id == person.id)
            .values(
                language=person.language,
                role=str(person.role),
                standing=None if person.standing is None else str(person.standing),
                department_id=person.department_id,
                consent=person.consent,
                reachable=person.reachable,
            )
        )
        if count != 1:
            raise LookupError(f"no person with id {person.id}")

    async def set_unreachable(self, person_id: int) -> None:
        """The person blocked the bot (403): no nudge is tried again until they come back."""
        await self._session.execute(
            update(people_table).where(people_table.c.id == person_id).values(reachable=False)
        )

    # -- what nudges depend on -------------------------------------------------------------------

    async def preferences(self, person_id: int) -> tuple[bool, bool]:
        """(session_reminders, recheck_opt_out)."""
        row = (
            await self._session.execute(
                select(people_table.c.session_reminders, people_table.c.recheck_opt_out).where(
                    people_table.c.id == person_id
                )
            )
        ).first()
        return (False, False) if row is None else (bool(row[0]), bool(row[1]))

    async def set_session_reminders(self, person_id: int, wanted: bool) -> None:
        await self._session.execute(
            update(people_table).where(people_table.c.id == person_id).values(session_reminders=wanted)
        )

    async def set_recheck_opt_out(self, person_id: int, opted_out: bool) -> None:
        await self._session.execute(
            update(people_table).where(people_table.c.id == person_id).values(recheck_opt_out=opted_out)
        )

    async def reminder_recipients(self, department_ids: Sequence[int]) -> list[int]:
        """People on Telegram who opted in to reminders, in the departments (all, when none given)."""
        p = people_table
        query = select(p.c.id).where(
            p.c.channel == "telegram",
            p.c.consent.is_(True),
            p.c.reachable.is_(True),
            p.c.session_reminders.is_(True),
        )
        if department_ids:
            query = query.where(p.c.department_id.in_(list(department_ids)))
        return list((await self._session.execute(query.order_by(p.c.id))).scalars())


def person_of(row: RowMapping) -> Person:
    return Person(
        id=row["id"],
        channel=row["channel"],
        external_id=row["external_id"],
        language=row["language"],
        role=Role(row["role"]),
        standing=None if row["standing"] is None else Standing(row["standing"]),
        department_id=row["department_id"],
        consent=bool(row["consent"]),
        reachable=bool(row["reachable"]),
        created_at=row["created_at"],
    )
