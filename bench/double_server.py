"""The Bot API double in a process of its own, with scripted people arriving at a Poisson rate.

    python bench/double_server.py --rate 20 --duration 30 [--seed 1] [--style keyboard|echo]
                                  [--done-on any|send] [--think 1.0] [--webhook URL]

Keeping the double (and the people driving it) out of the bot's process means the bot's process
CPU is the bot's own. Protocol with the parent (bench/per_update.py, bench/capacity.py):
1. prints one JSON line: {"base_url", "token", "pid"};
2. waits for a line `go` on stdin, then runs the load: updates arrive as a Poisson process at
   --rate per second for --duration seconds; each arrival is the next step of the person who has
   waited longest since the bot's previous reply (at least --think seconds: people tap at human
   pace), or of a new person (script_for(i): /start, then 18 taps: a full check);
3. prints one JSON line with what it saw, then exits on `quit` or end of input.

Timing (all in this process, time.monotonic):
- handed out: getUpdates returned the update (long polling) or its webhook POST began;
- first reply: the bot's first Bot API request about that chat after that (answerCallbackQuery,
  sendMessage, an edit; not sendChatAction);
- done: the person can go on: the keyboard with their next step's button arrived (style
  keyboard), or the first reply (echo, --done-on any) or first sendMessage (--done-on send).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import resource
import sys
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench._common import CommandReader, emit, percentile
from tests.support.bot_api_double import BotApiDouble, ChatClient
from tests.support.webhook_driver import SECRET, Step, script_for

FIRST_USER_ID = 500_000_000
#: Requests that count as the bot answering someone (a typing indicator is not an answer).
REPLIES = ("sendMessage", "editMessageText", "editMessageReplyMarkup", "answerCallbackQuery", "sendPhoto")


@dataclass
class Pending:
    """One update of one person, from queueing to the reply that lets them go on."""

    person: Person
    update_id: int
    kind: str
    queued_at: float
    mark: int
    step: str = ""
    handed_at: float | None = None
    first_at: float | None = None
    done_at: float | None = None
    requests: int = 0


@dataclass
class Person:
    index: int
    client: ChatClient
    steps: list[Step]
    position: int = 0
    eligible_at: float = 0.0
    pending: Pending | None = None
    history: list[Pending] = field(default_factory=list)


class BenchDouble(BotApiDouble):
    """The test double, plus the bookkeeping for latency: hand-out and reply times per chat."""

    def __init__(self, *args: Any, style: str = "keyboard", done_on: str = "any", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style = style
        self.done_on = done_on
        self.by_update: dict[int, Pending] = {}
        self.by_chat: dict[int, Pending] = {}
        self.finished: list[Pending] = []
        self.method_counts: Counter[str] = Counter()
        self.on_done: Any = None
        self.keep_requests = False

    # -- hand-out ------------------------------------------------------------------------------
    def _take(self, offset: Any, limit: int) -> list[dict[str, Any]]:
        batch = super()._take(offset, limit)
        now = time.monotonic()
        for update in batch:
            pending = self.by_update.get(update["update_id"])
            if pending is not None and pending.handed_at is None:
                pending.handed_at = now
        return batch

    async def _handle(self, request: Any) -> Any:
        response = await super()._handle(request)
        if not self.keep_requests and len(self.requests) > 2000:
            del self.requests[:1000]  # the bench keeps its own counts; the list would only grow
        return response

    # -- replies -------------------------------------------------------------------------------
    def _saw(self, method: str, chat_id: Any) -> Pending | None:
        self.method_counts[method] += 1
        pending = self.by_chat.get(chat_id) if isinstance(chat_id, int) else None
        if pending is None or pending.handed_at is None:
            return None
        pending.requests += 1
        if method in REPLIES and pending.first_at is None:
            pending.first_at = time.monotonic()
        return pending

    def _after(self, method: str, pending: Pending | None) -> None:
        if pending is None or pending.done_at is not None:
            return
        person = pending.person
        if self.style == "echo":
            ready = self.done_on == "any" or method == "sendMessage"
        elif person.position >= len(person.steps):
            ready = method == "sendMessage"  # the last step: the advice arrived
        else:
            ready = _has_button(person.client, pending.mark, person.steps[person.position])
        if ready:
            pending.done_at = time.monotonic()
            self.by_chat.pop(person.client.chat_id, None)
            self.finished.append(pending)
            if self.on_done is not None:
                self.on_done(person)

    async def _api_sendMessage(self, params: dict[str, Any], record: Any) -> Any:
        pending = self._saw("sendMessage", params.get("chat_id"))
        result = await super()._api_sendMessage(params, record)
        self._after("sendMessage", pending)
        return result

    async def _api_editMessageText(self, params: dict[str, Any], record: Any) -> Any:
        pending = self._saw("editMessageText", params.get("chat_id"))
        result = await super()._api_editMessageText(params, record)
        self._after("editMessageText", pending)
        return result

    async def _api_editMessageReplyMarkup(self, params: dict[str, Any], record: Any) -> Any:
        pending = self._saw("editMessageReplyMarkup", params.get("chat_id"))
        result = await super()._api_editMessageReplyMarkup(params, record)
        self._after("editMessageReplyMarkup", pending)
        return result

    async def _api_answerCallbackQuery(self, params: dict[str, Any], record: Any) -> Any:
        query = self._callbacks.get(str(params.get("callback_query_id")))
        pending = self._saw("answerCallbackQuery", query.chat_id if query else None)
        result = await super()._api_answerCallbackQuery(params, record)
        self._after("answerCallbackQuery", pending)
        return result

    async def _api_sendChatAction(self, params: dict[str, Any], record: Any) -> Any:
        self._saw("sendChatAction", params.get("chat_id"))
        return await super()._api_sendChatAction(params, record)

    async def _api_getUpdates(self, params: dict[str, Any], record: Any) -> Any:
        self.method_counts["getUpdates"] += 1
        return await super()._api_getUpdates(params, record)

    def _check_rate(self, method: str, chat_id: Any) -> None:
        try:
            super()._check_rate(method, chat_id)
        except Exception:
            self.method_counts["429"] += 1
            raise


def _match(text: str, label: str) -> int:
    """How well a button's text fits the label a person looks for: 3 exact, 2 with a tick or a
    mark around it ("▫️ Unwanted messages", "Done ✔︎"), 1 contained in it ("Our culture; …"), 0 not."""
    if text == label:
        return 3
    if text.endswith(" " + label) or text.startswith(label + " "):
        return 2
    return 1 if label in text else 0


def _has_button(client: ChatClient, mark: int, step: Step) -> bool:
    """Whether a message sent or edited since `mark` carries the button the person taps next."""
    if step.kind == "text":
        return True
    for event in client._chat.events[mark:]:
        if any(_match(str(b.get("text", "")), step.text) for b in event.inline_buttons()):
            return True
    return False


def _find_button(client: ChatClient, label: str) -> tuple[int, str] | None:
    """The button a person would press: on the newest message that has one fitting `label`."""
    for message in reversed(client.messages):
        scored = [
            (_match(str(b.get("text", "")), label), b)
            for b in message.inline_buttons()
            if "callback_data" in b
        ]
        best = max(scored, key=lambda pair: pair[0], default=(0, None))
        if best[0] and best[1] is not None:
            return message.message_id, str(best[1]["callback_data"])
    return None


class Load:
    """People arriving at a Poisson rate, each doing a full check."""

    def __init__(self, api: BenchDouble, args: argparse.Namespace, run: int) -> None:
        self.api = api
        self.args = args
        self.random = random.Random(args.seed + run)
        self.first_user = FIRST_USER_ID + 10_000_000 * run
        api.by_update.clear()
        api.by_chat.clear()
        api.finished.clear()
        api.method_counts.clear()
        api.too_many = 0
        self.ready: deque[Person] = deque()
        self.people: list[Person] = []
        self.lost = 0
        self.lag_max = 0.0
        self.webhook_posts: set[asyncio.Task[None]] = set()
        self.webhook_failures = 0
        self.session: aiohttp.ClientSession | None = None
        self.slots = asyncio.Semaphore(args.connections)
        api.on_done = self._done

    def _done(self, person: Person) -> None:
        person.pending = None
        if person.position < len(person.steps):
            person.eligible_at = time.monotonic() + self.args.think
            self.ready.append(person)

    def _next_person(self, now: float) -> Person:
        """The person waiting longest, if anyone may go on by `now`; else a new person (inf: always new)."""
        if now != float("inf") and self.ready and self.ready[0].eligible_at <= now:
            return self.ready.popleft()
        index = len(self.people)
        client = self.api.user(self.first_user + index, f"Person {index}", "en")
        person = Person(index, client, script_for(index).steps)
        self.people.append(person)
        return person

    def _update_for(self, person: Person, step: Step) -> dict[str, Any]:
        client = person.client
        if step.kind == "text":
            return client.text_update(step.text)
        if self.api.style == "echo":
            last = client.last_message()
            data = f"{step.step}:{step.text}".encode()[:64].decode(errors="ignore")
            return client.callback_update(last.message_id if last else 1, data)
        found = _find_button(client, step.text)
        if found is None:
            self.lost += 1  # the keyboard never came: start again, as a person would
            return client.text_update("/start")
        return client.callback_update(*found)

    async def _emit(self, person: Person) -> None:
        step = person.steps[person.position]
        update = self._update_for(person, step)
        person.position += 1
        now = time.monotonic()
        mark = len(person.client._chat.events)
        if self.args.webhook:
            payload = self.api.stamp(update)
        else:
            payload = {"update_id": self.api._next_update_id, **update}
        pending = Pending(person, payload["update_id"], step.kind, now, mark, f"{step.step or step.text}")
        person.pending = pending
        person.history.append(pending)
        self.api.by_update[pending.update_id] = pending
        self.api.by_chat[person.client.chat_id] = pending
        if self.args.webhook:
            task = asyncio.create_task(self._post(payload, pending))
            self.webhook_posts.add(task)
            task.add_done_callback(self.webhook_posts.discard)
        else:
            await self.api.send_update(payload)

    async def _post(self, payload: dict[str, Any], pending: Pending) -> None:
        assert self.session is not None
        async with self.slots:  # Telegram keeps at most max_connections requests open per bot
            for _ in range(20):
                pending.handed_at = time.monotonic()
                try:
                    async with self.session.post(
                        self.args.webhook, json=payload, headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
                    ) as response:
                        await response.read()
                        if response.status == 200:
                            return
                except aiohttp.ClientError:
                    pass
                self.webhook_failures += 1
                await asyncio.sleep(0.2)

    async def run(self) -> dict[str, Any]:
        args = self.args
        if args.webhook:
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.connections))
        arrivals: list[float] = []
        moment = 0.0
        while True:
            moment += self.random.expovariate(args.rate)
            if moment > args.duration:
                break
            arrivals.append(moment)
        cpu_before = _own_cpu()
        start = time.monotonic()
        for at in arrivals:
            delay = start + at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            else:
                self.lag_max = max(self.lag_max, -delay)
            now = time.monotonic()
            person = self._next_person(now)
            if person.pending is not None:  # cannot happen: people in `ready` have no update out
                raise RuntimeError("a person tapped before the bot answered")
            await self._emit(person)
        offered_for = time.monotonic() - start
        drain_until = time.monotonic() + args.drain
        while self.api.by_chat and time.monotonic() < drain_until:  # noqa: ASYNC110 - polls the double's state
            await asyncio.sleep(0.02)
        elapsed = time.monotonic() - start
        if self.session is not None:
            for task in list(self.webhook_posts):
                task.cancel()
            await self.session.close()
        return self._results(len(arrivals), offered_for, elapsed, _own_cpu() - cpu_before)

    async def run_people(self, count: int, spread: float, limit: float) -> dict[str, Any]:
        """`count` people start within `spread` seconds (uniformly at random) and each does a full
        check, tapping --think seconds after the bot's reply lets them go on: a room of people told
        "open the bot now"."""
        args = self.args
        if args.webhook:
            self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.connections))
        starts = sorted(self.random.uniform(0, spread) for _ in range(count))
        cpu_before = _own_cpu()
        start = time.monotonic()
        deadline = start + spread + limit
        emitted = 0
        while time.monotonic() < deadline:
            now = time.monotonic()
            while starts and start + starts[0] <= now:
                starts.pop(0)
                await self._emit(self._next_person(float("inf")))
                emitted += 1
            while self.ready and self.ready[0].eligible_at <= now:
                await self._emit(self.ready.popleft())
                emitted += 1
            if not starts and not self.ready and not self.api.by_chat:
                break  # everyone finished
            await asyncio.sleep(0.002)
        elapsed = time.monotonic() - start
        if self.session is not None:
            for task in list(self.webhook_posts):
                task.cancel()
            await self.session.close()
        return self._results(emitted, elapsed, elapsed, _own_cpu() - cpu_before)

    def _results(self, offered: int, offered_for: float, elapsed: float, cpu: float) -> dict[str, Any]:
        done = [p for p in self.api.finished if p.handed_at is not None and p.done_at is not None]
        first = [1000 * (p.first_at - p.handed_at) for p in done if p.first_at is not None]
        complete = [1000 * (p.done_at - p.handed_at) for p in done]
        end_to_end = [1000 * (p.done_at - p.queued_at) for p in done]
        waiting = [1000 * (p.handed_at - p.queued_at) for p in done]
        last_done = max((p.done_at for p in done), default=0.0)
        first_queued = min((p.queued_at for p in done), default=0.0)
        counts = dict(self.api.method_counts)
        replies = sum(v for k, v in counts.items() if k not in ("getUpdates", "429"))
        checks = sum(1 for p in self.people if p.position >= len(p.steps) and p.pending is None)
        return {
            "offered": offered,
            "offered_rate": offered / offered_for if offered_for else 0.0,
            "answered": len(done),
            "unanswered": offered - len(done),
            "answered_rate": len(done) / (last_done - first_queued)
            if done and last_done > first_queued
            else 0,
            "people": len(self.people),
            "checks_completed": checks,
            "lost_keyboards": self.lost,
            "unanswered_steps": dict(Counter(p.step for p in self.api.by_chat.values())),
            "stuck": [_describe(p) for p in list(self.api.by_chat.values())[:2]],
            "elapsed": elapsed,
            "driver_lag_max_ms": 1000 * self.lag_max,
            "first_p50": percentile(first, 0.50),
            "first_p90": percentile(first, 0.90),
            "first_p99": percentile(first, 0.99),
            "first_max": max(first, default=float("nan")),
            "done_p50": percentile(complete, 0.50),
            "done_p99": percentile(complete, 0.99),
            "e2e_p50": percentile(end_to_end, 0.50),
            "e2e_p99": percentile(end_to_end, 0.99),
            "wait_p99": percentile(waiting, 0.99),
            "first_ms": [round(v, 2) for v in first],
            "done_ms": [round(v, 2) for v in complete],
            "e2e_ms": [round(v, 2) for v in end_to_end],
            "requests": replies,
            "requests_per_update": replies / len(done) if done else float("nan"),
            "methods": counts,
            "too_many": self.api.too_many,
            "webhook_failures": self.webhook_failures,
            "double_cpu": cpu,
            "loadavg": os.getloadavg()[0],
        }


def _prepare(api: BenchDouble, count: int) -> dict[str, Any]:
    """For bench/breakdown.py: one chat, `count` queued callback updates (their query ids), and a
    message of the bot's to edit."""
    client = api.user(FIRST_USER_ID - 1, "Probe", "en")
    last = client.last_message()  # the question a real press comes from, keyboard and all
    ids = []
    for _ in range(count):
        update = client.callback_update(last.message_id if last else 1, "c1|who_uses|enthusiasts")
        ids.append(update["callback_query"]["id"])
        api._pending.append({"update_id": api._next_update_id, **update})
        api._next_update_id += 1
    api._notify()
    return {"chat_id": client.chat_id, "query_ids": ids}


