"""/report and /export through python-telegram-bot and the Bot API double, on a 500-person demo org."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.demo_data import fill
from bot.reports.report import categories_of
from bot.storage.database import Database
from bot.storage.models import assessments_table
from tests.support.bot_api_double import BotApiDouble, ChatClient
from tests.support.harness import running_bot
from tests.test_reports import _independent, catalog

ADMIN = 5150
STRANGER = 777


async def _organisation(url: str) -> None:
    database = Database(url)
    try:
        await fill(database, categories_of(catalog().knowledge), people=500, departments=8, months=6)
    finally:
        await database.dispose()


async def _until(check: Callable[[], bool], timeout: float = 20.0) -> None:  # noqa: ASYNC109
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("the bot did not finish in time")
        await asyncio.sleep(0.05)


def _kinds(user: ChatClient) -> list[str]:
    return [m.kind for m in user.messages]


async def test_admin_gets_text_chart_and_csv_matching_the_database(clean_database_url: str) -> None:
    await _organisation(clean_database_url)
    async with BotApiDouble() as api, running_bot(api, clean_database_url, admin_ids=(ADMIN,)):
        admin = api.user(ADMIN, "Ada", language_code="en")
        await admin.send("/report")
        await _until(lambda: "photo" in _kinds(admin))
        texts = [m.text or "" for m in admin.messages if m.kind == "text"]
        assert texts and "Where the organisation stands" in texts[0]
        assert all(len(t) <= 4096 for t in texts)
        photo = next(f for f in api.files if f.method == "sendPhoto")
        assert photo.data.startswith(b"\x89PNG") and photo.size > 20_000
        assert photo.caption and "Grey" in photo.caption

        await admin.send("/export")
        await _until(lambda: "document" in _kinds(admin))
        document = next(f for f in api.files if f.method == "sendDocument")
        assert document.filename and document.filename.endswith(".csv")
        assert document.data.startswith(b"\xef\xbb\xbf")
        rows = list(csv.DictReader(io.StringIO(document.data.decode("utf-8-sig"))))

        actions = [r.params.get("action") for r in api.requests if r.method == "sendChatAction"]
        assert {"typing", "upload_photo", "upload_document"} <= set(actions)
        assert api.rejected == []

        # the admins' longer menu, in their own chat
        scope = json.dumps({"chat_id": ADMIN, "type": "chat"}, sort_keys=True)
        menu = [c["command"] for c in api.commands[(scope, "")]]
        assert "report" in menu and "export" in menu and "check" in menu

    # The figures an admin got are the database's, by an independent query.
    database = Database(clean_database_url)
    try:
        # The report's current month: the people who checked in since the first of this month
        # (the bot's default zone, Europe/Amsterdam).
        local = datetime.now(ZoneInfo("Europe/Amsterdam"))
        since = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        truth = await _independent(database, since, datetime(2100, 1, 1, tzinfo=UTC))
        async with database.engine.connect() as connection:
            everyone = (
                await connection.execute(
                    select(func.count(func.distinct(assessments_table.c.person_id))).where(
                        assessments_table.c.assessed_at >= since
                    )
                )
            ).scalar_one()
    finally:
        await database.dispose()
    # Only people vouched for their department count (issue 14): the demo's people without one not.
    people = sum(d["people"] for d in truth.values())
    assert 0.9 * everyone < people < everyone
    current = [r for r in rows if r["current"] == "yes"]
    org = {(r["measure"], r["category"]): r["count"] for r in current if r["group_id"] == "org"}
    assert int(org[("respondents", "")]) == people
    assert f"Whole organisation ({people})" in "\n".join(texts)
    assert int(org[("fear:time_loss", "named")]) == sum(d["time_loss"] for d in truth.values())
    checked = 0
    for r in current:
        if r["group_id"].startswith("d") and r["measure"] == "phase:presence_model" and r["count"] != "x":
            assert int(r["count"]) == truth[int(r["group_id"][1:])][r["category"]]
            checked += 1
    assert checked >= 10


@pytest.mark.parametrize("command", ["/report", "/export"])
async def test_non_admins_are_refused_politely(
    clean_database_url: str, command: str, caplog: pytest.LogCaptureFixture
) -> None:
    await _organisation(clean_database_url)
    caplog.set_level(logging.WARNING, logger="bot.channels.telegram.admin")
    async with BotApiDouble() as api, running_bot(api, clean_database_url, admin_ids=(ADMIN,)):
        stranger = api.user(STRANGER, "Sam", language_code="nl")
        await stranger.send(command)
        replies = await stranger.reply()
        assert [m.text for m in replies] == ["Dat is alleen voor beheerders."]
        await asyncio.sleep(0.3)
        assert len(stranger.messages) == 1
        assert not api.files and api.rejected == []
    refused = [r for r in caplog.records if r.getMessage() == "admin.refused"]
    assert len(refused) == 1 and refused[0].command == command[1:]  # type: ignore[attr-defined]
    assert "Sam" not in caplog.text and str(STRANGER) not in caplog.text
