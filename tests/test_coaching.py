"""The coaching: answers -> assessment -> advice, and the coach end to end over a real database.

The first half checks that the answer sets used below land on their phases (read, ranked_steps);
the second half drives Coach.handle with taps and text, on SQLite and on
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
from bot.coaching.assessment import read
from bot.coaching.ranking import ranked_steps
from bot.coaching.rules import CoachingRules, rules_of
from bot.content.catalog import Catalog, load_catalog
from bot.conversation import Button, Command, Outcome, Start, Tap, Text, Visitor
from bot.domain import Person
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


_RULES: dict[int, CoachingRules] = {}


def rules_for(catalog: Catalog) -> CoachingRules:
    """The coaching rules of a catalog, read once per catalog."""
    if id(catalog) not in _RULES:
        _RULES[id(catalog)] = rules_of(catalog)
    return _RULES[id(catalog)]


def plain(markup: str) -> str:
    """The advice as a person reads it: tags gone, entities (&#39; for ') decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def text_of(catalog: Catalog, ref: str, key: str, lang: str) -> str:
    return catalog.knowledge.get(ref).text(key, lang)


def first_step(
    catalog: Catalog, answers: Mapping[str, Any], standing: str, fears=("none",), causes=("none",)
):
    every = {**answers, "fears": list(fears), "causes": list(causes), "anything_else": "skip"}
    return ranked_steps(
        read(every, rules_for(catalog), catalog.dialogues, standing=standing), rules_for(catalog)
    )[0]


@pytest.mark.parametrize("level", [1, 2, 3, 4])
def test_the_level_answers_reach_their_level_on_both_models(catalog: Catalog, level: int) -> None:
    """The answer sets the end-to-end tests below use land where they say (gates: test_phase_gates)."""
    reading = read(LEVEL_ANSWERS[level], rules_for(catalog), catalog.dialogues)
    assert reading.estimates["presence_model"].phase == PRESENCE[level - 1]
    assert reading.estimates["pilot_model"].phase == PILOT[level - 1]


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

    # One phone screen: where the organisation stands, one step for a team lead, why; the rest behind buttons.
    for model, phase in (("presence_model", "dialogue"), ("pilot_model", "centralisation")):
        assert catalog.knowledge.phase(model, phase).text("name", lang) in text
    step = first_step(catalog, LEVEL_ANSWERS[2], "middle_manager", ("time_loss", "role_loss"), ("culture",))
    assert "middle_manager" in rules_for(catalog).step(step.id).roles  # type: ignore[union-attr]
    assert text_of(catalog, step.ref, "text", lang) in text
    assert text_of(catalog, step.ref, "why", lang) in text
    assert len(text) <= 900
    assert text_of(catalog, "fears.time_loss", "remedy", lang) not in text
    assert ("Since your last check" if lang == "en" else "Sinds je vorige check") not in text
    labels = {
        "nl": ("Waarom deze fase?", "Zorgen en blokkades", "Een andere stap", "Het model erachter"),
        "en": ("Why this phase?", "Worries and blockers", "Another step", "The model behind it"),
    }[lang]
    commit = {"nl": ["🤝 Ja, doe ik", "Nu niet"], "en": ["🤝 Yes, I'll do it", "Not now"]}[lang]
    assert [b.label for b in chat.buttons] == commit + list(labels)

    await chat.tap_label(labels[1])
    worries = chat.text()
    assert text_of(catalog, "fears.time_loss", "remedy", lang) in worries
    assert text_of(catalog, "fears.role_loss", "remedy", lang) in worries
    assert text_of(catalog, "fears.security", "remedy", lang) not in worries
    assert text_of(catalog, "causes.culture", "remedy", lang) in worries
    assert text_of(catalog, "causes.silo", "remedy", lang) not in worries
    await chat.tap_label(labels[0])
    held = {"nl": "Nog geen Betrokkenheid", "en": "Not yet Engagement"}[lang]
    assert held in chat.text()
    await chat.tap_label(labels[2])
    reading = read(
        {**LEVEL_ANSWERS[2], "fears": ["time_loss", "role_loss"], "causes": ["culture"]},
        rules_for(catalog),
        catalog.dialogues,
        standing="middle_manager",
    )
    second = ranked_steps(reading, rules_for(catalog))[1]
    assert text_of(catalog, second.ref, "text", lang) in chat.text()
    await chat.tap_label(labels[3])
    assert ("Het model erachter" if lang == "nl" else "The model behind it") in chat.text()

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
    # The typed "anything else" names no fear or cause the coach knows: it is read, not kept.
    assert questions[13:] == ["fears", "fears", "causes"]
    assert all(a.text is None for a in data.answers)
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
    done = await leaver.tap_label("Yes, erase everything")
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
    outcome = await chat.tap_label("No, keep it")
    assert not outcome.forgotten
    assert await rows_about(database, person.id) == before


async def test_an_old_yes_to_forget_does_not_erase_after_a_later_no(coach: Coach, database: Database) -> None:
    chat = Chat(coach, "2102")
    await chat.onboard("en")
    asked = await chat.send(Command("forget"))
    (yes,), (_no,) = asked.messages[0].buttons
    await chat.tap_label("No, keep it")
    late = await chat.send(Tap(yes.data))  # the same question's "Yes", pressed after its "No"
    assert not late.forgotten
    assert late.notice is not None and "moved on" in late.notice
    assert await person_of(database, "2102") is not None


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
    assert "anna's own words" not in mine  # typed text naming no topic is read, never kept
    assert "Team lead or middle manager" in mine
    assert "Department: –" in mine
    assert "Your answers (15)" in mine
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


async def test_advice_before_any_check(coach: Coach) -> None:
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
            "Wat veranderde: Contact met klanten, ‘Nog niet echt’ → ‘Ze denken mee en we doen er iets mee’",
            "Aanwezig / Pilot",
            "Social business / Volledige integratie",
        ),
        (
            "en",
            "Since your last check",
            "What changed: Contact with customers, ‘Not really yet’ → ‘They help shape what we do’",
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
    assert "What changed:" in text
    await chat.tap_label("Why this phase?")
    assert "Since your last check: " in chat.text()
    assert "Customers help improve, ‘Now and then’ → ‘No’" in chat.text()


async def test_buttons_of_an_earlier_advice_are_refused_after_a_re_check(coach: Coach) -> None:
    chat = Chat(coach, "7003")
    await chat.onboard("en")
    await chat.check(LEVEL_ANSWERS[2], fears=["security"])
    old = list(chat.buttons)
    await chat.send(Command("check"))
    await chat.check(LEVEL_ANSWERS[3])
    refused = await chat.send(Tap(old[0].data))
    assert refused.notice == "This belongs to an earlier check; /advice shows your latest advice."
    assert refused.messages == ()
    forged = await chat.send(Tap("a|why|99999999999999999999999.0"))
    assert forged.notice == "That question has moved on."
    latest = await chat.send(Command("advice"))
    assert latest.messages[0].buttons


async def test_contradicting_answers_get_one_clarifying_question(coach: Coach, database: Database) -> None:
    """ "Hardly anyone uses it" with "part of the company strategy": the check asks which holds."""
    chat = Chat(coach, "7004")
    await chat.onboard("en")
    contradicting = {**LEVEL_ANSWERS[4], "who_uses": "nobody"}
    for step in LEVEL_ANSWERS[1]:
        await chat.tap(contradicting[step])
    assert "Which is closer?" in chat.text()
    assert "/9" not in chat.text()  # not one of the nine: no number
    assert [b.label for b in chat.buttons] == [
        "Right, it's mostly a plan so far",
        "More than I said: dozens take part",
        "I'm not sure",
    ]
    await chat.tap("unknown")
    assert "1/3" in chat.text()
    await chat.tap("none")
    await chat.tap(DONE)
    await chat.tap("none")
    await chat.tap(DONE)
    await chat.tap("skip")
    text = chat.text()
    assert "A first estimate: two answers contradict each other." in text
    assert "Centralisation (2/4)" in text
    person = await person_of(database, "7004")
    assert person is not None
    async with database.transaction() as repo:
        (stored,) = await repo.assessments.assessments(person.id)
    assert stored.phase_pilot_model == "centralisation"
    assert stored.scores["tensions"] == ["tensions.use_or_plan"]
    assert stored.scores["answers"]["use_check"] == "unknown"
