"""The coaching: answers -> assessment -> advice, and the coach end to end over a real database.

The first half checks the substance of the advice on the pure functions (assess, advice_context,
the advice template). The second half drives Coach.handle with taps and text, on SQLite and on
PostgreSQL, and looks at what was stored.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest
from sqlalchemy import func, select

from bot import PROJECT_ROOT
from bot.coach import Coach
from bot.coaching.advice import advice_context, change_between
from bot.coaching.assessment import DEFAULT_LENS, assess
from bot.content.catalog import Catalog, load_catalog
from bot.conversation import Button, Command, Outcome, Start, Tap, Text, Visitor
from bot.domain import Assessment, Person
from bot.engine.choice_token import ChoiceToken
from bot.engine.events import DONE
from bot.engine.spec import END
from bot.settings import load_settings
from bot.storage.database import Database
from bot.storage.models import Base

LANGS = ("nl", "en")
#: One answer set per level: every step of the check, chosen so both models land on that level.
LEVEL_ANSWERS: dict[int, dict[str, str]] = {
    1: {
        "who_uses": "nobody",
        "top_uses": "no",
        "where_sits": "nowhere",
        "policy": "none",
        "with_customers": "not_yet",
        "customer_service": "no",
        "customers_improve": "no",
        "internal_use": "email",
        "own_use": "never",
    },
    2: {
        "who_uses": "one_department",
        "top_uses": "some",
        "where_sits": "one_team",
        "policy": "experimenting",
        "with_customers": "conversation",
        "customer_service": "no",
        "customers_improve": "no",
        "internal_use": "some_teams",
        "own_use": "sometimes",
    },
    3: {
        "who_uses": "several_departments",
        "top_uses": "unknown",
        "where_sits": "coordinated",
        "policy": "shared",
        "with_customers": "co_create",
        "customer_service": "office_hours",
        "customers_improve": "sometimes",
        "internal_use": "some_teams",
        "own_use": "daily",
    },
    4: {
        "who_uses": "everyone",
        "top_uses": "actively",
        "where_sits": "strategy",
        "policy": "living",
        "with_customers": "co_create",
        "customer_service": "when_customers_are",
        "customers_improve": "structurally",
        "internal_use": "across",
        "own_use": "daily",
    },
}
PRESENCE = ("presence", "dialogue", "engagement", "social_business")
PILOT = ("pilot", "centralisation", "coordination", "integration")
FEARS = ("unwanted_messages", "time_loss", "security", "role_loss")
CAUSES = ("middle_managers", "silo", "culture", "fear")
STANDINGS = ("employee", "middle_manager", "top_management", "comms_it")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")


def plain(markup: str) -> str:
    """The advice as a person reads it: tags gone, entities (&#39; for ') decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def assessment_for(
    catalog: Catalog,
    answers: Mapping[str, Any],
    *,
    fears: Sequence[str] = ("none",),
    causes: Sequence[str] = ("none",),
    standing: str | None = None,
) -> Assessment:
    every = {**answers, "fears": list(fears), "causes": list(causes), "anything_else": "skip"}
    return assess(1, 1, every, catalog.dialogues, catalog.phase_ids, standing=standing)


def advice(catalog: Catalog, assessment: Assessment, lang: str, previous: Assessment | None = None) -> str:
    change = change_between(catalog.knowledge, previous, assessment, lang, "1 jan 2026")
    context = advice_context(catalog.knowledge, catalog.dialogues, assessment, lang, change)
    return plain(catalog.renderer.render(lang, "coach/advice", **context))


def text_of(catalog: Catalog, ref: str, key: str, lang: str) -> str:
    return catalog.knowledge.get(ref).text(key, lang)


# -- phases ---------------------------------------------------------------------------------------


def test_the_knowledge_has_the_phases_the_tests_expect(catalog: Catalog) -> None:
    assert tuple(catalog.phase_ids["presence_model"]) == PRESENCE
    assert tuple(catalog.phase_ids["pilot_model"]) == PILOT


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_each_phase_of_both_models_is_reachable_with_its_own_advice(
    catalog: Catalog, level: int, lang: str
) -> None:
    assessment = assessment_for(catalog, LEVEL_ANSWERS[level])
    assert assessment.phase_presence_model == PRESENCE[level - 1]
    assert assessment.phase_pilot_model == PILOT[level - 1]
    assert assessment.scores["levels"] == {"presence_model": level, "pilot_model": level}
    text = advice(catalog, assessment, lang)
    for model, phases in (("presence_model", PRESENCE), ("pilot_model", PILOT)):
        for index, phase in enumerate(phases, start=1):
            item = catalog.knowledge.phase(model, phase)
            if index == level:
                assert item.text("next_step", lang) in text
                assert item.text("character", lang) in text
                assert f"{item.text('name', lang)} ({level}/4)" in text
            else:
                assert item.text("next_step", lang) not in text
                assert item.text("character", lang) not in text