def _describe(pending: Pending) -> dict[str, Any]:
    """What a person who got no usable answer saw: for finding out why."""
    person = pending.person
    events = person.client._chat.events[-3:]
    return {
        "step": pending.step,
        "tapped": person.steps[person.position - 1].text,
        "requests": pending.requests,
        "first_reply": pending.first_at is not None,
        "last_events": [(e.action, (e.text or "")[:40], e.buttons()) for e in events],
    }


def _own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=20.0, help="updates per second (Poisson)")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of arrivals")
    parser.add_argument("--drain", type=float, default=15.0, help="seconds to wait for late replies")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--style", choices=("keyboard", "echo"), default="keyboard")
    parser.add_argument("--done-on", choices=("any", "send"), default="any")
    parser.add_argument("--think", type=float, default=1.0, help="least seconds between a person's taps")
    parser.add_argument("--webhook", default=None, help="POST updates to this URL instead of long polling")
    parser.add_argument("--connections", type=int, default=40, help="open webhook requests at most")
    parser.add_argument("--enforce-rate", action="store_true", help="answer 429 beyond Telegram's limits")
    args = parser.parse_args()

    api = BenchDouble(style=args.style, done_on=args.done_on, enforce_rate=args.enforce_rate)
    await api.start()
    commands = CommandReader()
    commands.start()
    emit({"base_url": api.base_url, "token": api.token, "pid": os.getpid()})
    runs = 0
    try:
        while True:
            command = await commands.next()
            if command.startswith("go"):
                # "go" or "go RATE DURATION": several loads against one double, people never reused
                parts = command.split()
                if len(parts) == 3:
                    args.rate, args.duration = float(parts[1]), float(parts[2])
                emit(await Load(api, args, runs).run())
                runs += 1
            elif command.startswith("people"):
                # "people COUNT SPREAD LIMIT": a room of people starting together (bench/burst.py)
                _, count, spread, limit = command.split()
                emit(await Load(api, args, runs).run_people(int(count), float(spread), float(limit)))
                runs += 1
            elif command.startswith("prepare"):
                emit(_prepare(api, int(command.split()[1])))
            elif command in ("quit", ""):
                break
    finally:
        await api.stop()


if __name__ == "__main__":
    asyncio.run(main())
