"""Drafts: a champion's guided dialogue in progress (scheduling, moving, a follow-up); survives restarts."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from sqlalchemy import delete, select, update

from bot.domain import SessionDraft
from bot.storage.errors import StaleVersion
from bot.storage.models import people_table, session_drafts_table
from bot.storage.sql import Repository


class DraftRepository(Repository):
    """The `session_drafts` rows, inside the caller's transaction."""

    async def draft(self, person_id: int) -> SessionDraft | None:
        row = await self._one(
            select(session_drafts_table).where(session_drafts_table.c.person_id == person_id)
        )
        if row is None:
            return None
        return SessionDraft(
            person_id=row["person_id"],
            flow=row["flow"],
            step=row["step"],
            values=dict(row["values"] or {}),
            version=row["version"],
            updated_at=row["updated_at"],
        )

    async def draft_for(self, channel: str, external_id: str) -> SessionDraft | None:
        """The draft of whoever this is, without locking: the cheap check every typed message makes."""
        person_id = (
            await self._session.execute(
                select(session_drafts_table.c.person_id)
                .join(people_table, people_table.c.id == session_drafts_table.c.person_id)
                .where(people_table.c.channel == channel, people_table.c.external_id == external_id)
            )
        ).scalar_one_or_none()
        return None if person_id is None else await self.draft(person_id)

    async def save_draft(self, draft: SessionDraft, now: datetime) -> SessionDraft:
        """Insert (version 0) or compare-and-set update; returns the draft at its new version."""
        fields = {
            "flow": draft.flow,
            "step": draft.step,
            "values": dict(draft.values),
            "version": draft.version + 1,
            "updated_at": now,
        }
        if draft.version == 0:
            await self.delete_draft(draft.person_id)
            await self._session.execute(
                session_drafts_table.insert().values(person_id=draft.person_id, **fields)
            )
        else:
            count = await self._rowcount(
                update(session_drafts_table)
                .where(
                    session_drafts_table.c.person_id == draft.person_id,
                    session_drafts_table.c.version == draft.version,
                )
                .values(**fields)
            )
            if count != 1:
                raise StaleVersion(f"draft of person {draft.person_id} moved on")
        return dataclasses.replace(draft, version=draft.version + 1, updated_at=now)

    async def delete_draft(self, person_id: int) -> None:
        await self._session.execute(
            delete(session_drafts_table).where(session_drafts_table.c.person_id == person_id)
        )
