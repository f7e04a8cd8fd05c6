"""Drives scripted people through webhook workers the way Telegram does: POST, retry until 200."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.engine.choice_token import ChoiceToken
from tests.support.bot_api_double import BotApiDouble, ChatClient

SECRET = "test-secret_0123456789"
PHASE_STEPS = [
    (
        "who_uses",
        ["Hardly anyone yet", "A few enthusiasts", "Almost everyone"],
        ["nobody", "enthusiasts", "everyone"],
    ),
    ("top_uses", ["No", "One or two of them", "Yes, actively and visibly"], ["no", "some", "actively"]),
    (
        "where_sits",
        ["Nowhere, it grows by itself", "One department is in control", "Part of the company strategy"],
        ["nowhere", "one_team", "strategy"],
    ),
    (
        "policy",
        ["No, nothing yet", "We're still experimenting", "Yes, and we keep improving it"],
        ["none", "experimenting", "living"],
    ),
    (
        "with_customers",
        ["Not really yet", "We mostly broadcast news", "They help shape what we do"],
        ["not_yet", "broadcast", "co_create"],
    ),
    (
        "customer_service",
        ["No", "Yes, during office hours", "Yes, fast, whenever customers are online"],
        ["no", "office_hours", "when_customers_are"],
    ),
    ("customers_improve", ["No", "Now and then", "Yes, as a habit"], ["no", "sometimes", "structurally"]),
    (
        "internal_use",
        ["No, mostly by e-mail", "Within some teams", "Yes, across departments"],
        ["email", "some_teams", "across"],
    ),
    ("own_use", ["Never", "Sometimes", "Every day"], ["never", "sometimes", "daily"]),
]
#: The clarifying question after "hardly anyone uses it" with "part of the company strategy".
USE_CHECK_USES = ("nobody", "enthusiasts")
USE_CHECK_PLACES = ("coordinated", "strategy")
USE_CHECK = [
    ("Right, it's mostly a plan so far", "few"),
    ("More than I said: dozens take part", "dozens"),
    ("I'm not sure", "unknown"),
]
FEARS = [
    ("Unwanted messages", "unwanted_messages"),
    ("Too much time lost", "time_loss"),
    ("Network security", "security"),
    ("My role as a manager", "role_loss"),
]
CAUSES = [
    ("Managers hold it back", "middle_managers"),
    ("It belongs to IT or comms", "silo"),
    ("Our culture", "culture"),
    ("Fear, mostly", "fear"),
]


@dataclass(frozen=True)
class Step:
    """One thing a person does: type text, or tap a label on the keyboard of `step`."""

    kind: str
    text: str
    step: str | None = None


@dataclass
class Script:
    """A person's whole check, and the answers it must leave in the database, in order."""

    steps: list[Step]
    answers: list[tuple[str, str | None]]
    position: int = 0


