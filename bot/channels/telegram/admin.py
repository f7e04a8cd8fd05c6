"""Admin commands: /report (text and chart) and /export (CSV), for admins only.

Everyone else gets one polite line, and the attempt is logged with the command and the update id
only (no name, no text). The figures are built per request from the database; the chart is drawn
in a worker thread so other people's turns do not wait for matplotlib.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from telegram import InputFile, Update
from telegram.constants import ChatAction, ParseMode
from telegram.ext import ContextTypes

from bot import commands
from bot.channels.telegram.delivery import send_messages
from bot.channels.telegram.handlers import services_of, visitor_of
from bot.channels.telegram.splitting import split_message
from bot.conversation import Visitor
from bot.reports.chart import render_png
from bot.reports.csv_export import to_csv
from bot.reports.report import AggregateReport, build_report
from bot.reports.text import render_text
from bot.services import Services

log = logging.getLogger(__name__)

#: The commands this module answers, for the router and the admins' command menu.
COMMANDS = commands.names(commands.Handler.REPORTS)


async def _language(services: Services, visitor: Visitor) -> str:
    """The admin's chosen language, else their Telegram client's."""
    async with services.database.transaction(read_only=True) as repo:
        person = await repo.people.person_for_update(visitor.channel, visitor.external_id, create=False)
    if person is not None and person.language:
        return person.language
    return services.coach.language_for(visitor.language_hint)


async def _admin_only(
    update: Update,
    context: ContextTypes.DEFAULT_TYPE,
    command: str,
    answer: Callable[[Services, int, str], Awaitable[None]],
) -> None:
    visitor = visitor_of(update)
    chat = update.effective_chat
    if visitor is None or chat is None:
        return
    services = services_of(context)
    async with services.database.transaction() as repo:
        if not await repo.updates.claim_update(update.update_id):
            log.info("update.duplicate", extra={"update_id": update.update_id})
            return
    if not await services.coach.is_admin(visitor):
        log.warning("admin.refused", extra={"command": command, "update_id": update.update_id})
        await send_messages(context.bot, chat.id, await services.coach.say(visitor, "coach/not_admin"))
        return
    log.info("admin.command", extra={"command": command, "update_id": update.update_id})
    await answer(services, chat.id, await _language(services, visitor))


async def _build(services: Services, lang: str) -> AggregateReport:
    settings = services.settings
    return await build_report(
        services.database,
        services.catalog,
        lang=lang,
        min_group=settings.min_group,
        zone=settings.timezone,
        refresh_hours=settings.report_refresh_hours,
    )


async def on_report(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/report: the anonymous aggregate report as text, then the chart, for admins only."""

    async def answer(services: Services, chat_id: int, lang: str) -> None:
        await context.bot.send_chat_action(chat_id, ChatAction.TYPING)
        report = await _build(services, lang)
        for part in split_message(render_text(report, services.catalog)):
            await context.bot.send_message(chat_id, part, parse_mode=ParseMode.HTML)
        if report.current is None:
            return
        await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_PHOTO)
        picture = await asyncio.to_thread(render_png, report)
        caption = services.catalog.renderer.render(lang, "reports/chart_caption", min_group=report.min_group)
        await context.bot.send_photo(
            chat_id, InputFile(picture, filename="report.png"), caption=caption, parse_mode=ParseMode.HTML
        )

    await _admin_only(update, context, "report", answer)


async def on_export(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/export: the same aggregates as a CSV document (UTF-8 with BOM), for admins only."""

    async def answer(services: Services, chat_id: int, lang: str) -> None:
        await context.bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
        report = await _build(services, lang)
        if report.current is None:
            await context.bot.send_message(
                chat_id, render_text(report, services.catalog), parse_mode=ParseMode.HTML
            )
            return
        name = f"coachbot-report-{report.generated_at:%Y-%m-%d}.csv"
        caption = services.catalog.renderer.render(lang, "reports/export_caption", min_group=report.min_group)
        await context.bot.send_document(
            chat_id, InputFile(to_csv(report), filename=name), caption=caption, parse_mode=ParseMode.HTML
        )

    await _admin_only(update, context, "export", answer)
