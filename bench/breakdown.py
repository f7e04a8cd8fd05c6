"""Where the coach's CPU per update goes: each piece of a tap, measured alone on the bot's side.

    python bench/breakdown.py [--quick] [--calls 300] [--checks 40]

Supports the notes on figures 1 and 2. The double runs in its own process (bench/double_server.py),
so this process's CPU is python-telegram-bot's and httpx's side of each Bot API call only. A tap
costs the coach: one getUpdates delivering it (with the question's message and keyboard inside),
answerCallbackQuery, editMessageText (the question with the choice), sendMessage (the next question
with its keyboard), and Coach.handle (engine, SQLite transaction, rendering). The calls are measured
twice: as installed, and with `sniffio` importable (httpcore imports it on every lock it creates and,
since anyio 4.11 no longer installs it, pays a failed import each time: encode/httpcore#1102).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.ext import Application

from bench._common import Child, machine, table
from bench.engine_memory import _catalog, coach_speed
from bot.engine.choice_token import ChoiceToken


def _question(catalog: Any) -> tuple[str, InlineKeyboardMarkup, str]:
    """The coach's first phase question as it sends it, and the edit it makes after a press."""
    step = catalog.dialogues["phase_check"].steps["who_uses"]
    text = catalog.renderer.render("en", step.template, progress="1/9")
    rows = [
        [InlineKeyboardButton(o.label["en"], callback_data=ChoiceToken(3, step.id, o.key).encode())]
        for o in step.options
    ]
    answered = catalog.renderer.render(
        "en", "coach/answered", question=text, choice=step.options[1].label["en"]
    )
    return text, InlineKeyboardMarkup(rows), answered


async def _calls(double: Child, base_url: str, token: str, calls: int, catalog: Any) -> dict[str, float]:
    application = Application.builder().token(token).base_url(base_url).build()
    await application.initialize()
    bot = application.bot
    text, keyboard, answered = _question(catalog)
    await double.send("prepare 0")
    chat_id = int((await double.read())["chat_id"])
    question = await bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard)
    await double.send(f"prepare {calls}")
    query_ids = (await double.read())["query_ids"]
    timings: dict[str, float] = {}

    async def timed(name: str, make: Any) -> None:
        started = time.process_time()
        for index in range(calls):
            await make(index)
        timings[name] = 1000 * (time.process_time() - started) / calls

    offset = 0

    async def get_update(_index: int) -> None:
        nonlocal offset
        updates = await bot.get_updates(offset=offset, limit=1, timeout=0)
        offset = updates[-1].update_id + 1

    await timed("getUpdates delivering one tap", get_update)
    await timed("answerCallbackQuery", lambda i: bot.answer_callback_query(query_ids[i]))
    await timed(
        "editMessageText (question + choice)",
        lambda i: bot.edit_message_text(
            answered + ("" if i % 2 else " "), chat_id, question.message_id, parse_mode=ParseMode.HTML
        ),
    )
    await timed(
        "sendMessage (next question, keyboard)",
        lambda _i: bot.send_message(chat_id, text, parse_mode=ParseMode.HTML, reply_markup=keyboard),
    )
    await timed("sendMessage (plain text, as echo)", lambda _i: bot.send_message(chat_id, "echo"))
    await application.shutdown()
    return timings


async def _measure(calls: int, checks: int) -> tuple[dict[str, float], dict[str, float], float]:
    catalog = _catalog()
    double = await Child.start("double", "bench/double_server.py", "--style=keyboard")
    try:
        info = await double.read()
        installed = await _calls(double, info["base_url"], info["token"], calls, catalog)
        saved = sys.modules.get("sniffio")
        shim = types.ModuleType("sniffio")
        shim.current_async_library = lambda: "asyncio"  # type: ignore[attr-defined]
        sys.modules["sniffio"] = shim
        try:
            with_sniffio = await _calls(double, info["base_url"], info["token"], calls, catalog)
        finally:
            if saved is None:
                sys.modules.pop("sniffio", None)
            else:
                sys.modules["sniffio"] = saved
    finally:
        await double.stop()
    turns, cpu = await coach_speed(catalog, checks)
    return installed, with_sniffio, 1000 * cpu / turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--calls", type=int, default=300, help="calls of each kind")
    parser.add_argument("--checks", type=int, default=40, help="full checks through Coach.handle")
    args = parser.parse_args()
    if args.quick:
        args.calls, args.checks = 20, 2
    print(f"machine: {machine()}")
    installed, with_sniffio, handle_ms = asyncio.run(_measure(args.calls, args.checks))
    rows = [(name, ms, with_sniffio[name]) for name, ms in installed.items()]
    rows.append(("Coach.handle (engine + SQLite + rendering)", handle_ms, handle_ms))
    tap_parts = [
        "getUpdates delivering one tap",
        "answerCallbackQuery",
        "editMessageText (question + choice)",
        "sendMessage (next question, keyboard)",
    ]
    tap = sum(installed[p] for p in tap_parts) + handle_ms
    tap_sniffio = sum(with_sniffio[p] for p in tap_parts) + handle_ms
    echo = installed["getUpdates delivering one tap"] + installed["answerCallbackQuery"]
    rows.append(("a tap, the pieces added up", tap, tap_sniffio))
    rows.append(
        (
            "echo floor's tap (getUpdates + answer)",
            echo,
            with_sniffio["getUpdates delivering one tap"] + with_sniffio["answerCallbackQuery"],
        )
    )
    print()
    print(
        table(
            ["piece (bot side only)", "CPU ms", "with sniffio"],
            rows,
            title="CPU per piece of a tap (process CPU of this process; the double runs elsewhere):",
        )
    )
    print(
        f"\nBot API calls are {100 * (tap - handle_ms) / tap:.0f}% of a tap's pieces; Coach.handle "
        f"{100 * handle_ms / tap:.0f}%. The rest of a real update (dispatch through the handler "
        "table, the typing task, the job queue) is not in these pieces."
    )
    print("note: 2 shared cores, noisy; compare rows with each other rather than across machines.")


if __name__ == "__main__":
    main()
