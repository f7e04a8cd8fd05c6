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
from bot.content.catalog import check_content
from bot.engine.loader import ContentProblem

SEEDS = PROJECT_ROOT.parent / "shared" / "seeds"
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
def step_template_only_in_dutch(c: Content) -> list[Expect]:
    c.path("knowledge/templates/en/phase_check/policy.html").unlink()
    f = "dialogues/phase_check.yaml"
    return [
        Expect(f, c.line_of(f, "- id: policy"), "template 'phase_check/policy' is missing for language 'en'"),
        Expect("knowledge/templates/nl/phase_check/policy.html", 1, "template has no 'en' translation"),
    ]


@case
def coach_template_only_in_dutch(c: Content) -> list[Expect]:
    c.path("knowledge/templates/en/coach/busy.html").unlink()
    return [Expect("knowledge/templates/nl/coach/busy.html", 1, "template has no 'en' translation")]


@case
def coach_template_only_in_english(c: Content) -> list[Expect]:
    c.path("knowledge/templates/nl/coach/stale.html").unlink()
    return [Expect("knowledge/templates/en/coach/stale.html", 1, "template has no 'nl' translation")]


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
    c.replace(f, "gaps: [real_time.webcare_hours]", "gaps: [real_time.webcare]")
    return [Expect(f, c.line_of(f, "- key: office_hours"), "unknown knowledge reference 'real_time.webcare'")]


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
def unknown_phase_model(c: Content) -> list[Expect]:
    f = "dialogues/phase_check.yaml"
    c.replace(f, "levels: {pilot_model: 4, presence_model: 4}", "levels: {pilot_modle: 4, presence_model: 4}")
    return [Expect(f, c.line_of(f, "- key: strategy"), "unknown phase model 'pilot_modle'")]


def matches(problem: ContentProblem, content: Content, expect: Expect) -> bool:
    return (
        problem.path == content.path(expect.relative)
        and problem.line == expect.line
        and expect.fragment in problem.message
    )


# -- the tests ------------------------------------------------------------------------------------


def test_shipped_content_has_no_problems() -> None:
    catalog, problems = check_content(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge", SEEDS)
    assert problems == []
    assert catalog is not None
    assert set(catalog.dialogues) >= {"onboarding", "phase_check", "fears"}


def test_cli_validate_passes_on_shipped_files(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    assert main(["validate"]) == 0
    captured = capsys.readouterr()
    assert captured.out.startswith("ok: 3 dialogues")
    assert captured.err == ""


def test_a_copy_of_the_shipped_content_passes(content: Content) -> None:
    # Guards the cases below: what fails there is the one thing they broke.
    catalog, problems = check_content(content.dialogues, content.knowledge)
    assert problems == []
    assert catalog is not None


@pytest.mark.parametrize("name", sorted(CASES))
def test_broken_content_is_named_by_file_and_line(content: Content, name: str) -> None:
    expected = CASES[name](content)
    catalog, problems = check_content(content.dialogues, content.knowledge)
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
    expected += coach_template_only_in_dutch(content)
    _, problems = check_content(content.dialogues, content.knowledge)
    for expect in expected:
        assert any(matches(p, content, expect) for p in problems)


def test_a_missing_required_dialogue_is_named(content: Content) -> None:
    content.path("dialogues/fears.yaml").unlink()
    _, problems = check_content(content.dialogues, content.knowledge)
    assert any(p.path == content.dialogues and "'fears' is missing" in p.message for p in problems)
    # phase_check's `then: fears` now points nowhere, on its own line.
    line = content.line_of("dialogues/phase_check.yaml", "then: fears")
    assert any(p.line == line and "unknown dialogue 'fears'" in p.message for p in problems)


def test_a_citation_of_a_missing_seed_is_named(content: Content, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    for seed in SEEDS.glob("*.txt"):
        if not seed.name.startswith("002_"):
            shutil.copy(seed, seeds / seed.name)
    _, problems = check_content(content.dialogues, content.knowledge, seeds)
    line = content.line_of("knowledge/causes.yaml", "- id: silo") + 1
    assert any(
        p.path == content.path("knowledge/causes.yaml") and p.line == line and "does not exist" in p.message
        for p in problems
    )