@pytest.mark.parametrize("lang", LANGS)
def test_the_advice_differs_for_every_level(catalog: Catalog, lang: str) -> None:
    texts = {advice(catalog, assessment_for(catalog, LEVEL_ANSWERS[level]), lang) for level in (1, 2, 3, 4)}
    assert len(texts) == 4


def test_the_reasons_name_the_answers_that_led_there(catalog: Catalog) -> None:
    assessment = assessment_for(catalog, LEVEL_ANSWERS[4])
    reasons = {tuple(pair) for pair in assessment.scores["reasons"]["pilot_model"]}
    assert ("policy", "living") in reasons
    assert ("customer_service", "when_customers_are") in reasons
    text = advice(catalog, assessment, "en")
    assert "Policy and best practice: ‘Yes, and we keep improving it’" in text
    assert "Waarom:" in advice(catalog, assessment, "nl")


@pytest.mark.parametrize("lang", LANGS)
def test_models_are_read_separately_and_a_cap_holds_one_down(catalog: Catalog, lang: str) -> None:
    answers = {**LEVEL_ANSWERS[4], "policy": "none"}  # no policy at all: at most centralisation
    assessment = assessment_for(catalog, answers)
    assert assessment.phase_presence_model == "social_business"
    assert assessment.phase_pilot_model == "centralisation"
    assert assessment.scores["capped_by"]["pilot_model"] == [["policy", "none"]]
    text = advice(catalog, assessment, lang)
    held = {
        "en": "What holds you back: Policy and best practice: ‘No, nothing yet’",
        "nl": "Wat je tegenhoudt:",
    }
    assert held[lang] in text
    assert catalog.knowledge.phase("pilot_model", "centralisation").text("next_step", lang) in text


def test_top_management_not_taking_part_caps_both_models(catalog: Catalog) -> None:
    assessment = assessment_for(catalog, {**LEVEL_ANSWERS[4], "top_uses": "no"})
    assert assessment.phase_presence_model == "engagement"
    assert assessment.phase_pilot_model == "coordination"


def test_an_empty_check_reads_as_the_first_phase(catalog: Catalog) -> None:
    assessment = assess(1, 1, {}, catalog.dialogues, catalog.phase_ids)
    assert (assessment.phase_presence_model, assessment.phase_pilot_model) == ("presence", "pilot")
    assert assessment.fears == ()
    assert assessment.causes == ()
    assert assessment.lens == DEFAULT_LENS
    assert "few answers yet" in advice(catalog, assessment, "en")


def test_the_lens_follows_the_gaps_in_the_answers(catalog: Catalog) -> None:
    low = assessment_for(catalog, LEVEL_ANSWERS[1])
    assert low.lens == "six_cs.connections"  # who_uses=nobody and own_use=never both point there
    assert text_of(catalog, "six_cs.connections", "remedy", "en") in advice(catalog, low, "en")
    high = assessment_for(catalog, LEVEL_ANSWERS[4])
    assert high.lens == DEFAULT_LENS
    assert text_of(catalog, DEFAULT_LENS, "remedy", "nl") in advice(catalog, high, "nl")


# -- fears, causes, standing ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("fear", FEARS)
def test_each_fear_named_gets_its_own_remedy(catalog: Catalog, fear: str, lang: str) -> None:
    assessment = assessment_for(catalog, LEVEL_ANSWERS[2], fears=[fear])
    assert assessment.fears == (fear,)
    text = advice(catalog, assessment, lang)
    for other in FEARS:
        remedy = text_of(catalog, f"fears.{other}", "remedy", lang)
        assert (remedy in text) == (other == fear), other
    first_use = catalog.knowledge.get(f"fears.{fear}").fields["uses"][0][lang]
    assert first_use in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("cause", CAUSES)
