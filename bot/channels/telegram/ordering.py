"""Updates of different people at once, one person's in the order they came.

A webhook worker takes requests of many people at once, and python-telegram-bot's
`concurrent_updates(True)` gives up the order of one person's updates (Telegram may deliver a
person's next update while the previous one still runs). This processor runs updates concurrently
but serialises those of one person
(user id, or chat for updates without a user): their taps are turns on one dialogue position and
must not overtake each other. The database still serialises a person's turns (row lock or SQLite's
write lock); this keeps the order, and keeps a person's updates from queueing for a lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

#: Updates in progress at once; more wait their turn in arrival order.
MAX_CONCURRENT = 64


class PerPersonUpdates(BaseUpdateProcessor):
    """Concurrent across people, sequential within one person."""

    def __init__(self, max_concurrent_updates: int = MAX_CONCURRENT) -> None:
        super().__init__(max_concurrent_updates)
        self._people: dict[object, tuple[asyncio.Lock, int]] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _person_of(update)
        lock, users = self._people.get(key, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._people[key] = (lock, users + 1)
        try:
            async with lock:
                await coroutine
        finally:
            lock, users = self._people[key]
            if users <= 1:
                del self._people[key]
            else:
                self._people[key] = (lock, users - 1)

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""


def _person_of(update: object) -> object:
    if isinstance(update, Update):
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
    return ("other", id(update))
