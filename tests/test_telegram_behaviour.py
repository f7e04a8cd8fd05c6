"""How the coach behaves on Telegram beyond the happy path, through the real client stack.

Every case shows the reply (or deliberate silence) and that state and answers are unchanged.
"""

from __future__ import annotations

import asyncio

import pytest

from bot import callbacks
from bot.callbacks import LanguageTap
from bot.engine.choice_token import ChoiceToken
from tests.support.bot_api_double import BotApiDouble
from tests.support.harness import running_bot, services

USER = 5151


async def _state(app, user_id: int = USER):
    """The person's position and answers as stored: what must not change on bad input."""
    async with services(app).database.transaction() as repo:
        person = await repo.people.person_for_update("telegram", str(user_id), create=False)
        if person is None:
            return None
        position = await repo.positions.position(person.id)
        data = await repo.personal_data(person.id)
    return (
        position and (position.dialogue, position.state, position.version),
        [(a.question, a.option, a.text) for a in data.answers],
    )


async def _onboard(user, lang: str = "en") -> None:
    await user.send("/start")
    await user.reply()
    for label in (
        "English" if lang == "en" else "Nederlands",
        "Agreed, let's go" if lang == "en" else "Akkoord",
        "Employee" if lang == "en" else "Medewerker",
        "Skip this" if lang == "en" else "Sla ik over",
    ):
        await user.tap(label)
        await user.reply()


@pytest.fixture
async def bot(clean_database_url):
    async with BotApiDouble() as api, running_bot(api, clean_database_url) as app:
        yield api, app


async def test_stale_press_is_answered_and_changes_nothing(bot):
    api, app = bot
    user = api.user(user_id=USER, language_code="en")
    await _onboard(user)
    first_question = user.last_message()
    data = next(b["callback_data"] for b in first_question.inline_buttons() if b["text"] == "Almost everyone")
    await user.tap("A few enthusiasts")
    await user.reply()
    before = await _state(app)
    # Press the same (now answered) question's old button data again.
    old = ChoiceToken(0, "who_uses", "everyone")
    await user.tap_data(first_question.message_id, data)
    await api.settle()
    assert user.last_callback_answer().text == "That question has moved on."
    assert await _state(app) == before
    # A forged token for the current step with a wrong version is refused the same way.
    await user.tap_data(first_question.message_id, ChoiceToken(999, "top_uses", "actively").encode())
    await api.settle()
    assert user.last_callback_answer().text == "That question has moved on."
    assert await _state(app) == before
    assert old.encode() != data
    assert api.rejected == []


@pytest.mark.parametrize(
    "data", ["garbage", "c1|who_uses", "a|forget", "c|x|y", "a|lang|xx", "c12|who_uses|nope"]
)
async def test_forged_callback_data_is_refused(bot, data):
    api, app = bot
    user = api.user(user_id=USER, language_code="en")
    await _onboard(user)
    before = await _state(app)
    await user.tap_data(user.last_message().message_id, data)
    await api.settle()
    answer = user.last_callback_answer()
    assert answer is not None and answer.text == "That question has moved on."
    assert await _state(app) == before
    assert api.rejected == []


def _text_of(user, message_id: int) -> str:
    return next(m.text for m in user.messages if m.message_id == message_id)


async def test_a_language_pressed_twice_edits_once_and_nothing_is_refused(bot):
    """A double tap (or a replayed press) on the language choice would ask Telegram to put the
    same text and keyboard on the message again, which it refuses ("message is not modified"):
    the second press is answered and makes no call."""
    api, app = bot
    user = api.user(user_id=USER, language_code="en")
    await _onboard(user)
    await user.send("/language")
    await user.reply()
    choice = user.last_message()
    assert choice is not None
    await user.tap("Nederlands")
    await api.settle()
    edited = _text_of(user, choice.message_id)
    assert "Nederlands" in edited
    edits = len(api.calls("editMessageText"))
    before = await _state(app)
    await user.tap_data(choice.message_id, callbacks.encode(LanguageTap("nl")))
    await api.settle()
    assert user.last_callback_answer() is not None
    assert len(api.calls("editMessageText")) == edits
    assert _text_of(user, choice.message_id) == edited
    assert await _state(app) == before
    assert api.rejected == []


async def test_repeated_update_is_processed_once_and_brings_the_question_again(bot):
    """A redelivery (after a crash the first delivery may have died before replying) changes
    nothing and sends the current question again, with its keyboard."""
    api, app = bot
    user = api.user(user_id=USER, language_code="en")
    await _onboard(user)
    update_id = await user.tap("Almost everyone")
    await user.reply()
    before = await _state(app)
    sent_before = len(api.calls("sendMessage"))
    answers_before = len(api.calls("answerCallbackQuery"))
    mark = len(api.requests)
    await api.redeliver(update_id)
    await api.wait_for("sendMessage", since=mark)
    await api.settle()
    assert await _state(app) == before
    assert [q for q, _, _ in before[1]].count("who_uses") == 1
    assert len(api.calls("sendMessage")) == sent_before + 1
    assert "One or two of them" in user.buttons()  # top_uses, the question after who_uses
    assert len(api.calls("answerCallbackQuery")) == answers_before  # a second answer is refused
    assert api.rejected == []


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("sticker", "I can't use that"),
        ("photo", "I can't use that"),
        ("voice", "I can't use that"),
        ("location", "I can't use that"),
        ("document", "I can't use that"),
    ],
)
async def test_unusable_messages_get_one_short_reply(bot, payload, expected):
    api, app = bot
    user = api.user(user_id=USER, language_code="en")
    await _onboard(user)
    before = await _state(app)
    await user.send_update(getattr(user, payload)())
    replies = await user.reply()
    assert len(replies) == 1 and expected in (replies[0].text or "")
    assert await _state(app) == before
    assert api.rejected == []


