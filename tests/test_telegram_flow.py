"""A full check over Telegram, by taps alone, through python-telegram-bot and the Bot API double."""

from __future__ import annotations

import pytest

from tests.support.bot_api_double import BotApiDouble
from tests.support.harness import running_bot, services

PHASE_TAPS_NL = [
    "Een paar enthousiastelingen",
    "Een enkeling",
    "Eén afdeling heeft de regie",
    "We experimenteren nog",
    "We gaan echt het gesprek aan",
    "Ja, tijdens kantooruren",
    "Af en toe",
    "Binnen sommige teams",
    "Soms",
]
PHASE_TAPS_EN = [
    "Almost everyone",
    "Yes, actively and visibly",
    "Part of the company strategy",
    "Yes, and we keep improving it",
    "They help shape what we do",
    "Yes, fast, whenever customers are online",
    "Yes, as a habit",
    "Yes, across departments",
    "Every day",
]


async def _tap(user, label: str) -> None:
    await user.tap(label)
    await user.reply()


@pytest.mark.parametrize(
    (
        "lang",
        "language_button",
        "agree",
        "standing",
        "skip",
        "phase_taps",
        "fear",
        "cause",
        "done",
        "skip_text",
        "advice_marker",
    ),
    [
        (
            "nl",
            "Nederlands",
            "Akkoord, we gaan",
            "Teamleider of middenmanager",
            "Sla ik over",
            PHASE_TAPS_NL,
            "Te veel tijdverlies",
            "Managers houden het tegen",
            "Klaar",
            "Overslaan",
            "Waar jullie staan",
        ),
        (
            "en",
            "English",
            "Agreed, let's go",
            "Board or top management",
            "Skip this",
            PHASE_TAPS_EN,
            "Network security",
            "Our culture",
            "Done",
            "Skip",
            "Where you stand",
        ),
    ],
)
async def test_full_check_by_taps(
    clean_database_url,
    lang,
    language_button,
    agree,
    standing,
    skip,
    phase_taps,
    fear,
    cause,
    done,
    skip_text,
    advice_marker,
):
    async with BotApiDouble() as api, running_bot(api, clean_database_url) as app:
        user = api.user(user_id=4242, first_name="Anna", language_code=lang)
        await user.send("/start")
        await user.reply()
        for label in (language_button, agree, standing, skip, *phase_taps, fear):
            await _tap(user, label)
        await _tap(user, done)
        await _tap(user, cause)
        await _tap(user, done)
        await _tap(user, skip_text)
        text = user.last_text() or ""
        assert advice_marker in text
        assert api.rejected == []
        # The answered question shows the choice and lost its keyboard.
        answered = [m for m in user.messages if m.edited]
        assert answered and all(not m.buttons() for m in answered if "✅" in (m.text or ""))
        async with services(app).database.transaction() as repo:
            person = await repo.people.person_for_update("telegram", "4242", create=False)
            assert person is not None and person.language == lang
            data = await repo.personal_data(person.id)
        questions = [a.question for a in data.answers]
        assert questions.count("who_uses") == 1 and "own_use" in questions
        assert len(data.assessments) == 1


async def test_the_advice_buttons_over_telegram(clean_database_url):
    """Under the advice: worries, why this phase, another step, the model behind it, each one
    message with its own keyboard, all accepted by the Bot API (HTML, 64-byte callback data)."""
    async with BotApiDouble() as api, running_bot(api, clean_database_url):
        user = api.user(user_id=4343, first_name="Bram", language_code="nl")
        await user.send("/start")
        await user.reply()
        for label in ("Nederlands", "Akkoord, we gaan", "Teamleider of middenmanager", "Sla ik over"):
            await _tap(user, label)
        for label in (*PHASE_TAPS_NL, "Mijn rol als manager", "Klaar", "Managers houden het tegen", "Klaar"):
            await _tap(user, label)
        await _tap(user, "Overslaan")
        assert "Deze week, als teamleider" in (user.last_text() or "")
        await _tap(user, "Zorgen en blokkades")
        assert "Middenmanagers houden vast" in (user.last_text() or "")
        await _tap(user, "Waarom deze fase?")
        assert "Nog geen Coördinatie" in (user.last_text() or "")
        await _tap(user, "Een andere stap")
        assert "Een andere stap (2 van" in (user.last_text() or "")
        await _tap(user, "Het model erachter")
        assert "Het model erachter" in (user.last_text() or "")
        assert api.rejected == []
