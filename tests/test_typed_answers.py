"""Typed answers in the conversation (issue 12, part 2), through `coachbot chat` on SQLite and PostgreSQL.

A typed fear at the free-text step is echoed, confirmed and changes the advice; a typed answer at a
button question is taken (sure) or asked back with one confirm button (less sure); off-topic text
gets a short reply and changes nothing. The typed text itself is stored nowhere, so neither the
admins' report nor a champion's brief can contain it.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot import PROJECT_ROOT
from bot.champions.briefs import brief_context
from bot.channels.terminal import CHANNEL, TerminalChat
from bot.content.catalog import Catalog, load_catalog
from bot.conversation import Tap, Visitor
from bot.domain import SessionKind
from bot.reports.report import build_report
from bot.reports.text import render_text
from bot.router import Router
from bot.services import Services, open_services
from bot.settings import load_settings
from bot.storage.database import Database
from bot.storage.models import Base
from bot.typed_answers import TypedAnswers
from bot.understanding import default_lexicon

ONBOARD = {"en": "2\n1\n1\n1\n", "nl": "1\n1\n1\n1\n"}
CHECK_ALL_FIRST = "1\n" * 9
#: "None of these" and done, at the fears and at the causes: the free-text question comes next.
NO_FEARS_NO_CAUSES = "5\n6\n5\n6\n"
TYPED_FEAR = {
    "en": "My manager thinks it is a waste of time",
    "nl": "Mijn leidinggevende vindt het tijdverspilling",
}
HEARD = {
    "en": "I hear: Too much time lost and Managers hold it back. Is that right?",
    "nl": "Ik hoor: Te veel tijdverlies en Managers houden het tegen. Klopt dat?",
}
NOTED = {"en": "Noted for your advice", "nl": "Genoteerd voor je advies"}
NOTHING = {"en": "I don't recognise a worry or blocker", "nl": "Hierin herken ik geen zorg of blokkade"}
OFF_TOPIC = {"en": "we had pizza for lunch today", "nl": "we aten vandaag pizza bij de lunch"}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")


@pytest_asyncio.fixture
async def services(database: Database, catalog: Catalog) -> AsyncIterator[Services]:
    url = database.url.render_as_string(hide_password=False)
    opened = await open_services(load_settings(database_url=url), catalog=catalog)
    yield opened
    await opened.close()


async def chat(services: Services, lines: str, user: str = "ana", lang: str = "en") -> str:
    out = io.StringIO()
    visitor = Visitor(CHANNEL, user, lang)
    assert await TerminalChat(Router.around(services.coach), visitor, io.StringIO(lines), out).run() == 0
    return out.getvalue()


async def kept(services: Services, user: str = "ana"):
    """(answers as (question, option, text), the position, the latest assessment or None)."""
    async with services.database.transaction() as repo:
        person = await repo.people.person_for_update(CHANNEL, user, create=False)
        assert person is not None
        data = await repo.personal_data(person.id)
        position = await repo.positions.position(person.id)
    answers = [(a.question, a.option, a.text) for a in data.answers]
    return answers, position, (data.assessments[0] if data.assessments else None)


def advice_of(out: str) -> str:
    """The first advice message: from the phase headline to the buttons under it."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "(1/4)" in line)
    return "\n".join(lines[start:]).split("  1. ")[0]


# -- the free-text step ---------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "nl"])
async def test_a_typed_fear_is_echoed_confirmed_and_changes_the_advice(services: Services, lang: str) -> None:
    prefix = ONBOARD[lang] + CHECK_ALL_FIRST + NO_FEARS_NO_CAUSES
    skipped = await chat(services, prefix + "1\n", user="bo", lang=lang)  # 1: "Skip"
    out = await chat(services, prefix + TYPED_FEAR[lang] + "\n", lang=lang)
    assert HEARD[lang] in out
    answers, position, assessment = await kept(services)
    assert assessment is None and position.state == "anything_else"  # nothing decided before the yes
    assert position.values["heard"]["topics"] == ["fears.time_loss", "causes.middle_managers"]

    out = await chat(services, "1\n", lang=lang)  # 1: "Yes"
    assert NOTED[lang] in out
    answers, position, assessment = await kept(services)
    assert assessment is not None
    assert assessment.fears == ("time_loss",) and assessment.causes == ("middle_managers",)
    assert ("fears", "time_loss", None) in answers and ("causes", "middle_managers", None) in answers
    assert "heard" not in position.values
    assert all(text is None for _, _, text in answers)
    _, _, untouched = await kept(services, "bo")
    assert untouched is not None and untouched.fears == () and untouched.causes == ()
    assert advice_of(out) != advice_of(skipped)


