"""One bot in a process of its own, polling (or serving a webhook for) the double.

    python bench/bot_server.py --kind coach|echo|echo-calls|peer --base-url URL --token T
                               [--db URL] [--unpaced] [--data DIR] [--webhook-port N]

Kinds:
- coach:      the real application, build_application(settings) (with the bot's flood control unless
              --unpaced), long polling through bot.channels.telegram.runner.start_polling, or a
              webhook worker (start_webhook_worker) with --webhook-port;
- echo:       the framework's floor: a minimal python-telegram-bot bot that answers each update
              with one request (a text with sendMessage echoing it, a tap with answerCallbackQuery);
- echo-calls: an echo bot making the coach's calls with the coach's payloads (a tap:
              answerCallbackQuery, editMessageText with the answered question, sendMessage with
              the next question and its keyboard), so the coach's own work can be told apart from
              its Bot API calls;
- peer:       the same check built the conventional way (bench/peer/conventional.py):
              ConversationHandler, PicklePersistence flushed after every update.
All poll through the same start_polling (poll_interval 0, timeout 10), one update at a time.

Protocol: prints {"ready": true, "pid": ...} once serving; `profile-start` / `profile-stop FILE`
on stdin run cProfile over the load; `quit` or end of input stops it cleanly.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, ContextTypes, MessageHandler, filters

from bench._common import CommandReader, emit
from bot.channels.telegram.application import build_application
from bot.channels.telegram.runner import (
    start_polling,
    start_webhook_worker,
    stop_polling,
    stop_webhook_worker,
)
from bot.logs import configure_logging
from bot.settings import load_settings
from tests.support.webhook_driver import SECRET


def _builder(token: str, base_url: str) -> Any:
    return (
        Application.builder()
        .token(token)
        .base_url(base_url if base_url.endswith("/bot") else base_url + "/bot")
        .base_file_url(base_url.removesuffix("/bot") + "/file/bot")
    )


async def _echo_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    assert update.effective_chat is not None
    await context.bot.send_message(update.effective_chat.id, update.effective_message.text or "?")


async def _echo_tap(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer(update.callback_query.data)


async def _echo_text_like_coach(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_chat is not None
    assert _PAYLOADS is not None
    await context.bot.send_message(
        update.effective_chat.id,
        _PAYLOADS.question,
        parse_mode=ParseMode.HTML,
        reply_markup=_PAYLOADS.keyboard,
    )


class _CoachPayloads:
    """The coach's real texts and keyboard (its first phase question), so an echo making the
    coach's calls also sends the coach's payloads: what Telegram I/O costs, without the coach."""

    def __init__(self) -> None:
        from bench.breakdown import _question
        from bench.engine_memory import _catalog

        self.question, self.keyboard, self.answered = _question(_catalog())


_PAYLOADS: _CoachPayloads | None = None


async def _echo_tap_like_coach(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The coach's three calls for a tap with its payloads, and none of its work between them."""
    query = update.callback_query
    assert query is not None
    assert update.effective_chat is not None
    assert _PAYLOADS is not None
    await query.answer()
    if query.message is not None and query.message.message_id > 1:
        edited = _PAYLOADS.answered + ("" if query.message.message_id % 2 else " ")
        await query.edit_message_text(edited, parse_mode=ParseMode.HTML)
    await context.bot.send_message(
        update.effective_chat.id,
        _PAYLOADS.question,
        parse_mode=ParseMode.HTML,
        reply_markup=_PAYLOADS.keyboard,
    )


def echo_application(token: str, base_url: str, like_coach: bool) -> Application:  # type: ignore[type-arg]
    global _PAYLOADS
    if like_coach:
        _PAYLOADS = _CoachPayloads()
    application = _builder(token, base_url).build()
    application.add_handler(MessageHandler(filters.TEXT, _echo_text_like_coach if like_coach else _echo_text))
    application.add_handler(CallbackQueryHandler(_echo_tap_like_coach if like_coach else _echo_tap))
    return application


class Accounts:
    """Process CPU spent inside chosen coroutines (updates are handled one at a time when polling,
    so what runs meanwhile is only the poll for the next update and the job queue)."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)
        accounts = self

        async def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return await original(*args, **kwargs)
            finally:
                accounts.cpu[label] = accounts.cpu.get(label, 0.0) + time.process_time() - started
                accounts.calls[label] = accounts.calls.get(label, 0) + 1

        setattr(owner, name, timed)

    def install(self) -> None:
        from telegram.ext import Application as App
        from telegram.ext import Job

        from bot.channels.telegram import delivery, handlers
        from bot.coach import Coach

        self.wrap(App, "process_update", "whole update (process_update)")
        self.wrap(Coach, "handle", "Coach.handle")
        for name in ("answer_query", "edit_pressed", "send_messages"):
            self.wrap(delivery, name, f"delivery.{name}")
            if hasattr(handlers, name):
                setattr(handlers, name, getattr(delivery, name))
        self.wrap(Job, "_run", "job queue (nudge sweeps)")

    def report(self) -> dict[str, Any]:
        return {"accounts": self.cpu, "calls": self.calls}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=("coach", "echo", "echo-calls", "peer"), required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--db", default=None, help="DATABASE_URL for the coach")
    parser.add_argument("--unpaced", action="store_true", help="coach without its flood control")
    parser.add_argument("--data", default=None, help="directory for the peer's pickle file")
    parser.add_argument("--webhook-port", type=int, default=None, help="coach as a webhook worker")
    parser.add_argument("--account", action="store_true", help="CPU inside the coach's main pieces")
    args = parser.parse_args()
    accounts = Accounts()
    if args.account:
        accounts.install()
    configure_logging(logging.WARNING, [args.token])

    webhook = args.webhook_port is not None
    if args.kind == "coach":
        settings = load_settings(
            telegram_bot_token=args.token, telegram_api_base_url=args.base_url, database_url=args.db
        )
        application = build_application(settings, webhook=webhook, paced=not args.unpaced)
    elif args.kind == "peer":
        from bench.peer.conventional import peer_application

        data = Path(args.data or ".")
        application = peer_application(_builder(args.token, args.base_url), data / "peer.pickle")
    else:
        application = echo_application(args.token, args.base_url, like_coach=args.kind == "echo-calls")

    runner = None
    if webhook:
        runner = await start_webhook_worker(application, "127.0.0.1", args.webhook_port, "hook", SECRET)
    else:
        await start_polling(application)
    emit({"ready": True, "pid": os.getpid()})
    commands = CommandReader()
    commands.start()
    profiler: cProfile.Profile | None = None
    try:
        while True:
            command = await commands.next()
            if command == "profile-start":
                profiler = cProfile.Profile()  # wall time: cheap; the idle wait shows as select.epoll.poll
                profiler.enable()
                emit({"profiling": True})
            elif command.startswith("profile-stop") and profiler is not None:
                profiler.disable()
                profiler.dump_stats(command.split(" ", 1)[1])
                profiler = None
                emit({"profiled": True})
            elif command == "account":
                emit(accounts.report())
                accounts.cpu.clear()
                accounts.calls.clear()
            elif command in ("quit", ""):
                break
    finally:
        if webhook:
            await stop_webhook_worker(application, runner)
        else:
            await stop_polling(application)


if __name__ == "__main__":
    asyncio.run(main())
