"""The phase estimate: gates as the seeds define them, never an average.

A table of answer patterns, each with the phase it must give on both models and the seed sentence
the rule follows (checked to be in that seed), then properties over every combination of answers:
a more mature answer never lowers a phase, "hardly anyone" never passes seed 003's second phase,
broadcasting never passes seed 002's first, "No" never raises a phase, "don't know" is not "no".
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot import PROJECT_ROOT
from bot.coaching.assessment import UNCERTAIN_AFTER, read
from bot.coaching.gates import UNKNOWN, Verdict, estimate
from bot.coaching.rules import CoachingRules, rules_of
from bot.content.catalog import Catalog, load_catalog
from bot.content.seed_quotes import SeedTexts
from tests.support.seeds import SEEDS, requires_seeds

S002 = "002_34edfa349590f49d.txt"
S003 = "003_14d37a87a543f7a6.txt"
S004 = "004_f7ab7a7ca0712700.txt"

#: Every answer of the check's organisation questions, least mature first; "unknown" stands apart.
MATURITY: dict[str, tuple[str, ...]] = {
    "who_uses": ("nobody", "enthusiasts", "one_department", "several_departments", "everyone"),
    "top_uses": ("no", "some", "actively"),
    "where_sits": ("nowhere", "one_team", "coordinated", "strategy"),
    "policy": ("none", "experimenting", "shared", "living"),
    "with_customers": ("not_yet", "broadcast", "conversation", "co_create"),
    "customer_service": ("no", "office_hours", "when_customers_are"),
    "customers_improve": ("no", "sometimes", "structurally"),
    "internal_use": ("email", "some_teams", "across"),
}
HAS_UNKNOWN = ("top_uses", "where_sits", "policy", "with_customers", "customer_service", "customers_improve")
STEPS = tuple(MATURITY)
TOP = {step: keys[-1] for step, keys in MATURITY.items()} | {"own_use": "daily"}
START = {step: keys[0] for step, keys in MATURITY.items()} | {"own_use": "never"}
PRESENCE = ("presence", "dialogue", "engagement", "social_business")
PILOT = ("pilot", "centralisation", "coordination", "integration")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")


_RULES: dict[int, CoachingRules] = {}


def rules_for(catalog: Catalog) -> CoachingRules:
    """The coaching rules of a catalog, read once per catalog."""
    if id(catalog) not in _RULES:
        _RULES[id(catalog)] = rules_of(catalog)
    return _RULES[id(catalog)]


def phases(catalog: Catalog, answers: Mapping[str, Any]) -> tuple[str, str]:
    reading = read(answers, rules_for(catalog), catalog.dialogues)
    return reading.estimates["presence_model"].phase, reading.estimates["pilot_model"].phase


# -- the table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    """Answers (on top of a base), the phases they must give, and the seed sentence behind it."""

    name: str
    base: Mapping[str, str]
    changes: Mapping[str, str]
    presence: str
    pilot: str
    seed: str
    sentence: str
    uncertain: bool = False
    tensions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def answers(self) -> dict[str, str]:
        return {**self.base, **self.changes}


PATTERNS = [
    Pattern(
        "everything at its most mature",
        TOP,
        {},
        "social_business",
        "integration",
        S002,
        "Social business: social media zijn volledig geïntegreerd in het denken en doen van een bedrijf.",
    ),
    Pattern(
        "nothing in place yet",
        START,
        {},
        "presence",
        "pilot",
        S002,
        "Presence: een bedrijf weet ‘dat het iets met social "
        "media moet’, maar dit heeft verder nog geen vorm gekregen.",
    ),
    Pattern(
        "hardly anyone uses it, though in the strategy (confirmed: a plan)",
        TOP,
        {"who_uses": "nobody", "use_check": "few"},
        "engagement",
        "centralisation",
        S003,
        "Maar nu gaan langzaam maar zeker enkele tientallen medewerkers zich met Sociale media bemoeien.",
    ),
    Pattern(
        "a few enthusiasts, though in the strategy (not sure which holds)",
        TOP,
        {"who_uses": "enthusiasts", "use_check": "unknown"},
        "engagement",
        "centralisation",
        S003,
        "Aantal medewerkers: Alle medewerkers gebruiken sociale tools.",
        uncertain=True,
        tensions=("tensions.use_or_plan",),
    ),
    Pattern(
        "hardly anyone, corrected to dozens by the clarifying question",
        TOP,
        {"who_uses": "nobody", "use_check": "dozens"},
        "engagement",
        "coordination",
        S003,
        "Maar nu gaan langzaam maar zeker enkele tientallen medewerkers zich met Sociale media bemoeien.",
    ),
    Pattern(
        "we mostly broadcast news",
        TOP,
        {"with_customers": "broadcast"},
        "presence",
        "integration",
        S002,
        "Dialogue: social media is een kanaal om in gesprek te gaan met de doelgroep.",
        tensions=("tensions.improving_without_conversation",),
    ),
    Pattern(
        "not in contact with customers yet",
        TOP,
        {"with_customers": "not_yet", "customers_improve": "no"},
        "presence",
        "integration",
        S002,
        "Dialogue: social media is een kanaal om in gesprek te gaan met de doelgroep.",
    ),
    Pattern(
        "customers don't help improve",
        TOP,
        {"with_customers": "conversation", "customers_improve": "no"},
        "dialogue",
        "integration",
        S002,
        "Engagement: klanten worden betrokken om producten en dienstverlening te verbeteren.",
    ),
    Pattern(
        "they help shape what we do, yet 'no' to improving",
        TOP,
        {"customers_improve": "no"},
        "dialogue",
        "integration",
        S002,
        "Engagement: klanten worden betrokken om producten en dienstverlening te verbeteren.",
        tensions=("tensions.shaping_but_not_improving",),
    ),
    Pattern(
        "they help shape what we do; don't know about improving",
        TOP,
        {"customers_improve": "unknown"},
        "social_business",
        "integration",
        S002,
        "Engagement: klanten worden betrokken om producten en dienstverlening te verbeteren.",
    ),
    Pattern(
        "we talk with them; don't know whether they help improve",
        TOP,
        {"with_customers": "conversation", "customers_improve": "unknown"},
        "dialogue",
        "integration",
        S002,
        "Engagement: klanten worden betrokken om producten en dienstverlening te verbeteren.",
    ),
    Pattern(
        "top management doesn't use it",
        TOP,
        {"top_uses": "no"},
        "engagement",
        "integration",
        S002,
        "het topmanagement zelf geen gebruik maakt van "
        "social media, is er (nog) geen sprake van social business.",
    ),
    Pattern(
        "one or two board members use it",
        TOP,
        {"top_uses": "some"},
        "engagement",
        "integration",
        S002,
        "het topmanagement zelf geen gebruik maakt van "
        "social media, is er (nog) geen sprake van social business.",
    ),
    Pattern(
        "don't know whether the top uses it",
        TOP,
        {"top_uses": "unknown"},
        "engagement",
        "integration",
        S002,
        "het topmanagement zelf geen gebruik maakt van "
        "social media, is er (nog) geen sprake van social business.",
    ),
    Pattern(
        "one department is in control",
        TOP,
        {"where_sits": "one_team"},
        "engagement",
        "centralisation",
        S003,
        "Plaats in de organisatie: Controle ligt bij een afdeling",
    ),
    Pattern(
        "nobody holds it: it grows by itself",
        TOP,
        {"where_sits": "nowhere"},
        "engagement",
        "pilot",
        S003,
        "Kenmerk: Natuurlijke groei. Je begint klein met een pilot.",
    ),
    Pattern(
        "guided centrally, not yet in the company strategy",
        TOP,
        {"where_sits": "coordinated"},
        "social_business",
        "coordination",
        S003,
        "De social mediastrategie is onderdeel van de bedrijfsstrategie.",
    ),
    Pattern(
        "no policy, nothing yet",
        TOP,
        {"policy": "none"},
        "social_business",
        "centralisation",
        S003,
        "Er worden regels vastgelegd, best practices met "
        "elkaar gedeeld, social media beleid wordt ontwikkeld",
    ),
    Pattern(
        "still experimenting",
        TOP,
        {"policy": "experimenting"},
        "social_business",
        "centralisation",
        S003,
        "Kenmerk: Je gaat experimenteren, durft uitdagingen aan te gaan.",
    ),
    Pattern(
        "don't know about a policy",
        TOP,
        {"policy": "unknown"},
        "social_business",
        "centralisation",
        S003,
        "Er worden regels vastgelegd, best practices met "
        "elkaar gedeeld, social media beleid wordt ontwikkeld",
    ),
    Pattern(
        "customer service not connected",
        TOP,
        {"customer_service": "no"},
        "social_business",
        "centralisation",
        S003,
        "Ook klantenservice wordt nu aangesloten.",
    ),
    Pattern(
        "customer service in office hours",
        TOP,
        {"customer_service": "office_hours"},
        "social_business",
        "integration",
        S003,
        "Ook klantenservice wordt nu aangesloten.",
    ),
    Pattern(
        "mostly by e-mail inside",
        TOP,
        {"internal_use": "email"},
        "engagement",
        "coordination",
        S004,
        "Extern of Intern, beide zijn even belangrijk.",
    ),
    Pattern(
        "within some teams only",
        TOP,
        {"internal_use": "some_teams"},
        "engagement",
        "coordination",
        S003,
        "Er wordt zowel intern als extern door de meeste mensen mee gewerkt.",
    ),
    Pattern(
        "dozens of colleagues, not everyone",
        TOP,
        {"who_uses": "several_departments"},
        "engagement",
        "coordination",
        S003,
        "Aantal medewerkers: Alle medewerkers gebruiken sociale tools.",
    ),
    Pattern(
        "mainly one department uses it",
        TOP,
        {"who_uses": "one_department"},
        "engagement",
        "centralisation",
        S003,
        "Aantal medewerkers: Afhankelijk van de "
        "doelstellingen. Maar ook hier volstaan vaak enkele medewerkers",
    ),
    Pattern(
        "at the start, but one department has control",
        START,
        {"where_sits": "one_team"},
        "presence",
        "centralisation",
        S003,
        "Plaats in de organisatie: Controle ligt bij een afdeling",
    ),
    Pattern(
        "at the start, don't know where it sits",
        START,
        {"where_sits": "unknown", "who_uses": "one_department"},
        "presence",
        "pilot",
        S003,
        "Plaats in de organisatie: Controle ligt bij een afdeling",
    ),
    Pattern(
        "at the start, but we really talk with customers",
        START,
        {"with_customers": "conversation"},
        "dialogue",
        "pilot",
        S002,
        "Dialogue: social media is een kanaal om in gesprek te gaan met de doelgroep.",
    ),
    Pattern(
        "they help shape what we do; don't know about improving, at the start",
        START,
        {"with_customers": "co_create", "customers_improve": "unknown"},
        "engagement",
        "pilot",
        S002,
        "Engagement: klanten worden betrokken om producten en dienstverlening te verbeteren.",
    ),
    Pattern(
        "we talk and they sometimes help improve",
        START,
        {"with_customers": "conversation", "customers_improve": "sometimes"},
        "engagement",
        "pilot",
        S002,
        "Engagement: klanten worden betrokken om producten en dienstverlening te verbeteren.",
    ),
    Pattern(
        "customers help improve, but we are not in conversation",
        START,
        {"customers_improve": "structurally"},
        "presence",
        "pilot",
        S002,
        "Dialogue: social media is een kanaal om in gesprek te gaan met de doelgroep.",
        tensions=("tensions.improving_without_conversation",),
    ),
    Pattern(
        "I use it every day, the organisation does not",
        START,
        {"own_use": "daily"},
        "presence",
        "pilot",
        S003,
        "Dit gebeurt meer vanuit het enthousiasme van betrokken "
        "medewerkers dan dat er een afdeling direct betrokken is.",
    ),
    Pattern(
        "the organisation does it all, I never do",
        TOP,
        {"own_use": "never"},
        "social_business",
        "integration",
        S003,
        "Kenmerk: Sociale tools en media zijn een onderdeel van ieders werkzaamheden.",
    ),
    Pattern(
        "a typical middle: engagement and coordination",
        START,
        {
            "who_uses": "several_departments",
            "top_uses": "some",
            "where_sits": "coordinated",
            "policy": "shared",
            "with_customers": "conversation",
            "customer_service": "office_hours",
            "customers_improve": "sometimes",
            "internal_use": "some_teams",
        },
        "engagement",
        "coordination",
        S003,
        "De begeleiding van de implementatie wordt centraal "
        "geregeld. Iedere afdeling implementeert sociale media",
    ),
    Pattern(
        "don't know most things",
        START,
        dict.fromkeys(HAS_UNKNOWN, UNKNOWN),
        "presence",
        "pilot",
        S002,
        "Presence: een bedrijf weet ‘dat het iets met social "
        "media moet’, maar dit heeft verder nog geen vorm gekregen.",
        uncertain=True,
    ),
]


def test_the_table_has_enough_patterns_and_each_phase_of_each_model() -> None:
    assert len(PATTERNS) >= 30
    assert {p.presence for p in PATTERNS} == set(PRESENCE)
    assert {p.pilot for p in PATTERNS} == set(PILOT)


@requires_seeds
@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: p.name)
def test_answer_pattern_gives_its_phase_on_both_models(catalog: Catalog, pattern: Pattern) -> None:
    assert SeedTexts.read(SEEDS).contains(pattern.seed, pattern.sentence), (
        "the rule's sentence is not in its seed"
    )
    reading = read(pattern.answers, rules_for(catalog), catalog.dialogues)
    got = (reading.estimates["presence_model"].phase, reading.estimates["pilot_model"].phase)
    assert got == (pattern.presence, pattern.pilot)
    assert reading.uncertain is (pattern.uncertain or bool(pattern.tensions))
    assert reading.tensions == pattern.tensions


def test_what_holds_a_phase_back_is_the_answer_that_fails_its_gate(catalog: Catalog) -> None:
    reading = read({**TOP, "with_customers": "broadcast"}, rules_for(catalog), catalog.dialogues)
    presence = reading.estimates["presence_model"]
    assert presence.next is not None
    assert presence.next.gate.phase == "dialogue"
    missing = [r.ref for r in presence.next.requirements(Verdict.MISSING)]
    assert missing == ["phases.presence_model.dialogue.conversation"]
    pilot = read({**TOP, "policy": "none", "customer_service": "no"}, rules_for(catalog), catalog.dialogues)
    held = pilot.estimates["pilot_model"].next
    assert held is not None
    assert [r.step for r in held.requirements(Verdict.MISSING)] == ["policy", "customer_service"]


def test_a_gate_left_open_by_dont_know_says_the_phase_may_be_higher(catalog: Catalog) -> None:
    reading = read({**TOP, "policy": UNKNOWN}, rules_for(catalog), catalog.dialogues)
    pilot = reading.estimates["pilot_model"]
    assert pilot.phase == "centralisation"
    assert pilot.may_be_higher
    definite = read({**TOP, "policy": "none"}, rules_for(catalog), catalog.dialogues).estimates["pilot_model"]
    assert definite.phase == "centralisation"
    assert not definite.may_be_higher


def test_too_many_dont_knows_make_the_estimate_uncertain(catalog: Catalog) -> None:
    unknowns = dict.fromkeys(HAS_UNKNOWN[:UNCERTAIN_AFTER], UNKNOWN)
    assert read({**TOP, **unknowns}, rules_for(catalog), catalog.dialogues).uncertain
    fewer = dict.fromkeys(HAS_UNKNOWN[: UNCERTAIN_AFTER - 1], UNKNOWN)
    assert not read({**TOP, **fewer}, rules_for(catalog), catalog.dialogues).uncertain


# -- properties over every combination --------------------------------------------------------------


def _options(step: str) -> tuple[str, ...]:
    return MATURITY[step] + ((UNKNOWN,) if step in HAS_UNKNOWN else ())


def _asks_use_check(answers: Mapping[str, str]) -> bool:
    return answers["who_uses"] in ("nobody", "enthusiasts") and answers["where_sits"] in (
        "coordinated",
        "strategy",
    )


def every_combination() -> Iterator[dict[str, str]]:
    """Every answer to the eight organisation questions; the clarifying question, where it is asked,
    with each of its answers. (Own use shapes the step, not the phase: see the test below.)"""
    for values in itertools.product(*(_options(step) for step in STEPS)):
        answers = dict(zip(STEPS, values, strict=True))
        if _asks_use_check(answers):
            for clarified in ("few", "dozens", UNKNOWN):
                yield {**answers, "use_check": clarified}
        else:
            yield answers


@pytest.fixture(scope="module")
def levels(catalog: Catalog) -> dict[tuple[str, ...], tuple[int, int]]:
    """(presence level, pilot level) of every combination, from the real gates."""
    gates = rules_for(catalog).gates
    found: dict[tuple[str, ...], tuple[int, int]] = {}
    for answers in every_combination():
        key = (*(answers[s] for s in STEPS), answers.get("use_check", ""))
        found[key] = (
            estimate(gates["presence_model"], answers).level,
            estimate(gates["pilot_model"], answers).level,
        )
    return found


def _key(answers: Mapping[str, str]) -> tuple[str, ...]:
    clarified = answers.get("use_check", "") if _asks_use_check(answers) else ""
    return (*(answers[s] for s in STEPS), clarified)


def test_the_combinations_are_all_there(levels: dict[tuple[str, ...], tuple[int, int]]) -> None:
    plain = 1
    for step in STEPS:
        plain *= len(_options(step))
    assert len(levels) > plain  # every plain combination, plus the clarified ones
    print(f"\n{len(levels)} answer combinations checked")


def test_a_more_mature_answer_never_lowers_a_phase(levels: dict[tuple[str, ...], tuple[int, int]]) -> None:
    lowered = []
    for key, (presence, pilot) in levels.items():
        answers = dict(zip(STEPS, key, strict=False)) | ({"use_check": key[-1]} if key[-1] else {})
        for step in STEPS:
            order = MATURITY[step]
            if answers[step] not in order or answers[step] == order[-1]:
                continue
            better = {**answers, step: order[order.index(answers[step]) + 1]}
            if _asks_use_check(better):
                # Newly asked: the person confirms "few"; still asked: the same answer as before.
                better["use_check"] = answers.get("use_check") or "few"
            elif answers.get("use_check") == "dozens":
                continue  # "dozens" corrected who_uses; without the question that correction is gone
            else:
                better.pop("use_check", None)
            after = levels[_key(better)]
            if after[0] < presence or after[1] < pilot:
                lowered.append((answers, step, better[step]))
    assert lowered == []


def test_hardly_anyone_or_a_few_enthusiasts_never_above_phase_2_of_seed_003(
    levels: dict[tuple[str, ...], tuple[int, int]],
) -> None:
    for key, (_, pilot) in levels.items():
        answers = dict(zip(STEPS, key, strict=False))
        if answers["who_uses"] in ("nobody", "enthusiasts"):
            # Unless the clarifying question corrected it to "dozens": then it is dozens.
            assert pilot <= (3 if key[-1] == "dozens" else 2), answers


def test_broadcasting_or_no_contact_never_above_presence_on_seed_002(
    levels: dict[tuple[str, ...], tuple[int, int]],
) -> None:
    for key, (presence, _) in levels.items():
        if key[STEPS.index("with_customers")] in ("not_yet", "broadcast"):
            assert presence == 1, key


def test_no_never_raises_and_dont_know_is_not_no(levels: dict[tuple[str, ...], tuple[int, int]]) -> None:
    """The least mature answer ("No", "none", "nowhere", ...) gives the lowest phase of all answers to
    that question; "don't know" gives at least as much as it, and never more than the most mature."""
    for key in levels:
        answers = dict(zip(STEPS, key, strict=False)) | ({"use_check": key[-1]} if key[-1] else {})
        for step in HAS_UNKNOWN:
            if answers[step] != MATURITY[step][0]:
                continue  # each group of answers that differ only in this step is read once
            variants = {}
            for option in _options(step):
                other = {**answers, step: option}
                if _asks_use_check(other):
                    other["use_check"] = answers.get("use_check") or "few"
                else:
                    other.pop("use_check", None)
                variants[option] = levels[_key(other)]
            least, most, unknown = (
                variants[MATURITY[step][0]],
                variants[MATURITY[step][-1]],
                variants[UNKNOWN],
            )
            for level in variants.values():
                assert least[0] <= level[0] and least[1] <= level[1], (answers, step)
            assert least[0] <= unknown[0] <= most[0] and least[1] <= unknown[1] <= most[1], (answers, step)


def test_no_gate_reads_the_persons_own_use(catalog: Catalog) -> None:
    """Both models describe the organisation; the person's own use shapes the step only."""
    for model_gates in rules_for(catalog).gates.values():
        for gate in model_gates:
            for requirement in gate.requirements:
                assert "own_use" not in requirement.passes.names()
                assert requirement.step != "own_use"
    for own in ("never", "sometimes", "daily"):
        assert phases(catalog, {**TOP, "own_use": own}) == ("social_business", "integration")
