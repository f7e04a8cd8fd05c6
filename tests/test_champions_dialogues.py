"""The champions' scheduling, moving and follow-up on the one engine, through the Bot API double and
python-telegram-bot's real HTTP stack, on SQLite and PostgreSQL: the restart and stale-button tests
the check passes (tests/test_telegram_behaviour.py), for each of the three, and the check and a
champion's dialogue side by side.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.champions.clock import ManualClock
from tests.support.bot_api_double import BotApiDouble, BotMessage, ChatClient
from tests.support.harness import services
from tests.test_champions_support import (
    ADMIN,
    become,
    champion_bot,
    drain,
    invite_link,
    onboard,
    schedule,
    session_rows,
    texts,
    typed,
)

ANNA = 5401
MOVED_ON = "That question has moved on."


def _in_days(now: datetime, days: int, hour: int) -> datetime:
    """A whole hour `days` from now (the minutes typed are whole)."""
    return (now + timedelta(days=days)).replace(hour=hour, minute=0, second=0)


def _button(message: BotMessage, text: str) -> str:
    return next(b["callback_data"] for b in message.inline_buttons() if text in b["text"])


async def _moved_on(api: BotApiDouble, user: ChatClient) -> None:
    await api.settle()
    assert user.last_callback_answer().text == MOVED_ON


async def test_scheduling_survives_restarts_and_the_keyboard_from_before_still_works(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    starts = _in_days(now, 5, 10)
    async with BotApiDouble() as api:
        admin = api.user(ADMIN, "Admin", "en")
        async with champion_bot(api, clean_database_url, clock) as app:
            await _add_department(app, "Sales")
            await admin.send("/schedule")
            await admin.reply()
            await admin.tap("Hands-on workshop")
            await admin.reply()
            await admin.send(typed(starts))
            await admin.reply()
            await admin.send("Room 4.12")
            await admin.reply()
            await admin.tap("Sales")  # ticked: the same message, new buttons
            await admin.reply()
            question = admin.last_message()
            assert "Who is it for?" in (question.text or "")
            done = _button(question, "Done")
        async with champion_bot(api, clean_database_url, clock) as app:
            await admin.tap_data(question.message_id, done)
            replies = await admin.reply()
            assert "Who runs it?" in (replies[-1].text or "")
            assert "✅ Sales" in _text(admin, question.message_id)
            await admin.tap("You")
            await admin.reply()
            await admin.tap("Done")
            await admin.reply()
            confirmation = admin.last_message()
            assert "Sales" in (confirmation.text or "") and "Room 4.12" in (confirmation.text or "")
            yes = _button(confirmation, "Yes, that's it")
        async with champion_bot(api, clean_database_url, clock) as app:
            await admin.tap_data(confirmation.message_id, yes)
            await admin.reply()
            assert "Planned: #1" in _text(admin, confirmation.message_id)
            rows = await session_rows(services(app).database)
            assert len(rows) == 1 and rows[0]["place"] == "Room 4.12"
            # The same "Yes" again, and a button of an earlier question: nothing twice.
            await admin.tap_data(confirmation.message_id, yes)
            await _moved_on(api, admin)
            await admin.tap_data(question.message_id, done)
            await _moved_on(api, admin)
            assert len(await session_rows(services(app).database)) == 1
        assert api.rejected == []


async def test_moving_survives_a_restart_and_its_old_buttons_are_stale(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    first, second = _in_days(now, 4, 10), _in_days(now, 6, 15)
    async with BotApiDouble() as api:
        admin = api.user(ADMIN, "Admin", "en")
        async with champion_bot(api, clean_database_url, clock):
            await schedule(admin, when=typed(first), champions=["You"])
            await admin.send("/sessions")
            await admin.reply()
            await admin.tap("Move #1")
            assert "When does it start now?" in (await admin.reply())[-1].text
        async with champion_bot(api, clean_database_url, clock) as app:
            await admin.send("not a time")
            assert "couldn't read" in (await admin.reply())[-1].text
            await admin.send(typed(second))
            await admin.reply()
            confirmation = admin.last_message()
            yes = _button(confirmation, "Yes, that's it")
        async with champion_bot(api, clean_database_url, clock) as app:
            await admin.tap_data(confirmation.message_id, yes)
            await admin.reply()
            assert "Moved" in _text(admin, confirmation.message_id)
            rows = await session_rows(services(app).database)
            assert [_aware(r["starts_at"]) for r in rows] == [second]
            await admin.tap_data(confirmation.message_id, yes)  # a second "Yes" moves nothing
            await _moved_on(api, admin)
        assert api.rejected == []


async def test_a_followup_survives_restarts_and_a_scheduling_button_is_stale_meanwhile(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    starts = _in_days(now, 2, 11)
    async with BotApiDouble() as api:
        admin = api.user(ADMIN, "Admin", "en")
        anna = api.user(ANNA, "Anna", "en")
        async with champion_bot(api, clean_database_url, clock) as app:
            await become(anna, await invite_link(admin, "champion", "Anna"))
            await schedule(admin, when=typed(starts), champions=["Anna"])
            await admin.send("/schedule")  # begun and stopped: its buttons are left in the chat
            await admin.reply()
            kinds = admin.last_message()
            inspiration = _button(kinds, "Inspiration session")
            await admin.send("/cancel")
            await admin.reply()
            clock.set(starts + timedelta(hours=3))
            await drain(app)
            assert texts(api, ANNA, "How did it go?")
            await anna.tap("Report the numbers")
            assert "How many colleagues came?" in (await anna.reply())[-1].text
        async with champion_bot(api, clean_database_url, clock) as app:
            clock.set(starts + timedelta(hours=3))
            await anna.send("lots")
            assert "whole number" in (await anna.reply())[-1].text
            await anna.send("14")
            assert "want the hands-on workshop" in (await anna.reply())[-1].text
        async with champion_bot(api, clean_database_url, clock) as app:
            clock.set(starts + timedelta(hours=3))
            await anna.send("15")  # more than came
            assert "whole number" in (await anna.reply())[-1].text
            # The admin's stopped scheduling: its buttons are stale.
            await admin.tap_data(kinds.message_id, inspiration)
            await _moved_on(api, admin)
            await anna.send("6")
            assert "14 came, 6 want the workshop" in (await anna.reply())[-1].text
            stored = (await session_rows(services(app).database))[0]
            assert (stored["attended"], stored["want_workshop"]) == (14, 6)
        assert api.rejected == []


async def test_scheduling_in_the_middle_of_the_check_hands_the_check_back(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    async with BotApiDouble() as api:
        admin = api.user(ADMIN, "Admin", "en")
        async with champion_bot(api, clean_database_url, clock) as app:
            await onboard(admin)
            await admin.send("/check")
            await admin.reply()
            await admin.tap("Almost everyone")
            await admin.reply()
            check_question = admin.last_message()
            assert "top management" in (check_question.text or "")
            no = _button(check_question, "No")
            await admin.send("/schedule")
            await admin.reply()
            await admin.tap("Inspiration session")
            await admin.reply()
            # The check's buttons are the other dialogue's now: stale, politely.
            await admin.tap_data(check_question.message_id, no)
            await _moved_on(api, admin)
            await admin.send("/cancel")
            replies = await admin.reply()
            assert "Stopped" in (replies[0].text or "")
            assert "top management" in (replies[-1].text or "")  # the check, where it stood
        async with champion_bot(api, clean_database_url, clock) as app:
            # Scheduling again, and confirmed after a restart: the check comes back after it too.
            await schedule(admin, when=typed(_in_days(now, 3, 9)), champions=["You"])
            replies = admin.messages[-2:]
            assert any("top management" in (m.text or "") for m in replies)
            assert len(await session_rows(services(app).database)) == 1
            await admin.tap("No")
            assert "Where do social media sit" in (await admin.reply())[-1].text
            answers = await _answers(app, ADMIN)
            assert answers[:2] == ["who_uses", "top_uses"]  # nothing of the schedule is an answer
        assert api.rejected == []


async def test_a_button_of_the_old_hand_written_dialogues_gets_the_stale_answer(clean_database_url):
    clock = ManualClock(datetime.now(UTC))
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock):
        admin = api.user(ADMIN, "Admin", "en")
        await admin.send("/schedule")
        await admin.reply()
        message = admin.last_message()
        # "s1|<draft version>|<action>|<argument>": what the draft machine's buttons carried.
        for data in ("s1|1|k|i", "s1|4|y|-", "s1|2|d|all"):
            await admin.tap_data(message.message_id, data)
            await _moved_on(api, admin)
        await admin.tap("Inspiration session")  # the dialogue itself is untouched
        assert "When does it start?" in (await admin.reply())[-1].text
        stranger = api.user(5499, "Nobody", "en")
        await stranger.tap_data(message.message_id, "s1|1|k|i")
        await _moved_on(api, stranger)
        assert api.rejected == []


async def test_a_dialogue_left_alone_for_an_hour_no_longer_swallows_text(clean_database_url):
    now = datetime.now(UTC).replace(microsecond=0)
    clock = ManualClock(now)
    async with BotApiDouble() as api, champion_bot(api, clean_database_url, clock):
        admin = api.user(ADMIN, "Admin", "en")
        await admin.send("/schedule")
        await admin.reply()
        kinds = admin.last_message()
        workshop = _button(kinds, "Hands-on workshop")
        clock.set(now + timedelta(minutes=59))
        await admin.send("tomorrow")  # within the hour: still the dialogue's, a tap is expected
        assert "one of the options" in (await admin.reply())[0].text
        clock.set(now + timedelta(minutes=59 + 61))
        await admin.tap_data(kinds.message_id, workshop)
        await _moved_on(api, admin)
        await admin.send("2-1-2030 14:00")  # the coach's now, not a date for a forgotten session
        reply = (await admin.reply())[-1].text or ""
        assert "When" not in reply and "date and time" not in reply
        assert api.rejected == []


# -- helpers ------------------------------------------------------------------------------------------


async def _add_department(app, name: str) -> int:
    async with services(app).database.transaction() as repo:
        return (await repo.departments.add_department(name)).id


def _text(user: ChatClient, message_id: int) -> str:
    """The current text of one message (edits included), as the person sees it."""
    return next(m.text or "" for m in reversed(user.messages) if m.message_id == message_id)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _answers(app, user_id: int) -> list[str]:
    from sqlalchemy import select

    from bot.storage.models import answers_table, people_table

    async with services(app).database.engine.connect() as connection:
        rows = await connection.execute(
            select(answers_table.c.question)
            .join(people_table, people_table.c.id == answers_table.c.person_id)
            .where(people_table.c.external_id == str(user_id), answers_table.c.dialogue == "phase_check")
            .order_by(answers_table.c.id)
        )
        return [r[0] for r in rows]


# -- one transaction per update ------------------------------------------------------------------------


async def test_every_update_of_a_champions_dialogue_and_of_the_check_is_one_transaction(database) -> None:
    """The desk used to read its draft in a transaction of its own before every private message;
    now the coach's one transaction carries the champions' dialogues too (on SQLite and PostgreSQL)."""
    from contextlib import contextmanager

    from sqlalchemy import event

    from bot.coach import Coach
    from bot.content.catalog import load_catalog
    from bot.conversation import Command, Start, Tap, Text, Visitor
    from bot.domain import Role
    from bot.router import Router
    from bot.settings import load_settings

    @contextmanager
    def begun():
        seen: list[int] = []

        def record(_connection) -> None:
            seen.append(1)

        event.listen(database.engine.sync_engine, "begin", record)
        try:
            yield seen
        finally:
            event.remove(database.engine.sync_engine, "begin", record)

    settings = load_settings()
    coach = Coach(database, load_catalog(settings.dialogues_dir, settings.knowledge_dir), settings)
    router = Router.around(coach, ManualClock(datetime(2030, 1, 1, 9, tzinfo=UTC)))
    visitor = Visitor("telegram", "4411", "en")
    update = iter(range(9000, 9100))

    async def handle(inbound):
        with begun() as seen:
            outcome = await router.handle(visitor, inbound, update_id=next(update))
        assert len(seen) == 1, (inbound, len(seen))
        return outcome

    outcome = await handle(Start())
    for key in ("en", "yes", "employee", "none"):
        data = next(b.data for row in outcome.messages[-1].buttons for b in row if b.data.endswith(f"|{key}"))
        outcome = await handle(Tap(data))
    async with database.transaction() as repo:
        person = await repo.people.person_for_update("telegram", "4411", create=False)
        assert person is not None
        person.role = Role.ADMIN
        await repo.people.save_person(person)
    outcome = await handle(Command("schedule"))
    data = outcome.messages[-1].buttons[0][0].data
    outcome = await handle(Tap(data))
    assert "When does it start?" in outcome.messages[-1].text
    outcome = await handle(Text("2-1-2030 14:00"))
    assert "Where?" in outcome.messages[-1].text
    outcome = await handle(Text("Room 1"))
    assert "Who is it for?" in outcome.messages[-1].text
    outcome = await handle(Command("cancel"))
    assert "Stopped" in outcome.messages[0].text
    outcome = await handle(Text("hello"))  # the coach's again: idle, a hint
    assert outcome.messages