@pytest.mark.parametrize("lang", ["en", "nl"])
async def test_not_quite_lets_the_person_keep_only_the_right_ones(services: Services, lang: str) -> None:
    await chat(
        services, ONBOARD[lang] + CHECK_ALL_FIRST + NO_FEARS_NO_CAUSES + TYPED_FEAR[lang] + "\n", lang=lang
    )
    # 2: "Not quite"; then the heard topics as ticks: 1 time lost, 2 managers, 3 done.
    out = await chat(services, "2\n1\n3\n", lang=lang)
    assert "✅ " + ("Too much time lost" if lang == "en" else "Te veel tijdverlies") in out
    _, _, assessment = await kept(services)
    assert assessment is not None
    assert assessment.fears == ("time_loss",) and assessment.causes == ()


async def test_not_quite_and_nothing_ticked_keeps_none(services: Services) -> None:
    await chat(services, ONBOARD["en"] + CHECK_ALL_FIRST + NO_FEARS_NO_CAUSES + TYPED_FEAR["en"] + "\n")
    out = await chat(services, "2\n3\n")
    assert "Then I leave it out" in out
    answers, _, assessment = await kept(services)
    assert assessment is not None and assessment.fears == () and assessment.causes == ()
    assert ("fears", "time_loss", None) not in answers


async def test_a_topic_joins_what_was_tapped_and_replaces_none_of_these(services: Services) -> None:
    # Tapped: unwanted messages (1) at the fears, "none of these" (5) at the causes.
    await chat(services, ONBOARD["en"] + CHECK_ALL_FIRST + "1\n6\n5\n6\n" + TYPED_FEAR["en"] + "\n1\n")
    _, position, assessment = await kept(services)
    assert assessment is not None
    assert assessment.fears == ("unwanted_messages", "time_loss")
    assert assessment.causes == ("middle_managers",)
    assert position.values["answers"]["causes"] == ["middle_managers"]


@pytest.mark.parametrize("lang", ["en", "nl"])
async def test_off_topic_text_gets_an_honest_reply_and_changes_nothing(services: Services, lang: str) -> None:
    out = await chat(
        services, ONBOARD[lang] + CHECK_ALL_FIRST + NO_FEARS_NO_CAUSES + OFF_TOPIC[lang] + "\n", lang=lang
    )
    assert NOTHING[lang] in out
    answers, _, assessment = await kept(services)
    assert assessment is not None and assessment.fears == () and assessment.causes == ()
    assert all(text is None for _, _, text in answers)
    assert not [a for a in answers if a[0] == "anything_else"]


async def test_the_open_question_survives_a_restart_and_an_old_yes_is_stale(
    database: Database, catalog: Catalog
) -> None:
    url = database.url.render_as_string(hide_password=False)
    first = await open_services(load_settings(database_url=url), catalog=catalog)
    try:
        await chat(first, ONBOARD["en"] + CHECK_ALL_FIRST + NO_FEARS_NO_CAUSES + TYPED_FEAR["en"] + "\n")
        _, before, _ = await kept(first)
    finally:
        await first.close()
    second = await open_services(load_settings(database_url=url), catalog=catalog)
    try:
        # After the restart, /start brings the open question back, with fresh buttons.
        out = await chat(second, "")
        assert HEARD["en"] in out
        # Typing again replaces what was heard; the "yes" under the first echo is now stale.
        old_yes = f"a|heard|{before.version}.yes"
        await chat(second, "Legal says no to everything & IT is slow\n")
        _, position, _ = await kept(second)
        assert position.values["heard"]["topics"] == ["causes.silo"]
        outcome = await second.coach.handle(Visitor(CHANNEL, "ana", "en"), Tap(old_yes))
        assert outcome.notice and "moved on" in outcome.notice
        _, after, assessment = await kept(second)
        assert assessment is None and after == position
    finally:
        await second.close()