def script_for(index: int) -> Script:
    """A different, deterministic check per person, so answers can't be mixed up unnoticed."""
    steps = [
        Step("text", "/start"),
        Step("tap", "English", "language"),
        Step("tap", "Agreed, let's go", "privacy"),
        Step("tap", "Employee", "standing"),
        Step("tap", "Skip this", "department"),
    ]
    answers: list[tuple[str, str | None]] = [
        ("language", "en"),
        ("privacy", "yes"),
        ("standing", "employee"),
        ("department", "none"),
    ]
    for offset, (step, labels, keys) in enumerate(PHASE_STEPS):
        choice = (index + offset) % 3
        steps.append(Step("tap", labels[choice], step))
        answers.append((step, keys[choice]))
    chosen = dict(answers)
    if chosen["who_uses"] in USE_CHECK_USES and chosen["where_sits"] in USE_CHECK_PLACES:
        # The check asks once which of two contradicting answers holds.
        label, key = USE_CHECK[index % len(USE_CHECK)]
        steps.append(Step("tap", label, "use_check"))
        answers.append(("use_check", key))
    fear_label, fear_key = FEARS[index % 4]
    cause_label, cause_key = CAUSES[(index // 4) % 4]
    steps += [
        Step("tap", fear_label, "fears"),
        Step("tap", "Done", "fears"),
        Step("tap", cause_label, "causes"),
        Step("tap", "Done", "causes"),
        Step("tap", "Skip", "anything_else"),
    ]
    answers += [("fears", fear_key), ("causes", cause_key), ("anything_else", "skip")]
    return Script(steps, answers)


def _button(user: ChatClient, step: Step) -> tuple[int, str] | None:
    """The newest keyboard for this step holding the label: what a person would press."""
    for message in reversed(user.messages):
        for button in message.inline_buttons():
            token = ChoiceToken.decode(str(button.get("callback_data", "")))
            if token is None or token.step != step.step:
                continue
            text = str(button.get("text", ""))
            if text == step.text or text.endswith(" " + step.text) or step.text in text:
                return message.message_id, str(button["callback_data"])
    return None


def build(api: BotApiDouble, user: ChatClient, step: Step) -> dict[str, Any]:
    """The update for the next step; a missing keyboard (a worker died before replying) makes
    the person send /start first, as someone would who sees no question."""
    if step.kind == "text":
        return api.stamp(user.text_update(step.text))
    found = _button(user, step)
    if found is None:
        return api.stamp(user.text_update("/start"))
    return api.stamp(user.callback_update(*found))


async def post(session: aiohttp.ClientSession, url: str, update: dict[str, Any], secret: str = SECRET) -> int:
    """One delivery attempt; 0 when the worker could not be reached at all."""
    try:
        async with session.post(
            url,
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": secret},
            timeout=aiohttp.ClientTimeout(total=30),
        ) as response:
            return response.status
    except (TimeoutError, aiohttp.ClientError):
        return 0


async def deliver(
    session: aiohttp.ClientSession,
    urls: list[str],
    update: dict[str, Any],
    first: int,
    deadline: float = 60.0,
) -> int:
    """Telegram's behaviour: retry (here: on the next worker) until a 2xx; returns attempts."""
    loop = asyncio.get_running_loop()
    until = loop.time() + deadline
    attempt = 0
    while True:
        status = await post(session, urls[(first + attempt) % len(urls)], update)
        attempt += 1
        if 200 <= status < 300:
            return attempt
        if loop.time() > until:
            raise TimeoutError(f"update {update['update_id']} never got a 2xx (last status {status})")
        await asyncio.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Worker:
    """A `coachbot run --webhook` process."""

    port: int
    process: asyncio.subprocess.Process
    log: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def health(self) -> str:
        return f"http://127.0.0.1:{self.port}/healthz"


async def start_worker(api: BotApiDouble, database_url: str, log_path: str) -> Worker:
    """Starts a worker process and waits until its /healthz says the database answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "COACHBOT_", "DATABASE_"))}
    env.update(
        {
            "TELEGRAM_BOT_TOKEN": api.token,
            "TELEGRAM_API_BASE_URL": api.base_url,
            "DATABASE_URL": database_url,
            "TELEGRAM_WEBHOOK_SECRET": SECRET,
        }
    )
    with open(log_path, "ab") as log:  # noqa: ASYNC230 - a log file for a child process
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--webhook",
            "--listen",
            "127.0.0.1",
            "--port",
            str(port),
            "--url-path",
            "hook",
            "--log-level",
            "WARNING",
            env=env,
            stdout=log,
            stderr=log,
        )
    worker = Worker(port, process)
    async with aiohttp.ClientSession() as session:
        for _ in range(300):
            if process.returncode is not None:
                raise RuntimeError(f"worker exited with {process.returncode}; see {log_path}")
            try:
                async with session.get(worker.health, timeout=aiohttp.ClientTimeout(total=2)) as response:
                    if response.status == 200:
                        return worker
            except (TimeoutError, aiohttp.ClientError):
                pass
            await asyncio.sleep(0.1)
    process.kill()
    raise TimeoutError(f"worker on port {port} never became healthy; see {log_path}")


async def stop_worker(worker: Worker) -> None:
    """SIGTERM, as systemd would; SIGKILL if it does not stop in time."""
    if worker.process.returncode is None:
        worker.process.terminate()
        try:
            await asyncio.wait_for(worker.process.wait(), timeout=20)
        except TimeoutError:
            worker.process.kill()
            await worker.process.wait()
