"""The bot's one flood-control layer: paces what Telegram limits, and nothing else.

Telegram limits new messages: about 30 a second overall and about one a second to one chat (20 a
minute in a group). Editing a message, answering a button press or showing "typing…" are not new
messages, so they go out at once: a person's tap is answered without waiting for anyone else.

New messages take a slot of the shared SendBudget (bot/sending.py; in PostgreSQL when several
webhook workers share one bot) and keep one chat's messages a second apart. They travel in two
lanes: replies to a person's own update (the default) and bulk (the nudge dispatcher passes
`rate_limit_args=Lane.BULK`), which waits while replies wait. A 429 pauses the budget for its
`retry_after` and the request is tried again, up to `max_retries` times, then RetryAfter is raised.
This replaces AIORateLimiter, which counted edits and answers against the 30 a second too and so
made a person's replies queue behind everyone else's.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
import warnings
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.sending import TELEGRAM_RATE, LocalSendBudget, SendBudget

log = logging.getLogger(__name__)

#: Seconds between two messages to one private chat, and to one group (20 a minute).
PRIVATE_CHAT_GAP = 1.0
GROUP_CHAT_GAP = 3.0
#: Replies to one chat may come this many at once ("short bursts" Telegram allows), then one a gap;
#: bulk always keeps the full gap after the chat's previous message.
REPLY_BURST = 3
#: Methods that put a new message in a chat; everything else is not paced.
_NEW_MESSAGE_METHODS = frozenset({"copyMessage", "copyMessages", "forwardMessage", "forwardMessages"})
_PRUNE_AT = 10_000
JSONDict = dict[str, Any]


class Lane(enum.Enum):
    """Whose message it is: a reply to someone's own update, or part of a fan-out."""

    REPLY = "reply"
    BULK = "bulk"


def counts_as_message(endpoint: str, data: dict[str, Any]) -> bool:
    """Whether Telegram counts this request against its message limits."""
    if data.get("chat_id") is None:
        return False
    if endpoint in _NEW_MESSAGE_METHODS:
        return True
    return endpoint.startswith("send") and endpoint != "sendChatAction"