def test_each_cause_named_gets_its_own_remedy(catalog: Catalog, cause: str, lang: str) -> None:
    assessment = assessment_for(catalog, LEVEL_ANSWERS[2], causes=[cause])
    assert assessment.causes == (cause,)
    text = advice(catalog, assessment, lang)
    for other in CAUSES:
        for key in ("remedy", "first_step"):
            value = text_of(catalog, f"causes.{other}", key, lang)
            assert (value in text) == (other == cause), (other, key)


@pytest.mark.parametrize("lang", LANGS)
def test_every_fear_and_cause_together(catalog: Catalog, lang: str) -> None:
    assessment = assessment_for(catalog, LEVEL_ANSWERS[3], fears=FEARS, causes=CAUSES)
    assert assessment.fears == FEARS
    assert assessment.causes == CAUSES
    text = advice(catalog, assessment, lang)
    for fear in FEARS:
        assert text_of(catalog, f"fears.{fear}", "remedy", lang) in text
    for cause in CAUSES:
        assert text_of(catalog, f"causes.{cause}", "remedy", lang) in text


@pytest.mark.parametrize("lang", LANGS)
def test_none_of_these_gives_no_remedies(catalog: Catalog, lang: str) -> None:
    text = advice(catalog, assessment_for(catalog, LEVEL_ANSWERS[3]), lang)
    for fear in FEARS:
        assert text_of(catalog, f"fears.{fear}", "remedy", lang) not in text
    for cause in CAUSES:
        assert text_of(catalog, f"causes.{cause}", "remedy", lang) not in text
    assert ("Your worries" if lang == "en" else "Je zorgen") not in text


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("standing", STANDINGS)
def test_the_position_in_the_organisation_changes_the_advice(
    catalog: Catalog, standing: str, lang: str
) -> None:
    text = advice(catalog, assessment_for(catalog, LEVEL_ANSWERS[2], standing=standing), lang)
    for other in STANDINGS:
        role_advice = text_of(catalog, f"standings.{other}", "role_advice", lang)
        assert (role_advice in text) == (other == standing), other


@pytest.mark.parametrize(
    ("lang", "manager_word", "top_words"),
    [("nl", "facilitator", "Geef zelf het voorbeeld"), ("en", "facilitator", "Set the example yourself")],
)
def test_a_middle_manager_hears_facilitator_and_the_top_hears_set_the_example(
    catalog: Catalog, lang: str, manager_word: str, top_words: str
) -> None:
    manager = advice(catalog, assessment_for(catalog, LEVEL_ANSWERS[2], standing="middle_manager"), lang)
    top = advice(catalog, assessment_for(catalog, LEVEL_ANSWERS[2], standing="top_management"), lang)
    employee = advice(catalog, assessment_for(catalog, LEVEL_ANSWERS[2], standing="employee"), lang)
    assert manager_word in manager
    assert top_words in top
    assert manager_word not in employee
    assert top_words not in employee
    assert top_words not in manager
    assert manager_word not in top


# -- the coach, end to end over a database --------------------------------------------------------


def buttons_of(outcome: Outcome) -> list[Button]:
    if outcome.edit is not None and outcome.edit.text is None:
        return [b for row in outcome.edit.buttons for b in row]
    rows = [m.buttons for m in outcome.messages if m.buttons]
    return [b for row in rows[-1] for b in row] if rows else []


class Chat:
    """One person tapping through the coach, the way a channel would."""

    def __init__(self, coach: Coach, external_id: str, hint: str | None = "en") -> None:
        self.coach = coach
        self.visitor = Visitor("telegram", external_id, hint)
        self.buttons: list[Button] = []
        self.last = Outcome()

    async def send(self, inbound: Start | Command | Tap | Text) -> Outcome:
        self.last = await self.coach.handle(self.visitor, inbound)
        self.buttons = buttons_of(self.last) or self.buttons
        return self.last

    def data_for(self, key: str) -> str:
        for button in self.buttons:
            token = ChoiceToken.decode(button.data)
            if (token.option if token else button.data) == key:
                return button.data
        raise AssertionError(f"no button {key!r} among {[b.data for b in self.buttons]}")

    async def tap(self, key: str) -> Outcome:
        return await self.send(Tap(self.data_for(key)))

    async def tap_label(self, label: str) -> Outcome:
        for button in self.buttons:
            if button.label.removeprefix("✅ ").removeprefix("▫️ ") == label:
                return await self.send(Tap(button.data))
        raise AssertionError(f"no button {label!r} among {[b.label for b in self.buttons]}")

    def text(self) -> str:
        return plain("\n".join(m.text for m in self.last.messages))

    async def onboard(self, lang: str, standing: str = "employee", department: str = "none") -> None:
        await self.send(Start())
        await self.tap(lang)
        await self.tap("yes")
        await self.tap(standing)
        await self.tap(department)

    async def check(
        self,
        answers: Mapping[str, str],
        fears: Sequence[str] = ("none",),
        causes: Sequence[str] = ("none",),
        anything_else: str | None = None,
    ) -> str:
        for step in LEVEL_ANSWERS[1]:
            await self.tap(answers[step])
        for key in fears:
            await self.tap(key)
        await self.tap(DONE)
        for key in causes:
            await self.tap(key)
        await self.tap(DONE)
        if anything_else is None:
            await self.tap("skip")
        else:
            await self.send(Text(anything_else))
        return self.text()


