"""The coach's check written the usual way: the comparison for bench/per_update.py.

How Telegram survey bots are conventionally built with python-telegram-bot: a ConversationHandler
with one state per question, answers kept in `context.user_data`, and PicklePersistence so that
state and answers survive a restart. To be as durable as the coach (which commits every turn
before it replies), the persistence is flushed after every update: `FlushingApplication` calls
update_persistence() and flush() once each update has been handled. (PTB's default writes every
60 seconds and would lose up to a minute of answers in a crash.) Neither side fsyncs each write:
the coach's SQLite runs WAL with synchronous=NORMAL, the pickle is written with a plain write.

It asks the same questions with the same texts and buttons (taken from the project's content
once at start-up, as a conventional bot would hold them in constants), answers each press, edits
the question to show the choice, sends the next one, and at the end computes the same assessment
and renders the same advice (bot.coaching, the same template). What it does not do that the coach
does: claim update ids (a redelivered update is handled twice), reject stale buttons by version,
keep an append-only answer history for reports, or serve several processes.
"""

from __future__ import annotations

import html
import warnings
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    PicklePersistence,
    filters,
)
from telegram.warnings import PTBUserWarning

from bot import PROJECT_ROOT
from bot.channels.telegram.splitting import split_message
from bot.advice_messages import AdviceMessages
from bot.coaching.assessment import assess
from bot.coaching.rules import rules_of
from bot.content.catalog import Catalog, load_catalog

LANGS = ("en", "nl")
MIN_GROUP = 5
#: The order of the check, as a conventional bot hard-codes it.
ONBOARDING = ("language", "privacy", "standing", "department")
PHASES = (
    "who_uses",
    "top_uses",
    "where_sits",
    "policy",
    "with_customers",
    "customer_service",
    "customers_improve",
    "internal_use",
    "own_use",
)
#: Asked after the phase questions only when "hardly anyone uses it" meets "part of the strategy".
CLARIFY = "use_check"
FEARS = ("fears", "causes", "anything_else")
ORDER = ONBOARDING + PHASES + (CLARIFY,) + FEARS
DONE = "done"


class Question:
    """One question's text and options per language, rendered once."""

    def __init__(self, catalog: Catalog, step_id: str, progress: str) -> None:
        step = next(d.steps[step_id] for d in catalog.dialogues.values() if step_id in d.steps)
        self.id = step_id
        self.kind = step.kind
        self.text = {
            lang: catalog.renderer.render(
                lang, step.template, progress=progress, min_group=MIN_GROUP, has_departments=False
            )
            for lang in LANGS
        }
        self.options = [(o.key, dict(o.label), o.exclusive) for o in step.options]
        self.done = {lang: catalog.renderer.render(lang, "coach/button_done") for lang in LANGS}

    def label(self, key: str, lang: str) -> str:
        return next(labels[lang] for k, labels, _ in self.options if k == key)

    def keyboard(self, lang: str, selected: list[str] | None = None) -> InlineKeyboardMarkup:
        rows = []
        for key, labels, _ in self.options:
            label = labels[lang]
            if self.kind == "multi":
                label = ("✅ " if key in (selected or []) else "▫️ ") + label
            rows.append([InlineKeyboardButton(label, callback_data=f"{self.id}|{key}")])
        if self.kind == "multi":
            rows.append([InlineKeyboardButton(self.done[lang], callback_data=f"{self.id}|{DONE}")])
        return InlineKeyboardMarkup(rows)


class Texts:
    """Everything the bot says, loaded once (a conventional bot keeps these as constants)."""

    def __init__(self) -> None:
        self.catalog = load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")
        self.rules = rules_of(self.catalog)
        numbered = {step: f"{i + 1}/{len(PHASES)}" for i, step in enumerate(PHASES)}
        numbered.update({step: f"{i + 1}/{len(FEARS)}" for i, step in enumerate(FEARS)})
        self.questions = {step: Question(self.catalog, step, numbered.get(step, "")) for step in ORDER}
        render = self.catalog.renderer.render
        self.ready = {lang: render(lang, "onboarding/ready") for lang in LANGS}
        self.declined = {lang: render(lang, "onboarding/declined") for lang in LANGS}


TEXTS: Texts | None = None


def _texts() -> Texts:
    global TEXTS
    if TEXTS is None:
        TEXTS = Texts()
    return TEXTS


async def _send_question(context: ContextTypes.DEFAULT_TYPE, chat_id: int, step: str, lang: str) -> None:
    question = _texts().questions[step]
    await context.bot.send_message(
        chat_id, question.text[lang], parse_mode=ParseMode.HTML, reply_markup=question.keyboard(lang)
    )


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
    """/start: a new check from the first question (earlier answers are kept in history)."""
    assert update.effective_chat is not None and context.user_data is not None
    history = context.user_data.setdefault("history", [])
    if context.user_data.get("answers"):
        history.append(context.user_data["answers"])
    context.user_data["answers"] = {}
    context.user_data["selected"] = {}
    await _send_question(context, update.effective_chat.id, "language", "en")
    return "language"


