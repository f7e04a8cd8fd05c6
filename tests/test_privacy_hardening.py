"""Issue 14's hardening list, each item with a test that fails without its fix."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from datetime import UTC, datetime

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.domain import Role
from bot.invites import accept_invite, create_department_invite, create_invite
from bot.logs import configure_logging
from bot.reports.csv_export import to_csv
from bot.storage.database import Database
from bot.storage.models import invites_table, people_table
from tests.support.privacy_world import Org, answers

NOW = datetime(2026, 10, 14, 9, 0, tzinfo=UTC)
ZONE = "Europe/Amsterdam"


async def test_a_nul_in_an_invite_label_is_dropped_not_a_crash(database: Database) -> None:
    """PostgreSQL refuses NUL in text; the label is the admin's free note."""
    async with database.transaction() as repo:
        admin = await repo.people.person_for_update("telegram", "9001")
        invite = await create_invite(
            repo, role=Role.CHAMPION, created_by=admin.id, label=None, now=NOW, valid_days=7
        )
    from bot.invites import clean_label

    label = clean_label("Anna\x00 (Sales)\u200b")
    assert label == "Anna (Sales)"
    async with database.transaction() as repo:
        again = await create_invite(
            repo, role=Role.CHAMPION, created_by=admin.id, label=label, now=NOW, valid_days=7
        )
    async with database.engine.connect() as connection:
        stored = (
            await connection.execute(select(invites_table.c.label).where(invites_table.c.id == again.id))
        ).scalar()
    assert stored == "Anna (Sales)" and invite.id != again.id


async def test_a_department_named_like_a_formula_is_text_in_the_csv(database: Database) -> None:
    org = Org(database, zone=ZONE, now=NOW)
    evil = '=HYPERLINK("http://evil.example","click")'
    for i in range(6):
        await org.answer(f"e{i}", evil, answers("presence", "pilot"))
    for i in range(6):
        await org.answer(f"s{i}", "Sales", answers("dialogue", "pilot"))
    report = await org.report()
    rows = list(csv.reader(io.StringIO(to_csv(report).decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert f"'{evil}" in cells
    assert not any(cell.startswith(("=", "+", "@")) for cell in cells)


@pytest.mark.parametrize("lookalike", ["Sa\u200bles", "\u202eSales", "Sales\u200f", "\uff33ales"])
async def test_invisible_characters_do_not_make_a_lookalike_department(
    database: Database, lookalike: str
) -> None:
    async with database.transaction() as repo:
        await repo.departments.add_department("Sales")
    with pytest.raises(ValueError, match="already exists"):
        async with database.transaction() as repo:
            await repo.departments.add_department(lookalike)


async def test_a_department_invite_vouches_and_counts(database: Database) -> None:
    async with database.transaction() as repo:
        sales = await repo.departments.add_department("Sales")
        champion = await repo.people.person_for_update("telegram", "7001")
        invite = await create_department_invite(
            repo, department_id=sales.id, created_by=champion.id, label="Sales", now=NOW, valid_days=7
        )
        colleague = await repo.people.person_for_update("telegram", "7002")
        result = await accept_invite(repo, colleague, invite.code, NOW)
        assert result.granted and result.template == "champions/invite_department"
        again = await accept_invite(
            repo, await repo.people.person_for_update("telegram", "7003"), invite.code, NOW
        )
        assert not again.granted  # single use
    async with database.engine.connect() as connection:
        row = (
            await connection.execute(
                select(people_table.c.department_id, people_table.c.vouched_department_id).where(
                    people_table.c.id == colleague.id
                )
            )
        ).one()
    assert tuple(row) == (sales.id, sales.id)


async def test_a_non_utf8_secret_header_gets_403_not_500() -> None:
    from bot.channels.telegram.webhook import SECRET_HEADER, WebhookWorker

    worker = WebhookWorker(None, "hook", "right-secret")  # type: ignore[arg-type]
    runner = web.AppRunner(worker.web_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        statuses = []
        for secret in (b"\xff\xfe", b"wrong", "right-secret\u00e9".encode("latin-1")):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST /hook HTTP/1.1\r\nHost: x\r\n"
                + SECRET_HEADER.encode()
                + b": "
                + secret
                + b"\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
            )
            await writer.drain()
            statuses.append((await reader.readline()).decode())
            writer.close()
        assert all(" 403 " in status for status in statuses), statuses
    finally:
        await runner.cleanup()


def test_debug_logging_keeps_message_texts_and_links_out() -> None:
    """python-telegram-bot logs each Bot API call's parameters (texts, invite links) at DEBUG."""
    stream = io.StringIO()
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("telegram").level
    try:
        configure_logging(logging.DEBUG)
        root.handlers[0].setStream(stream)  # type: ignore[attr-defined]
        link = "https://t.me/coachbot?start=SecretCode1234567890"
        logging.getLogger("telegram.ext.ExtBot").debug(
            "Calling Bot API endpoint `sendMessage` with parameters `%s`", {"text": link}
        )
        logging.getLogger("telegram.ext.Updater").debug(
            "Dropping update %s", {"message": {"text": "my private worry"}}
        )
        logging.getLogger("bot.coach").debug("coach.debug_probe")
        written = stream.getvalue()
        assert "coach.debug_probe" in written  # DEBUG is on for our own structured events
        assert link not in written and "my private worry" not in written
    finally:
        root.handlers[:], level, telegram_level = saved
        root.setLevel(level)
        logging.getLogger("telegram").setLevel(telegram_level)


async def test_demo_data_is_marked_never_offered_and_removable(database: Database) -> None:
    from bot.demo_data import CHANNEL, fill, remove
    from bot.reports.report import categories_of
    from bot.storage.models import departments_table, released_figures_table
    from tests.support.privacy_world import catalog

    async with database.transaction() as repo:
        legal = await repo.departments.add_department("Legal")
    await fill(database, categories_of(catalog().knowledge), people=40, departments=4, now=NOW, zone=ZONE)
    from bot.reports.report import build_report

    report = await build_report(database, catalog(), lang="en", min_group=5, zone=ZONE, now=NOW)
    assert report.current is not None  # the demo shows something at once
    async with database.transaction() as repo:
        assert await repo.departments.departments() == [legal]  # demo departments are not offered
    assert await remove(database) == (40, 4)
    async with database.engine.connect() as connection:
        names = (await connection.execute(select(departments_table.c.name))).scalars().all()
        people = (
            await connection.execute(select(people_table.c.id).where(people_table.c.channel == CHANNEL))
        ).all()
        releases = (await connection.execute(select(released_figures_table.c.batch))).all()
    assert names == ["Legal"] and people == [] and releases == []


async def test_the_reading_names_the_groups_it_could_not_read(database: Database) -> None:
    """Issue 14: the reading skipped departments with a hidden cell without saying so."""
    from bot.reports.text import render_text
    from tests.support.privacy_world import catalog

    org = Org(database, zone=ZONE, now=NOW)
    for i in range(10):
        await org.answer(f"it{i}", "IT", answers("dialogue", "pilot", ("security",) if i < 2 else ()))
    for i in range(8):
        await org.answer(f"s{i}", "Sales", answers("presence", "pilot", ("time_loss",) if i < 6 else ()))
    report = await org.report("en")
    assert report.current.row(f"d{org.departments['IT']}").figure("fear:security", "named").count is None
    text = render_text(report, catalog())
    assert "Worries and blockers of IT, Sales were not read: some are hidden" in text
    dutch = render_text(await org.report("nl"), catalog())
    assert "Zorgen en remmen van IT, Sales zijn niet gelezen" in dutch
