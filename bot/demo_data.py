"""`coachbot demo-data`: a plausible synthetic organisation, so a new user sees a real report at once.

Departments differ in size and maturity (communications and marketing further along than legal
and finance), people move up a little each month and some re-check, fears follow the department
(sales worries about time, IT about security) and middle managers fear for their role. Everything
comes from one seeded random generator, so the same arguments give the same organisation.

Rows are written with Core insert() and lists of parameters in one transaction: adding ORM objects
one by one was about 75 times slower when measured (FACTS.md). People get channel "demo", so they
can never be mistaken for someone on Telegram.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select

from bot.reports.aggregates import Categories, month_starts
from bot.storage.database import Database
from bot.storage.models import (
    assessment_findings_table,
    assessments_table,
    departments_table,
    people_table,
)

CHANNEL = "demo"
_BATCH = 5_000

#: (name, maturity on a 1-4 scale, fear and cause tilts, lens preferences by six C id).
_PROFILES: tuple[tuple[str, float, dict[str, float], tuple[str, ...]], ...] = (
    ("Sales", 1.9, {"time_loss": 0.3, "middle_managers": 0.1}, ("conversations", "continuous")),
    ("Marketing", 2.7, {"unwanted_messages": 0.1, "silo": 0.15}, ("content", "context")),
    ("Customer Service", 2.3, {"time_loss": 0.15, "culture": 0.1}, ("continuous", "conversations")),
    ("IT", 2.0, {"security": 0.35, "silo": 0.25}, ("congruence", "connections")),
    ("HR", 1.8, {"unwanted_messages": 0.2, "culture": 0.15}, ("connections", "congruence")),
    ("Finance", 1.5, {"security": 0.25, "time_loss": 0.1}, ("connections", "context")),
    ("Operations", 1.6, {"time_loss": 0.2, "middle_managers": 0.2}, ("continuous", "connections")),
    ("Legal", 1.4, {"security": 0.3, "culture": 0.15}, ("congruence", "context")),
    ("Communications", 3.0, {"unwanted_messages": 0.15, "silo": 0.2}, ("content", "conversations")),
    ("Product", 2.4, {"silo": 0.15}, ("conversations", "content")),
    ("Logistics", 1.7, {"time_loss": 0.2}, ("continuous", "connections")),
    ("Research", 2.2, {"culture": 0.1}, ("connections", "content")),
)
_OTHER_LENSES = ("social_model.learning", "internal_external.internal_matters", "social_model.collaboration")
_STANDINGS = (("employee", 0.76), ("middle_manager", 0.15), ("comms_it", 0.06), ("top_management", 0.03))


@dataclass(frozen=True)
class DemoSummary:
    """What `fill` added."""

    people: int
    departments: int
    assessments: int
    months: int


def _department_names(count: int) -> list[str]:
    names = [profile[0] for profile in _PROFILES[:count]]
    names.extend(f"Department {i}" for i in range(len(names) + 1, count + 1))
    return names


def _profile(index: int) -> tuple[float, dict[str, float], tuple[str, ...]]:
    if index < len(_PROFILES):
        _, maturity, tilts, lenses = _PROFILES[index]
        return maturity, tilts, lenses
    rng = random.Random(index)
    return 1.5 + rng.random() * 1.3, {}, ("connections", "conversations")


def _sizes(departments: int, rng: random.Random) -> list[float]:
    """Relative department sizes: a few large ones, a tail of smaller ones, and the last one a small
    team (about 1 in 150 people), so a small organisation shows a department folded away."""
    weights = [1 / (i + 1) ** 0.7 * (0.8 + 0.4 * rng.random()) for i in range(departments)]
    if departments > 1:
        weights[-1] = sum(weights[:-1]) / 150
    total = sum(weights)
    return [w / total for w in weights]


def _chance(rng: random.Random, p: float) -> bool:
    return rng.random() < max(0.0, min(0.95, p))


async def _department_ids(database: Database, names: Sequence[str]) -> list[int]:
    async with database.engine.begin() as connection:
        existing = {
            row.name: row.id
            for row in await connection.execute(select(departments_table.c.id, departments_table.c.name))
        }
        missing = [name for name in names if name not in existing]
        if missing:
            now = datetime.now(UTC)
            await connection.execute(
                insert(departments_table),
                [{"name": name, "created_at": now, "demo": True} for name in missing],
            )
            for row in await connection.execute(select(departments_table.c.id, departments_table.c.name)):
                existing[row.name] = row.id
    return [existing[name] for name in names]


async def remove(database: Database) -> tuple[int, int]:
    """Deletes every demo person (channel "demo") with their rows, the departments the demo made,
    and the released report figures (they describe the demo organisation); returns (people,
    departments). Run it before real people take part: releases made with real people in them
    are removed too, and a fresh release could then be compared with the ones they replaced.
    """
    from sqlalchemy import delete

    from bot.storage.models import (
        PERSON_TABLES,
        assessment_findings_table,
        assessments_table,
        released_figures_table,
    )

    async with database.engine.begin() as connection:
        demo_people = select(people_table.c.id).where(people_table.c.channel == CHANNEL)
        theirs = select(assessments_table.c.id).where(assessments_table.c.person_id.in_(demo_people))
        await connection.execute(
            delete(assessment_findings_table).where(assessment_findings_table.c.assessment_id.in_(theirs))
        )
        for table in PERSON_TABLES:
            await connection.execute(delete(table).where(table.c.person_id.in_(demo_people)))
        people = (
            await connection.execute(delete(people_table).where(people_table.c.channel == CHANNEL))
        ).rowcount
        made = [
            int(row.id)
            for row in await connection.execute(
                select(departments_table.c.id).where(departments_table.c.demo)
            )
        ]
        await connection.execute(delete(released_figures_table))
    async with database.transaction() as repo:
        for department_id in made:
            await repo.departments.remove_department(department_id)
    return int(people or 0), len(made)


async def fill(
    database: Database,
    categories: Categories,
    *,
    people: int,
    departments: int = 8,
    months: int = 6,
    seed: int = 1,
    now: datetime | None = None,
    zone: str = "Europe/Amsterdam",
) -> DemoSummary:
    """Adds `people` demo people in `departments` departments with assessments over `months` months."""
    if people < 1 or departments < 1 or months < 1:
        raise ValueError("people, departments and months must be at least 1")
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    names = _department_names(departments)
    department_ids = await _department_ids(database, names)
    sizes = _sizes(departments, rng)
    starts = month_starts(now, months, zone)
    ends = [*starts[1:], now]
    presence = list(categories.phases["presence_model"])
    pilot = list(categories.phases["pilot_model"])

    async with database.engine.begin() as connection:
        offset = (
            await connection.execute(select(func.count()).where(people_table.c.channel == CHANNEL))
        ).scalar_one()
        plans: list[dict[str, Any]] = []
        person_rows: list[dict[str, Any]] = []
        for i in range(people):
            if rng.random() < 0.03:
                index: int | None = None
            else:
                index = rng.choices(range(departments), weights=sizes)[0]
            standing = rng.choices([s for s, _ in _STANDINGS], weights=[w for _, w in _STANDINGS])[0]
            first = min(months - 1, int(rng.random() ** 1.3 * months))
            checks = [first] + [m for m in range(first + 1, months) if rng.random() < 0.22]
            when = [_moment(rng, starts[m], ends[m]) for m in checks]
            if rng.random() < 0.05:  # onboarded, but never finished a check
                checks = []
            plans.append({"index": index, "standing": standing, "when": when[: len(checks)], "month": checks})
            person_rows.append(
                {
                    "channel": CHANNEL,
                    "external_id": f"demo-{offset + i + 1}",
                    "language": "nl" if rng.random() < 0.7 else "en",
                    "role": "employee",
                    "standing": standing,
                    "department_id": None if index is None else department_ids[index],
                    "vouched_department_id": None if index is None else department_ids[index],
                    "consent": True,
                    "created_at": when[0] - timedelta(minutes=5),
                }
            )
        for chunk in range(0, len(person_rows), _BATCH):
            await connection.execute(insert(people_table), person_rows[chunk : chunk + _BATCH])
        # Ids read back in one query: RETURNING with executemany goes row by row on SQLite.
        by_external = {
            row.external_id: row.id
            for row in await connection.execute(
                select(people_table.c.id, people_table.c.external_id).where(people_table.c.channel == CHANNEL)
            )
        }
        ids = [by_external[row["external_id"]] for row in person_rows]
        assessment_rows: list[dict[str, Any]] = []
        findings: list[list[tuple[str, str]]] = []
        for person_id, plan in zip(ids, plans, strict=True):
            index = plan["index"]
            maturity, tilts, liked = _profile(index) if index is not None else (2.0, {}, ("connections",))
            own = rng.gauss(0, 0.6)
            for run, (month, moment) in enumerate(zip(plan["month"], plan["when"], strict=True), start=1):
                level = maturity + own + 0.12 * month + rng.gauss(0, 0.25)
                presence_level = max(1, min(4, math.floor(level + 0.5)))
                pilot_level = max(1, min(4, math.floor(level + rng.gauss(0, 0.5) + 0.5)))
                worry = 1.2 - 0.2 * presence_level
                fears = {
                    "unwanted_messages": _chance(rng, 0.18 * worry + tilts.get("unwanted_messages", 0)),
                    "time_loss": _chance(rng, 0.3 * worry + tilts.get("time_loss", 0)),
                    "security": _chance(rng, 0.15 * worry + tilts.get("security", 0)),
                    "role_loss": _chance(rng, 0.55 if plan["standing"] == "middle_manager" else 0.06),
                }
                causes = {
                    "middle_managers": _chance(rng, 0.3 * worry + tilts.get("middle_managers", 0)),
                    "silo": _chance(rng, 0.22 + tilts.get("silo", 0)),
                    "culture": _chance(rng, 0.25 * worry + tilts.get("culture", 0)),
                    "fear": _chance(rng, 0.45 if any(fears.values()) else 0.08),
                }
                if rng.random() < 0.2:
                    lens = rng.choice(_OTHER_LENSES)
                else:
                    preferred = [f"six_cs.{c}" for c in liked]
                    pool = [*categories.six_cs, *preferred, *preferred]
                    lens = rng.choice(pool)
                row: dict[str, Any] = {
                    "person_id": person_id,
                    "run_id": run,
                    "assessed_at": moment,
                    "phase_presence_model": presence[presence_level - 1],
                    "phase_pilot_model": pilot[pilot_level - 1],
                    "department_id": None if index is None else department_ids[index],
                    "standing": plan["standing"],
                    "lens": lens,
                    "scores": {
                        "levels": {"presence_model": presence_level, "pilot_model": pilot_level},
                        "reasons": {},
                        "capped_by": {},
                        "gaps": {lens: 1},
                    },
                }
                assessment_rows.append(row)
                found = [("fear", f) for f, named in fears.items() if named]
                found += [("cause", c) for c, named in causes.items() if named]
                findings.append(found)
        for chunk in range(0, len(assessment_rows), _BATCH):
            await connection.execute(insert(assessments_table), assessment_rows[chunk : chunk + _BATCH])
        # As for people: the new ids in one query, by (person, run), which is unique per person.
        a = assessments_table
        by_run = {
            (row.person_id, row.run_id): row.id
            for row in await connection.execute(
                select(a.c.id, a.c.person_id, a.c.run_id)
                .join(people_table, people_table.c.id == a.c.person_id)
                .where(people_table.c.channel == CHANNEL)
            )
        }
        finding_rows = [
            {
                "assessment_id": by_run[(row["person_id"], row["run_id"])],
                "kind": kind,
                "item": item,
                "ordinal": ordinal,
            }
            for row, found in zip(assessment_rows, findings, strict=True)
            for ordinal, (kind, item) in enumerate(found)
        ]
        for chunk in range(0, len(finding_rows), _BATCH):
            await connection.execute(insert(assessment_findings_table), finding_rows[chunk : chunk + _BATCH])
    return DemoSummary(people, departments, len(assessment_rows), months)


def _moment(rng: random.Random, start: datetime, end: datetime) -> datetime:
    """A moment between start and end (end is "now" for the current month)."""
    span = max(1.0, (end - start).total_seconds() - 60)
    return start + timedelta(seconds=rng.random() * span)
