"""The advice: one ranked step that fits the person, a first message that fits a phone, and every
seed concept reaching someone.

Pure: answers -> reading -> ranked steps -> rendered messages, no database. The coach end to end
is in test_coaching.py.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest

from bot import PROJECT_ROOT, callbacks
from bot.advice_messages import NAMES, AdviceMessages
from bot.callbacks import AdviceTap
from bot.coaching.advice import AdviceViews
from bot.coaching.assessment import Reading, assess, read, reading_of
from bot.coaching.gates import Verdict, open_requirements
from bot.coaching.ranking import rank, ranked_steps
from bot.coaching.rules import CoachingRules, rules_of
from bot.coaching.steps import AdviceStep
from bot.content.catalog import Catalog, load_catalog
from bot.domain import Assessment
from tests.support.telegram_html import check_html, utf16_len
from tests.test_phase_gates import PATTERNS, START, TOP

LANGS = ("nl", "en")
ROLES = ("employee", "middle_manager", "top_management", "comms_it")
FIRST_MESSAGE_LIMIT = 900
FEAR_SETS: tuple[tuple[str, ...], ...] = (
    ("none",),
    ("time_loss",),
    ("unwanted_messages", "security"),
    ("role_loss",),
    ("unwanted_messages", "time_loss", "security", "role_loss"),
)
CAUSE_SETS: tuple[tuple[str, ...], ...] = (("none",), ("middle_managers",), ("silo",), ("culture", "fear"))
#: Phase patterns for the combinations test: the table's, each with a different own use.
OWN_USES = ("never", "sometimes", "daily")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")


_RULES: dict[int, CoachingRules] = {}


def rules_for(catalog: Catalog) -> CoachingRules:
    """The coaching rules of a catalog, read once per catalog."""
    if id(catalog) not in _RULES:
        _RULES[id(catalog)] = rules_of(catalog)
    return _RULES[id(catalog)]


@pytest.fixture(scope="module")
def views(catalog: Catalog) -> AdviceViews:
    return AdviceViews(catalog.knowledge, catalog.dialogues, rules_for(catalog))


@pytest.fixture(scope="module")
def messages(catalog: Catalog) -> AdviceMessages:
    return AdviceMessages(catalog, rules_for(catalog))


def visible_length(markup: str) -> int:
    """As Telegram counts a message: its text after parsing the HTML (which must parse), in
    characters and in UTF-16 code units (emoji count twice there), whichever is more."""
    shown = check_html(markup)
    return max(len(shown), utf16_len(shown))


def plain(markup: str) -> str:
    return re.sub(r"<[^>]+>", "", markup).replace("&#39;", "'").replace("&amp;", "&").replace("&quot;", '"')


def answers_of(
    phase_answers: Mapping[str, str], fears: Sequence[str] = ("none",), causes: Sequence[str] = ("none",)
) -> dict[str, Any]:
    return {**phase_answers, "fears": list(fears), "causes": list(causes), "anything_else": "skip"}


def reading_for(
    catalog: Catalog,
    phase_answers: Mapping[str, str],
    role: str,
    fears: Sequence[str] = ("none",),
    causes: Sequence[str] = ("none",),
    run_id: int = 1,
) -> Reading:
    return read(
        answers_of(phase_answers, fears, causes),
        rules_for(catalog),
        catalog.dialogues,
        standing=role,
        run_id=run_id,
    )


def stored(
    catalog: Catalog, answers: Mapping[str, Any], role: str, run_id: int = 1, id_: int = 7
) -> Assessment:
    return replace(assess(1, run_id, answers, rules_for(catalog), catalog.dialogues, standing=role), id=id_)


def first_text(
    messages: AdviceMessages, catalog: Catalog, answers: Mapping[str, Any], role: str, lang: str
) -> str:
    return messages.first(lang, stored(catalog, answers, role), None, "").text


# -- one step that never contradicts the answers -----------------------------------------------------


def contradictions(step: AdviceStep, reading: Reading, catalog: Catalog) -> list[str]:
    """What is wrong with showing this step to this person, judged from the answers directly."""
    found = []
    answers = reading.answers
    if reading.standing not in step.roles:
        found.append(f"{step.id} is not for a {reading.standing}")
    if not step.allowed(reading.standing, reading.facts()):
        found.append(f"{step.id}: its own when/unless say no")
    addressed = set(step.addresses)
    if answers.get("own_use") == "daily" and "phases.personal.own_use" in addressed:
        found.append(f"{step.id} tells a daily user to start")
    if (
        answers.get("policy") in ("shared", "living")
        and "phases.pilot_model.coordination.policy" in addressed
    ):
        found.append(f"{step.id} asks for a policy that exists")
    if (
        answers.get("top_uses") == "actively"
        and "phases.presence_model.social_business.top_active" in addressed
    ):
        found.append(f"{step.id} asks an active top to start")
    if answers.get("customer_service") in ("office_hours", "when_customers_are") and (
        "phases.pilot_model.coordination.customer_service" in addressed
    ):
        found.append(f"{step.id} connects customer service that is connected")
    if answers.get("with_customers") in ("conversation", "co_create") and (
        addressed
        == {"phases.presence_model.dialogue.conversation"} | (addressed - _requirement_refs(catalog))
        and "phases.presence_model.dialogue.conversation" in addressed
    ):
        found.append(f"{step.id} starts a conversation that is there")
    for lang in LANGS:
        text = catalog.knowledge.get(step.ref).text("text", lang)
        if reading.standing == "comms_it" and re.search(r"\bIT\b", text):
            found.append(f"{step.id} sends someone in IT to IT")
        if re.search(r"\b(deze week|this week)\b", text, re.IGNORECASE):
            found.append(f"{step.id} repeats 'this week' under a 'this week' heading")
    return found


def _requirement_refs(catalog: Catalog) -> set[str]:
    return set(rules_for(catalog).requirement_refs)


def combinations() -> list[tuple[str, dict[str, str], tuple[str, ...], tuple[str, ...]]]:
    patterns = [
        {**p.answers, "own_use": own}
        for p, own in zip(PATTERNS, itertools.cycle(OWN_USES), strict=False)
        if "use_check" not in p.answers
    ]
    return [
        (role, answers, fears, causes)
        for role, answers, fears, causes in itertools.product(ROLES, patterns[:9], FEAR_SETS, CAUSE_SETS)
    ]


def test_five_hundred_combinations_get_a_fitting_first_step_on_one_screen(
    catalog: Catalog, messages: AdviceMessages
) -> None:
    combos = combinations()
    assert len(combos) >= 500
    firsts: Counter[str] = Counter()
    per_role: dict[str, set[str]] = defaultdict(set)
    problems: list[str] = []
    for role, answers, fears, causes in combos:
        reading = reading_for(catalog, answers, role, fears, causes)
        ranked = ranked_steps(reading, rules_for(catalog))
        assert len(ranked) >= 2, (role, answers)  # "another step" always has another
        for shown in ranked[:3]:  # the first message and two presses on "another step"
            problems.extend(contradictions(shown, reading, catalog))
        firsts[ranked[0].id] += 1
        per_role[role].add(ranked[0].id)
        for lang in LANGS:
            text = first_text(messages, catalog, answers_of(answers, fears, causes), role, lang)
            assert visible_length(text) <= FIRST_MESSAGE_LIMIT, (role, answers, lang, visible_length(text))
    assert problems == []
    print(f"\n{len(combos)} combinations, {len(firsts)} distinct first steps: {dict(firsts.most_common())}")
    assert len(firsts) >= 20, firsts
    assert all(len(steps) >= 4 for steps in per_role.values()), per_role
    assert max(firsts.values()) < len(combos) / 5  # no step for everyone


def test_named_fears_and_causes_move_the_ranking(catalog: Catalog) -> None:
    answers = {**START, "own_use": "never"}
    plain_first = ranked_steps(reading_for(catalog, answers, "employee"), rules_for(catalog))[0].id
    worried = ranked_steps(
        reading_for(catalog, answers, "employee", fears=("time_loss",)), rules_for(catalog)
    )[0]
    assert worried.id != plain_first
    assert "fears.time_loss" in worried.addresses
    manager = ranked_steps(
        reading_for(catalog, answers, "middle_manager", causes=("middle_managers",)), rules_for(catalog)
    )
    assert manager[0].id == "manager_try_it_yourself"  # the manager's own first use comes first
    using = {**answers, "own_use": "sometimes"}
    manager = ranked_steps(
        reading_for(catalog, using, "middle_manager", causes=("middle_managers",)), rules_for(catalog)
    )
    assert manager[0].id == "manager_facilitator"


def test_the_ranking_rule_in_order(catalog: Catalog) -> None:
    """Each criterion decides only when the ones before it tie: gate, role, named, weakest C, order."""
    reading = reading_for(catalog, {**START, "own_use": "sometimes"}, "employee", fears=("security",))
    weak = reading.weakest_c
    assert weak is not None
    other_c = next(c.ref for c in catalog.knowledge.kind("six_cs") if c.ref != weak)
    o2 = "phases.pilot_model.centralisation.one_place"  # level 2, open
    o3 = "phases.pilot_model.coordination.policy"  # level 3: not the next gate, so no barrier
    every = frozenset(ROLES)

    def step(
        name: str, addresses: tuple[str, ...], roles: frozenset[str] = frozenset({"employee"})
    ) -> AdviceStep:
        return AdviceStep(name, f"steps.{name}", roles, addresses, "six_cs.connections")

    steps = [
        step("no_gate_but_everything_else", ("fears.security", weak)),
        step("gate_shared_role", (o2,), every),
        step("gate_weakest_c", (o2, weak)),
        step("gate_another_c", (o2, other_c)),
        step("gate_named", (o2, "fears.security")),
        step("gate_plain", (o2,)),
        step("beyond_the_next_gate", (o3, "fears.security")),
    ]
    ranked = [s.id for s in rank(reading, steps, rules_for(catalog).gate_targets)]
    assert ranked == [
        "gate_named",
        "gate_weakest_c",
        "gate_another_c",
        "gate_plain",
        "gate_shared_role",
        "no_gate_but_everything_else",
        "beyond_the_next_gate",
    ]


def test_the_lowest_gate_comes_first(catalog: Catalog) -> None:
    """After any step marked `first` (the rollout's invitation to the enthusiastic), the next step
    works on the lowest gate still closed that a step for this role can work on: for a person who
    never uses it that is their own first use."""
    for pattern, own, role in itertools.product(PATTERNS, OWN_USES, ROLES):
        reading = reading_for(catalog, {**pattern.answers, "own_use": own}, role)
        barriers = open_requirements(reading.estimates, reading.personal)
        ranked = ranked_steps(reading, rules_for(catalog))

        def barrier(step: AdviceStep) -> int:
            return min((barriers[a] for a in step.addresses if a in barriers), default=99)  # noqa: B023

        firsts = [s for s in ranked if s.first]
        assert ranked[: len(firsts)] == firsts, (pattern.name, own, role)
        gated = ranked[len(firsts) :]
        assert barrier(gated[0]) == min(barrier(s) for s in gated), (pattern.name, own, role, gated[0].id)
        if own == "never":
            assert "phases.personal.own_use" in ranked[0].addresses, (pattern.name, role, ranked[0].id)


@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_the_enthusiastic_are_invited_to_the_workshop(catalog: Catalog, pattern) -> None:
    """Seed 002's rollout: whoever already uses it every day is invited to the practical workshop
    or to become a champion first, wherever the organisation stands (once almost everyone takes part
    and the rest is in place, there is nobody left to pull along); others are not."""
    rules = rules_for(catalog)
    daily = [
        s.id
        for s in ranked_steps(
            reading_for(catalog, {**pattern.answers, "own_use": "daily"}, "employee"), rules
        )
    ]
    if pattern.answers.get("who_uses") != "everyone":
        assert "employee_workshop_or_champion" in daily
    if "employee_workshop_or_champion" in daily:
        assert daily[0] == "employee_workshop_or_champion"
    for own in ("never", "sometimes"):
        reading = reading_for(catalog, {**pattern.answers, "own_use": own}, "employee")
        assert "employee_workshop_or_champion" not in [s.id for s in ranked_steps(reading, rules)]


def test_every_step_can_be_someones_first_or_second(catalog: Catalog) -> None:
    """No step is dead content: each is shown first or second to some combination."""
    shown: set[str] = set()
    for role, answers, fears, causes in itertools.product(
        ROLES, [{**p.answers, "own_use": o} for p in PATTERNS for o in OWN_USES], FEAR_SETS, CAUSE_SETS
    ):
        shown.update(
            s.id
            for s in ranked_steps(reading_for(catalog, answers, role, fears, causes), rules_for(catalog))[:2]
        )
    assert {s.id for s in rules_for(catalog).steps} - shown == set()


# -- the messages ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGS)
def test_the_first_message_names_both_phases_one_step_and_why(
    catalog: Catalog, messages: AdviceMessages, lang: str
) -> None:
    answers = answers_of({**TOP, "with_customers": "broadcast", "customers_improve": "no"})
    message = messages.first(lang, stored(catalog, answers, "middle_manager"), None, "")
    text = plain(message.text)
    reading = reading_for(catalog, answers, "middle_manager")
    step = ranked_steps(reading, rules_for(catalog))[0]
    held = {"nl": "Nog geen Dialoog: jullie zenden vooral.", "en": "Not yet Dialogue: you mostly broadcast."}
    assert held[lang] in text
    assert {"nl": "Volledige integratie (4/4)", "en": "Full integration (4/4)"}[lang] in text
    assert catalog.knowledge.get(step.ref).text("text", lang) in text
    assert catalog.knowledge.get(step.ref).text("why", lang) in text
    assert {"nl": "Deze week, als teamleider", "en": "This week, as a team lead"}[lang] in text
    labels = [b.label for row in message.buttons for b in row]
    assert (
        labels
        == {
            "nl": ["🤝 Ja, doe ik", "Nu niet", "Waarom deze fase?", "Een andere stap", "Het model erachter"],
            "en": ["🤝 Yes, I'll do it", "Not now", "Why this phase?", "Another step", "The model behind it"],
        }[lang]
    )  # nothing named: no worries button; the commitment's question comes first
    assert {"nl": "Doe je dit deze week?", "en": "Will you do this this week?"}[lang] in text
    for other in rules_for(catalog).steps:
        if other.id != step.id:
            assert catalog.knowledge.get(other.ref).text("text", lang) not in text


@pytest.mark.parametrize("lang", LANGS)
def test_why_this_phase_names_what_held_and_what_holds_it_back(
    catalog: Catalog, messages: AdviceMessages, lang: str
) -> None:
    answers = answers_of({**START, "where_sits": "one_team", "with_customers": "conversation"})
    current = stored(catalog, answers, "employee")
    text = plain(messages.more(lang, AdviceTap("why", 7, 0), current, None, "").text)
    expect = {
        "nl": [
            "✅ Dialoog: ‘We gaan echt het gesprek aan’",
            "⛔ Nog geen Betrokkenheid: klanten denken nog niet mee over jullie producten of diensten",
            "✅ Centralisatie: ‘Eén afdeling heeft de regie’",
            "⛔ Nog geen Coördinatie: er zijn nog geen afspraken of gedeelde best practices",
        ],
        "en": [
            "✅ Dialogue: ‘We really talk with them’",
            "⛔ Not yet Engagement: customers don't help improve your products or services yet (‘No’).",
            "✅ Centralisation: ‘One department is in control’",
            "⛔ Not yet Coordination: there are no rules or shared best practices yet (‘No, nothing yet’)",
        ],
    }[lang]
    for line in expect:
        assert line in text
    phase = catalog.knowledge.phase("pilot_model", "centralisation")
    for key in ("people", "place", "drawback"):
        assert phase.text(key, lang) in text
    assert catalog.knowledge.model_names["presence_model"].text("definition", lang) in text


@pytest.mark.parametrize("lang", LANGS)
def test_worries_show_only_what_was_named_with_a_use_that_varies_per_check(
    catalog: Catalog, messages: AdviceMessages, lang: str
) -> None:
    answers = answers_of(START, fears=("time_loss",), causes=("silo",))
    uses = catalog.knowledge.get("fears.time_loss").fields["uses"]
    seen = set()
    for run_id in (1, 2, 3):
        current = stored(catalog, answers, "employee", run_id=run_id)
        text = plain(messages.more(lang, AdviceTap("worry", 7, 0), current, None, "").text)
        assert catalog.knowledge.get("fears.time_loss").text("remedy", lang) in text
        assert catalog.knowledge.get("causes.silo").text("remedy", lang) in text
        for other in ("unwanted_messages", "security", "role_loss"):
            assert catalog.knowledge.get(f"fears.{other}").text("remedy", lang) not in text
        for other in ("middle_managers", "culture", "fear"):
            assert catalog.knowledge.get(f"causes.{other}").text("remedy", lang) not in text
        seen.update(use[lang] for use in uses if use[lang] in text)
    assert len(seen) == len(uses)  # three checks, three different examples


@pytest.mark.parametrize("lang", LANGS)
def test_another_step_walks_the_ranking_and_wraps_around(
    catalog: Catalog, messages: AdviceMessages, lang: str
) -> None:
    answers = answers_of({**START, "own_use": "sometimes"}, fears=("security",))
    current = stored(catalog, answers, "employee")
    ranked = ranked_steps(reading_of(current, rules_for(catalog), catalog.dialogues), rules_for(catalog))  # type: ignore[arg-type]
    for at, step in enumerate(ranked):
        message = messages.more(lang, AdviceTap("step", 7, at), current, None, "")
        assert catalog.knowledge.get(step.ref).text("text", lang) in plain(message.text)
        datas = [b.data for row in message.buttons for b in row]
        assert callbacks.encode(AdviceTap("step", 7, at + 1)) in datas
        assert callbacks.encode(AdviceTap("lens", 7, at)) in datas
    past = messages.more(lang, AdviceTap("step", 7, len(ranked)), current, None, "")
    assert catalog.knowledge.get(ranked[0].ref).text("text", lang) in plain(past.text)
    assert {"nl": "Dat waren alle stappen", "en": "Those were all the steps"}[lang] in past.text


@pytest.mark.parametrize("lang", LANGS)
def test_the_model_behind_a_step_explains_the_model_then_the_part(
    catalog: Catalog, views: AdviceViews, lang: str
) -> None:
    speed = plain(str(views.lens_of("social_model.speed", lang)))
    assert "S.O.C.I.A.L." in speed
    lens = views.lens_of("social_model.speed", lang)
    assert lens["letter"] == "S"
    assert lens["note"] == catalog.knowledge.get("models.social_model").text("note_o", lang)
    cs = views.lens_of("six_cs.context", lang)
    for name in ("Connecties", "Conversaties", "Content", "Congruentie", "Context", "Continu"):
        assert name in cs["model_text"]
    assert cs["remedy"] == catalog.knowledge.get("six_cs.context").text("remedy", lang)
    closing = views.lens_of("phases.pilot_model", lang)
    assert closing["text"] == catalog.knowledge.model_names["pilot_model"].text("advice", lang)


def test_an_old_assessment_without_answers_asks_for_a_new_check(messages: AdviceMessages) -> None:
    legacy = Assessment(1, 1, "dialogue", "pilot", (), (), "six_cs.content", {"levels": {}}, id=3)
    assert "/check" in messages.first("en", legacy, None, "").text
    assert messages.first("en", legacy, None, "").buttons == ()


@pytest.mark.parametrize(("name", "assessment", "rank"), [("why", 7, 0), ("step", 12, 3), ("worry", 99, 0)])
def test_advice_buttons_round_trip(name: str, assessment: int, rank: int) -> None:
    tap = AdviceTap(name, assessment, rank)
    data = callbacks.encode(tap)
    assert data == f"a1|{name}|{assessment}|{rank}"
    assert callbacks.decode(data) == tap
    assert len(data.encode()) <= 64


@pytest.mark.parametrize(
    "data",
    [
        "a1|why|7",
        "a1|why|x|0",
        "a1|step|7|-1",
        "a1|lens|²|0",
        "a1|step|" + "1" * 30 + "|0",
        "a|why|7.0",  # the format before typed callbacks: stale
        "a2|why|7|0",  # a format version this code does not know
    ],
)
def test_forged_advice_buttons_are_not_taken(data: str) -> None:
    assert callbacks.decode(data) is None


def test_an_advice_button_with_an_unknown_name_is_no_advice_button() -> None:
    tap = callbacks.decode("a1|nope|7|0")
    assert isinstance(tap, AdviceTap)
    assert tap.name not in NAMES  # the coach answers it as stale


# -- language -------------------------------------------------------------------------------------


def _texts(catalog: Catalog, lang: str) -> list[tuple[str, str]]:
    found = []
    for item in catalog.knowledge.items.values():
        for key, value in item.fields.items():
            if isinstance(value, dict) and isinstance(value.get(lang), str):
                found.append((f"{item.ref}.{key}", value[lang]))
    return found


def test_dutch_says_je_spells_one_way_and_has_no_hij_for_a_manager(catalog: Catalog) -> None:
    for where, text in _texts(catalog, "nl"):
        assert not re.search(r"\b(u|uw|hij|zijn rol|zijn team)\b", text, re.IGNORECASE), where
        assert not re.search(r"social media ?beleid|social-media-beleid", text), where
        assert not text.startswith(("Ze ", "Zij ")), where
    assert catalog.knowledge.get("six_cs.conversations").text("title", "nl") == "Conversaties"


def test_english_has_articles_and_texts_name_their_subject(catalog: Catalog) -> None:
    for where, text in _texts(catalog, "en"):
        assert not text.startswith(("They ", "It ", "Their ")), where
        assert not re.search(r"\bas (employee|team lead|board member|middle manager)\b", text), where
    for standing in ROLES:
        assert catalog.knowledge.get(f"standings.{standing}").text("as_role", "en").split()[1] in (
            "an",
            "a",
            "communications,",
        )


def test_the_o_of_social_is_not_invented(catalog: Catalog) -> None:
    letters = [i.fields["letter"] for i in catalog.knowledge.kind("social_model") if "letter" in i.fields]
    assert letters == ["S", "A", "C", "I", "L"]
    for lang in LANGS:
        assert all("Openheid" not in t and "Openness" not in t for _, t in _texts(catalog, lang))


def test_no_step_preaches_conversation_or_centralising_in_one_department(catalog: Catalog) -> None:
    """Seed 000 mocks "you must above all start the conversation"; seed 003 closes with "don't park it
    with one department": neither is a step."""
    for step in rules_for(catalog).steps:
        text = catalog.knowledge.get(step.ref).text("text", "en").lower()
        assert "one channel where your customers" not in text
        assert "take it on centrally" not in text


# -- every seed concept reaches someone -------------------------------------------------------------


CONCEPTS: dict[str, tuple[str, ...]] = {
    **{
        f"six C's: {c}": (f"six_cs.{c}",)
        for c in ("connections", "conversations", "content", "congruence", "context", "continuous")
    },
    **{
        f"S.O.C.I.A.L.: {s}": (f"social_model.{s}",)
        for s in ("speed", "anti_structure", "collaboration", "intelligence_interaction", "learning")
    },
    "S.O.C.I.A.L.: vision and mission": ("social_model.vision_mission",),
    **{
        f"climate: {c}": (f"social_model.{c}",)
        for c in ("positivity", "growth_in_breadth", "learning_organisation")
    },
    "002: definition of social business": ("definition",),
    **{f"002 cause: {c}": (f"causes.{c}",) for c in ("middle_managers", "silo", "culture", "fear")},
    **{
        f"002 rollout: {r}": (f"rollout.{r}",)
        for r in ("inspiration_session", "workshop", "share_successes", "not_hierarchy")
    },
    "002 rollout: an employee invited to the workshop": ("employee:rollout.workshop",),
    **{
        f"003 staff, place, drawback: {p}": (f"why:phases.pilot_model.{p}",)
        for p in ("pilot", "centralisation", "coordination", "integration")
    },
    "003 closing advice: not one department": ("phases.pilot_model",),
    "003 real-time response": ("real_time.escalation", "real_time.realtime_response"),
    "001 webcare hours": ("real_time.webcare_hours",),
    "004 internal as much as external": ("internal_external.internal_matters",),
    "004 command and control too slow": ("internal_external.command_control",),
    "004 less e-mail": ("internal_external.email_only",),
    **{
        f"fear use: {f} #{i + 1}": (f"use:fears.{f}.{i}",)
        for f in ("unwanted_messages", "time_loss", "security", "role_loss")
        for i in range(3)
    },
}


def reached(catalog: Catalog, reading: Reading) -> set[str]:
    """What one person sees in the first message or one tap away: the step and its lens, the next
    step and its lens, the worries they named (with this check's example), why this phase."""
    seen = {"definition", f"why:phases.pilot_model.{reading.estimates['pilot_model'].phase}"}
    for step in ranked_steps(reading, rules_for(catalog))[:2]:
        seen.update((step.ref, step.lens, f"{reading.standing}:{step.lens}"))
    seen.update(f"fears.{f}" for f in reading.fears)
    seen.update(f"causes.{c}" for c in reading.causes)
    seen.update(f"use:fears.{f}.{reading.run_id % 3}" for f in reading.fears)
    return seen


def test_every_seed_concept_reaches_someone(catalog: Catalog) -> None:
    paths = list(
        itertools.product(
            ROLES,
            [(p.name, {**p.answers, "own_use": o}) for p in PATTERNS for o in OWN_USES],
            (("none",), ("time_loss", "security"), ("unwanted_messages", "role_loss")),
            (("none",), ("silo", "fear"), ("middle_managers", "culture")),
            (1, 2, 3),
        )
    )
    reaching: dict[str, list[str]] = {concept: [] for concept in CONCEPTS}
    for role, (name, answers), fears, causes, run_id in paths:
        reading = reading_for(catalog, answers, role, fears, causes, run_id)
        seen = reached(catalog, reading)
        for concept, markers in CONCEPTS.items():
            if seen.intersection(markers):
                reaching[concept].append(
                    f"{role} / {name} / own use {answers['own_use']} / {fears} / {causes} / check {run_id}"
                )
    print(f"\n{len(paths)} answer paths")
    for concept, found in reaching.items():
        print(f"  {concept}: {len(found)} paths, e.g. {found[0] if found else '-'}")
    assert [concept for concept, found in reaching.items() if not found] == []


@pytest.mark.parametrize("lang", LANGS)
def test_a_lens_message_shows_the_concept_and_its_remedy(
    views: AdviceViews, catalog: Catalog, lang: str
) -> None:
    for item in catalog.knowledge.kind("six_cs"):
        lens = views.lens_of(item.ref, lang)
        assert lens["title"] == item.text("title", lang)
        assert lens["remedy"] == item.text("remedy", lang)
    for phase in catalog.knowledge.phase_models["pilot_model"]:
        lens = views.lens_of(phase.ref, lang)
        assert [lens[k] for k in ("people", "place", "drawback")] == [
            phase.text(k, lang) for k in ("people", "place", "drawback")
        ]


def test_unknown_answers_and_tensions_are_said_in_the_first_message(
    catalog: Catalog, messages: AdviceMessages
) -> None:
    unknown = answers_of({**START, "top_uses": "unknown", "policy": "unknown", "customer_service": "unknown"})
    assert (
        "you didn't know 3 answers"
        in messages.first("en", stored(catalog, unknown, "employee"), None, "").text
    )
    tension = answers_of({**START, "customers_improve": "structurally"})
    text = messages.first("en", stored(catalog, tension, "employee"), None, "").text
    assert "two answers contradict each other" in text
    why = plain(
        messages.more("en", AdviceTap("why", 7, 0), stored(catalog, tension, "employee"), None, "").text
    )
    assert catalog.knowledge.get("tensions.improving_without_conversation").text("text", "en") in why


def test_a_re_check_says_which_answers_moved_a_gate(catalog: Catalog, messages: AdviceMessages) -> None:
    before = stored(
        catalog, answers_of({**START, "with_customers": "broadcast"}), "employee", run_id=1, id_=1
    )
    after = stored(
        catalog, answers_of({**START, "with_customers": "conversation"}), "employee", run_id=2, id_=2
    )
    text = plain(messages.first("en", after, before, "1 Mar 2026").text)
    assert "Since your last check (1 Mar 2026): Presence / Pilot → Dialogue / Pilot." in text
    assert (
        "What changed: Contact with customers, ‘We mostly broadcast news’ → ‘We really talk with them’."
        in text
    )
    nl = plain(messages.first("nl", after, before, "1 mrt 2026").text)
    assert (
        "Wat veranderde: Contact met klanten, ‘We zenden vooral nieuws’ → ‘We gaan echt het gesprek aan’."
        in nl
    )
    unchanged = stored(
        catalog, answers_of({**START, "with_customers": "not_yet"}), "employee", run_id=3, id_=3
    )
    same = plain(messages.first("en", unchanged, before, "1 Mar 2026").text)
    assert "Presence / Pilot → Presence / Pilot." in same
    assert "What changed" not in same  # broadcasting or not in contact: the same gate, still shut


def test_the_met_requirements_are_never_what_a_first_step_works_on(catalog: Catalog) -> None:
    reading = reading_for(catalog, {**TOP, "policy": "none"}, "comms_it")
    met = {
        r.ref for e in reading.estimates.values() for g in e.passed for r, v in g.verdicts if v is Verdict.MET
    }
    first = ranked_steps(reading, rules_for(catalog))[0]
    worked_on = [a for a in first.addresses if a in rules_for(catalog).requirement_refs]
    assert worked_on and not set(worked_on) <= met


def test_every_more_message_is_valid_telegram_html_and_fits(
    catalog: Catalog, messages: AdviceMessages
) -> None:
    """Each button's message, for a spread of people: Telegram would take it, in one piece."""
    for role, answers, fears, causes in combinations()[::7]:
        current = stored(catalog, answers_of(answers, fears, causes), role)
        for lang in LANGS:
            for name in ("why", "worry", "step", "lens"):
                text = messages.more(lang, AdviceTap(name, 7, 1), current, None, "").text
                assert 0 < visible_length(text) <= 4096, (name, role, lang)


@pytest.mark.parametrize("lang", LANGS)
def test_worries_with_nothing_named_say_so(catalog: Catalog, messages: AdviceMessages, lang: str) -> None:
    """The button is not shown then; an old or forged press still gets a sentence, not an empty message."""
    current = stored(catalog, answers_of(START), "employee")
    first = messages.first(lang, current, None, "")
    assert all(b.data != callbacks.encode(AdviceTap("worry", 7, 0)) for row in first.buttons for b in row)
    text = plain(messages.more(lang, AdviceTap("worry", 7, 0), current, None, "").text)
    assert {"nl": "Je noemde geen zorgen", "en": "You named no worries"}[lang] in text
