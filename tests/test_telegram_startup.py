"""`coachbot run` fails with one clear line on operator errors, and the token never reaches a log."""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys

import pytest

from tests.support.bot_api_double import BotApiDouble
from tests.support.harness import running_bot

GOOD_TOKEN = "123456:ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _run(env_extra: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "COACHBOT_", "DATABASE_"))}
    env.update({"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}", **env_extra})
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=90, check=False
    )


@pytest.mark.parametrize(
    ("env", "expected", "code"),
    [
        ({}, "TELEGRAM_BOT_TOKEN is not set", 2),
        ({"TELEGRAM_BOT_TOKEN": "not-a-token"}, "TELEGRAM_BOT_TOKEN is malformed", 2),
        (
            {"TELEGRAM_BOT_TOKEN": GOOD_TOKEN, "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot"},
            "cannot reach the Telegram Bot API",
            1,
        ),
    ],
)
def test_run_fails_with_one_line(env, expected, code, tmp_path):
    result = _run(env, tmp_path)
    assert result.returncode == code
    errors = [line for line in result.stderr.splitlines() if line.startswith("coachbot:")]
    assert len(errors) == 1 and expected in errors[0]
    assert "Traceback" not in result.stderr
    assert GOOD_TOKEN not in result.stderr + result.stdout


async def test_token_rejected_by_telegram_is_one_line(tmp_path):
    """The double knows another token, so getMe answers 401 as Telegram does for a revoked one."""
    async with BotApiDouble(token="999999:ZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZZ") as api:
        env = {
            k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "COACHBOT_", "DATABASE_"))
        }
        env.update(
            {
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'run.db'}",
                "TELEGRAM_BOT_TOKEN": GOOD_TOKEN,
                "TELEGRAM_API_BASE_URL": api.base_url,
            }
        )
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=90)
    errors = [line for line in stderr.decode().splitlines() if line.startswith("coachbot:")]
    assert process.returncode == 2
    assert len(errors) == 1 and "rejected the token" in errors[0]
    assert "Traceback" not in stderr.decode()
    assert GOOD_TOKEN not in stderr.decode()


async def test_token_appears_in_no_log_line(clean_database_url, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "telegram", "bot"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    async with BotApiDouble() as api, running_bot(api, clean_database_url):
        user = api.user(user_id=777, language_code="en")
        await user.send("/start")
        await user.reply()
        await user.tap("English")
        await user.reply()
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "HTTP Request" in text  # httpx did log its requests at INFO…
    assert api.token not in text  # …but with the token masked
    assert api.token.split(":")[1] not in text
