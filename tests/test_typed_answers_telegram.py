"""Typed answers over Telegram (issue 12, part 2): python-telegram-bot's real HTTP stack against the
Bot API double, which refuses what Telegram refuses (HTML, callback data, edits). SQLite and PostgreSQL.
"""

from __future__ import annotations

import pytest

from tests.support.bot_api_double import BotApiDouble
from tests.support.harness import running_bot, services

USER = 6161
ONBOARD = {
    "en": ("English", "Agreed, let's go", "Employee", "Skip this"),
    "nl": ("Nederlands", "Akkoord", "Medewerker", "Sla ik over"),
}
NONE = {"en": ("None of these", "Done"), "nl": ("Geen van deze", "Klaar")}
TYPED_FEAR = {
    "en": "My boss says it is a waste of time",
    "nl": "Mijn leidinggevende vindt het tijdverspilling",
}
HEARD = {
    "en": "I hear: Too much time lost and Managers hold it back. Is that right?",
    "nl": "Ik hoor: Te veel tijdverlies en Managers houden het tegen. Klopt dat?",
}
YES = {"en": "Yes", "nl": "Ja"}
NOT_QUITE = {"en": "Not quite", "nl": "Niet helemaal"}
OFF_TOPIC = {"en": "we had pizza for lunch today", "nl": "we aten vandaag pizza bij de lunch"}
NOTHING = {"en": "I don't recognise a worry or blocker", "nl": "Hierin herken ik geen zorg of blokkade"}


async def _press(user, label: str) -> None:
    await user.tap(label)
    await user.reply()


async def _to_the_free_text(user, lang: str) -> None:
    """Onboarding, then the first answer at each of the nine questions (typed "1": taken as a tap),
    then no fears and no causes."""
    await user.send("/start")
    await user.reply()
    for label in ONBOARD[lang]:
        await _press(user, label)
    for _ in range(9):
        await user.send("1")
        await user.reply()
    for _ in range(2):
        for label in NONE[lang]:
            await _press(user, label)


async def _stored(app, user_id: int = USER):
    async with services(app).database.transaction() as repo:
        person = await repo.people.person_for_update("telegram", str(user_id), create=False)
        assert person is not None
        data = await repo.personal_data(person.id)
        position = await repo.positions.position(person.id)
    answers = [(a.question, a.option, a.text) for a in data.answers]
    return answers, position, (data.assessments[0] if data.assessments else None)


@pytest.mark.parametrize("lang", ["en", "nl"])
async def test_a_typed_fear_is_echoed_confirmed_and_changes_the_advice(clean_database_url, lang):
    async with BotApiDouble() as api, running_bot(api, clean_database_url) as app:
        skipper = api.user(user_id=USER + 1, language_code=lang)
        await _to_the_free_text(skipper, lang)
        await _press(skipper, "Skip" if lang == "en" else "Overslaan")
        skipped_advice = skipper.last_text() or ""

        user = api.user(user_id=USER, language_code=lang)
        await _to_the_free_text(user, lang)
        await user.send(TYPED_FEAR[lang])
        (echo,) = await user.reply()
        assert echo.text == HEARD[lang]
        assert echo.buttons() == [YES[lang], NOT_QUITE[lang]]
        await _press(user, YES[lang])
        advice = user.last_text() or ""
        assert advice != skipped_advice
        _, _, assessment = await _stored(app)
        assert assessment is not None
        assert assessment.fears == ("time_loss",) and assessment.causes == ("middle_managers",)
        # The echo was edited to say what was noted, and lost its buttons.
        noted = next(m for m in user.messages if m.message_id == echo.message_id)
        assert ("Noted" if lang == "en" else "Genoteerd") in (noted.text or "") and not noted.buttons()
        assert api.rejected == []


async def test_not_quite_then_a_tick_keeps_only_that_one(clean_database_url):
    async with BotApiDouble() as api, running_bot(api, clean_database_url) as app:
        user = api.user(user_id=USER, language_code="nl")
        await _to_the_free_text(user, "nl")
        await user.send(TYPED_FEAR["nl"])
        await user.reply()
        await _press(user, NOT_QUITE["nl"])
        assert user.buttons() == ["▫️ Te veel tijdverlies", "▫️ Managers houden het tegen", "Klaar ✔︎"]
        await _press(user, "Managers houden het tegen")
        assert user.buttons()[1] == "✅ Managers houden het tegen"
        await _press(user, "Klaar")
        _, _, assessment = await _stored(app)
        assert assessment is not None and assessment.fears == () and assessment.causes == ("middle_managers",)
        assert api.rejected == []