def _next_step(step: str, answers: dict[str, Any]) -> str | None:
    if step == "privacy" and answers.get("privacy") == "no":
        return None
    index = ORDER.index(step)
    following = ORDER[index + 1] if index + 1 < len(ORDER) else None
    if following == CLARIFY and not (
        answers.get("who_uses") in ("nobody", "enthusiasts")
        and answers.get("where_sits") in ("coordinated", "strategy")
    ):
        following = FEARS[0]
    return following


async def on_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | int:
    """A press on a question's keyboard: record, show the choice, ask the next question."""
    query = update.callback_query
    assert query is not None and update.effective_chat is not None and context.user_data is not None
    step, _, key = (query.data or "").partition("|")
    answers: dict[str, Any] = context.user_data.setdefault("answers", {})
    lang = answers.get("language", "en")
    question = _texts().questions[step]  # the ConversationHandler routes only this state's presses
    if question.kind == "multi" and key != DONE:
        selected = context.user_data.setdefault("selected", {}).setdefault(step, [])
        exclusive = {k for k, _, ex in question.options if ex}
        if key in selected:
            selected.remove(key)
        elif key in exclusive:
            selected[:] = [key]
        else:
            selected[:] = [k for k in selected if k not in exclusive] + [key]
        await query.answer()
        await query.edit_message_reply_markup(reply_markup=question.keyboard(lang, selected))
        return step
    if question.kind == "multi":
        chosen = context.user_data.get("selected", {}).pop(step, [])
        if not chosen:
            await query.answer("Pick at least one.")
            return step
        answers[step] = list(chosen)
        labels = ", ".join(question.label(k, lang) for k in chosen)
    else:
        answers[step] = key
        if step == "language":
            lang = key
        labels = question.label(key, lang)
    await query.answer()
    await query.edit_message_text(
        f"{question.text[lang]}\n\n✅ <b>{html.escape(labels)}</b>", parse_mode=ParseMode.HTML
    )
    chat_id = update.effective_chat.id
    following = _next_step(step, answers)
    if following is None:
        if answers.get("privacy") == "no":
            context.user_data.clear()
            await context.bot.send_message(chat_id, _texts().declined[lang], parse_mode=ParseMode.HTML)
            return ConversationHandler.END
        await _finish(context, chat_id, lang)
        return ConversationHandler.END
    if following == PHASES[0]:
        await context.bot.send_message(chat_id, _texts().ready[lang], parse_mode=ParseMode.HTML)
    await _send_question(context, chat_id, following, lang)
    return following


async def on_text_answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Typed text for the last, open question."""
    assert update.effective_message is not None and update.effective_chat is not None
    assert context.user_data is not None
    answers = context.user_data.setdefault("answers", {})
    answers["anything_else"] = (update.effective_message.text or "")[:1000]
    await _finish(context, update.effective_chat.id, answers.get("language", "en"))
    return ConversationHandler.END


async def _finish(context: ContextTypes.DEFAULT_TYPE, chat_id: int, lang: str) -> None:
    """The same assessment and advice as the coach's, kept in user_data."""
    assert context.user_data is not None
    texts = _texts()
    answers = context.user_data["answers"]
    stored = context.user_data.setdefault("assessments", [])
    assessment = assess(
        chat_id,
        len(context.user_data.get("history", [])) + 1,
        answers,
        texts.rules,
        texts.catalog.dialogues,
        department_id=None,
        standing=answers.get("standing"),
    )
    assessment = replace(assessment, id=len(stored) + 1)
    stored.append(asdict(assessment))
    advice = AdviceMessages(texts.catalog, texts.rules).first(lang, assessment, None, "")
    markup = InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.data) for b in row] for row in advice.buttons]
    )
    parts = split_message(advice.text)
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        await context.bot.send_message(
            chat_id, part, parse_mode=ParseMode.HTML, reply_markup=markup if last else None
        )


class FlushingApplication(Application):  # type: ignore[type-arg]
    """Writes the persistence after every update, so an answer is kept once it was answered."""

    async def process_update(self, update: object) -> None:
        await super().process_update(update)
        await self.update_persistence()
        if self.persistence is not None:
            await self.persistence.flush()


def peer_application(builder: Any, pickle_path: Path) -> Application:  # type: ignore[type-arg]
    """The conventional bot on a PTB ApplicationBuilder already pointed at the Bot API."""
    _texts()
    warnings.filterwarnings("ignore", category=PTBUserWarning)
    persistence = PicklePersistence(filepath=pickle_path, on_flush=True)
    application = builder.persistence(persistence).application_class(FlushingApplication).build()
    states: dict[object, list[Any]] = {
        step: [CallbackQueryHandler(on_answer, pattern=rf"^{step}\|")] for step in ORDER
    }
    states["anything_else"].append(MessageHandler(filters.TEXT & ~filters.COMMAND, on_text_answer))
    application.add_handler(
        ConversationHandler(
            entry_points=[CommandHandler("start", start)],
            states=states,
            fallbacks=[CommandHandler("start", start)],
            name="check",
            persistent=True,
            allow_reentry=True,
        )
    )
    return application
