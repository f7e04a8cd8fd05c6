"""The Bot API double, exercised through a real python-telegram-bot Application."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from aiohttp import web
from telegram import (
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest, Conflict, EndPointNotFound, Forbidden, InvalidToken, RetryAfter
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    TypeHandler,
    filters,
)

from tests.support.bot_api_double import DEFAULT_TOKEN, BotApiDouble
from tests.support.telegram_html import HtmlError, check_html, parse_html, utf16_len

ANNA = 1001


# --------------------------------------------------------------------------------------
# The HTML checker on its own
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("html", "visible"),
    [
        ("plain text", "plain text"),
        ("<b>bold <i>italic <u>under <s>strike</s></u></i></b>", "bold italic under strike"),
        ("<strong>a</strong><em>b</em><ins>c</ins><strike>d</strike><del>e</del>", "abcde"),
        ('<span class="tg-spoiler">x</span><tg-spoiler>y</tg-spoiler>', "xy"),
        ('<a href="https://example.org/?a=1&amp;b=2">link</a>', "link"),
        ('<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>', "👍"),
        ('<tg-time unix="1647531900" format="wDT">tomorrow</tg-time>', "tomorrow"),
        ('<pre><code class="language-python">x = 1 &lt; 2</code></pre>', "x = 1 < 2"),
        ("<blockquote expandable>quote</blockquote><blockquote>q2</blockquote>", "quoteq2"),
        ("&lt;tag&gt; &amp; &quot;q&quot; &#65; &#x42;", '<tag> & "q" A B'),
        ("<B>upper</B>", "upper"),
    ],
)
def test_check_html_accepts_valid_markup(html, visible):
    assert check_html(html) == visible


@pytest.mark.parametrize(
    ("html", "fragment"),
    [
        ("<p>para</p>", 'Unsupported start tag "p" at byte offset 0'),
        ("1 < 2", 'Unsupported start tag "" at byte offset 2'),
        ("a > b", 'Unescaped ">"'),
        ("fish & chips", 'Unescaped "&"'),
        ("&nbsp;", 'Unescaped "&"'),
        ("<b>open", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'expected "</i>", found "</b>"'),
        ("done</b>", "Unexpected end tag at byte offset 4"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ('<span class="red">x</span>', 'Tag "span" must have class "tg-spoiler"'),
        ("<a>x</a>", 'Tag "a" must have a non-empty "href"'),
        ('<b class="x">x</b>', 'Unsupported attribute "class" in the tag "b"'),
        ("<tg-emoji>x</tg-emoji>", "Invalid custom emoji identifier"),
        ('<tg-time unix="1" format="q">x</tg-time>', "Invalid date-time format"),
        ("<br/>", 'Unsupported start tag "br"'),
        ("<b", "Unclosed start tag"),
        ("<blockquote><blockquote>x</blockquote></blockquote>", "can't be nested"),
    ],
)
def test_check_html_rejects_what_telegram_rejects(html, fragment):
    with pytest.raises(HtmlError) as info:
        check_html(html)
    assert info.value.description.startswith("Bad Request: can't parse entities: ")
    assert fragment in info.value.description


def test_parse_html_counts_entities_in_utf16_units():
    text, entities = parse_html("😀 <b>hi</b> <a href='https://x.org'>x</a>")
    assert text == "😀 hi x"
    assert entities == [
        {"offset": 3, "length": 2, "type": "bold"},
        {"offset": 6, "length": 1, "type": "text_link", "url": "https://x.org"},
    ]
    assert utf16_len("😀") == 2
    assert parse_html('<pre><code class="language-py">p</code></pre>')[1] == [
        {"offset": 0, "length": 1, "type": "pre", "language": "py"}
    ]


# --------------------------------------------------------------------------------------
# A small real PTB bot
# --------------------------------------------------------------------------------------
class Seen:
    def __init__(self) -> None:
        self.update_ids: list[int] = []
        self.callback_data: list[str] = []
        self.channel_posts: list[str] = []


def build_app(api: BotApiDouble, seen: Seen) -> Application:
    app = (
        ApplicationBuilder().token(api.token).base_url(api.base_url).base_file_url(api.base_file_url).build()
    )

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.update_ids.append(update.update_id)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        keyboard = InlineKeyboardMarkup(
            [
                [
                    InlineKeyboardButton("Yes", callback_data="yes"),
                    InlineKeyboardButton("No thanks", callback_data="no"),
                ]
            ]
        )
        name = update.effective_user.first_name
        await update.message.reply_text(
            f"Welcome, <b>{name}</b>!", parse_mode=ParseMode.HTML, reply_markup=keyboard
        )

    async def pressed(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        seen.callback_data.append(query.data)
        await query.answer(f"Got {query.data}")
        await query.edit_message_text(f"You chose {query.data}")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_chat.send_action("typing")
        await update.message.reply_text(update.message.text)

    async def sticker(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"Nice {update.message.sticker.emoji}")

    async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        largest = update.message.photo[-1]
        data = await (await largest.get_file()).download_as_bytearray()
        await update.message.reply_text(f"photo {largest.width} {bytes(data)!r}")

    async def edited(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.effective_chat.send_message(f"edited: {update.edited_message.text}")

    async def group(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(f"group: {update.message.text}")

    async def channel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.channel_posts.append(update.channel_post.text)

    app.add_handler(TypeHandler(Update, record), group=-1)
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CallbackQueryHandler(pressed))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, edited))
    app.add_handler(MessageHandler(filters.UpdateType.CHANNEL_POST, channel))
    app.add_handler(MessageHandler(filters.ChatType.GROUPS & filters.TEXT, group))
    app.add_handler(MessageHandler(filters.Sticker.ALL, sticker))
    app.add_handler(MessageHandler(filters.PHOTO, photo))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


@pytest.fixture
async def api():
    async with BotApiDouble(token=DEFAULT_TOKEN) as double:
        yield double


@pytest.fixture
def seen():
    return Seen()


@pytest.fixture
async def bot_app(api, seen):
    """The PTB bot, polling the double."""
    app = build_app(api, seen)
    async with app:
        await app.updater.start_polling(poll_interval=0, timeout=1)
        await app.start()
        yield app
        await app.updater.stop()
        await app.stop()


@pytest.fixture
async def idle_app(api, seen):
    """The PTB bot initialised (getMe done) but not polling: for calling app.bot directly."""
    app = build_app(api, seen)
    async with app:
        yield app


async def refused(api: BotApiDouble, call, error: type[Exception], description: str) -> Exception:
    """Await ``call``; PTB must raise ``error`` and the double must have sent ``description``."""
    with pytest.raises(error) as info:
        await call
    assert api.rejected, "the double recorded no rejection"
    assert api.rejected[-1].description == description
    # PTB strips "Bad Request: " and capitalises what is left
    assert description.lower().endswith(info.value.message.lower())
    return info.value


# --------------------------------------------------------------------------------------
# Conversations through polling
# --------------------------------------------------------------------------------------
async def test_echo_reply_is_recorded(api, bot_app):
    anna = api.user(user_id=ANNA, first_name="Anna", language_code="nl")
    await anna.send("hallo daar")
    replies = await anna.reply()
    assert [(m.action, m.text) for m in replies] == [("sent", "hallo daar")]
    assert anna.last_text() == "hallo daar"
    assert anna.conversation() == [("user", "hallo daar"), ("bot", "hallo daar")]
    send = api.calls("sendMessage")[-1]
    assert (send.ok, send.chat_id, send.params["text"]) == (True, ANNA, "hallo daar")
    assert "reply_parameters" not in send.params  # PTB quotes only in groups by default
    assert api.calls("sendChatAction")[-1].params == {"chat_id": ANNA, "action": "typing"}
    assert not api.rejected


async def test_command_keyboard_and_tap_deliver_callback_query(api, bot_app, seen):
    anna = api.user(ANNA, "Anna", "nl")
    await anna.send("/start")
    [welcome] = await anna.reply()
    assert welcome.text == "Welcome, Anna!"
    assert welcome.source == "Welcome, <b>Anna</b>!"
    assert welcome.entities == [{"offset": 9, "length": 4, "type": "bold"}]
    assert anna.buttons() == ["Yes", "No thanks"]

    await anna.tap("No")  # substring of "No thanks"
    [edit] = await anna.reply()
    assert seen.callback_data == ["no"]
    assert (edit.action, edit.message_id, edit.text) == ("edited", welcome.message_id, "You chose no")
    assert anna.last_callback_answer().text == "Got no"
    assert anna.messages[0].buttons() == []  # editing text without markup drops the keyboard
    assert anna.messages[0].history[0].text == "Welcome, Anna!"

    with pytest.raises(LookupError):
        await anna.tap("Maybe")


async def test_forged_callback_data_reaches_the_bot(api, bot_app, seen):
    anna = api.user(ANNA, "Anna")
    await anna.send("/start")
    [welcome] = await anna.reply()
    await anna.tap_data(welcome.message_id, "forged:42")
    await anna.reply()
    assert seen.callback_data == ["forged:42"]


async def test_replayed_callback_cannot_be_answered_twice(api, bot_app):
    anna = api.user(ANNA, "Anna")
    await anna.send("/start")
    await anna.reply()
    await anna.tap("Yes")
    await anna.reply()
    query_id = anna.last_callback_id
    await refused(
        api,
        bot_app.bot.answer_callback_query(query_id),
        BadRequest,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )
    await refused(
        api,
        bot_app.bot.answer_callback_query("12345"),
        BadRequest,
        "Bad Request: query is too old and response timeout expired or query ID is invalid",
    )


async def test_payload_builders_are_understood_by_ptb(api, bot_app, seen):
    anna = api.user(ANNA, "Anna")
    await anna.send_update(anna.sticker("🙂"))
    assert [m.text for m in await anna.reply()] == ["Nice 🙂"]

    await anna.send_update(anna.photo(data=b"jpeg-bytes"))
    assert [m.text for m in await anna.reply()] == ["photo 1280 b'jpeg-bytes'"]

    await anna.send("first")
    await anna.reply()
    await anna.send_update(anna.edit_last("second"))
    assert [m.text for m in await anna.reply()] == ["edited: second"]

    await api.send_update(api.group_message(-100777, anna, "hi all"))
    await api.send_update(api.channel_post("news"))
    await api.settle()
    assert [m.text for m in api.bot_messages(-100777)] == ["group: hi all"]
    assert seen.channel_posts == ["news"]

    # voice, location and document have no handler: the bot stays silent
    before = len(api.requests)
    for update in (anna.voice(), anna.location(), anna.document()):
        await anna.send_update(update)
    await api.settle(quiet=0.2)
    assert not api.pending_updates()
    assert [r.method for r in api.requests[before:] if r.method != "getUpdates"] == []


async def test_redeliver_hands_out_the_same_update_id_again(api, bot_app, seen):
    anna = api.user(ANNA, "Anna")
    update_id = await anna.send("once")
    await anna.reply()
    await api.redeliver(update_id)
    await anna.reply()
    assert seen.update_ids == [update_id, update_id]
    assert [text for who, text in anna.conversation() if who == "bot"] == ["once", "once"]
    # later updates still flow after the replay
    newer = await anna.send("twice")
    await anna.reply()
    assert seen.update_ids == [update_id, update_id, newer]


async def test_settle_waits_for_fetch_and_quiet(api, bot_app):
    anna = api.user(ANNA, "Anna")
    await anna.send_update(anna.voice())
    start = time.monotonic()
    await api.settle(quiet=0.2)
    assert not api.pending_updates()
    assert time.monotonic() - start >= 0.2
    with pytest.raises(TimeoutError):
        await anna.reply(timeout=0.3)


# --------------------------------------------------------------------------------------
# Rejections, through app.bot
# --------------------------------------------------------------------------------------
async def test_unknown_chat_and_blocked_user(api, idle_app):
    await refused(api, idle_app.bot.send_message(999, "hi"), BadRequest, "Bad Request: chat not found")
    api.user(ANNA, "Anna")
    api.block(ANNA)
    await refused(
        api, idle_app.bot.send_message(ANNA, "hi"), Forbidden, "Forbidden: bot was blocked by the user"
    )
    assert api.rejected[-1].status == 403
    api.unblock(ANNA)
    assert (await idle_app.bot.send_message(ANNA, "hi")).text == "hi"


async def test_text_length_limits_count_utf16_units(api, idle_app):
    anna = api.user(ANNA, "Anna")
    bot = idle_app.bot
    await refused(api, bot.send_message(ANNA, "x" * 4097), BadRequest, "Bad Request: message is too long")
    # 2049 emoji are 4098 UTF-16 units although only 2049 code points
    await refused(api, bot.send_message(ANNA, "😀" * 2049), BadRequest, "Bad Request: message is too long")
    assert (await bot.send_message(ANNA, "😀" * 2048)).text == "😀" * 2048
    # markup does not count
    assert len((await bot.send_message(ANNA, "<b>" + "y" * 4096 + "</b>", parse_mode="HTML")).text) == 4096
    await refused(api, bot.send_message(ANNA, ""), BadRequest, "Bad Request: message text is empty")
    await refused(
        api,
        bot.send_message(ANNA, "<b> </b>", parse_mode="HTML"),
        BadRequest,
        "Bad Request: message text is empty",
    )
    await refused(
        api,
        bot.send_photo(ANNA, b"img", caption="c" * 1025),
        BadRequest,
        "Bad Request: message caption is too long",
    )
    assert len(anna.messages) == 2


async def test_inline_button_validation(api, idle_app):
    api.user(ANNA, "Anna")
    bot = idle_app.bot

    def markup(label: str, data: str) -> InlineKeyboardMarkup:
        return InlineKeyboardMarkup([[InlineKeyboardButton(label, callback_data=data)]])

    await refused(
        api,
        bot.send_message(ANNA, "t", reply_markup=markup("ok", "x" * 65)),
        BadRequest,
        "Bad Request: BUTTON_DATA_INVALID",
    )
    # 33 characters but 66 bytes
    await refused(
        api,
        bot.send_message(ANNA, "t", reply_markup=markup("ok", "é" * 33)),
        BadRequest,
        "Bad Request: BUTTON_DATA_INVALID",
    )
    await refused(
        api,
        bot.send_message(ANNA, "t", reply_markup=markup("", "data")),
        BadRequest,
        "Bad Request: BUTTON_TEXT_INVALID",
    )
    await refused(
        api,
        bot.send_message(ANNA, "t", reply_markup=markup("ok", "")),
        BadRequest,
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
    )
    sent = await bot.send_message(ANNA, "t", reply_markup=markup("ok", "x" * 64))
    assert sent.reply_markup.inline_keyboard[0][0].callback_data == "x" * 64


@pytest.mark.parametrize(
    "html",
    [
        "<p>paragraph</p>",
        "<b>unclosed",
        "<b><i>crossed</b></i>",
        "stray</i>",
        "1 < 2",
        "1 > 2",
        "fish & chips",
        "<span>no class</span>",
        "<a>no href</a>",
        "<br>",
    ],
)
async def test_malformed_html_is_rejected(api, idle_app, html):
    api.user(ANNA, "Anna")
    with pytest.raises(BadRequest) as info:
        await idle_app.bot.send_message(ANNA, html, parse_mode=ParseMode.HTML)
    assert info.value.message.startswith("Can't parse entities:")
    assert api.rejected[-1].description.startswith("Bad Request: can't parse entities: ")
    # the same text without parse_mode is fine
    assert (await idle_app.bot.send_message(ANNA, html)).text == html


async def test_valid_nested_html_is_accepted(api, idle_app):
    anna = api.user(ANNA, "Anna")
    html = (
        '<b>bold <i>italic <u>under</u></i></b> <a href="https://example.org">site</a> '
        '<span class="tg-spoiler">secret</span> <code>x&lt;y</code>\n'
        '<pre><code class="language-python">print("hi")</code></pre>'
        "<blockquote expandable>long &amp; quoted</blockquote> &#128578;"
    )
    sent = await idle_app.bot.send_message(ANNA, html, parse_mode=ParseMode.HTML)
    visible = 'bold italic under site secret x<y\nprint("hi")long & quoted 🙂'
    assert sent.text == visible
    assert {e.type for e in sent.entities} >= {
        "bold",
        "italic",
        "underline",
        "text_link",
        "spoiler",
        "code",
        "pre",
    }
    assert sent.text_html.startswith("<b>bold <i>italic <u>under</u></i></b>")
    assert anna.last_text() == visible
    assert not api.rejected


async def test_edit_rules(api, idle_app):
    api.user(ANNA, "Anna")
    bot = idle_app.bot
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    sent = await bot.send_message(ANNA, "question", reply_markup=keyboard)
    await refused(
        api,
        bot.edit_message_text("x", chat_id=ANNA, message_id=999),
        BadRequest,
        "Bad Request: message to edit not found",
    )
    await refused(
        api,
        bot.edit_message_reply_markup(chat_id=ANNA, message_id=999, reply_markup=keyboard),
        BadRequest,
        "Bad Request: message to edit not found",
    )
    not_modified = (
        "Bad Request: message is not modified: specified new message content and reply markup "
        "are exactly the same as a current content and reply markup of the message"
    )
    await refused(
        api,
        bot.edit_message_text("question", chat_id=ANNA, message_id=sent.message_id, reply_markup=keyboard),
        BadRequest,
        not_modified,
    )
    await refused(
        api,
        bot.edit_message_reply_markup(chat_id=ANNA, message_id=sent.message_id, reply_markup=keyboard),
        BadRequest,
        not_modified,
    )
    # same text, keyboard gone: that is a modification
    edited = await bot.edit_message_text("question", chat_id=ANNA, message_id=sent.message_id)
    assert edited.reply_markup is None
    assert edited.edit_date is not None
    await refused(
        api,
        bot.edit_message_text("<i>bad", chat_id=ANNA, message_id=sent.message_id, parse_mode="HTML"),
        BadRequest,
        "Bad Request: can't parse entities: Can't find end tag corresponding to start tag \"i\"",
    )


async def test_unknown_method_parameter_and_token(api, idle_app):
    api.user(ANNA, "Anna")
    with pytest.raises(EndPointNotFound):
        await idle_app.bot.do_api_request("fooBar")
    assert api.rejected[-1].status == 404
    assert api.rejected[-1].description == "Not Found: method not found"

    await refused(
        api,
        idle_app.bot.send_message(ANNA, "hi", api_kwargs={"colour": "red"}),
        BadRequest,
        "Bad Request: unknown parameter colour",
    )

    other = ApplicationBuilder().token("654321:WRONG-token").base_url(api.base_url).build()
    with pytest.raises(InvalidToken):
        await other.bot.get_me()
    assert api.rejected[-1].status == 401

    async with httpx.AsyncClient() as client:
        response = await client.post(f"{api.base_url}654321:WRONG/getMe")
        assert response.status_code == 401
        assert response.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
        response = await client.post(f"{api.base_url}{api.token}/fooBar", json={})
        assert response.json() == {
            "ok": False,
            "error_code": 404,
            "description": "Not Found: method not found",
        }
        response = await client.post(
            f"{api.base_url}{api.token}/sendMessage", json={"chat_id": 999, "text": "x"}
        )
        assert response.status_code == 400
        assert response.json() == {
            "ok": False,
            "error_code": 400,
            "description": "Bad Request: chat not found",
        }


async def test_ptb_conveniences_pass_the_allow_list(api, idle_app):
    """Deprecated keywords PTB still offers are translated by PTB, so they pass."""
    api.user(ANNA, "Anna")
    bot = idle_app.bot
    first = await bot.send_message(ANNA, "one", disable_web_page_preview=True)
    second = await bot.send_message(ANNA, "two", reply_to_message_id=first.message_id)
    third = await bot.send_message(ANNA, "three", reply_parameters=ReplyParameters(first.message_id))
    assert second.reply_to_message.message_id == first.message_id
    assert third.reply_to_message.text == "one"
    sends = api.calls("sendMessage")
    assert sends[0].params["link_preview_options"] == {"is_disabled": True}
    assert "reply_to_message_id" not in sends[1].params
    await refused(
        api,
        bot.send_message(ANNA, "four", reply_parameters=ReplyParameters(777)),
        BadRequest,
        "Bad Request: message to be replied not found",
    )


@pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")  # PTB's own RetryAfter init
async def test_rate_limit_gives_retry_after():
    async with BotApiDouble(enforce_rate=True, per_chat_per_second=1, global_per_second=30) as api:
        api.user(ANNA, "Anna")
        api.user(ANNA + 1, "Bob")
        app = ApplicationBuilder().token(api.token).base_url(api.base_url).build()
        async with app:
            await app.bot.send_message(ANNA, "one")
            await app.bot.send_message(ANNA + 1, "other chat is fine")
            with pytest.raises(RetryAfter):
                await app.bot.send_message(ANNA, "two")
        assert api.too_many == 1
        assert api.rejected[-1].status == 429
        assert api.rejected[-1].description == "Too Many Requests: retry after 1"


# --------------------------------------------------------------------------------------
# Files, commands, webhooks, raw long polling
# --------------------------------------------------------------------------------------
async def test_send_document_and_photo_store_the_bytes(api, idle_app):
    anna = api.user(ANNA, "Anna")
    bot = idle_app.bot
    sent = await bot.send_document(
        ANNA, b"week report", filename="report.txt", caption="<b>Your</b> report", parse_mode="HTML"
    )
    stored = api.files[-1]
    assert (stored.method, stored.chat_id, stored.filename, stored.bytes) == (
        "sendDocument",
        ANNA,
        "report.txt",
        b"week report",
    )
    assert (stored.caption, stored.uploaded) == ("Your report", True)
    assert (sent.document.file_name, sent.caption) == ("report.txt", "Your report")
    assert api.calls("sendDocument")[-1].content_type == "multipart/form-data"

    photo = await bot.send_photo(ANNA, b"\x89PNG fake", caption="chart")
    assert (api.files[-1].bytes, api.files[-1].method) == (b"\x89PNG fake", "sendPhoto")
    assert photo.photo[-1].file_size == len(b"\x89PNG fake")
    assert [m.kind for m in anna.messages] == ["document", "photo"]

    downloaded = await (await bot.get_file(sent.document.file_id)).download_as_bytearray()
    assert bytes(downloaded) == b"week report"
    await refused(api, bot.send_document(ANNA, b""), BadRequest, "Bad Request: file must be non-empty")


async def test_commands_round_trip(api, idle_app):
    bot = idle_app.bot
    await bot.set_my_commands([BotCommand("start", "Begin"), BotCommand("help", "Help")], language_code="nl")
    assert [c.command for c in await bot.get_my_commands(language_code="nl")] == ["start", "help"]
    assert await bot.get_my_commands() == ()
    await refused(
        api,
        bot.set_my_commands([BotCommand("Bad-Name", "x")]),
        BadRequest,
        "Bad Request: BOT_COMMAND_INVALID",
    )
    assert await bot.delete_my_commands(language_code="nl")
    assert await bot.get_my_commands(language_code="nl") == ()


async def test_webhook_mode(api, idle_app):
    received: list[tuple[str | None, dict]] = []

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get("X-Telegram-Bot-Api-Secret-Token"), await request.json()))
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        anna = api.user(ANNA, "Anna")
        status = await api.post_update(f"http://127.0.0.1:{port}/hook", anna.text_update("hi"), "s3cret")
        assert status == 200
        assert received[0][0] == "s3cret"
        assert received[0][1]["message"]["text"] == "hi"
        assert "update_id" in received[0][1]
    finally:
        await runner.cleanup()

    assert await idle_app.bot.set_webhook("https://example.invalid/hook", secret_token="s3cret")
    assert (await idle_app.bot.get_webhook_info()).url == "https://example.invalid/hook"
    with pytest.raises(Conflict):
        await idle_app.bot.get_updates()
    assert await idle_app.bot.delete_webhook()
    assert await idle_app.bot.get_updates() == ()


async def test_get_updates_offset_limit_and_prompt_long_poll(api):
    anna = api.user(ANNA, "Anna")
    url = f"{api.base_url}{api.token}/getUpdates"
    async with httpx.AsyncClient() as client:
        first = await anna.send("a")
        second = await anna.send("b")
        assert second > first
        body = (await client.post(url, json={"limit": 1})).json()
        assert [u["update_id"] for u in body["result"]] == [first]
        body = (await client.post(url, data={"offset": str(second)})).json()  # form-encoded, confirms `first`
        assert [u["update_id"] for u in body["result"]] == [second]
        body = (await client.get(url, params={"offset": str(first)})).json()  # confirmed ones are gone
        assert [u["update_id"] for u in body["result"]] == [second]

        started = time.monotonic()
        poll = asyncio.create_task(client.post(url, json={"offset": second + 1, "timeout": 30}))
        await asyncio.sleep(0.05)
        third = await anna.send("c")
        body = (await poll).json()
        assert [u["update_id"] for u in body["result"]] == [third]
        assert time.monotonic() - started < 1.0

        started = time.monotonic()
        body = (await client.post(url, json={"offset": third + 1, "timeout": 0})).json()
        assert body == {"ok": True, "result": []}
        assert time.monotonic() - started < 0.5
        bad = await client.post(url, json={"offset": 0, "foo": 1})
        assert bad.json()["description"] == "Bad Request: unknown parameter foo"
