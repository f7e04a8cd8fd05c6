"""Telegram's overall send limit as a budget of slots, shared by everything that sends messages.

Telegram allows a bot about 30 new messages a second overall. The budget holds `slots` places; a
message takes one just before its request leaves and keeps it until `window` seconds after the
answer came back. Telegram counts a message when it arrives, which is somewhere between those two
moments, so no stretch of `window` seconds can ever hold more than `slots` arrivals, whatever the
network's jitter (a schedule of send times, the earlier design, drew 429s on exactly that jitter).

Two lanes: replies to a person's own update, and bulk (the nudge dispatcher). Bulk never takes the
last `reserve` free slots and, within one process, never goes while a reply waits, so a reply does
not queue behind a fan-out. This module is the in-process budget (one process, e.g. on SQLite);
bot/storage/send_budget.py keeps the same slots in PostgreSQL for several webhook workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

#: Telegram's documented overall figure (messages a second).
TELEGRAM_RATE = 30.0


class SendBudget(Protocol):
    """Slots for messages that count against Telegram's overall limit."""

    async def acquire(self, *, bulk: bool) -> int:
        """Waits for a free slot and returns it; bulk waits for replies and leaves the reserve."""

    async def release(self, slot: int) -> None:
        """The request that held `slot` has its answer: the slot is free again `window` from now."""

    async def pause(self, seconds: float) -> None:
        """Telegram answered 429: no slot is handed out for `seconds`."""


def slots_for(rate: float) -> tuple[int, float]:
    """(slots, window seconds) for a rate: 28.5 a second is 29 slots over 29/28.5 s."""
    if rate <= 0:
        raise ValueError("a send rate must be positive")
    slots = max(1, math.ceil(rate))
    return slots, slots / rate


class LocalSendBudget:
    """The budget in one process: exact, no I/O."""

    def __init__(
        self,
        rate: float = TELEGRAM_RATE,
        *,
        reserve: int = 1,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slots, self.window = slots_for(rate)
        self.reserve = min(reserve, self.slots - 1)
        self._monotonic = monotonic
        self._in_flight = 0
        self._free_at: deque[float] = deque()  # when released slots come free, in order
        self._paused_until = 0.0
        self._replies_waiting = 0
        self._changed = asyncio.Event()

    def _expire(self, now: float) -> None:
        while self._free_at and self._free_at[0] <= now:
            self._free_at.popleft()

    def free(self) -> int:
        """Slots that could be handed out right now (ignoring a pause)."""
        self._expire(self._monotonic())
        return self.slots - self._in_flight - len(self._free_at)

    async def acquire(self, *, bulk: bool) -> int:
        if not bulk:
            self._replies_waiting += 1
        try:
            while True:
                now = self._monotonic()
                self._expire(now)
                free = self.slots - self._in_flight - len(self._free_at)
                wait = self._paused_until - now
                allowed = free > (self.reserve if bulk else 0) and not (bulk and self._replies_waiting)
                if wait <= 0 and allowed:
                    self._in_flight += 1
                    return self._in_flight
                if wait <= 0:
                    # Next change: a released slot coming free, or a release/another waiter's turn.
                    wait = self._free_at[0] - now if self._free_at else 1.0
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), max(wait, 0.001))
        finally:
            if not bulk:
                self._replies_waiting -= 1
                self._changed.set()  # bulk waiters look again

    async def release(self, slot: int) -> None:  # noqa: ARG002 (the protocol's signature; slots here are interchangeable)
        self._in_flight -= 1
        self._free_at.append(self._monotonic() + self.window)
        self._changed.set()

    async def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._monotonic() + seconds)