# -- button questions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "typed"),
    [("en", "most people"), ("nl", "bijna iedereen"), ("en", "number five"), ("nl", "vijf")],
)
async def test_a_typed_answer_at_a_button_question_is_taken(
    services: Services, lang: str, typed: str
) -> None:
    out = await chat(services, ONBOARD[lang] + typed + "\n", lang=lang)
    assert "✅ " + ("Almost everyone" if lang == "en" else "Bijna iedereen") in out
    assert "2/9" in out
    answers, _, _ = await kept(services)
    assert answers[-1] == ("who_uses", "everyone", None)


@pytest.mark.parametrize(
    ("lang", "typed"), [("en", "almost all of them"), ("nl", "bijna alle collega's zo'n beetje")]
)
async def test_a_less_sure_typed_answer_is_asked_back_with_one_button(
    services: Services, lang: str, typed: str
) -> None:
    await chat(services, ONBOARD[lang], lang=lang)
    answers_before, before, _ = await kept(services)
    out = await chat(services, typed + "\n", lang=lang)
    ask = "Do you mean Almost everyone?" if lang == "en" else "Bedoel je Bijna iedereen?"
    assert ask in out
    assert out.split(ask)[1].count("  1. ") == 1 and "  2. " not in out.split(ask)[1]
    answers, position, _ = await kept(services)
    assert answers == answers_before and position == before  # nothing yet: the tap decides
    out = await chat(services, typed + "\n1\n", lang=lang)
    assert "2/9" in out
    answers, _, _ = await kept(services)
    assert answers[-1] == ("who_uses", "everyone", None)


@pytest.mark.parametrize(
    ("lang", "typed"), [("en", "what is the weather like"), ("nl", "geen idee wat je bedoelt")]
)
async def test_off_topic_at_a_button_question_lists_the_answers_and_changes_nothing(
    services: Services, lang: str, typed: str
) -> None:
    await chat(services, ONBOARD[lang], lang=lang)
    before = await kept(services)
    out = await chat(services, typed + "\n", lang=lang)
    listed = "The answers are:" if lang == "en" else "Je kunt kiezen uit:"
    assert listed in out
    assert ("Almost everyone" if lang == "en" else "Bijna iedereen") in out.split(listed)[1].split("\n")[0]
    assert await kept(services) == before


# -- privacy --------------------------------------------------------------------------------------

MARKER = "Zebracrossing-4711"
SESSION = {
    "kind": "inspiration",
    "departments": [],
    "champions": ["Anna"],
    "place": "Room 1",
    "when": "today",
}


async def test_typed_text_is_stored_nowhere_and_reaches_no_report_or_brief(
    services: Services, catalog: Catalog
) -> None:
    typed = f"My manager thinks it is a waste of time, says {MARKER}"
    for index in range(5):  # a group as large as COACHBOT_MIN_GROUP, so the figures show
        user = f"p{index}"
        await chat(services, ONBOARD["en"] + CHECK_ALL_FIRST + NO_FEARS_NO_CAUSES + typed + "\n", user=user)
        assert MARKER not in str((await kept(services, user))[1].values)  # not even while asked back
        await chat(services, "1\n", user=user)
    async with services.database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            rows = (await connection.execute(select(table))).all()
            assert MARKER not in repr(rows), table.name
            assert "waste of time" not in repr(rows), table.name
    report = await build_report(services.database, catalog, lang="en", min_group=5, zone="Europe/Amsterdam")
    text = render_text(report, catalog)
    assert MARKER not in text and "waste" not in text
    async with services.database.transaction(read_only=True) as repo:
        figures = await repo.assessments.audience_figures(())
        shared = await repo.commitments.shared_successes((), since=datetime.now(UTC) - timedelta(days=90))
    assert figures.respondents == 5 and figures.fears.get("time_loss") == 5  # the confirmed topic counts
    brief = brief_context(catalog.knowledge, figures, SessionKind.INSPIRATION, "en", 5)
    successes = [{"step": s.step, "worked": s.worked} for s in shared]
    rendered = catalog.renderer.render("en", "champions/brief", **brief, session=SESSION, successes=successes)
    assert MARKER not in rendered and "waste of time" not in rendered


