"""Keeps the dispatcher under Telegram's flood limits: ~30 messages a second overall, 1 a second per chat.

python-telegram-bot's AIORateLimiter spaces messages overall and per group, not per private chat, so
the per-chat gap is kept here. The overall rate is a slot schedule (one slot every 1/rate seconds,
no burst); a 429 pauses every slot for its retry_after. The limits hold per process: several
workers should each get COACHBOT_SEND_RATE divided by their number.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

#: Telegram's documented figures, with a margin: 28 rather than 30.
DEFAULT_RATE = 28.0
PER_CHAT_SECONDS = 1.0
_PRUNE_AT = 10_000


class Pacer:
    """Hands out send times; `wait(chat)` returns when a message to that chat may go.

    Calls for one chat must not overlap (the dispatcher sends a chat's messages in order from one
    task), so each call sees the time the previous one was given.
    """

    def __init__(
        self,
        per_second: float = DEFAULT_RATE,
        per_chat_seconds: float = PER_CHAT_SECONDS,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if per_second <= 0 or per_chat_seconds < 0:
            raise ValueError("a pacer needs a positive rate and a non-negative per-chat gap")
        self.interval = 1.0 / per_second
        self.per_chat_seconds = per_chat_seconds
        self._monotonic = monotonic
        self._sleep = sleep
        self._next_slot = 0.0
        self._chat_ready: dict[int, float] = {}

    async def wait(self, chat_id: int) -> None:
        """Sleeps until both the chat's gap and an overall slot allow a message."""
        ready = self._chat_ready.get(chat_id, 0.0)
        now = self._monotonic()
        if ready > now:
            await self._sleep(ready - now)
        # The overall slot is taken only once the chat is ready, so a chat that must wait does
        # not hold up messages to other chats.
        now = self._monotonic()
        slot = max(now, self._next_slot)
        self._next_slot = slot + self.interval
        if slot > now:
            await self._sleep(slot - now)
        self._chat_ready[chat_id] = slot + self.per_chat_seconds
        if len(self._chat_ready) > _PRUNE_AT:
            self._prune(slot)

    def sent(self, chat_id: int) -> None:
        """The request to this chat has returned: its gap counts from now.

        Telegram counts a message when it arrives, which is after we sent it, so a gap measured
        from the moment of sending could come out a little short at Telegram's end.
        """
        self._chat_ready[chat_id] = max(
            self._chat_ready.get(chat_id, 0.0), self._monotonic() + self.per_chat_seconds
        )

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nothing goes out for `seconds` (retry_after)."""
        self._next_slot = max(self._next_slot, self._monotonic() + seconds)

    def _prune(self, now: float) -> None:
        self._chat_ready = {chat: t for chat, t in self._chat_ready.items() if t > now}