async def test_free_text_where_a_tap_is_expected_repeats_the_question(bot):
    api, app = bot
    user = api.user(user_id=USER, language_code="en")
    await _onboard(user)
    before = await _state(app)
    await user.send("hmm, not sure <b>really</b> & so on")
    replies = await user.reply()
    assert len(replies) == 1
    assert "Please choose one of the options" in replies[0].text
    assert "Almost everyone" in replies[0].buttons()
    assert await _state(app) == before


async def test_typed_label_counts_as_the_tap(bot):
    api, app = bot
    user = api.user(user_id=USER, language_code="en")
    await _onboard(user)
    await user.send("almost everyone")
    await user.reply()
    _, answers = await _state(app)
    assert ("who_uses", "everyone", None) in answers


async def test_unknown_command_gets_help_pointer(bot):
    api, app = bot
    user = api.user(user_id=USER, language_code="en")
    await _onboard(user)
    before = await _state(app)
    await user.send("/frobnicate")
    replies = await user.reply()
    assert len(replies) == 1 and "/help" in replies[0].text
    assert await _state(app) == before


async def test_edits_and_channel_posts_are_ignored_on_purpose(bot):
    api, app = bot
    user = api.user(user_id=USER, language_code="en")
    await _onboard(user)
    before = await _state(app)
    sent = len(api.requests)
    await user.send_update(user.edit_last("edited text"))
    await api.send_update(api.channel_post("hello channel"))
    await api.settle()
    calls = [r.method for r in api.requests[sent:] if r.method != "getUpdates"]
    assert calls == []
    assert await _state(app) == before


async def test_group_messages(bot):
    api, app = bot
    user = api.user(user_id=USER, language_code="en")
    await api.send_update(api.group_message(-100500, user, "just chatting in the group"))
    await api.settle()
    assert api.bot_messages(-100500) == []
    await api.send_update(api.group_message(-100500, user, "/check"))
    await api.settle()
    group_replies = api.bot_messages(-100500)
    assert len(group_replies) == 1 and "private chat" in group_replies[0].text
    # Told once: a second command in the same group within the hour gets no repeat.
    await api.send_update(api.group_message(-100500, user, "/help"))
    await api.settle()
    assert len(api.bot_messages(-100500)) == 1
    assert await _state(app) is None  # nobody was created from group traffic


async def test_handler_error_apologises_and_bot_keeps_serving(bot):
    api, app = bot
    user = api.user(user_id=USER, language_code="en")
    other = api.user(user_id=USER + 1, language_code="en")
    await _onboard(user)
    # Break the database under one turn: the turn fails, the person hears an apology.
    database = services(app).database
    original = database.transaction

    def broken(*_args, **_kwargs):
        raise RuntimeError("database exploded")

    database.transaction = broken
    try:
        await user.tap("Almost everyone")
        replies = await user.reply()
    finally:
        database.transaction = original
    assert any("Sorry, something went wrong" in (m.text or "") for m in replies)
    assert user.last_callback_answer() is not None
    # Others (and the same person) are served afterwards.
    await other.send("/start")
    assert await other.reply()
    await user.tap("Almost everyone")
    await user.reply()
    _, answers = await _state(app)
    assert ("who_uses", "everyone", None) in answers


async def test_command_menus_per_language(bot):
    api, _app = bot
    await api.settle()
    menus = {lang: [c["command"] for c in commands] for (_scope, lang), commands in api.commands.items()}
    assert set(menus) >= {"", "nl"}
    assert menus[""] == menus["nl"]
    assert {"start", "check", "advice", "language", "privacy", "mydata", "forget", "cancel", "help"} <= set(
        menus[""]
    )


async def test_language_switch_mid_check_keeps_position(bot):
    api, app = bot
    user = api.user(user_id=USER, language_code="en")
    await _onboard(user)
    before = await _state(app)
    await user.send("/language")
    await user.reply()
    await user.tap("Nederlands")
    replies = await user.reply()
    assert any("Nederlands" in (m.text or "") for m in replies)
    assert "Een paar enthousiastelingen" in user.buttons()
    after = await _state(app)
    assert after[0][:2] == before[0][:2] and after[1] == before[1]


