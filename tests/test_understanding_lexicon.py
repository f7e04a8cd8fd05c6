"""The typed-text lexicons are checked like all content: each problem named by file and line.

Every broken case copies dialogues/ and knowledge/ into tmp_path, breaks one thing in
knowledge/understanding/, and expects check_content (what `coachbot validate` and start-up use) to
name it. Also: the module is pure (no Telegram, no SQL) and works with the network switched off.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bot import PROJECT_ROOT
from bot.cli import main
from bot.content.catalog import check_content
from bot.understanding import LexiconError, load_lexicon
from bot.understanding.lexicon import FOLDER, lexicon_at

UNDERSTANDING = PROJECT_ROOT / "bot" / "understanding"


class Copy:
    """A writable copy of the content, with helpers to break one file."""

    def __init__(self, root: Path) -> None:
        self.dialogues = root / "dialogues"
        self.knowledge = root / "knowledge"
        shutil.copytree(PROJECT_ROOT / "dialogues", self.dialogues)
        shutil.copytree(PROJECT_ROOT / "knowledge", self.knowledge)

    def path(self, name: str) -> Path:
        return self.knowledge / FOLDER / name

    def replace(self, name: str, old: str, new: str) -> None:
        text = self.path(name).read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {name}"
        self.path(name).write_text(text.replace(old, new, 1), encoding="utf-8")

    def line_of(self, name: str, fragment: str, after: str = "") -> int:
        """The line of the first `fragment` (below the first `after`, when given)."""
        lines = self.path(name).read_text(encoding="utf-8").splitlines()
        start = next(i for i, line in enumerate(lines) if after in line) if after else 0
        for number, line in enumerate(lines[start:], start + 1):
            if fragment in line:
                return number
        raise AssertionError(f"{fragment!r} not in {name}")


@pytest.fixture
def copy(tmp_path: Path) -> Copy:
    return Copy(tmp_path / "content")


#: A breaker returns the file, how to find the line the problem must name, and the message.
Where = tuple[str, str | tuple[str, str], str]
Breaker = Callable[[Copy], Where]
CASES: dict[str, Breaker] = {}


def case(breaker: Breaker) -> Breaker:
    CASES[breaker.__name__] = breaker
    return breaker


@case
def unknown_topic_id(c: Copy) -> Where:
    c.replace("topics.yaml", "  - id: fears.time_loss\n", "  - id: fears.time_lost\n")
    return "topics.yaml", "- id: fears.time_lost", "unknown topic id 'fears.time_lost'"


@case
def topic_without_a_lexicon(c: Copy) -> Where:
    c.replace("topics.yaml", "  - id: fears.time_loss\n", "  - id: fears.time_lost\n")
    return "topics.yaml", "topics:", "topic 'fears.time_loss' has no lexicon"


@case
def empty_english_lexicon(c: Copy) -> Where:
    text = c.path("topics.yaml").read_text(encoding="utf-8")
    start = text.index("  - id: causes.fear")
    en = text.index("    en:\n", start)
    c.path("topics.yaml").write_text(text[:en] + "    en:\n      phrases: []\n", encoding="utf-8")
    return "topics.yaml", ("    en:", "- id: causes.fear"), "topic 'causes.fear' has no en phrases"


@case
def phrase_that_always_ties_with_another_topic(c: Copy) -> Where:
    c.replace("topics.yaml", '        - "tijdverlies"\n', '        - "tijdverlies"\n        - "avg|gdpr"\n')
    # Named where the second one stands: security's own "avg|gdpr", further down.
    return "topics.yaml", ('- "avg|gdpr"', "- id: fears.security"), "would always tie"


@case
def broken_phrase(c: Copy) -> Where:
    c.replace("topics.yaml", '        - "tijdverlies"\n', '        - "tijd||verlies"\n')
    return "topics.yaml", '- "tijd||verlies"', "is not a word"


@case
def gives_way_to_an_unknown_topic(c: Copy) -> Where:
    c.replace("topics.yaml", "gives_way_to: [fears.unwanted_messages,", "gives_way_to: [fears.nonsense,")
    return "topics.yaml", "topics:", "gives way to 'fears.nonsense'"


@case
def synonyms_for_an_unknown_step(c: Copy) -> Where:
    c.replace("answers.yaml", "  who_uses:\n", "  who_use:\n")
    return "answers.yaml", "  who_use:", "unknown step 'who_use'"


@case
def synonyms_for_an_unknown_option(c: Copy) -> Where:
    c.replace("answers.yaml", "    everyone:\n", "    everybody:\n")
    return "answers.yaml", "    everybody:", "step 'who_uses' has no option 'everybody'"


@case
def one_synonym_for_two_options(c: Copy) -> Where:
    c.replace("answers.yaml", 'nobody:\n      nl: ["niemand",', 'nobody:\n      nl: ["iedereen",')
    return "answers.yaml", "    everyone:", "synonym 'iedereen' is given for both"


@case
def option_without_english_synonyms(c: Copy) -> Where:
    c.replace("answers.yaml", '      en: ["daily", ', '      fr: ["daily", ')
    return "answers.yaml", "    daily:", "own_use.daily has no en synonyms"


@case
def empty_negation_list(c: Copy) -> Where:
    c.replace("language.yaml", "  negations: [geen, niet, nee]", "  negations: []")
    return "language.yaml", "  negations: []", "nl.negations is empty"


@case
def invalid_yaml(c: Copy) -> Where:
    c.replace("answers.yaml", "common:\n", "common: [\n")
    return "answers.yaml", "", "not valid YAML"


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_broken_lexicon_is_named_by_file_and_line(copy: Copy, name: str) -> None:
    file, fragment, message = CASES[name](copy)
    catalog, problems = check_content(copy.dialogues, copy.knowledge)
    assert catalog is None
    path = copy.path(file)
    mine = [p for p in problems if p.path == path]
    assert any(message in p.message for p in mine), "\n".join(map(str, problems))
    if fragment:
        line = copy.line_of(file, *fragment) if isinstance(fragment, tuple) else copy.line_of(file, fragment)
        assert any(message in p.message and p.line == line for p in mine), "\n".join(map(str, mine))


def test_a_missing_lexicon_file_is_named(copy: Copy) -> None:
    copy.path("language.yaml").unlink()
    _, problems = check_content(copy.dialogues, copy.knowledge)
    assert any(p.path == copy.path("language.yaml") and "missing" in p.message for p in problems)


def test_coachbot_validate_fails_on_a_broken_lexicon(
    copy: Copy, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file, fragment, message = unknown_topic_id(copy)
    monkeypatch.setenv("COACHBOT_DIALOGUES_DIR", str(copy.dialogues))
    monkeypatch.setenv("COACHBOT_KNOWLEDGE_DIR", str(copy.knowledge))
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert isinstance(fragment, str)
    assert f"{copy.path(file)}:{copy.line_of(file, fragment)}: {message}" in err


def test_the_project_lexicons_are_valid() -> None:
    lexicon, problems = load_lexicon(PROJECT_ROOT / "knowledge" / FOLDER)
    assert problems == []
    assert lexicon is not None
    assert set(lexicon.topics) == {
        "fears.unwanted_messages",
        "fears.time_loss",
        "fears.security",
        "fears.role_loss",
        "causes.middle_managers",
        "causes.silo",
        "causes.culture",
        "causes.fear",
    }


def test_broken_lexicons_raise_one_error_listing_every_problem(copy: Copy) -> None:
    unknown_topic_id(copy)
    broken_phrase(copy)
    with pytest.raises(LexiconError) as raised:
        lexicon_at(copy.knowledge / FOLDER)
    assert len(raised.value.problems) >= 2


# -- pure and offline ---------------------------------------------------------------------------


def test_understanding_works_offline_and_loads_no_telegram_or_sql() -> None:
    """A fresh interpreter with sockets switched off: the lexicons load and text is understood."""
    # Which units it may import is tests/test_architecture.py's job (bot.understanding is pure there).
    names = sorted(
        ".".join(p.relative_to(PROJECT_ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in UNDERSTANDING.rglob("*.py")
    )
    script = (
        "import socket, sys\n"
        "def refuse(*a, **k):\n    raise OSError('network is off in this test')\n"
        "socket.socket = refuse\nsocket.create_connection = refuse\nsocket.getaddrinfo = refuse\n"
        "import importlib\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
        "from bot.understanding import understand\n"
        "print(understand('Mijn baas vindt het tijdverspilling', 'nl').ids)\n"
        "roots = ('telegram', 'sqlalchemy', 'asyncpg', 'aiosqlite')\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in roots]\n"
        "print(bad)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    heard, loaded = done.stdout.splitlines()
    assert "fears.time_loss" in heard
    assert "causes.middle_managers" in heard
    assert loaded == "[]"
