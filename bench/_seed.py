"""People who already did a check, stored the way each build stores them, so the coach and the
conventional build are compared holding the same amount of data (bench/per_update.py --stored).

The coach: Core inserts (one transaction) of people, their position, the answers of the check and
its assessment. The conventional build: its PicklePersistence file with each person's user_data
(answers, earlier runs, the assessment), as the peer keeps them. No departments in either, so
both ask the same department question.
"""

from __future__ import annotations

import pickle
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.coaching.assessment import assess
from bot.coaching.rules import rules_of
from bot.content.catalog import Catalog
from bot.storage.database import Database
from bot.storage.models import (
    answers_table,
    assessment_findings_table,
    assessments_table,
    people_table,
    positions_table,
)
from tests.support.webhook_driver import script_for

#: Stored people get Telegram ids here, far from the bench's live people.
FIRST_STORED = 300_000_000
VARIANTS = 48


def _answers(index: int) -> dict[str, Any]:
    recorded: dict[str, Any] = {}
    for step, key in script_for(index).answers:
        recorded[step] = [key] if step in ("fears", "causes") else key
    return recorded


def _assessment(catalog: Catalog, index: int) -> Any:
    return assess(
        index,
        1,
        _answers(index),
        rules_of(catalog),
        catalog.dialogues,
        department_id=None,
        standing="employee",
    )


async def seed_coach(url: str, catalog: Catalog, people: int, batch: int = 2_000) -> None:
    """`people` finished checks in the coach's database (migrated first)."""
    database = Database(url)
    try:
        await database.ensure_schema()
        assessments = [_assessment(catalog, i) for i in range(VARIANTS)]
        now = datetime.now(UTC)
        async with database.engine.begin() as connection:
            for start in range(0, people, batch):
                indexes = range(start, min(people, start + batch))
                result = await connection.execute(
                    people_table.insert().returning(people_table.c.id, people_table.c.external_id),
                    [
                        {
                            "channel": "telegram",
                            "external_id": str(FIRST_STORED + i),
                            "language": "en",
                            "standing": "employee",
                            "consent": True,
                            "created_at": now,
                        }
                        for i in indexes
                    ],
                )
                ids = {int(row.external_id) - FIRST_STORED: row.id for row in result}
                positions, answers, rows = [], [], []
                findings: dict[int, list[tuple[str, str]]] = {}
                for i in indexes:
                    person = ids[i]
                    recorded = _answers(i)
                    positions.append(
                        {
                            "person_id": person,
                            "dialogue": "fears",
                            "state": "end",
                            "values": {"profile": {"language": "en", "consent": "yes"}, "answers": recorded},
                            "run_id": 1,
                            "version": 19,
                            "updated_at": now,
                        }
                    )
                    for step, key in script_for(i).answers:
                        dialogue = (
                            "onboarding"
                            if step in ("language", "privacy", "standing", "department")
                            else ("fears" if step in ("fears", "causes", "anything_else") else "phase_check")
                        )
                        answers.append(
                            {
                                "person_id": person,
                                "run_id": 1,
                                "dialogue": dialogue,
                                "question": step,
                                "option": key,
                                "text": None,
                                "answered_at": now,
                            }
                        )
                    made = assessments[i % VARIANTS]
                    row = {
                        "person_id": person,
                        "run_id": 1,
                        "assessed_at": now,
                        "phase_presence_model": made.phase_presence_model,
                        "phase_pilot_model": made.phase_pilot_model,
                        "department_id": None,
                        "standing": "employee",
                        "lens": made.lens,
                        "scores": dict(made.scores),
                    }
                    rows.append(row)
                    findings[person] = [("fear", f) for f in made.fears] + [("cause", c) for c in made.causes]
                await connection.execute(positions_table.insert(), positions)
                await connection.execute(answers_table.insert(), answers)
                stored = await connection.execute(
                    assessments_table.insert().returning(
                        assessments_table.c.id, assessments_table.c.person_id
                    ),
                    rows,
                )
                finding_rows = [
                    {"assessment_id": row.id, "kind": kind, "item": item, "ordinal": ordinal}
                    for row in stored
                    for ordinal, (kind, item) in enumerate(findings[row.person_id])
                ]
                if finding_rows:
                    await connection.execute(assessment_findings_table.insert(), finding_rows)
    finally:
        await database.dispose()


def seed_peer(path: Path, catalog: Catalog, people: int) -> None:
    """`people` finished checks in the conventional build's pickle file (PicklePersistence's format)."""
    assessments = [asdict(_assessment(catalog, i)) for i in range(VARIANTS)]
    user_data = {
        FIRST_STORED + i: {
            "answers": _answers(i),
            "selected": {},
            "history": [],
            "assessments": [dict(assessments[i % VARIANTS], person_id=FIRST_STORED + i)],
        }
        for i in range(people)
    }
    data = {
        "user_data": user_data,
        "chat_data": {},
        "bot_data": {},
        "callback_data": None,
        "conversations": {"check": {}},
    }
    with path.open("wb") as file:
        pickle.dump(data, file)