def retry_seconds(error: RetryAfter) -> float:
    """retry_after as seconds; PTB 22 gives int or timedelta and warns about the int form."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = error.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class FloodControl(BaseRateLimiter[Lane]):
    """python-telegram-bot's rate limiter for this bot (see the module docstring)."""

    def __init__(
        self,
        rate: float = TELEGRAM_RATE,
        *,
        max_retries: int = 2,
        private_gap: float = PRIVATE_CHAT_GAP,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.local = LocalSendBudget(rate, reserve=0)  # in one process the lanes' order suffices
        self.private_gap = private_gap
        self.budget: SendBudget = self.local
        self.max_retries = max_retries
        self._monotonic = monotonic
        self._chats: dict[int | str, _ChatPace] = {}
        self._chat_locks: dict[int | str, tuple[asyncio.Lock, int]] = {}

    def share(self, budget: SendBudget) -> None:
        """Use a budget shared with other workers (called once the database is open)."""
        self.budget = budget

    async def initialize(self) -> None:
        """Nothing to open: the budget belongs to whoever made it."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Lane | None,
    ) -> bool | JSONDict | list[JSONDict]:
        counted = counts_as_message(endpoint, data)
        bulk = rate_limit_args is Lane.BULK
        attempt = 0
        while True:
            try:
                if not counted:
                    return await callback(*args, **kwargs)
                return await self._send(callback, args, kwargs, data["chat_id"], bulk)
            except RetryAfter as error:
                seconds = retry_seconds(error)
                log.warning(
                    "telegram.retry_after",
                    extra={"method": endpoint, "seconds": seconds, "attempt": attempt + 1, "bulk": bulk},
                )
                if counted:
                    await self._pause(seconds)
                    self._pace(data["chat_id"]).hold(self._monotonic() + seconds)
                if attempt >= self.max_retries:
                    raise
                if not counted:
                    await asyncio.sleep(seconds)
                attempt += 1

    async def _send(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        chat_id: int | str,
        bulk: bool,
    ) -> bool | JSONDict | list[JSONDict]:
        async with self._chat_turn(chat_id):
            pace = self._pace(chat_id)
            wait = pace.wait(self._monotonic(), bulk)
            if wait > 0:
                await asyncio.sleep(wait)
            budget, slot = await self._acquire(bulk)
            try:
                return await callback(*args, **kwargs)
            finally:
                # The gap counts from the answer: Telegram saw the message at the latest by then.
                pace.sent(self._monotonic())
                await self._release(budget, slot)

    def _pace(self, chat_id: int | str) -> _ChatPace:
        pace = self._chats.get(chat_id)
        if pace is None:
            if len(self._chats) > _PRUNE_AT:
                now = self._monotonic()
                self._chats = {c: p for c, p in self._chats.items() if not p.rested(now)}
            pace = self._chats[chat_id] = _ChatPace(self._gap(chat_id))
        return pace

    @contextlib.asynccontextmanager
    async def _chat_turn(self, chat_id: int | str) -> AsyncIterator[None]:
        """One message at a time per chat, in the order asked, so the gap holds and order is kept."""
        lock, users = self._chat_locks.get(chat_id, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._chat_locks[chat_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._chat_locks[chat_id]
            if users <= 1:
                del self._chat_locks[chat_id]
            else:
                self._chat_locks[chat_id] = (lock, users - 1)

    async def _acquire(self, bulk: bool) -> tuple[SendBudget, int]:
        """A slot from the shared budget; if that cannot be reached, from this process's own."""
        budget = self.budget
        if budget is not self.local:
            try:
                return budget, await budget.acquire(bulk=bulk)
            except Exception:
                log.warning("telegram.shared_budget_unavailable", exc_info=True)
        return self.local, await self.local.acquire(bulk=bulk)

    async def _release(self, budget: SendBudget, slot: int) -> None:
        try:
            await budget.release(slot)
        except Exception:  # the shared slot lapses by its lease instead
            log.warning("telegram.shared_budget_release_failed", exc_info=True)

    async def _pause(self, seconds: float) -> None:
        await self.local.pause(seconds)
        if self.budget is not self.local:
            try:
                await self.budget.pause(seconds)
            except Exception:
                log.warning("telegram.shared_budget_pause_failed", exc_info=True)

    def _gap(self, chat_id: int | str) -> float:
        """Groups and channels have negative ids (or an @username) and a stricter limit."""
        if isinstance(chat_id, int) and chat_id > 0:
            return self.private_gap
        return GROUP_CHAT_GAP


class _ChatPace:
    """One chat's pace: a bucket of REPLY_BURST replies refilled one per gap; bulk waits a full gap."""

    def __init__(self, gap: float) -> None:
        self.gap = gap
        self.tokens = float(REPLY_BURST)
        self.last = float("-inf")  # when the previous message's answer came
        self.updated = 0.0

    def _refill(self, now: float) -> None:
        if self.gap <= 0:
            self.tokens = float(REPLY_BURST)
        else:
            self.tokens = min(float(REPLY_BURST), self.tokens + (now - self.updated) / self.gap)
        self.updated = now

    def wait(self, now: float, bulk: bool) -> float:
        """Seconds until a message may go to this chat; takes its token."""
        self._refill(now)
        if bulk:
            wait = max(0.0, self.last + self.gap - now, (1 - self.tokens) * self.gap)
        else:
            wait = max(0.0, (1 - self.tokens) * self.gap)
        self.tokens -= 1
        return wait

    def sent(self, now: float) -> None:
        self.last = max(self.last, now)

    def hold(self, until: float) -> None:
        """Telegram said 429 for this chat: nothing goes before `until`."""
        self.last = max(self.last, until - self.gap)
        self.tokens = min(self.tokens, 0.0)

    def rested(self, now: float) -> bool:
        """Nothing about this chat limits it any more: its state can be forgotten."""
        self._refill(now)
        return self.tokens >= REPLY_BURST and now >= self.last + self.gap