@pytest.mark.parametrize("lang", ["en", "nl"])
async def test_off_topic_at_the_free_text_gets_a_short_reply_and_changes_nothing(clean_database_url, lang):
    async with BotApiDouble() as api, running_bot(api, clean_database_url) as app:
        user = api.user(user_id=USER, language_code=lang)
        await _to_the_free_text(user, lang)
        before, _, _ = await _stored(app)
        await user.send(OFF_TOPIC[lang])
        replies = await user.reply()
        assert NOTHING[lang] in (replies[0].text or "")
        answers, _, assessment = await _stored(app)
        assert answers == before  # no row for the text, no topic
        assert assessment is not None and assessment.fears == () and assessment.causes == ()
        assert api.rejected == []


@pytest.mark.parametrize(
    ("lang", "typed", "label"),
    [("en", "most people", "Almost everyone"), ("nl", "bijna iedereen", "Bijna iedereen")],
)
async def test_a_typed_answer_at_a_button_question_is_taken(clean_database_url, lang, typed, label):
    async with BotApiDouble() as api, running_bot(api, clean_database_url) as app:
        user = api.user(user_id=USER, language_code=lang)
        await user.send("/start")
        await user.reply()
        for onboarding in ONBOARD[lang]:
            await _press(user, onboarding)
        await user.send(typed)
        (reply,) = await user.reply()
        assert reply.text.startswith(f"✅ {label}") and "2/9" in reply.text
        answers, _, _ = await _stored(app)
        assert answers[-1] == ("who_uses", "everyone", None)
        assert api.rejected == []


@pytest.mark.parametrize(
    ("lang", "typed", "ask", "button"),
    [
        ("en", "almost all of them", "Do you mean Almost everyone?", "Yes, Almost everyone"),
        ("nl", "bijna alle collega's zo'n beetje", "Bedoel je Bijna iedereen?", "Ja, Bijna iedereen"),
    ],
)
async def test_a_less_sure_typed_answer_is_confirmed_with_one_button(
    clean_database_url, lang, typed, ask, button
):
    async with BotApiDouble() as api, running_bot(api, clean_database_url) as app:
        user = api.user(user_id=USER, language_code=lang)
        await user.send("/start")
        await user.reply()
        for onboarding in ONBOARD[lang]:
            await _press(user, onboarding)
        before = await _stored(app)
        await user.send(typed)
        (reply,) = await user.reply()
        assert ask in reply.text and reply.buttons() == [button]
        assert await _stored(app) == before  # only the press decides
        data = reply.callback_data(button)
        await _press(user, button)
        answers, _, _ = await _stored(app)
        assert answers[-1] == ("who_uses", "everyone", None)
        # Pressed again after the question moved on: answered as stale, nothing changes.
        after = await _stored(app)
        await user.tap_data(reply.message_id, data)
        await api.settle()
        assert (user.last_callback_answer().text or "") in (
            "That question has moved on.",
            "Die vraag is al voorbij.",
        )
        assert await _stored(app) == after
        assert api.rejected == []


@pytest.mark.parametrize(
    ("lang", "typed"), [("en", "what is the weather like"), ("nl", "geen idee wat je bedoelt")]
)
async def test_off_topic_at_a_button_question_lists_the_answers(clean_database_url, lang, typed):
    async with BotApiDouble() as api, running_bot(api, clean_database_url) as app:
        user = api.user(user_id=USER, language_code=lang)
        await user.send("/start")
        await user.reply()
        for onboarding in ONBOARD[lang]:
            await _press(user, onboarding)
        before = await _stored(app)
        await user.send(typed)
        (reply,) = await user.reply()
        assert ("The answers are:" if lang == "en" else "Je kunt kiezen uit:") in reply.text
        assert ("Almost everyone" if lang == "en" else "Bijna iedereen") in reply.buttons()
        assert await _stored(app) == before
        assert api.rejected == []


async def test_the_echo_survives_a_restart_and_its_yes_still_counts(clean_database_url):
    async with BotApiDouble() as api:
        user = api.user(user_id=USER, language_code="nl")
        async with running_bot(api, clean_database_url):
            await _to_the_free_text(user, "nl")
            await user.send(TYPED_FEAR["nl"])
            (echo,) = await user.reply()
        async with running_bot(api, clean_database_url) as app:  # a new process on the same database
            await _press(user, YES["nl"])
            _, _, assessment = await _stored(app)
            assert assessment is not None
            assert assessment.fears == ("time_loss",) and assessment.causes == ("middle_managers",)
            # The same press again (Telegram may redeliver, a person may double-tap): stale, no change.
            await user.tap_data(echo.message_id, echo.callback_data(YES["nl"]))
            await api.settle()
            assert user.last_callback_answer().text == "Die vraag is al voorbij."
            _, _, again = await _stored(app)
            assert again == assessment
        assert api.rejected == []