@pytest.fixture
def coach(database: Database, catalog: Catalog) -> Coach:
    return Coach(database, catalog, load_settings())


async def person_of(database: Database, external_id: str) -> Person | None:
    async with database.transaction() as repo:
        return await repo.people.person_for_update("telegram", external_id, create=False)


async def rows_about(database: Database, person_id: int) -> dict[str, int]:
    """Rows in every table that refer to the person (by a foreign key to people, or people.id)."""
    counts: dict[str, int] = {}
    async with database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            columns = [fk.parent for fk in table.foreign_keys if fk.column.table.name == "people"]
            if table.name == "people":
                columns.append(table.c.id)
            for column in columns:
                query = select(func.count()).select_from(table).where(column == person_id)
                counts[f"{table.name}.{column.name}"] = (await connection.execute(query)).scalar_one()
    return counts


async def all_rows(database: Database, *tables: str) -> int:
    async with database.engine.connect() as connection:
        total = 0
        for name in tables:
            table = Base.metadata.tables[name]
            total += (await connection.execute(select(func.count()).select_from(table))).scalar_one()
        return total


@pytest.mark.parametrize("lang", LANGS)
async def test_full_onboarding_check_fears_and_advice_by_taps(
    coach: Coach, database: Database, catalog: Catalog, lang: str
) -> None:
    async with database.transaction() as repo:
        sales = await repo.departments.add_department("Sales")
    chat = Chat(coach, "1001", hint="nl" if lang == "en" else "en")
    first = await chat.send(Start())
    assert [b.label for b in chat.buttons] == ["Nederlands", "English"]
    assert first.messages[0].buttons
    await chat.tap(lang)
    assert chat.last.language == lang
    privacy = {"nl": "Akkoord, we gaan", "en": "Agreed, let's go"}[lang]
    await chat.tap_label(privacy)
    await chat.tap("middle_manager")
    assert next(b.label for b in chat.buttons) == "Sales"
    await chat.tap_label("Sales")
    assert "1/9" in chat.text()

    answers = LEVEL_ANSWERS[2]
    for step in answers:
        outcome = await chat.tap(answers[step])
        assert outcome.edit is not None
        assert outcome.edit.text is not None
        assert "✅" in outcome.edit.text
    assert "1/3" in chat.text()

    await chat.tap("time_loss")
    toggled = await chat.tap("role_loss")
    assert toggled.messages == ()
    assert toggled.edit is not None
    assert toggled.edit.text is None
    assert [b.label.startswith("✅") for b in chat.buttons][:5] == [False, True, False, True, False]
    await chat.tap(DONE)
    await chat.tap("culture")
    await chat.tap(DONE)
    await chat.send(Text("Our intranet is slow & <noisy>"))
    text = chat.text()

    for model, phase in (("presence_model", "dialogue"), ("pilot_model", "centralisation")):
        assert catalog.knowledge.phase(model, phase).text("next_step", lang) in text
    assert text_of(catalog, "standings.middle_manager", "role_advice", lang) in text
    assert text_of(catalog, "fears.time_loss", "remedy", lang) in text
    assert text_of(catalog, "fears.role_loss", "remedy", lang) in text
    assert text_of(catalog, "fears.security", "remedy", lang) not in text
    assert text_of(catalog, "causes.culture", "remedy", lang) in text
    assert text_of(catalog, "causes.silo", "remedy", lang) not in text
    assert ("Since your last check" if lang == "en" else "Sinds je vorige check") not in text

    person = await person_of(database, "1001")
    assert person is not None
    assert (person.language, person.consent, person.standing) == (lang, True, "middle_manager")
    assert person.department_id == sales.id
    async with database.transaction() as repo:
        (stored,) = await repo.assessments.assessments(person.id)
        data = await repo.personal_data(person.id)
        position = await repo.positions.position(person.id)
    assert (stored.phase_presence_model, stored.phase_pilot_model) == ("dialogue", "centralisation")
    assert stored.fears == ("time_loss", "role_loss")
    assert stored.causes == ("culture",)
    assert (stored.standing, stored.department_id) == ("middle_manager", sales.id)
    questions = [a.question for a in data.answers]
    assert questions[:4] == ["language", "privacy", "standing", "department"]
    assert questions[4:13] == list(LEVEL_ANSWERS[2])
    assert questions[13:] == ["fears", "fears", "causes", "anything_else"]
    assert data.answers[-1].text == "Our intranet is slow & <noisy>"
    assert {a.run_id for a in data.answers[4:]} == {stored.run_id}
    assert position is not None
    assert position.state == END