async def test_twenty_people_interleaved_keep_their_own_answers(bot):
    api, app = bot
    people = [api.user(user_id=9000 + i, language_code="en") for i in range(20)]
    for person in people:
        await person.send("/start")
    await api.settle()
    script = ["English", "Agreed, let's go", "Employee", "Skip this"]
    choices = [
        "Hardly anyone yet",
        "A few enthusiasts",
        "Mainly one department",
        "Dozens of colleagues",
        "Almost everyone",
    ]
    for label in script:
        for person in people:
            await person.tap(label)
        await api.settle()
    for index, person in enumerate(people):
        await person.tap(choices[index % len(choices)])
    await api.settle()
    for index, person in enumerate(people):
        await person.tap(["No", "One or two of them", "Yes, actively and visibly"][index % 3])
    await api.settle()
    keys = ["nobody", "enthusiasts", "one_department", "several_departments", "everyone"]
    tops = ["no", "some", "actively"]
    for index, _person in enumerate(people):
        _, answers = await _state(app, 9000 + index)
        check = [(q, o) for q, o, _ in answers if q in ("who_uses", "top_uses")]
        assert check == [("who_uses", keys[index % 5]), ("top_uses", tops[index % 3])]
    assert api.rejected == []


async def test_forget_leaves_no_row_and_mydata_shows_only_own(bot):
    api, app = bot
    anna = api.user(user_id=USER, language_code="en")
    bob = api.user(user_id=USER + 7, language_code="en")
    await _onboard(anna)
    await _onboard(bob)
    await anna.tap("Almost everyone")
    await anna.reply()
    await bob.tap("Hardly anyone yet")
    await bob.reply()
    await bob.send("/mydata")
    text = (await bob.reply())[0].text
    assert "Hardly anyone yet" in text and "Almost everyone" not in text
    await anna.send("/forget")
    await anna.reply()
    await anna.tap("Yes, erase everything")
    await anna.reply()
    assert "erased" in anna.last_text()
    from sqlalchemy import text as sql

    database = services(app).database
    async with database.engine.connect() as connection:
        rows = (
            await connection.execute(sql("SELECT id FROM people WHERE external_id = :e"), {"e": str(USER)})
        ).all()
        assert rows == []
        for table in ("dialogue_positions", "answers", "assessments"):
            orphans = (
                await connection.execute(
                    sql(f"SELECT count(*) FROM {table} WHERE person_id NOT IN (SELECT id FROM people)")
                )
            ).scalar()
            assert orphans == 0, table
    assert await _state(app, USER + 7) is not None


async def test_restart_midway_continues_and_old_keyboard_still_works(clean_database_url):
    async with BotApiDouble() as api:
        user = api.user(user_id=USER, language_code="en")
        async with running_bot(api, clean_database_url):
            await _onboard(user)
            await user.tap("Almost everyone")
            await user.reply()
            question = user.last_message()
            assert "top management" in question.text
            data = next(b["callback_data"] for b in question.inline_buttons() if b["text"] == "No")
        # A new application on the same database: the old keyboard is still answerable.
        async with running_bot(api, clean_database_url) as app:
            await user.send("/start")
            replies = await user.reply()
            assert any("top management" in (m.text or "") for m in replies)
            await user.tap_data(question.message_id, data)
            await user.reply()
            # The next question comes where the person pressed: folded into that message.
            pressed = next(m for m in user.messages if m.message_id == question.message_id)
            assert "Where do social media sit" in (pressed.text or "")
            _, answers = await _state(app)
            assert [q for q, _, _ in answers if q in ("who_uses", "top_uses")] == ["who_uses", "top_uses"]
        assert api.rejected == []


async def test_concurrent_taps_of_one_person_are_serialised(bot):
    api, app = bot
    user = api.user(user_id=USER, language_code="en")
    await _onboard(user)
    message = user.last_message()
    data = [b["callback_data"] for b in message.inline_buttons()]
    await asyncio.gather(*(user.tap_data(message.message_id, d) for d in data[:3]))
    await api.settle()
    _, answers = await _state(app)
    assert [q for q, _, _ in answers].count("who_uses") == 1


async def test_a_slow_reply_shows_typing_first(clean_database_url):
    """Another transaction holds the person's row (PostgreSQL) or the write lock (SQLite) for a
    second, so the turn waits: the person sees "typing…" before the answer, and only then."""
    from sqlalchemy import text as sql

    async with BotApiDouble() as api, running_bot(api, clean_database_url) as app:
        user = api.user(user_id=USER, language_code="en")
        await _onboard(user)
        assert api.calls("sendChatAction") == []  # fast turns send no typing action
        database = services(app).database
        async with database.engine.connect() as connection:
            await connection.begin()  # on SQLite the engine begins with BEGIN IMMEDIATE: the write lock
            if database.dialect != "sqlite":
                await connection.execute(
                    sql("SELECT id FROM people WHERE external_id = :e FOR UPDATE"), {"e": str(USER)}
                )
            await user.tap("Almost everyone")
            await asyncio.sleep(1.0)
            await connection.rollback()
        await user.reply()
        actions = api.calls("sendChatAction")
        assert len(actions) == 1 and actions[0].params["action"] == "typing"
        assert "top management" in user.last_text()
