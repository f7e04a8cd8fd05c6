"""bot.sending.SendBudget in PostgreSQL: several webhook workers share one bot's message slots.

The `send_slots` table holds one row per slot. Taking a slot marks it busy for a lease (a worker
that dies mid-request frees it when the lease ends); giving it back marks it busy until `window`
seconds after the answer, measured on the database server's clock, so the workers' own clocks never
have to agree. Each step is one statement on an autocommit connection: a row lock held for
microseconds, `SKIP LOCKED` so workers never queue on each other's rows.

Bulk takes a slot only past the first `reserve` free ones (OFFSET), so a worker's fan-out always
leaves room for another worker's replies, which it cannot see waiting.
"""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.sending import TELEGRAM_RATE, slots_for

log = logging.getLogger(__name__)

#: Seconds a slot stays taken if its worker never gives it back (it died mid-request).
LEASE_SECONDS = 30.0
#: Longest nap between two tries while every slot is busy (a release elsewhere is not signalled).
POLL_SECONDS = 0.02

_TAKE = text(
    """
    WITH pick AS (
        SELECT slot FROM send_slots
        WHERE busy_until <= clock_timestamp()
        ORDER BY busy_until, slot
        OFFSET :skip LIMIT 1
        FOR UPDATE SKIP LOCKED
    ), taken AS (
        UPDATE send_slots AS s
        SET busy_until = clock_timestamp() + make_interval(secs => :lease), holder = :holder
        FROM pick WHERE s.slot = pick.slot
        RETURNING s.slot
    )
    SELECT (SELECT slot FROM taken) AS slot,
           (SELECT extract(epoch FROM min(busy_until) - clock_timestamp()) FROM send_slots) AS wait
    """
)
_GIVE_BACK = text(
    "UPDATE send_slots SET busy_until = clock_timestamp() + make_interval(secs => :window), holder = NULL "
    "WHERE slot = :slot AND holder = :holder"
)
_PAUSE = text(
    "UPDATE send_slots SET busy_until = greatest(busy_until, clock_timestamp() + make_interval(secs => :s))"
)
_SIZE = text(
    "INSERT INTO send_slots (slot, busy_until) "
    "SELECT n, clock_timestamp() FROM generate_series(0, :slots - 1) AS n ON CONFLICT (slot) DO NOTHING"
)
_TRIM = text("DELETE FROM send_slots WHERE slot >= :slots")


class PostgresSendBudget:
    """The shared budget; one per worker process, all on the same database."""

    def __init__(
        self, engine: AsyncEngine, holder: str, rate: float = TELEGRAM_RATE, *, reserve: int = 1
    ) -> None:
        self.slots, self.window = slots_for(rate)
        self.reserve = min(reserve, self.slots - 1)
        self.holder = holder[:80]
        self._engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self._sized = False

    async def size(self) -> None:
        """Makes the table hold exactly this many slots (every worker is set alike)."""
        async with self._engine.connect() as connection:
            await connection.execute(_SIZE, {"slots": self.slots})
            await connection.execute(_TRIM, {"slots": self.slots})
        self._sized = True

    async def acquire(self, *, bulk: bool) -> int:
        if not self._sized:
            await self.size()
        skip = self.reserve if bulk else 0
        while True:
            async with self._engine.connect() as connection:
                row = (
                    await connection.execute(
                        _TAKE, {"skip": skip, "lease": LEASE_SECONDS, "holder": self.holder}
                    )
                ).one()
            if row.slot is not None:
                return int(row.slot)
            if row.wait is None:  # no slots at all (the table was emptied): lay them again
                await self.size()
                continue
            wait = float(row.wait)
            await asyncio.sleep(min(max(wait, 0.001), POLL_SECONDS))

    async def release(self, slot: int) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(_GIVE_BACK, {"window": self.window, "slot": slot, "holder": self.holder})

    async def pause(self, seconds: float) -> None:
        async with self._engine.connect() as connection:
            await connection.execute(_PAUSE, {"s": seconds})