async def test_forget_confirmed_removes_every_row_about_the_person(coach: Coach, database: Database) -> None:
    keeper = Chat(coach, "2002")
    await keeper.onboard("nl")
    await keeper.tap("nobody")
    leaver = Chat(coach, "2001")
    await leaver.onboard("en", standing="top_management")
    await leaver.check(LEVEL_ANSWERS[3], fears=["security"], anything_else="private note")
    person = await person_of(database, "2001")
    assert person is not None
    before = await rows_about(database, person.id)
    assert before["answers.person_id"] > 0
    assert before["assessments.person_id"] == 1

    confirm = await leaver.send(Command("forget"))
    assert "cannot be undone" in plain(confirm.messages[0].text)
    assert await person_of(database, "2001") is not None  # asking is not erasing
    done = await leaver.tap("a|forget|yes")
    assert done.forgotten
    assert done.edit is not None
    assert "erased" in (done.edit.text or "")

    assert await person_of(database, "2001") is None
    after = await rows_about(database, person.id)
    assert set(after) == set(before)
    assert set(after.values()) == {0}, after
    kept = await person_of(database, "2002")
    assert kept is not None
    kept_rows = await rows_about(database, kept.id)
    assert kept_rows["answers.person_id"] == 5
    assert kept_rows["people.id"] == 1

    again = await leaver.send(Start())  # a fresh start, as a stranger
    assert [b.label for b in buttons_of(again)] == ["Nederlands", "English"]


async def test_forget_declined_keeps_everything(coach: Coach, database: Database) -> None:
    chat = Chat(coach, "2101")
    await chat.onboard("en")
    person = await person_of(database, "2101")
    assert person is not None
    before = await rows_about(database, person.id)
    await chat.send(Command("forget"))
    outcome = await chat.tap("a|forget|no")
    assert not outcome.forgotten
    assert await rows_about(database, person.id) == before


async def test_mydata_shows_only_that_persons_answers(coach: Coach, database: Database) -> None:
    async with database.transaction() as repo:
        await repo.departments.add_department("Finance")
    anna = Chat(coach, "3001")
    await anna.onboard("en", standing="middle_manager")
    await anna.check(LEVEL_ANSWERS[2], fears=["time_loss"], anything_else="anna's own words")
    bert = Chat(coach, "3002")
    await bert.onboard("en", standing="comms_it")
    await bert.tap("everyone")
    await bert.send(Text("bert's secret remark"))  # refused at a choice step: not stored

    mine = plain((await anna.send(Command("mydata"))).messages[0].text)
    assert "anna's own words" in mine
    assert "Team lead or middle manager" in mine
    assert "Department: –" in mine
    assert "Your answers (16)" in mine
    assert "Worries: Too much time lost" in mine
    assert "Dialogue / Centralisation; worries: Time loss" in mine
    assert "bert" not in mine
    assert "Communications, marketing or IT" not in mine
    assert "Almost everyone" not in mine

    theirs = plain((await bert.send(Command("mydata"))).messages[0].text)
    assert "anna" not in theirs
    assert "Your answers (5)" in theirs
    assert "Who uses it: Almost everyone" in theirs


