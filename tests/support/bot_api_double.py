"""A local stand-in for the Telegram Bot API, for tests that drive a real PTB application.

``BotApiDouble`` is a real HTTP server on 127.0.0.1 (random free port). Point
python-telegram-bot at it with ``ApplicationBuilder().base_url(api.base_url)`` and
``.base_file_url(api.base_file_url)``; PTB then talks to it exactly as it talks to
Telegram (JSON, form-encoded or multipart requests, long polling with ``getUpdates``).

Scripted users (``api.user(...)`` -> :class:`ChatClient`) queue updates and read what
the bot answered. The double validates requests the way Telegram does (HTML entities,
message length, inline keyboards, unknown chats, blocked users, stale callback queries,
edits of missing or unchanged messages) and is stricter in one respect on purpose:
every method has an allow-list of parameter names, and anything else is rejected with
``400 Bad Request: unknown parameter <name>`` so a typo in a keyword argument cannot
pass silently.

Example::

    async with BotApiDouble() as api:
        anna = api.user(user_id=1001, first_name="Anna", language_code="nl")
        app = ApplicationBuilder().token(api.token).base_url(api.base_url).build()
        ...
        await anna.send("/start")
        replies = await anna.reply()
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import copy
import itertools
import json
import math
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web

from .telegram_html import HtmlError, parse_html, utf16_len

__all__ = [
    "DEFAULT_TOKEN",
    "METHOD_PARAMS",
    "BotApiDouble",
    "BotMessage",
    "CallbackAnswer",
    "ChatClient",
    "RecordedRequest",
    "RequestList",
    "StoredFile",
]

JSON = dict[str, Any]

DEFAULT_TOKEN = "123456:TEST-token_abcdefghijklmnopqrstuv"

# --------------------------------------------------------------------------------------
# Parameter allow-lists: the Bot API documentation (9.x, with the 10.x additions to the
# send methods) plus the deprecated names Telegram still accepts. PTB 22 itself never
# sends reply_to_message_id / allow_sending_without_reply / disable_web_page_preview (it
# folds them into reply_parameters / link_preview_options) and adds no private extras.
# --------------------------------------------------------------------------------------
_SEND_COMMON = frozenset(
    {
        "business_connection_id",
        "chat_id",
        "message_thread_id",
        "direct_messages_topic_id",
        "disable_notification",
        "protect_content",
        "allow_paid_broadcast",
        "message_effect_id",
        "suggested_post_parameters",
        "reply_parameters",
        "reply_markup",
        # deprecated, still accepted by Telegram
        "reply_to_message_id",
        "allow_sending_without_reply",
        # Bot API 10.x ephemeral messages
        "ephemeral_message_parameters",
        "receiver_user_id",
        "callback_query_id",
    }
)
_COMMAND_SCOPE = frozenset({"scope", "language_code"})

METHOD_PARAMS: dict[str, frozenset[str]] = {
    "getMe": frozenset(),
    "getUpdates": frozenset({"offset", "limit", "timeout", "allowed_updates"}),
    "sendMessage": _SEND_COMMON
    | {"text", "parse_mode", "entities", "link_preview_options", "disable_web_page_preview"},
    "editMessageText": frozenset(
        {
            "business_connection_id",
            "chat_id",
            "message_id",
            "inline_message_id",
            "text",
            "parse_mode",
            "entities",
            "link_preview_options",
            "reply_markup",
            "disable_web_page_preview",
        }
    ),
    "editMessageReplyMarkup": frozenset(
        {"business_connection_id", "chat_id", "message_id", "inline_message_id", "reply_markup"}
    ),
    "answerCallbackQuery": frozenset({"callback_query_id", "text", "show_alert", "url", "cache_time"}),
    "sendChatAction": frozenset({"business_connection_id", "chat_id", "message_thread_id", "action"}),
    "setMyCommands": _COMMAND_SCOPE | {"commands"},
    "deleteMyCommands": _COMMAND_SCOPE,
    "getMyCommands": _COMMAND_SCOPE,
    "deleteWebhook": frozenset({"drop_pending_updates"}),
    "setWebhook": frozenset(
        {
            "url",
            "certificate",
            "ip_address",
            "max_connections",
            "allowed_updates",
            "drop_pending_updates",
            "secret_token",
        }
    ),
    "getWebhookInfo": frozenset(),
    "sendPhoto": _SEND_COMMON
    | {"photo", "caption", "parse_mode", "caption_entities", "show_caption_above_media", "has_spoiler"},
    "sendDocument": _SEND_COMMON
    | {
        "document",
        "thumbnail",
        "caption",
        "parse_mode",
        "caption_entities",
        "disable_content_type_detection",
    },
    "getFile": frozenset({"file_id"}),
    "close": frozenset(),
    "logOut": frozenset(),
}
_METHODS_BY_LOWER = {name.lower(): name for name in METHOD_PARAMS}

# How form-encoded values are decoded (JSON bodies already carry types).
_JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "suggested_post_parameters",
        "ephemeral_message_parameters",
        "commands",
        "scope",
        "allowed_updates",
    }
)
_INT_PARAMS = frozenset(
    {
        "message_id",
        "message_thread_id",
        "direct_messages_topic_id",
        "offset",
        "limit",
        "timeout",
        "cache_time",
        "max_connections",
        "reply_to_message_id",
        "receiver_user_id",
    }
)
_BOOL_PARAMS = frozenset(
    {
        "disable_notification",
        "protect_content",
        "allow_paid_broadcast",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "show_alert",
        "drop_pending_updates",
        "has_spoiler",
        "show_caption_above_media",
        "disable_content_type_detection",
    }
)
_FILE_PARAMS = frozenset({"photo", "document", "thumbnail", "certificate"})
_RATE_LIMITED = frozenset({"sendMessage", "sendPhoto", "sendDocument"})
_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# What Telegram delivers when getUpdates never named allowed_updates.
_DEFAULT_EXCLUDED_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_BOT_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")

_QUERY_INVALID = "Bad Request: query is too old and response timeout expired or query ID is invalid"
_NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup "
    "are exactly the same as a current content and reply markup of the message"
)
_TEXT_BUTTONS = (
    "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
)


class _ApiError(Exception):
    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def _bad(description: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {description}")


# --------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------
@dataclass
class RecordedRequest:
    """One HTTP call the bot made. ``params`` are decoded (numbers, booleans, JSON objects)."""

    method: str
    params: dict[str, Any]
    chat_id: int | str | None
    time: float
    ok: bool = True
    status: int = 200
    description: str | None = None
    http_method: str = "POST"
    content_type: str = ""

    @property
    def rejected(self) -> bool:
        return not self.ok


class RequestList(list[RecordedRequest]):
    """A plain list of requests that may also be called (``api.rejected()`` == ``api.rejected``)."""

    def __call__(self) -> RequestList:
        return self


@dataclass
class StoredFile:
    """A file the bot sent (``sendPhoto`` / ``sendDocument``); ``data`` holds uploaded bytes."""

    method: str
    chat_id: int | str
    filename: str | None
    data: builtins.bytes
    caption: str | None
    mime_type: str | None
    field: str
    file_id: str
    uploaded: bool
    message_id: int | None = None

    @property
    def bytes(self) -> builtins.bytes:
        return self.data

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass
class CallbackAnswer:
    """What the bot passed to ``answerCallbackQuery`` for one query."""

    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None


@dataclass
class BotMessage:
    """A message the bot sent, with its current content (edits update it in place).

    ``text`` is the visible text (HTML parsed away) or the caption of a photo/document;
    ``source`` is the text exactly as the bot sent it. ``history`` keeps earlier versions.
    Snapshots returned by :meth:`ChatClient.reply` carry ``action`` ``"sent"`` or ``"edited"``.
    """

    chat_id: int
    message_id: int
    date: int
    kind: str
    text: str | None
    source: str | None
    parse_mode: str | None
    entities: list[JSON]
    reply_markup: JSON | None
    chat: JSON
    sender: JSON
    media: Any = None
    edit_date: int | None = None
    reply_to: JSON | None = None
    history: list[BotMessage] = field(default_factory=list)
    action: str = "sent"

    @property
    def edited(self) -> bool:
        return self.edit_date is not None

    def keyboard(self) -> list[list[str]]:
        """Button labels row by row (inline or reply keyboard); empty without one."""
        markup = self.reply_markup or {}
        rows = markup.get("inline_keyboard") or markup.get("keyboard") or []
        return [[b if isinstance(b, str) else str(b.get("text", "")) for b in row] for row in rows]

    def buttons(self) -> list[str]:
        return [label for row in self.keyboard() for label in row]

    def inline_buttons(self) -> list[JSON]:
        markup = self.reply_markup or {}
        return [b for row in markup.get("inline_keyboard") or [] for b in row]

    def callback_data(self, label: str) -> str | None:
        for button in self.inline_buttons():
            if button.get("text") == label:
                return button.get("callback_data")
        raise LookupError(f"no button {label!r} on message {self.message_id}: {self.buttons()}")

    def to_api(self) -> JSON:
        """The Message object as Telegram would return or embed it."""
        message: JSON = {
            "message_id": self.message_id,
            "from": copy.deepcopy(self.sender),
            "chat": copy.deepcopy(self.chat),
            "date": self.date,
        }
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.reply_to is not None:
            message["reply_to_message"] = copy.deepcopy(self.reply_to)
        entity_key = "entities"
        if self.kind == "text":
            message["text"] = self.text
        else:
            message[self.kind] = copy.deepcopy(self.media)
            entity_key = "caption_entities"
            if self.text:
                message["caption"] = self.text
        if self.entities:
            message[entity_key] = copy.deepcopy(self.entities)
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            message["reply_markup"] = copy.deepcopy(self.reply_markup)
        return message

    def snapshot(self, action: str) -> BotMessage:
        return BotMessage(
            chat_id=self.chat_id,
            message_id=self.message_id,
            date=self.date,
            kind=self.kind,
            text=self.text,
            source=self.source,
            parse_mode=self.parse_mode,
            entities=copy.deepcopy(self.entities),
            reply_markup=copy.deepcopy(self.reply_markup),
            chat=self.chat,
            sender=self.sender,
            media=copy.deepcopy(self.media),
            edit_date=self.edit_date,
            reply_to=self.reply_to,
            history=[],
            action=action,
        )


@dataclass
class _Upload:
    name: str
    filename: str | None
    data: bytes
    content_type: str | None


@dataclass
class _FileEntry:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    mime_type: str | None = None


@dataclass
class _Callback:
    query_id: str
    chat_id: int
    user_id: int
    data: str | None
    message_id: int
    answer: CallbackAnswer | None = None


@dataclass
class _Chat:
    id: int
    type: str
    json: JSON
    username: str | None = None
    next_message_id: int = 1
    bot_messages: dict[int, BotMessage] = field(default_factory=dict)
    user_messages: dict[int, JSON] = field(default_factory=dict)
    timeline: list[tuple[str, int]] = field(default_factory=list)
    events: list[BotMessage] = field(default_factory=list)
    last_activity: float = 0.0
    blocked: bool = False

    def new_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


def _now() -> float:
    return time.monotonic()


def _command_entities(text: str) -> list[JSON]:
    match = _BOT_COMMAND_RE.match(text)
    if not match:
        return []
    return [{"offset": 0, "length": utf16_len(match.group(0)), "type": "bot_command"}]


_last_first_update_id = 0


def _fresh_update_id() -> int:
    """A starting update_id above any earlier double's in this process and, by using the
    clock, above earlier runs' too: a bot that stores claimed update ids in a database
    kept between tests never mistakes a new double's updates for replays. (Telegram also
    continues, or picks a random new start after a week of silence.)"""
    global _last_first_update_id
    by_clock = (int(time.time()) % 10_000_000) * 100 + 1
    _last_first_update_id = max(by_clock, _last_first_update_id + 10_000)
    return _last_first_update_id


def _update_type(update: Mapping[str, Any]) -> str | None:
    return next((key for key in update if key != "update_id"), None)


# --------------------------------------------------------------------------------------
# The double
# --------------------------------------------------------------------------------------
class BotApiDouble:
    """A local Telegram Bot API server for tests (see the module docstring)."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        bot_first_name: str = "Coach Test Bot",
        bot_username: str = "coach_test_bot",
        enforce_rate: bool = False,
        global_per_second: int = 30,
        per_chat_per_second: int = 1,
        long_poll_cap: float = 2.0,
        first_update_id: int | None = None,
    ) -> None:
        self.token = token
        bot_id = int(token.split(":", 1)[0]) if token.split(":", 1)[0].isdigit() else 123456
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.enforce_rate = enforce_rate
        self.global_per_second = global_per_second
        self.per_chat_per_second = per_chat_per_second
        self.long_poll_cap = long_poll_cap

        self.requests: list[RecordedRequest] = []
        self.files: list[StoredFile] = []
        self.too_many = 0
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.commands: dict[tuple[str, str], list[JSON]] = {}

        self._chats: dict[int, _Chat] = {}
        self._clients: dict[int, ChatClient] = {}
        self._callbacks: dict[str, _Callback] = {}
        self._file_store: dict[str, _FileEntry] = {}
        self._file_paths: dict[str, _FileEntry] = {}
        self._pending: list[JSON] = []
        self._forced: list[JSON] = []
        self._all_updates: dict[int, JSON] = {}
        self._delivered: set[int] = set()
        #: Delivered button presses not answered yet: the bot is still working on them.
        self._presses_in_flight: set[str] = set()
        self._allowed_updates: frozenset[str] | None = None
        self._next_update_id = first_update_id or _fresh_update_id()
        self._ids = itertools.count(1)
        self._poll_generation = 0
        self._wakeup = asyncio.Event()
        self._closing = False
        self._last_request_at = 0.0
        self._last_delivery_at = 0.0
        self._global_sends: deque[float] = deque()
        self._chat_sends: dict[int | str, deque[float]] = {}
        self._runner: web.AppRunner | None = None
        self.port: int | None = None
        #: method -> async check run before a request is handled; True drops the request unseen,
        #: as if the bot had died before it arrived (tests kill a worker from here).
        self.interceptors: dict[str, Callable[[JSON], Awaitable[bool]]] = {}
        #: Probes a running bot in this process registers (tests/support/harness.py): each says
        #: whether it is still working on an update it fetched. With one in place, ``reply`` can
        #: tell a finished turn from a pause inside one, instead of guessing from a quiet moment.
        self.busy_probes: list[Callable[[], bool]] = []

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> BotApiDouble:
        if self._runner is not None:
            return self
        self._closing = False
        app = web.Application(client_max_size=50 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._download)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._closing = True
        self._notify()
        runner, self._runner = self._runner, None
        await runner.cleanup()

    async def __aenter__(self) -> BotApiDouble:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url``: PTB appends ``{token}/{method}``."""
        self._require_started()
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        self._require_started()
        return f"http://127.0.0.1:{self.port}/file/bot"

    def _require_started(self) -> None:
        if self.port is None:
            raise RuntimeError("BotApiDouble is not started; use `async with` or `await start()`")

    # -- people and chats ---------------------------------------------------------------
    def user(
        self,
        user_id: int,
        first_name: str = "Test",
        language_code: str | None = "en",
        *,
        last_name: str | None = None,
        username: str | None = None,
    ) -> ChatClient:
        """A scripted user with a private chat to the bot (the same client on a second call)."""
        if user_id in self._clients:
            return self._clients[user_id]
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat_json: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        for key, value in (("last_name", last_name), ("username", username)):
            if value is not None:
                user[key] = value
                chat_json[key] = value
        if language_code is not None:
            user["language_code"] = language_code
        self._chats[user_id] = _Chat(id=user_id, type="private", json=chat_json, username=username)
        client = ChatClient(self, user)
        self._clients[user_id] = client
        return client

    def block(self, user_id: int) -> None:
        """From now on the bot gets ``403 Forbidden: bot was blocked by the user`` for this chat."""
        self._chat_or_raise(user_id).blocked = True

    def unblock(self, user_id: int) -> None:
        self._chat_or_raise(user_id).blocked = False

    def group(self, chat_id: int, title: str = "Test group", username: str | None = None) -> JSON:
        """Register a group (``-100…`` ids become supergroups) and return its Chat JSON."""
        chat = self._chats.get(chat_id)
        if chat is None:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            chat_json: JSON = {"id": chat_id, "type": kind, "title": title}
            if username:
                chat_json["username"] = username
            chat = self._chats[chat_id] = _Chat(chat_id, kind, chat_json, username=username)
        return copy.deepcopy(chat.json)

    def group_message(
        self, chat_id: int, user: ChatClient | JSON, text: str, title: str = "Test group"
    ) -> JSON:
        """Build a ``message`` update from ``user`` in group ``chat_id`` (registered on first use)."""
        self.group(chat_id, title)
        chat = self._chats[chat_id]
        sender = user.user_json if isinstance(user, ChatClient) else dict(user)
        message: JSON = {
            "message_id": chat.new_message_id(),
            "from": sender,
            "chat": copy.deepcopy(chat.json),
            "date": int(time.time()),
            "text": text,
        }
        if entities := _command_entities(text):
            message["entities"] = entities
        return {"message": message}

    def channel_post(
        self,
        text: str,
        chat_id: int = -1001000000001,
        title: str = "Test channel",
        username: str | None = None,
    ) -> JSON:
        """Build a ``channel_post`` update in channel ``chat_id`` (registered on first use)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            chat_json: JSON = {"id": chat_id, "type": "channel", "title": title}
            if username:
                chat_json["username"] = username
            chat = self._chats[chat_id] = _Chat(chat_id, "channel", chat_json, username=username)
        return {
            "channel_post": {
                "message_id": chat.new_message_id(),
                "sender_chat": copy.deepcopy(chat.json),
                "chat": copy.deepcopy(chat.json),
                "date": int(time.time()),
                "text": text,
            }
        }

    def query_chat(self, callback_query_id: object) -> int | None:
        """The chat a callback query (a button press) came from."""
        query = self._callbacks.get(str(callback_query_id))
        return None if query is None else query.chat_id

    def bot_messages(self, chat_id: int) -> list[BotMessage]:
        """Messages the bot sent to ``chat_id``, oldest first, in their current state."""
        chat = self._chat_or_raise(chat_id)
        return [chat.bot_messages[mid] for kind, mid in chat.timeline if kind == "bot"]

    def _chat_or_raise(self, chat_id: int) -> _Chat:
        try:
            return self._chats[chat_id]
        except KeyError:
            raise KeyError(f"the double knows no chat {chat_id}; create it with api.user()") from None

    # -- files ---------------------------------------------------------------------------
    def add_file(self, data: bytes, file_name: str = "file.bin", mime_type: str | None = None) -> JSON:
        """Register bytes the bot can fetch with ``getFile``; returns ``{file_id, file_unique_id, ...}``."""
        entry = self._store_file(data, file_name, mime_type)
        return {
            "file_id": entry.file_id,
            "file_unique_id": entry.file_unique_id,
            "file_size": len(data),
        }

    def _store_file(self, data: bytes, file_name: str | None, mime_type: str | None) -> _FileEntry:
        n = next(self._ids)
        suffix = ""
        if file_name and "." in file_name:
            suffix = "." + file_name.rsplit(".", 1)[1]
        entry = _FileEntry(
            file_id=f"BQACAgTest{n:08d}AAQ",
            file_unique_id=f"AgADTest{n:06d}",
            data=data,
            file_path=f"files/file_{n}{suffix}",
            mime_type=mime_type,
        )
        self._file_store[entry.file_id] = entry
        self._file_paths[entry.file_path] = entry
        return entry

    # -- updates -------------------------------------------------------------------------
    def stamp(self, update: Mapping[str, Any]) -> JSON:
        """An update ready to POST to a webhook: given the next ``update_id``, remembered for
        :meth:`redeliver`-style checks, but not queued for ``getUpdates``."""
        payload = {"update_id": self._next_update_id, **copy.deepcopy(dict(update))}
        self._next_update_id += 1
        self._remember_user_message(payload)
        self._all_updates[payload["update_id"]] = payload
        return payload

    async def send_update(self, update: Mapping[str, Any]) -> int:
        """Queue any raw update payload (``update_id`` is assigned unless given); returns it."""
        payload = copy.deepcopy(dict(update))
        if "update_id" in payload:
            update_id = int(payload["update_id"])
            self._next_update_id = max(self._next_update_id, update_id + 1)
        else:
            update_id = self._next_update_id
            self._next_update_id += 1
            payload = {"update_id": update_id, **payload}
        self._remember_user_message(payload)
        self._all_updates[update_id] = payload
        self._pending.append(payload)
        self._notify()
        return update_id

    async def redeliver(self, update_id: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Deliver an update again with the same ``update_id`` (as Telegram does after a crash).

        Waits until the original has been fetched, then hands it out once more on the next
        ``getUpdates``, whatever offset the bot confirms.
        """
        if update_id not in self._all_updates:
            raise KeyError(f"no update {update_id} was ever queued")
        deadline = _now() + timeout
        while update_id not in self._delivered:
            if _now() > deadline:
                raise TimeoutError(f"update {update_id} was never fetched by the bot")
            await asyncio.sleep(0.005)
        self._forced.append(copy.deepcopy(self._all_updates[update_id]))
        self._notify()

    def turns_in_progress(self) -> bool | None:
        """Whether the bot may still be answering: an update not yet confirmed by the next
        ``getUpdates`` offset (fetched but maybe not handed to the handlers), or a registered bot
        busy with one. None when no bot registered a probe, so nothing can be known."""
        if not self.busy_probes:
            return None
        unconfirmed = bool(self._forced) or any(self._wanted(u) for u in self._pending)
        return unconfirmed or any(probe() for probe in self.busy_probes)

    def pending_updates(self) -> list[JSON]:
        """Queued updates the bot has not fetched yet."""
        return [u for u in self._forced + self._pending if u["update_id"] not in self._delivered]

    def _remember_user_message(self, payload: JSON) -> None:
        for key in ("message", "edited_message"):
            message = payload.get(key)
            if not isinstance(message, dict):
                continue
            chat_id = (message.get("chat") or {}).get("id")
            chat = self._chats.get(chat_id) if isinstance(chat_id, int) else None
            if chat is None or "message_id" not in message:
                continue
            message_id = int(message["message_id"])
            if key == "message" and message_id not in chat.user_messages:
                chat.timeline.append(("user", message_id))
            chat.user_messages[message_id] = copy.deepcopy(message)
            chat.next_message_id = max(chat.next_message_id, message_id + 1)

    def _notify(self) -> None:
        event, self._wakeup = self._wakeup, asyncio.Event()
        event.set()

    # -- waiting -------------------------------------------------------------------------
    async def settle(self, quiet: float = 0.3, timeout: float = 30.0) -> None:  # noqa: ASYNC109
        """Wait until every queued update was fetched, every delivered press was answered (or
        ``timeout`` passed) and no call (other than the ``getUpdates`` long poll) arrived for
        ``quiet`` seconds."""
        deadline = _now() + timeout
        while True:
            now = _now()
            idle_since = max(self._last_request_at, self._last_delivery_at)
            pending = self.pending_updates()
            # A quiet moment is not enough on a loaded machine: a press still being worked on
            # (every press gets answerCallbackQuery) means the bot is busy, however quiet it looks.
            self._presses_in_flight = {
                q for q in self._presses_in_flight if (c := self._callbacks.get(q)) and c.answer is None
            }
            busy = bool(self._presses_in_flight) and now <= deadline
            if not pending and not busy and now - idle_since >= quiet:
                return
            if now > deadline:  # (unanswered presses alone end the wait at the deadline, above)
                what = f"{len(pending)} update(s) never fetched" if pending else "the bot kept calling"
                raise TimeoutError(f"the bot did not settle within {timeout}s: {what}")
            await asyncio.sleep(0.01)

    async def wait_for(
        self,
        method: str,
        timeout: float = 5.0,  # noqa: ASYNC109
        where: Callable[[RecordedRequest], bool] | None = None,
        since: int = 0,
    ) -> RecordedRequest:
        """Wait for a (finished) call of ``method``; ``since`` skips older ``requests`` entries."""
        deadline = _now() + timeout
        while True:
            for request in self.requests[since:]:
                if request.method == method and request.status and (where is None or where(request)):
                    return request
            if _now() > deadline:
                raise TimeoutError(f"no {method} call within {timeout}s")
            await asyncio.sleep(0.005)

    def calls(self, method: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method]

    @property
    def rejected(self) -> RequestList:
        """The refused calls; usable as ``api.rejected`` or ``api.rejected()``."""
        return RequestList(r for r in self.requests if not r.ok)

    # -- webhook mode ----------------------------------------------------------------------
    async def post_update(self, url: str, update: Mapping[str, Any], secret_token: str | None = None) -> int:
        """POST one update to a webhook ``url`` as Telegram would; returns the HTTP status."""
        payload = dict(update)
        if "update_id" not in payload:
            payload = {"update_id": self._next_update_id, **payload}
            self._next_update_id += 1
        self._remember_user_message(payload)
        self._all_updates[int(payload["update_id"])] = payload
        headers = {"Content-Type": "application/json"}
        if secret_token is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret_token
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=json.dumps(payload), headers=headers) as response,
        ):
            await response.read()
            return response.status

    # -- HTTP ------------------------------------------------------------------------------
    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)

    async def _download(self, request: web.Request) -> web.Response:
        entry = self._file_paths.get(request.match_info["path"])
        if request.match_info["token"] != self.token or entry is None:
            return await self._not_found(request)
        return web.Response(body=entry.data, content_type=entry.mime_type or "application/octet-stream")

    async def _handle(self, request: web.Request) -> web.Response:
        raw_method = request.match_info["method"]
        method = _METHODS_BY_LOWER.get(raw_method.lower(), raw_method)
        record = RecordedRequest(
            method=method,
            params={},
            chat_id=None,
            time=_now(),
            http_method=request.method,
            content_type=request.content_type,
        )
        record.status = 0  # in flight
        self.requests.append(record)
        if method != "getUpdates":
            self._last_request_at = record.time
        try:
            if request.match_info["token"] != self.token:
                raise _ApiError(401, "Unauthorized")
            params, uploads = await self._read_params(request)
            record.params = self._describe(params, uploads)
            chat_id = params.get("chat_id")
            record.chat_id = chat_id if isinstance(chat_id, int | str) else None
            if method not in METHOD_PARAMS:
                raise _ApiError(404, "Not Found: method not found")
            params = self._resolve_uploads(method, params, uploads)
            unknown = sorted(set(params) - METHOD_PARAMS[method])
            if unknown:
                raise _bad(f"unknown parameter {unknown[0]}")
            self._check_rate(method, chat_id)
            interceptor = self.interceptors.get(method)
            if interceptor is not None and await interceptor(params):
                record.status = 499
                record.description = "dropped: the bot died before this arrived"
                return web.Response(status=499)
            handler = getattr(self, f"_api_{method}")
            result = await handler(params, record)
        except asyncio.CancelledError:
            record.status = 499  # the client went away (e.g. PTB cancelled a long poll)
            record.description = "client closed the request"
            raise
        except _ApiError as error:
            record.ok = False
            record.status = error.status
            record.description = error.description
            body = error.body()
        else:
            record.status = 200
            body = {"ok": True, "result": result}
        finally:
            if method != "getUpdates":
                self._last_request_at = _now()
            if isinstance(record.chat_id, int) and record.chat_id in self._chats:
                self._chats[record.chat_id].last_activity = _now()
        return web.json_response(body, status=record.status)

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, _Upload]]:
        raw: dict[str, Any] = dict(request.query)
        params: dict[str, Any] = {}
        uploads: dict[str, _Upload] = {}
        if request.body_exists:
            ctype = request.content_type
            if ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        uploads[key] = _Upload(key, value.filename, value.file.read(), value.content_type)
                    else:
                        raw[key] = value
            else:
                try:
                    body = json.loads(await request.read() or b"{}")
                except ValueError:
                    raise _bad("can't parse JSON object") from None
                if not isinstance(body, dict):
                    raise _bad("can't parse JSON object")
                raw.update(body)
        for key, value in raw.items():
            params[key] = self._decode(key, value)
        return params, uploads

    @staticmethod
    def _decode(name: str, value: Any) -> Any:
        if name == "chat_id":
            if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
                return int(value)
            return value
        if name in _JSON_PARAMS and isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                label = "reply keyboard markup" if name == "reply_markup" else name
                raise _bad(f"can't parse {label} JSON object") from None
        if name in _INT_PARAMS and not isinstance(value, int):
            try:
                return int(str(value).strip())
            except ValueError:
                raise _bad(f"wrong parameter {name} in request") from None
        if name in _BOOL_PARAMS and isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0", ""):
                return False
            raise _bad(f"wrong parameter {name} in request")
        return value

    @staticmethod
    def _resolve_uploads(method: str, params: dict[str, Any], uploads: dict[str, _Upload]) -> dict[str, Any]:
        unused = dict(uploads)
        resolved = dict(params)
        for key, value in params.items():
            if isinstance(value, str) and value.startswith("attach://"):
                upload = unused.pop(value.removeprefix("attach://"), None)
                if upload is None:
                    raise _bad(f"file {value} not found in the request")
                resolved[key] = upload
        for name in list(unused):
            if name in _FILE_PARAMS or name not in METHOD_PARAMS.get(method, ()):
                resolved[name] = unused.pop(name)
        return resolved

    @staticmethod
    def _describe(params: dict[str, Any], uploads: dict[str, _Upload]) -> dict[str, Any]:
        described = dict(params)
        for name, upload in uploads.items():
            described[name] = {"filename": upload.filename, "size": len(upload.data)}
        return described

    def _check_rate(self, method: str, chat_id: Any) -> None:
        if not self.enforce_rate or method not in _RATE_LIMITED:
            return
        now = _now()
        for window in (self._global_sends, *self._chat_sends.values()):
            while window and window[0] <= now - 1.0:
                window.popleft()
        key: int | str = chat_id if isinstance(chat_id, int | str) else ""
        per_chat = self._chat_sends.setdefault(key, deque())
        retry_after = 0
        if len(self._global_sends) >= self.global_per_second:
            retry_after = math.ceil(self._global_sends[0] + 1.0 - now)
        elif len(per_chat) >= self.per_chat_per_second:
            retry_after = math.ceil(per_chat[0] + 1.0 - now)
        if len(self._global_sends) >= self.global_per_second or len(per_chat) >= self.per_chat_per_second:
            retry_after = max(1, retry_after)
            self.too_many += 1
            raise _ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        self._global_sends.append(now)
        per_chat.append(now)

    # -- validation helpers ------------------------------------------------------------------
    def _target_chat(self, params: Mapping[str, Any]) -> _Chat:
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise _bad("chat_id is empty")
        chat: _Chat | None = None
        if isinstance(chat_id, int):
            chat = self._chats.get(chat_id)
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            chat = next((c for c in self._chats.values() if c.username == chat_id[1:]), None)
        if chat is None:
            raise _bad("chat not found")
        if chat.blocked:
            raise _ApiError(403, "Forbidden: bot was blocked by the user")
        return chat

    @staticmethod
    def _render(text: Any, parse_mode: Any, entities: Any, *, caption: bool) -> tuple[str, list[JSON]]:
        text = "" if text is None else str(text)
        mode = str(parse_mode or "").lower()
        if mode == "html":
            try:
                visible, found = parse_html(text)
            except HtmlError as error:
                raise _ApiError(400, error.description) from None
        elif mode in ("", "markdown", "markdownv2"):
            visible = text
            found = list(entities) if (not mode and isinstance(entities, list)) else []
        else:
            raise _bad("unsupported parse_mode")
        if caption:
            if utf16_len(visible) > 1024:
                raise _bad("message caption is too long")
        else:
            if not visible.strip():
                raise _bad("message text is empty")
            if utf16_len(visible) > 4096:
                raise _bad("message is too long")
        return visible, found

    @staticmethod
    def _check_markup(markup: Any, *, inline_only: bool = False) -> JSON | None:
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
            for row in rows:
                for button in row:
                    if not isinstance(button, dict):
                        raise _bad(
                            "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                        )
                    label = button.get("text")
                    if not isinstance(label, str) or not label.strip():
                        raise _bad("BUTTON_TEXT_INVALID")
                    data = button.get("callback_data")
                    if data == "":  # Telegram treats an empty callback_data as absent
                        button = {k: v for k, v in button.items() if k != "callback_data"}
                    elif data is not None and not 1 <= len(str(data).encode("utf-8")) <= 64:
                        raise _bad("BUTTON_DATA_INVALID")
                    if not any(key in button for key in _INLINE_ACTIONS):
                        raise _ApiError(400, _TEXT_BUTTONS)
            return markup
        if inline_only:
            raise _bad("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            for row in rows:
                for button in row:
                    label = button if isinstance(button, str) else (button or {}).get("text")
                    if not isinstance(label, str) or not label.strip():
                        raise _bad("BUTTON_TEXT_INVALID")
            return markup
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return markup
        raise _bad("can't parse reply keyboard markup JSON object")

    def _reply_target(self, chat: _Chat, params: Mapping[str, Any]) -> JSON | None:
        reply = params.get("reply_parameters")
        if reply is None and params.get("reply_to_message_id") is not None:
            reply = {
                "message_id": params["reply_to_message_id"],
                "allow_sending_without_reply": params.get("allow_sending_without_reply", False),
            }
        if not isinstance(reply, dict) or "message_id" not in reply:
            return None
        message_id = int(reply["message_id"])
        if message_id in chat.bot_messages:
            target = chat.bot_messages[message_id].to_api()
            target.pop("reply_to_message", None)
            return target
        if message_id in chat.user_messages:
            return copy.deepcopy(chat.user_messages[message_id])
        if reply.get("allow_sending_without_reply"):
            return None
        raise _bad("message to be replied not found")

    def _new_bot_message(
        self,
        chat: _Chat,
        *,
        kind: str,
        text: str | None,
        source: str | None,
        parse_mode: Any,
        entities: list[JSON],
        markup: JSON | None,
        media: Any = None,
        reply_to: JSON | None = None,
    ) -> BotMessage:
        message = BotMessage(
            chat_id=chat.id,
            message_id=chat.new_message_id(),
            date=int(time.time()),
            kind=kind,
            text=text,
            source=source,
            parse_mode=str(parse_mode) if parse_mode else None,
            entities=entities,
            reply_markup=markup,
            chat=copy.deepcopy(chat.json),
            sender=copy.deepcopy(self.bot_user),
            media=media,
            reply_to=reply_to,
        )
        chat.bot_messages[message.message_id] = message
        chat.timeline.append(("bot", message.message_id))
        chat.events.append(message.snapshot("sent"))
        return message

    def _message_to_edit(self, params: Mapping[str, Any]) -> tuple[_Chat, BotMessage]:
        if params.get("inline_message_id") is not None:
            raise _bad("MESSAGE_ID_INVALID")
        chat = self._target_chat(params)
        message_id = params.get("message_id")
        if message_id is None:
            raise _bad("message identifier is not specified")
        message = chat.bot_messages.get(int(message_id))
        if message is None:
            if int(message_id) in chat.user_messages:
                raise _bad("message can't be edited")
            raise _bad("message to edit not found")
        return chat, message

    @staticmethod
    def _apply_edit(chat: _Chat, message: BotMessage, **changes: Any) -> None:
        message.history.append(message.snapshot("sent" if not message.history else "edited"))
        for key, value in changes.items():
            setattr(message, key, value)
        message.edit_date = int(time.time())
        chat.events.append(message.snapshot("edited"))

    # -- methods -----------------------------------------------------------------------------
    async def _api_getMe(self, params: JSON, record: RecordedRequest) -> JSON:
        return copy.deepcopy(self.bot_user)

    async def _api_close(self, params: JSON, record: RecordedRequest) -> bool:
        return True

    async def _api_logOut(self, params: JSON, record: RecordedRequest) -> bool:
        return True

    async def _api_getUpdates(self, params: JSON, record: RecordedRequest) -> list[JSON]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset = params.get("offset")
        limit = min(100, max(1, int(params.get("limit") or 100)))
        timeout = max(0, int(params.get("timeout") or 0))
        if params.get("allowed_updates") is not None:
            allowed = params["allowed_updates"]
            self._allowed_updates = frozenset(allowed) if allowed else None
        # A newer getUpdates ends an older one that is still waiting, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()
        if offset is not None:
            self._confirm(int(offset))
        deadline = _now() + min(timeout, self.long_poll_cap)
        while True:
            wakeup = self._wakeup
            batch = self._take(offset, limit)
            if batch or self._closing or _now() >= deadline:
                break
            if generation != self._poll_generation:
                raise _ApiError(
                    409,
                    "Conflict: terminated by other getUpdates request; "
                    "make sure that only one bot instance is running",
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), max(0.0, deadline - _now()))
        if batch:
            self._last_delivery_at = _now()
        return batch

    def _confirm(self, offset: int) -> None:
        if offset < 0:
            keep = -offset
            self._pending = self._pending[-keep:] if keep else []
        else:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]

    def _wanted(self, update: JSON) -> bool:
        kind = _update_type(update)
        if self._allowed_updates is None:
            return kind not in _DEFAULT_EXCLUDED_UPDATES
        return kind in self._allowed_updates

    def _take(self, offset: Any, limit: int) -> list[JSON]:
        forced, self._forced = self._forced[:limit], self._forced[limit:]
        self._pending = [u for u in self._pending if self._wanted(u)]
        room = limit - len(forced)
        fresh = [
            u for u in self._pending if offset is None or int(offset) < 0 or u["update_id"] >= int(offset)
        ][:room]
        batch = forced + fresh
        for update in batch:
            self._delivered.add(update["update_id"])
            query = update.get("callback_query")
            if isinstance(query, dict) and str(query.get("id")) in self._callbacks:
                self._presses_in_flight.add(str(query["id"]))
        return copy.deepcopy(batch)

    async def _api_deleteWebhook(self, params: JSON, record: RecordedRequest) -> bool:
        self.webhook_url = None
        self.webhook_secret = None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _api_setWebhook(self, params: JSON, record: RecordedRequest) -> bool:
        url = params.get("url")
        if url is None:
            raise _bad("url is empty")  # Telegram requires the parameter, even if empty
        self.webhook_url = str(url) or None
        self.webhook_secret = params.get("secret_token")
        if params.get("allowed_updates") is not None:
            self._allowed_updates = frozenset(params["allowed_updates"]) or None
        if params.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _api_getWebhookInfo(self, params: JSON, record: RecordedRequest) -> JSON:
        info: JSON = {
            "url": self.webhook_url or "",
            "has_custom_certificate": False,
            "pending_update_count": len(self.pending_updates()),
        }
        if self._allowed_updates is not None:
            info["allowed_updates"] = sorted(self._allowed_updates)
        return info

    async def _api_sendMessage(self, params: JSON, record: RecordedRequest) -> JSON:
        chat = self._target_chat(params)
        if params.get("text") in (None, ""):
            raise _bad("message text is empty")
        visible, entities = self._render(
            params["text"], params.get("parse_mode"), params.get("entities"), caption=False
        )
        markup = self._check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        message = self._new_bot_message(
            chat,
            kind="text",
            text=visible,
            source=str(params["text"]),
            parse_mode=params.get("parse_mode"),
            entities=entities,
            markup=markup,
            reply_to=reply_to,
        )
        return message.to_api()

    async def _api_editMessageText(self, params: JSON, record: RecordedRequest) -> JSON:
        chat, message = self._message_to_edit(params)
        if message.kind != "text":
            raise _bad("there is no text in the message to edit")
        if params.get("text") in (None, ""):
            raise _bad("message text is empty")
        visible, entities = self._render(
            params["text"], params.get("parse_mode"), params.get("entities"), caption=False
        )
        # Without reply_markup Telegram removes the inline keyboard.
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        if (visible, entities, markup) == (message.text, message.entities, message.reply_markup):
            raise _ApiError(400, _NOT_MODIFIED)
        self._apply_edit(
            chat,
            message,
            text=visible,
            source=str(params["text"]),
            parse_mode=params.get("parse_mode"),
            entities=entities,
            reply_markup=markup,
        )
        return message.to_api()

    async def _api_editMessageReplyMarkup(self, params: JSON, record: RecordedRequest) -> JSON:
        chat, message = self._message_to_edit(params)
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        if markup == message.reply_markup:
            raise _ApiError(400, _NOT_MODIFIED)
        self._apply_edit(chat, message, reply_markup=markup)
        return message.to_api()

    async def _api_answerCallbackQuery(self, params: JSON, record: RecordedRequest) -> bool:
        query = self._callbacks.get(str(params.get("callback_query_id") or ""))
        if query is None or query.answer is not None:
            raise _ApiError(400, _QUERY_INVALID)
        text = params.get("text")
        if text is not None and utf16_len(str(text)) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        record.chat_id = query.chat_id
        query.answer = CallbackAnswer(
            query_id=query.query_id,
            text=None if text is None else str(text),
            show_alert=bool(params.get("show_alert", False)),
            url=params.get("url"),
            cache_time=params.get("cache_time"),
        )
        return True

    async def _api_sendChatAction(self, params: JSON, record: RecordedRequest) -> bool:
        self._target_chat(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    @staticmethod
    def _scope_key(params: Mapping[str, Any]) -> tuple[str, str]:
        scope = params.get("scope") or {"type": "default"}
        return json.dumps(scope, sort_keys=True), str(params.get("language_code") or "")

    async def _api_setMyCommands(self, params: JSON, record: RecordedRequest) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise _bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise _bad("too many commands")
        cleaned: list[JSON] = []
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("can't parse BotCommand JSON object")
            name = str(command.get("command", ""))
            description = str(command.get("description", ""))
            if not _COMMAND_RE.fullmatch(name):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(description) <= 256:
                raise _bad("command description must be 1-256 characters long")
            cleaned.append({"command": name, "description": description})
        self.commands[self._scope_key(params)] = cleaned
        return True

    async def _api_getMyCommands(self, params: JSON, record: RecordedRequest) -> list[JSON]:
        return copy.deepcopy(self.commands.get(self._scope_key(params), []))

    async def _api_deleteMyCommands(self, params: JSON, record: RecordedRequest) -> bool:
        self.commands.pop(self._scope_key(params), None)
        return True

    async def _api_getFile(self, params: JSON, record: RecordedRequest) -> JSON:
        entry = self._file_store.get(str(params.get("file_id") or ""))
        if entry is None:
            raise _bad("invalid file_id")
        return {
            "file_id": entry.file_id,
            "file_unique_id": entry.file_unique_id,
            "file_size": len(entry.data),
            "file_path": entry.file_path,
        }

    def _media_source(
        self, method: str, field_name: str, value: Any, chat: _Chat, caption: str | None
    ) -> tuple[StoredFile, _FileEntry | None]:
        if isinstance(value, _Upload):
            if not value.data:
                raise _bad("file must be non-empty")
            entry = self._store_file(value.data, value.filename, value.content_type)
            stored = StoredFile(
                method=method,
                chat_id=chat.id,
                filename=value.filename,
                data=value.data,
                caption=caption,
                mime_type=value.content_type,
                field=field_name,
                file_id=entry.file_id,
                uploaded=True,
            )
            return stored, entry
        if not isinstance(value, str) or not value:
            raise _bad(f"there is no {field_name} in the request")
        known = self._file_store.get(value)
        if known is None and not value.startswith(("http://", "https://")):
            raise _bad("wrong file identifier/HTTP URL specified")
        stored = StoredFile(
            method=method,
            chat_id=chat.id,
            filename=value.rsplit("/", 1)[-1] if known is None else known.file_path.rsplit("/", 1)[-1],
            data=known.data if known else b"",
            caption=caption,
            mime_type=known.mime_type if known else None,
            field=field_name,
            file_id=known.file_id if known else value,
            uploaded=False,
        )
        return stored, known

    async def _send_media(self, method: str, field_name: str, params: JSON) -> JSON:
        chat = self._target_chat(params)
        caption_source = params.get("caption")
        caption, entities = self._render(
            caption_source, params.get("parse_mode"), params.get("caption_entities"), caption=True
        )
        markup = self._check_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        stored, entry = self._media_source(method, field_name, params.get(field_name), chat, caption or None)
        file_unique_id = entry.file_unique_id if entry else f"AgADUrl{next(self._ids):06d}"
        media: Any
        if field_name == "photo":
            media = [
                {
                    "file_id": stored.file_id + "_s",
                    "file_unique_id": file_unique_id + "s",
                    "width": 90,
                    "height": 90,
                    "file_size": max(1, stored.size // 10),
                },
                {
                    "file_id": stored.file_id,
                    "file_unique_id": file_unique_id,
                    "width": 800,
                    "height": 600,
                    "file_size": stored.size,
                },
            ]
        else:
            media = {"file_id": stored.file_id, "file_unique_id": file_unique_id, "file_size": stored.size}
            if stored.filename:
                media["file_name"] = stored.filename
            if stored.mime_type:
                media["mime_type"] = stored.mime_type
        message = self._new_bot_message(
            chat,
            kind=field_name,
            text=caption or None,
            source=None if caption_source is None else str(caption_source),
            parse_mode=params.get("parse_mode"),
            entities=entities,
            markup=markup,
            media=media,
            reply_to=reply_to,
        )
        stored.message_id = message.message_id
        self.files.append(stored)
        return message.to_api()

    async def _api_sendPhoto(self, params: JSON, record: RecordedRequest) -> JSON:
        return await self._send_media("sendPhoto", "photo", params)

    async def _api_sendDocument(self, params: JSON, record: RecordedRequest) -> JSON:
        return await self._send_media("sendDocument", "document", params)


# --------------------------------------------------------------------------------------
# Scripted user
# --------------------------------------------------------------------------------------
class ChatClient:
    """A user in a private chat with the bot: queues updates, reads the bot's answers."""

    def __init__(self, api: BotApiDouble, user: JSON) -> None:
        self.api = api
        self.user_json = user
        self.user_id: int = int(user["id"])
        self.chat_id: int = self.user_id
        self.first_name: str = str(user["first_name"])
        self.language_code: str | None = user.get("language_code")
        self.last_update_id: int | None = None
        self.last_callback_id: str | None = None
        self._mark = 0

    @property
    def _chat(self) -> _Chat:
        return self.api._chats[self.chat_id]

    @property
    def chat_json(self) -> JSON:
        return copy.deepcopy(self._chat.json)

    def _message(self, **content: Any) -> JSON:
        return {
            "message_id": self._chat.new_message_id(),
            "from": copy.deepcopy(self.user_json),
            "chat": self.chat_json,
            "date": int(time.time()),
            **content,
        }

    # -- sending -----------------------------------------------------------------------------
    async def send_update(self, update: Mapping[str, Any]) -> int:
        """Queue a raw update; what the bot does next counts towards :meth:`reply`."""
        self._mark = len(self._chat.events)
        self.last_update_id = await self.api.send_update(update)
        return self.last_update_id

    async def send(self, text: str) -> int:
        """Send a private text message (a leading ``/command`` gets its entity)."""
        return await self.send_update(self.text_update(text))

    def _find_button(self, label: str) -> tuple[BotMessage, JSON]:
        seen: list[str] = []
        for message in reversed(self.messages):
            buttons = message.inline_buttons()
            if not buttons:
                continue
            exact = [b for b in buttons if b.get("text") == label]
            partial = [b for b in buttons if label in str(b.get("text", ""))]
            if exact or len(partial) == 1:
                return message, (exact or partial)[0]
            if partial:
                names = [b.get("text") for b in partial]
                raise LookupError(
                    f"{label!r} matches several buttons on message {message.message_id}: {names}"
                )
            seen.extend(str(b.get("text")) for b in buttons)
        raise LookupError(f"no inline button {label!r} in chat {self.chat_id}; buttons seen: {seen}")

    async def tap(self, label: str, timeout: float = 10.0) -> int:  # noqa: ASYNC109
        """Press the inline button labelled ``label`` (exact, else substring) on the newest
        bot message that has it; queues the ``callback_query``; returns the update_id.

        Waits up to ``timeout`` for the button to appear, as a person waits for the question: on a
        loaded machine the next question can arrive after :meth:`reply` saw a quiet moment."""
        deadline = _now() + timeout
        while True:
            try:
                message, button = self._find_button(label)
                break
            except LookupError:
                if _now() > deadline:
                    raise
                await asyncio.sleep(0.01)
        if "callback_data" not in button:
            raise LookupError(f"button {button.get('text')!r} has no callback_data: {button}")
        return await self.tap_data(message.message_id, str(button["callback_data"]))

    def tap_update(self, label: str) -> JSON:
        """The callback query a press on ``label`` would send (registered, not queued)."""
        message, button = self._find_button(label)
        if "callback_data" not in button:
            raise LookupError(f"button {button.get('text')!r} has no callback_data: {button}")
        return self.callback_update(message.message_id, str(button["callback_data"]))

    def callback_update(self, message_id: int, data: str) -> JSON:
        """A callback query with any ``data`` on any message, registered so the bot may answer
        it, but not queued: for webhook posts and fuzzing."""
        chat = self._chat
        if message_id in chat.bot_messages:
            message = chat.bot_messages[message_id].to_api()
        else:
            message = {"message_id": message_id, "date": 0, "chat": self.chat_json}
        query_id = str(7_000_000_000_000_000 + next(self.api._ids))
        self.api._callbacks[query_id] = _Callback(query_id, self.chat_id, self.user_id, data, message_id)
        self.last_callback_id = query_id
        return {
            "callback_query": {
                "id": query_id,
                "from": copy.deepcopy(self.user_json),
                "message": message,
                "chat_instance": f"-{abs(hash((self.api.bot_user['id'], self.chat_id))) % 10**18}",
                "data": data,
            }
        }

    async def tap_data(self, message_id: int, data: str) -> int:
        """Queue a callback query with arbitrary ``data`` on any message (forged or replayed)."""
        return await self.send_update(self.callback_update(message_id, data))

    # -- payload builders (pass the result to send_update) ---------------------------------------
    def text_update(self, text: str) -> JSON:
        """A private text ``message`` update (what :meth:`send` queues)."""
        message = self._message(text=text)
        if entities := _command_entities(text):
            message["entities"] = entities
        return {"message": message}

    def sticker(self, emoji: str = "👍") -> JSON:
        entry = self.api._store_file(b"RIFF-sticker", "sticker.webp", "image/webp")
        sticker = {
            "file_id": entry.file_id,
            "file_unique_id": entry.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "TestStickers",
            "file_size": len(entry.data),
        }
        return {"message": self._message(sticker=sticker)}

    def photo(self, caption: str | None = None, data: bytes = b"\xff\xd8\xff\xe0fake-jpeg") -> JSON:
        entry = self.api._store_file(data, "photo.jpg", "image/jpeg")
        sizes = [
            {
                "file_id": entry.file_id + "_s",
                "file_unique_id": entry.file_unique_id + "s",
                "width": 90,
                "height": 67,
                "file_size": max(1, len(data) // 10),
            },
            {
                "file_id": entry.file_id,
                "file_unique_id": entry.file_unique_id,
                "width": 1280,
                "height": 960,
                "file_size": len(data),
            },
        ]
        content: JSON = {"photo": sizes}
        if caption is not None:
            content["caption"] = caption
        return {"message": self._message(**content)}

    def voice(self, duration: int = 3, data: bytes = b"OggS-fake-voice") -> JSON:
        entry = self.api._store_file(data, "voice.ogg", "audio/ogg")
        voice = {
            "file_id": entry.file_id,
            "file_unique_id": entry.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(data),
        }
        return {"message": self._message(voice=voice)}

    def location(self, latitude: float = 52.3676, longitude: float = 4.9041) -> JSON:
        return {"message": self._message(location={"latitude": latitude, "longitude": longitude})}

    def document(
        self,
        file_name: str = "notes.pdf",
        mime_type: str = "application/pdf",
        data: bytes = b"%PDF-1.4 fake",
        caption: str | None = None,
    ) -> JSON:
        entry = self.api._store_file(data, file_name, mime_type)
        document = {
            "file_id": entry.file_id,
            "file_unique_id": entry.file_unique_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        content: JSON = {"document": document}
        if caption is not None:
            content["caption"] = caption
        return {"message": self._message(**content)}

    def edit_last(self, text: str) -> JSON:
        """An ``edited_message`` update for this user's newest text message."""
        chat = self._chat
        for kind, message_id in reversed(chat.timeline):
            original = chat.user_messages.get(message_id) if kind == "user" else None
            if original is not None and "text" in original:
                edited = copy.deepcopy(original)
                edited["text"] = text
                edited["edit_date"] = int(time.time())
                edited.pop("entities", None)
                if entities := _command_entities(text):
                    edited["entities"] = entities
                return {"edited_message": edited}
        raise LookupError(f"user {self.user_id} has sent no text message to edit")

    def my_chat_member(self, new_status: str = "kicked", old_status: str = "member") -> JSON:
        """A ``my_chat_member`` update: the user blocked (``kicked``) or restarted the bot."""
        now = int(time.time())

        def member(status: str) -> JSON:
            body: JSON = {"user": copy.deepcopy(self.api.bot_user), "status": status}
            if status == "kicked":
                body["until_date"] = 0
            return body

        return {
            "my_chat_member": {
                "chat": self.chat_json,
                "from": copy.deepcopy(self.user_json),
                "date": now,
                "old_chat_member": member(old_status),
                "new_chat_member": member(new_status),
            }
        }

    # -- reading -------------------------------------------------------------------------------
    @property
    def messages(self) -> list[BotMessage]:
        """The bot's messages in this chat, oldest first, with current text and keyboard."""
        return self.api.bot_messages(self.chat_id)

    def conversation(self) -> list[tuple[str, str | None]]:
        """The visible chat as ``("user"|"bot", text)`` pairs, oldest first."""
        chat = self._chat
        lines: list[tuple[str, str | None]] = []
        for kind, message_id in chat.timeline:
            if kind == "bot":
                lines.append(("bot", chat.bot_messages[message_id].text))
            else:
                message = chat.user_messages[message_id]
                lines.append(("user", message.get("text", message.get("caption"))))
        return lines

    def last_message(self) -> BotMessage | None:
        messages = self.messages
        return messages[-1] if messages else None

    def last_text(self) -> str | None:
        message = self.last_message()
        return None if message is None else message.text

    def buttons(self) -> list[str]:
        """Labels of the newest keyboard the bot showed in this chat."""
        for message in reversed(self.messages):
            if message.buttons():
                return message.buttons()
        return []

    def callback_answer(self, query_id: str) -> CallbackAnswer | None:
        query = self.api._callbacks.get(query_id)
        return None if query is None else query.answer

    def last_callback_answer(self) -> CallbackAnswer | None:
        """The bot's ``answerCallbackQuery`` for this user's newest tap (None: not answered)."""
        return None if self.last_callback_id is None else self.callback_answer(self.last_callback_id)

    async def reply(self, timeout: float = 5.0, quiet: float | None = None) -> list[BotMessage]:  # noqa: ASYNC109
        """Wait until the bot sent or edited something here since the last send (or last
        ``reply``) and its turn is over; return those messages/edits as snapshots (``.action``
        is ``"sent"`` or ``"edited"``).

        The turn is over when the chat stayed quiet for ``quiet`` seconds and, where a running
        bot registered a probe (``BotApiDouble.turns_in_progress``), every update is confirmed and
        the bot is busy with none. Without a probe (bots in other processes) only the quiet
        moment tells, so it is longer by default: on a loaded machine a turn can pause that long
        between an edit and the message after it."""
        chat = self._chat
        deadline = _now() + timeout
        while True:
            now = _now()
            fresh = chat.events[self._mark :]
            in_progress = self.api.turns_in_progress()
            wait = quiet if quiet is not None else (0.15 if in_progress is None else 0.02)
            if fresh and not in_progress and now - chat.last_activity >= wait:
                self._mark = len(chat.events)
                return list(fresh)
            if now > deadline:
                refused = [
                    f"{r.method}: {r.description}"
                    for r in self.api.requests
                    if not r.ok and r.chat_id == self.chat_id
                ]
                recent = [
                    f"{r.method}(chat={r.chat_id}) -> {r.status}"
                    for r in self.api.requests
                    if r.method != "getUpdates"
                ][-5:]
                pending = len(self.api.pending_updates())
                raise TimeoutError(
                    f"no reply in chat {self.chat_id} within {timeout}s "
                    f"(updates not yet fetched: {pending}; refused calls here: {refused or 'none'}; "
                    f"last calls: {recent or 'none'})"
                )
            await asyncio.sleep(0.005)

    def __repr__(self) -> str:
        return f"ChatClient(user_id={self.user_id}, first_name={self.first_name!r})"
