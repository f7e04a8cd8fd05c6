"""Getting the released figures: load what was released, release what is due, store it, return it.

The one door through which reports, exports, charts and champions' briefs reach figures, so they
all show the same releases (bot.reports.releases has the rules).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy.exc import IntegrityError

from bot.reports.aggregates import Categories, collect
from bot.reports.measures import family_specs
from bot.reports.releases import Release, decide, from_json, to_json
from bot.storage.database import Database
from bot.storage.releases import load_batches

log = logging.getLogger(__name__)

#: Tries when another report stores a batch between our read and our write.
ATTEMPTS = 5


async def released_months(
    database: Database,
    categories: Categories,
    *,
    min_group: int,
    zone: str,
    months: int,
    refresh_hours: float,
    now: datetime | None = None,
) -> tuple[list[Release], dict[int, str]]:
    """The release shown for each month of the window (oldest first) and the department names.

    A release made here is stored before it is returned, so nothing is shown that is not kept.
    """
    now = now or datetime.now(UTC)
    specs = family_specs(categories)
    for _ in range(ATTEMPTS):
        async with database.read() as connection:
            batch, payloads = await load_batches(connection)
            raw = await collect(connection, categories, now=now, months=months, zone=zone)
        earlier = [from_json(payload) for payload in payloads]
        decision = decide(
            raw, earlier, specs, now=now, refresh=timedelta(hours=refresh_hours), min_group=min_group
        )
        if not decision.new:
            return decision.shown, raw.departments
        try:
            async with database.transaction() as repo:
                await repo.releases.store(batch + 1, now, [to_json(r) for r in decision.new])
        except IntegrityError:
            log.info("report.release_raced", extra={"batch": batch + 1})
            continue
        log.info("report.released", extra={"batch": batch + 1, "months": len(decision.new)})
        return decision.shown, raw.departments
    raise RuntimeError("could not store a release: other reports kept releasing first")
