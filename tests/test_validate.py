"""`coachbot validate`: the shipped content passes; each kind of broken content is named by file and line.

Every broken case copies dialogues/ and knowledge/ into tmp_path, breaks one thing, and expects a
problem on the exact file and line, once through check_content and once through the CLI.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot import PROJECT_ROOT
from bot.cli import main
from bot.coaching.rules import check_all
from bot.content.catalog import CODE_DIR, check_content
from bot.content.seed_quotes import SeedTexts
from bot.engine.loader import ContentProblem
from tests.support.seeds import SEEDS, requires_seeds

ENV = ("COACHBOT_DIALOGUES_DIR", "COACHBOT_KNOWLEDGE_DIR")


@dataclass
class Content:
    """A private copy of the shipped content, to break one thing in."""

    root: Path

    @property
    def dialogues(self) -> Path:
        return self.root / "dialogues"

    @property
    def knowledge(self) -> Path:
        return self.root / "knowledge"

    def path(self, relative: str) -> Path:
        return self.root / relative

    def replace(self, relative: str, old: str, new: str) -> None:
        """Replace text that occurs exactly once, so the test breaks what it means to."""
        path = self.path(relative)
        text = path.read_text(encoding="utf-8")
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {relative}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def line_of(self, relative: str, needle: str) -> int:
        """The 1-based line holding `needle`, which must be on exactly one line."""
        lines = self.path(relative).read_text(encoding="utf-8").splitlines()
        found = [number for number, line in enumerate(lines, start=1) if needle in line]
        assert len(found) == 1, f"{needle!r} is on lines {found} of {relative}"
        return found[0]


@dataclass(frozen=True)
class Expect:
    """A problem the broken content must produce."""

    relative: str
    line: int
    fragment: str


@pytest.fixture
def content(tmp_path: Path) -> Content:
    copy = Content(tmp_path / "content")
    shutil.copytree(PROJECT_ROOT / "dialogues", copy.dialogues)
    shutil.copytree(PROJECT_ROOT / "knowledge", copy.knowledge)
    return copy


# -- the broken cases -----------------------------------------------------------------------------

Breaker = Callable[[Content], list[Expect]]
CASES: dict[str, Breaker] = {}


def case(breaker: Breaker) -> Breaker:
    CASES[breaker.__name__] = breaker
    return breaker


@case
def session_unknown_finish_action(c: Content) -> list[Expect]:
    f = "dialogues/session_schedule.yaml"
    c.replace(f, "on_finish: schedule_session\n", "on_finish: plan_session\n")
    return [Expect(f, c.line_of(f, "start: session_kind"), "unknown on_finish action 'plan_session'")]


@case
def session_unknown_parser(c: Content) -> list[Expect]:
    f = "dialogues/session_move.yaml"
    c.replace(f, "parse: local_time\n", "parse: local_tiem\n")
    return [Expect(f, c.line_of(f, "- id: move_when"), "unknown parser 'local_tiem'")]


@case
def session_refusal_message_missing(c: Content) -> list[Expect]:
    f = "dialogues/session_schedule.yaml"
    c.replace(f, "invalid: champions/place_invalid\n", "invalid: champions/place_invlid\n")
    return [
        Expect(
            f,
            c.line_of(f, "- id: session_place"),
            "message 'champions/place_invlid' is missing for language 'nl'",
        )
    ]


@case
def session_question_missing_in_one_language(c: Content) -> list[Expect]:
    f = "knowledge/messages/champions.yaml"
    c.replace(
        f,
        "  en: |-\n    <b>Where?</b>\n    Type a room or an online link.\n",
        "",
    )
    return [Expect(f, c.line_of(f, "ask_place:"), "en")]


@case
def session_parsed_step_without_refusal_message(c: Content) -> list[Expect]:
    f = "dialogues/session_schedule.yaml"
    c.replace(f, "    invalid: champions/place_invalid\n", "")
    return [Expect(f, c.line_of(f, "parse: line"), "needs `invalid: <message>`")]


@case
def session_bound_names_an_unknown_step(c: Content) -> list[Expect]:
    f = "dialogues/session_followup.yaml"
    c.replace(f, "max: followup_attended\n", "max: followup_atended\n")
    return [Expect(f, c.line_of(f, "- id: followup_wanted"), "`max` names unknown step 'followup_atended'")]


@case
def unknown_state(c: Content) -> list[Expect]:
    f = "dialogues/phase_check.yaml"
    c.replace(f, "    next: top_uses\n", "    next: top_usse\n")
    return [Expect(f, c.line_of(f, "next: top_usse"), "goes to unknown state 'top_usse'")]


@case
def unknown_state_in_conditional_rule(c: Content) -> list[Expect]:
    f = "dialogues/onboarding.yaml"
    c.replace(f, "      - to: declined\n", "      - to: declinde\n")
    return [Expect(f, c.line_of(f, "- to: declinde"), "unknown state 'declinde'")]


@case
def unknown_then_dialogue(c: Content) -> list[Expect]:
    f = "dialogues/phase_check.yaml"
    c.replace(f, "then: fears\n", "then: feers\n")
    return [Expect(f, c.line_of(f, "then: feers"), "unknown dialogue 'feers'")]


@case
def unreachable_state(c: Content) -> list[Expect]:
    f = "dialogues/phase_check.yaml"
    # who_uses now skips top_uses, which nothing else leads to.
    c.replace(f, "    next: top_uses\n", "    next: where_sits\n")
    return [Expect(f, c.line_of(f, "- id: top_uses"), "step 'top_uses' cannot be reached")]


@case
def missing_template_named_by_a_step(c: Content) -> list[Expect]:
    f = "dialogues/phase_check.yaml"
    c.replace(f, "ask: phase_check/policy\n", "ask: phase_check/polcy\n")
    line = c.line_of(f, "- id: policy")
    return [
        Expect(f, line, "template 'phase_check/polcy' is missing for language 'nl'"),
        Expect(f, line, "template 'phase_check/polcy' is missing for language 'en'"),
    ]


@case
def step_message_only_in_dutch(c: Content) -> list[Expect]:
    f = "knowledge/messages/phase_check.yaml"
    c.replace(
        f,
        "  en: |-\n    <i>{{ progress }}</i>\n"
        "    Do you have a social media policy, and do you share best practices?\n",
        "",
    )
    return [
        Expect(f, c.line_of(f, "policy:"), "message 'phase_check/policy' has no 'en' text"),
        Expect(
            "dialogues/phase_check.yaml",
            c.line_of("dialogues/phase_check.yaml", "- id: policy"),
            "template 'phase_check/policy' is missing for language 'en'",
        ),
    ]


@case
def coach_message_only_in_dutch(c: Content) -> list[Expect]:
    f = "knowledge/messages/coach.yaml"
    c.replace(f, '  en: "One moment please, it\'s busy. Please try again shortly."\n', "")
    return [Expect(f, c.line_of(f, "busy:"), "message 'coach/busy' has no 'en' text")]


@case
def coach_message_only_in_english(c: Content) -> list[Expect]:
    f = "knowledge/messages/coach.yaml"
    c.replace(f, '{nl: "Die vraag is al voorbij.", en:', "{en:")
    return [Expect(f, c.line_of(f, "stale:"), "message 'coach/stale' has no 'nl' text")]


@case
def message_variable_only_in_english(c: Content) -> list[Expect]:
    f = "knowledge/messages/coach.yaml"
    c.replace(f, "hou het onder de {{ limit }} tekens.", "hou het kort.")
    line = c.line_of(f, "text_too_long:")
    return [Expect(f, line, "message 'coach/text_too_long' has no variable 'limit' in 'nl' (it has in 'en')")]


@case
def message_with_a_variable_of_its_own_in_dutch(c: Content) -> list[Expect]:
    f = "knowledge/messages/coach.yaml"
    c.replace(f, "hou het onder de {{ limit }} tekens.", "hou het onder de {{ limiet }} tekens.")
    line = c.line_of(f, "text_too_long:")
    return [
        Expect(f, line, "message 'coach/text_too_long' has no variable 'limit' in 'nl'"),
        Expect(f, line, "message 'coach/text_too_long' has no variable 'limiet' in 'en'"),
    ]


@case
def template_names_a_message_that_does_not_exist(c: Content) -> list[Expect]:
    f = "knowledge/templates/champions/roles.html"
    c.replace(f, 't("champions/roles__revoke_takes_role")', 't("champions/roles_footer")')
    return [Expect(f, c.line_of(f, "roles_footer"), "message 'champions/roles_footer' does not exist")]


@case
def option_label_without_english(c: Content) -> list[Expect]:
    f = "dialogues/onboarding.yaml"
    c.replace(
        f, 'label: {nl: "Akkoord, we gaan", en: "Agreed, let\'s go"}', 'label: {nl: "Akkoord, we gaan"}'
    )
    return [Expect(f, c.line_of(f, '{nl: "Akkoord, we gaan"}'), "option 'yes' label has no en translation")]


@case
def option_label_without_dutch_in_block_style(c: Content) -> list[Expect]:
    f = "dialogues/fears.yaml"
    c.replace(
        f,
        '        label: {nl: "Beveiliging van het netwerk", en: "Network security"}\n',
        '        label:\n          en: "Network security"\n',
    )
    return [Expect(f, c.line_of(f, "key: security") + 1, "option 'security' label has no nl translation")]


@case
def topic_without_english(c: Content) -> list[Expect]:
    f = "dialogues/onboarding.yaml"
    c.replace(f, 'topic: {nl: "Taal", en: "Language"}', 'topic: {nl: "Taal"}')
    return [Expect(f, c.line_of(f, 'topic: {nl: "Taal"}'), "topic has no en translation")]


@case
def knowledge_text_without_english(c: Content) -> list[Expect]:
    f = "knowledge/fears.yaml"
    c.replace(f, 'title: {nl: "Tijdverlies", en: "Time loss"}', 'title: {nl: "Tijdverlies"}')
    return [Expect(f, c.line_of(f, 'title: {nl: "Tijdverlies"}'), "title has no en text")]


@case
def option_key_too_long_for_callback_data(c: Content) -> list[Expect]:
    f = "dialogues/phase_check.yaml"
    long_key = "structurally_as_a_habit_in_every_team_we_have"
    c.replace(f, "      - key: structurally\n", f"      - key: {long_key}\n")
    return [Expect(f, c.line_of(f, long_key), "callback_data; Telegram allows 64")]


@case
def unknown_flag_reference(c: Content) -> list[Expect]:
    f = "dialogues/fears.yaml"
    c.replace(f, "flags: [fears.time_loss]", "flags: [fears.time_lost]")
    return [Expect(f, c.line_of(f, "- key: time_loss"), "unknown knowledge reference 'fears.time_lost'")]


@case
def unknown_gap_reference(c: Content) -> list[Expect]:
    f = "dialogues/phase_check.yaml"
    c.replace(f, "gaps: [six_cs.context]", "gaps: [six_cs.contxt]")
    return [Expect(f, c.line_of(f, "six_cs.contxt") - 2, "unknown knowledge reference 'six_cs.contxt'")]


@case
def reference_to_a_removed_knowledge_item(c: Content) -> list[Expect]:
    # The dialogue is untouched; the knowledge item it cites is renamed away.
    c.replace("knowledge/causes.yaml", "  - id: silo\n", "  - id: silos\n")
    f = "dialogues/fears.yaml"
    return [Expect(f, c.line_of(f, "- key: silo"), "unknown knowledge reference 'causes.silo'")]


@case
def invalid_yaml_in_a_dialogue(c: Content) -> list[Expect]:
    f = "dialogues/onboarding.yaml"
    c.replace(f, "    ask: onboarding/standing\n", "    ask: onboarding/standing: oops\n")
    return [Expect(f, c.line_of(f, "standing: oops"), "not valid YAML")]


@case
def invalid_yaml_tab_indent(c: Content) -> list[Expect]:
    f = "dialogues/onboarding.yaml"
    c.replace(f, "    store: standing\n", "\tstore: standing\n")
    return [Expect(f, c.line_of(f, "\tstore: standing"), "not valid YAML")]


@case
def invalid_yaml_unbalanced_quote(c: Content) -> list[Expect]:
    f = "dialogues/onboarding.yaml"
    c.replace(f, 'label: {nl: "Medewerker", en: "Employee"}', 'label: {nl: "Medewerker, en: "Employee"}')
    return [Expect(f, c.line_of(f, '"Medewerker, en'), "not valid YAML")]


@case
def invalid_yaml_in_knowledge(c: Content) -> list[Expect]:
    f = "knowledge/causes.yaml"
    c.replace(f, "  - id: culture\n", "  - id: culture: [\n")
    return [Expect(f, c.line_of(f, "id: culture: ["), "not valid YAML")]


@case
def gate_names_an_answer_the_check_does_not_have(c: Content) -> list[Expect]:
    f = "knowledge/phases.yaml"
    c.replace(
        f,
        "passes: {with_customers: [conversation, co_create]}",
        "passes: {with_customers: [conversation, co_creation]}",
    )
    return [Expect(f, c.line_of(f, "co_creation"), "'with_customers' has no answer 'co_creation'")]


@case
def gate_reads_an_unknown_step(c: Content) -> list[Expect]:
    f = "knowledge/phases.yaml"
    c.replace(f, "step: customer_service\n", "step: customer_servce\n")
    return [Expect(f, c.line_of(f, "step: customer_servce"), "reads unknown step 'customer_servce'")]


@case
def advice_step_condition_on_an_unknown_answer(c: Content) -> list[Expect]:
    f = "knowledge/steps.yaml"
    c.replace(f, "when: {customer_service: [office_hours]}", "when: {customer_servce: [office_hours]}")
    return [Expect(f, c.line_of(f, "customer_servce"), "unknown answer 'customer_servce'")]


@case
def advice_step_for_an_unknown_role(c: Content) -> list[Expect]:
    f = "knowledge/steps.yaml"
    c.replace(
        f,
        "  - id: comms_webcare_hours\n    roles: [comms_it]\n",
        "  - id: comms_webcare_hours\n    roles: [webcare]\n",
    )
    return [Expect(f, c.line_of(f, "roles: [webcare]"), "`roles` must list some of")]


@case
def advice_step_addresses_an_unknown_item(c: Content) -> list[Expect]:
    f = "knowledge/steps.yaml"
    c.replace(
        f,
        "addresses: [social_model.learning, social_model.learning_organisation]",
        "addresses: [social_model.lerning, social_model.learning_organisation]",
    )
    return [Expect(f, c.line_of(f, "social_model.lerning"), "unknown knowledge item 'social_model.lerning'")]


@case
def tension_on_an_unknown_answer(c: Content) -> list[Expect]:
    f = "knowledge/tensions.yaml"
    c.replace(f, 'customers_improve: ["no"]}', 'customers_improve: ["nope"]}')
    return [Expect(f, c.line_of(f, '"nope"'), "'customers_improve' has no answer 'nope'")]


@case
def seed_cited_without_a_quote(c: Content) -> list[Expect]:
    f = "knowledge/real_time.yaml"
    c.replace(
        f,
        '    quote: "Een dag wachten op het antwoord op een tweet? De boel is mogelijk al geëscaleerd."\n',
        "",
    )
    line = c.line_of(f, "- id: escalation") + 1
    return [Expect(f, line, "cites 003_14d37a87a543f7a6.txt but quotes no sentence of it")]


@case
def understand_on_a_button_question(c: Content) -> list[Expect]:
    f = "dialogues/fears.yaml"
    c.replace(
        f, "    ask: fears/causes\n", "    ask: fears/causes\n    understand: topics  # a tap question\n"
    )
    return [Expect(f, c.line_of(f, "# a tap question"), "only on a text step")]


@case
def understand_something_unknown(c: Content) -> list[Expect]:
    f = "dialogues/fears.yaml"
    c.replace(f, "understand: topics", "understand: feelings")
    return [Expect(f, c.line_of(f, "understand: feelings"), "`understand` takes topics")]


def matches(problem: ContentProblem, content: Content, expect: Expect) -> bool:
    return (
        problem.path == content.path(expect.relative)
        and problem.line == expect.line
        and expect.fragment in problem.message
    )


# -- the tests ------------------------------------------------------------------------------------


@requires_seeds
def test_shipped_content_has_no_problems() -> None:
    catalog, problems = check_all(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge", SEEDS)
    assert problems == []
    assert catalog is not None
    assert set(catalog.dialogues) >= {"onboarding", "phase_check", "fears"}


def test_cli_validate_passes_on_shipped_files(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    assert main(["validate"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("ok: 8 dialogues")
    assert "note:" not in captured.out  # no unused message ships
    assert captured.err == ""


def test_a_copy_of_the_shipped_content_passes(content: Content) -> None:
    # Guards the cases below: what fails there is the one thing they broke.
    catalog, problems = check_all(content.dialogues, content.knowledge)
    assert problems == []
    assert catalog is not None


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_content_is_named_by_file_and_line(content: Content, name: str) -> None:
    expected = CASES[name](content)
    catalog, problems = check_all(content.dialogues, content.knowledge)
    assert catalog is None
    for expect in expected:
        assert any(matches(p, content, expect) for p in problems), f"expected {expect} among:\n" + "\n".join(
            map(str, problems)
        )


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_validate_fails_naming_file_and_line(
    content: Content, name: str, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    expected = CASES[name](content)
    monkeypatch.setenv("COACHBOT_DIALOGUES_DIR", str(content.dialogues))
    monkeypatch.setenv("COACHBOT_KNOWLEDGE_DIR", str(content.knowledge))
    assert main(["validate"]) == 1
    captured = capsys.readouterr()
    assert "ok:" not in captured.out
    for expect in expected:
        located = f"{content.path(expect.relative)}:{expect.line}: "
        lines = [line for line in captured.err.splitlines() if line.startswith(located)]
        assert any(expect.fragment in line for line in lines), f"{located} not in:\n{captured.err}"
    assert captured.err.rstrip().splitlines()[-1].startswith("coachbot: ")


def test_every_problem_is_reported_in_one_run(content: Content) -> None:
    expected = [*unknown_state(content), *knowledge_text_without_english(content)]
    expected += coach_message_only_in_dutch(content)
    _, problems = check_all(content.dialogues, content.knowledge)
    for expect in expected:
        assert any(matches(p, content, expect) for p in problems)


def test_an_unused_message_is_reported_without_failing(
    content: Content, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    f = "knowledge/messages/coach.yaml"
    c = content
    c.replace(f, "busy:\n", 'nobody_says_this: {nl: "Niemand", en: "Nobody"}\nbusy:\n')
    catalog, problems = check_all(c.dialogues, c.knowledge)
    assert problems == []
    assert catalog is not None
    line = c.line_of(f, "nobody_says_this:")
    assert [(p.path, p.line) for p in catalog.unused] == [(c.path(f), line)]
    monkeypatch.setenv("COACHBOT_DIALOGUES_DIR", str(c.dialogues))
    monkeypatch.setenv("COACHBOT_KNOWLEDGE_DIR", str(c.knowledge))
    assert main(["validate"]) == 0
    out = capsys.readouterr().out
    assert f"note: {c.path(f)}:{line}: message 'coach/nobody_says_this' is not used" in out
    assert out.rstrip().splitlines()[-1].startswith("ok: ")


def test_code_naming_a_missing_message_or_building_a_name_fails(content: Content, tmp_path: Path) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "replies.py").write_text(
        'OK = "coach/busy"\n'
        'MISSING = "coach/bussy"\n'
        "def built(kind: str) -> str:\n"
        '    return f"coach/{kind}"\n',
        encoding="utf-8",
    )
    catalog, problems = check_content(content.dialogues, content.knowledge, code_dir=code)
    assert catalog is None
    found = {(p.path.name, p.line, p.message) for p in problems}
    assert found == {
        ("replies.py", 2, "message 'coach/bussy' does not exist"),
        ("replies.py", 4, "message name built at run time (coach/…): write each name out"),
    }


def test_the_shipped_code_names_only_messages_that_exist() -> None:
    # The default code_dir is the package: test_shipped_content_has_no_problems relies on it.
    assert CODE_DIR == PROJECT_ROOT / "bot"


def test_a_missing_required_dialogue_is_named(content: Content) -> None:
    content.path("dialogues/fears.yaml").unlink()
    _, problems = check_all(content.dialogues, content.knowledge)
    assert any(p.path == content.dialogues and "'fears' is missing" in p.message for p in problems)
    # phase_check's `then: fears` now points nowhere, on its own line.
    line = content.line_of("dialogues/phase_check.yaml", "then: fears")
    assert any(p.line == line and "unknown dialogue 'fears'" in p.message for p in problems)


@requires_seeds
def test_a_citation_of_a_missing_seed_is_named(content: Content, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for seed in SEEDS.glob("*.txt"):
        if not seed.name.startswith("002_"):
            shutil.copy(seed, seeds / seed.name)
    _, problems = check_all(content.dialogues, content.knowledge, seeds)
    line = content.line_of("knowledge/causes.yaml", "- id: silo") + 1
    assert any(
        p.path == content.path("knowledge/causes.yaml") and p.line == line and "does not exist" in p.message
        for p in problems
    )


# -- quotes against the seeds (`coachbot validate --seeds DIR`) ------------------------------------


@requires_seeds
def test_validate_with_seeds_passes_on_the_shipped_content(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    assert main(["validate", "--seeds", str(SEEDS)]) == 0
    assert capsys.readouterr().err == ""


@requires_seeds
def test_a_quote_not_in_its_seed_fails_validate_with_seeds(
    content: Content, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    f = "knowledge/six_cs.yaml"
    content.replace(
        f,
        '"Hoe meer medewerkers connected zijn, hoe groter de waarde van het netwerk."',
        '"Hoe meer medewerkers aan elkaar gekoppeld zijn, hoe beter."',
    )
    line = content.line_of(f, "aan elkaar gekoppeld zijn")
    # Without the seeds nothing can be held against them; with them, the quote is named.
    assert check_all(content.dialogues, content.knowledge)[1] == []
    monkeypatch.setenv("COACHBOT_DIALOGUES_DIR", str(content.dialogues))
    monkeypatch.setenv("COACHBOT_KNOWLEDGE_DIR", str(content.knowledge))
    assert main(["validate", "--seeds", str(SEEDS)]) == 1
    err = capsys.readouterr().err
    assert f"{content.path(f)}:{line}: quote not in 001_93caaf9fec7606a5.txt" in err


@requires_seeds
def test_a_quote_from_another_seed_than_cited_fails(content: Content) -> None:
    f = "knowledge/real_time.yaml"
    # A sentence of seed 001, cited to seed 003.
    content.replace(
        f,
        '"Een dag wachten op het antwoord op een tweet? De boel is mogelijk al geëscaleerd."',
        '"Het draait om 6 C’s: Connecties, Conversaties, Congruentie, Content, Context en Continu."',
    )
    _, problems = check_all(content.dialogues, content.knowledge, SEEDS)
    line = content.line_of(f, "Het draait om 6 C")
    assert any(p.line == line and "quote not in 003_14d37a87a543f7a6.txt" in p.message for p in problems)


def test_a_missing_seed_folder_is_an_error(monkeypatch: pytest.MonkeyPatch, capsys, tmp_path: Path) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    assert main(["validate", "--seeds", str(tmp_path / "nowhere")]) == 1
    assert "seed folder not found" in capsys.readouterr().err


@requires_seeds
@pytest.mark.parametrize(
    ("quote", "found"),
    [
        ("Presence: een bedrijf weet ‘dat het iets met social media moet’", True),
        ("Presence: een bedrijf weet 'dat het iets met social media moet'", True),  # straight marks
        ('Presence: een bedrijf weet "dat het iets met social media moet"', True),
        ("Presence:   een bedrijf\n weet ‘dat het", True),  # whitespace folded
        ("Het heeft niet veel zin … vrijblijvende inspiratiesessies te organiseren", True),  # a gap
        ("vrijblijvende inspiratiesessies … Het heeft niet veel zin", False),  # gaps keep their order
        ("Presence: een bedrijf weet dat het iets moet", False),
        ("presence: een bedrijf weet", False),  # case counts
    ],
)
def test_quotes_are_compared_without_quote_marks_and_spacing(quote: str, found: bool) -> None:
    seeds = SeedTexts.read(SEEDS)
    assert seeds.contains("002_34edfa349590f49d.txt", quote) is found
    assert not seeds.contains("001_93caaf9fec7606a5.txt", "Presence: een bedrijf weet")


@requires_seeds
def test_every_seed_claim_carries_a_quote_and_own_content_is_marked(content: Content) -> None:
    catalog, problems = check_all(content.dialogues, content.knowledge, SEEDS)
    assert problems == []
    assert catalog is not None
    for item in catalog.knowledge.items.values():
        sources = item.fields.get("source")
        listed = sources if isinstance(sources, list) else [sources]
        assert listed, item.ref
        if "own" in listed:
            assert "quote" not in item.fields, item.ref
        else:
            assert item.fields.get("quote"), item.ref
    # The example uses per fear and the steps' wording are ours, and say so.
    for item in catalog.knowledge.kind("fears"):
        assert "uses" in item.fields["own"]
    for item in catalog.knowledge.kind("steps"):
        assert "text" in item.fields["own"], item.ref