# -- presses that do not fit ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    ["a|heard|", "a|heard|x.yes", "a|heard|1", "a|heard|999999.yes", "a|heard|0.t99", "a|heard|0.done"],
)
async def test_a_forged_or_old_press_under_the_echo_is_stale(services: Services, data: str) -> None:
    await chat(services, ONBOARD["en"] + CHECK_ALL_FIRST + NO_FEARS_NO_CAUSES + TYPED_FEAR["en"] + "\n")
    before = await kept(services)
    version = before[1].version
    outcome = await services.coach.handle(
        Visitor(CHANNEL, "ana", "en"), Tap(data.replace("0.", f"{version}."))
    )
    assert outcome.notice == "That question has moved on."
    assert await kept(services) == before


async def test_a_press_under_the_echo_when_nothing_is_pending_is_stale(services: Services) -> None:
    await chat(services, ONBOARD["en"])
    before = await kept(services)
    outcome = await services.coach.handle(
        Visitor(CHANNEL, "ana", "en"), Tap(f"a|heard|{before[1].version}.yes")
    )
    assert outcome.notice == "That question has moved on."
    assert await kept(services) == before


async def test_mydata_shows_what_was_heard_while_it_waits_and_forget_erases_it(services: Services) -> None:
    await chat(services, ONBOARD["en"] + CHECK_ALL_FIRST + NO_FEARS_NO_CAUSES + TYPED_FEAR["en"] + "\n")
    out = await chat(services, "/mydata\n")
    assert "Heard in what you typed, waiting for your yes (the text itself is not kept): " in out
    assert "Too much time lost, Managers hold it back" in out
    assert "waste of time" not in out
    await chat(services, "/forget\n1\n")
    async with services.database.transaction() as repo:
        assert await repo.people.person_for_update(CHANNEL, "ana", create=False) is None


async def test_a_typed_option_at_a_multi_select_ticks_it_once(services: Services) -> None:
    await chat(services, ONBOARD["en"] + CHECK_ALL_FIRST)
    out = await chat(services, "network security\nnetwork security\n")
    assert "✅ Network security" in out
    assert "Network security is ticked already." in out
    _, position, _ = await kept(services)
    assert position.values["selected"]["fears"] == ["security"]
    await chat(services, "6\n5\n6\n1\n")  # done; no causes; skip the text
    _, _, assessment = await kept(services)
    assert assessment is not None and assessment.fears == ("security",)


async def test_cancel_while_asked_back_leaves_nothing_pending(services: Services) -> None:
    await chat(services, ONBOARD["en"] + CHECK_ALL_FIRST + NO_FEARS_NO_CAUSES + TYPED_FEAR["en"] + "\n")
    await chat(services, "/cancel\n")
    _, position, assessment = await kept(services)
    assert "heard" not in position.values and assessment is None
    assert "Heard in what you typed" not in await chat(services, "/mydata\n")


def test_every_topic_the_coach_can_hear_is_an_answer_it_can_store(catalog: Catalog) -> None:
    """A topic with no option flagged for it could be echoed but never kept: none may exist."""

    async def never(*_: object) -> None:
        raise AssertionError

    typed = TypedAnswers(catalog, commit=never, question=never, facts=never)  # type: ignore[arg-type]
    assert set(default_lexicon().topics) <= set(typed.topic_options)
    assert typed.topic_options["fears.time_loss"] == ("fears", "time_loss")
    assert typed.topic_options["causes.middle_managers"] == ("causes", "middle_managers")