async def test_declining_consent_stores_nothing(coach: Coach, database: Database) -> None:
    chat = Chat(coach, "4001", hint="nl")
    await chat.send(Start())
    await chat.tap("nl")
    outcome = await chat.tap("no")
    assert outcome.forgotten
    assert "bewaar ik niets" in chat.text()
    assert chat.buttons == [] or not buttons_of(outcome)
    assert await person_of(database, "4001") is None
    assert await all_rows(database, "people", "answers", "dialogue_positions", "assessments") == 0


async def test_declining_after_a_language_change_replies_in_that_language(coach: Coach) -> None:
    chat = Chat(coach, "4002", hint="nl")
    await chat.send(Start())
    await chat.tap("en")
    await chat.tap("no")
    assert "I won't keep anything" in chat.text()


async def test_cancel_stops_the_check_and_keeps_answers(coach: Coach, database: Database) -> None:
    chat = Chat(coach, "5001")
    await chat.onboard("en")
    await chat.tap("nobody")
    await chat.tap("no")
    old_buttons = list(chat.buttons)
    person = await person_of(database, "5001")
    assert person is not None
    answers_before = (await rows_about(database, person.id))["answers.person_id"]
    assert answers_before == 6

    cancelled = await chat.send(Command("cancel"))
    assert "Stopped" in chat.text()
    assert cancelled.changed
    async with database.transaction() as repo:
        position = await repo.positions.position(person.id)
    assert position is not None
    assert position.state == END
    assert (await rows_about(database, person.id))["answers.person_id"] == answers_before

    stale = await chat.send(Tap(old_buttons[0].data))  # the old keyboard no longer answers
    assert stale.notice == "That question has moved on."
    assert (await rows_about(database, person.id))["answers.person_id"] == answers_before
    await chat.send(Text("hello?"))
    assert "Send /check" in chat.text()
    await chat.send(Command("cancel"))
    assert "nothing running" in chat.text()
    await chat.send(Command("check"))
    assert "1/9" in chat.text()


async def test_advice_before_any_check(coach: Coach, database: Database) -> None:
    stranger = Chat(coach, "6001")
    await stranger.send(Command("advice"))
    assert "send /start" in stranger.text()
    chat = Chat(coach, "6002", hint="nl")
    await chat.onboard("nl")
    await chat.send(Command("advice"))
    assert "Je hebt de check nog niet afgerond" in chat.text()
    await chat.send(Command("cancel"))
    await chat.send(Command("advice"))
    assert "Je hebt de check nog niet afgerond" in chat.text()


@pytest.mark.parametrize(
    ("lang", "since", "forward", "before", "after"),
    [
        (
            "nl",
            "Sinds je vorige check",
            "Je bent vooruitgegaan",
            "Aanwezig / Pilot",
            "Social business / Volledige integratie",
        ),
        (
            "en",
            "Since your last check",
            "You've moved forward",
            "Presence / Pilot",
            "Social business / Full integration",
        ),
    ],
)
async def test_a_re_check_shows_the_change_since_the_previous_one(
    coach: Coach, database: Database, lang: str, since: str, forward: str, before: str, after: str
) -> None:
    chat = Chat(coach, "7001")
    await chat.onboard(lang)
    first = await chat.check(LEVEL_ANSWERS[1])
    assert since not in first
    await chat.send(Command("check"))
    assert "1/9" in chat.text()
    second = await chat.check(LEVEL_ANSWERS[4])
    assert since in second
    assert f"{before} → {after}" in second
    assert forward in second
    assert second.index(since) < second.index(after)
    await chat.send(Command("advice"))
    assert since in chat.text()
    assert f"{before} → {after}" in chat.text()
    person = await person_of(database, "7001")
    assert person is not None
    async with database.transaction() as repo:
        newest, older = await repo.assessments.assessments(person.id)
    assert newest.run_id > older.run_id
    assert (newest.phase_presence_model, older.phase_presence_model) == ("social_business", "presence")


async def test_a_re_check_going_back_says_so(coach: Coach) -> None:
    chat = Chat(coach, "7002")
    await chat.onboard("en")
    await chat.check(LEVEL_ANSWERS[3])
    await chat.send(Command("check"))
    text = await chat.check(LEVEL_ANSWERS[2])
    assert "Engagement / Coordination → Dialogue / Centralisation" in text
    assert "A step back" in text
