"""`coachbot understand [--lang nl|en] [--json] [--step STEP] TEXT`, as authors and admins use it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot import PROJECT_ROOT
from bot.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["understand", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_dutch_text_prints_each_topic_with_its_confidence_and_trigger(capsys) -> None:
    code, out, _ = run(capsys, "--lang", "nl", "Mijn leidinggevende vindt het tijdverspilling")
    assert code == 0
    lines = out.splitlines()
    assert {line.split()[0] for line in lines} == {"causes.middle_managers", "fears.time_loss"}
    for line in lines:
        confidence = float(line.split()[1])
        assert 0.5 <= confidence <= 1.0
    assert '"tijdverspilling"' in out


def test_english_text_is_understood(capsys) -> None:
    text = "not worried about wasting time, but our managers won't allow it"
    code, out, _ = run(capsys, "--lang", "en", text)
    assert code == 0
    assert out.splitlines()[0].split()[0] == "causes.middle_managers"
    assert "ruled out: fears.time_loss" in out


def test_json_prints_topics_with_id_and_confidence(capsys) -> None:
    code, out, _ = run(capsys, "--json", "--lang", "en", "security and wasted time")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"topics"}
    assert {t["id"] for t in data["topics"]} == {"fears.security", "fears.time_loss"}
    for topic in data["topics"]:
        assert set(topic) == {"id", "confidence"}
        assert 0.5 <= topic["confidence"] <= 1.0


def test_json_for_dutch_off_topic_text_is_an_empty_list(capsys) -> None:
    code, out, _ = run(capsys, "--json", "--lang", "nl", "geen idee eigenlijk")
    assert code == 0
    assert json.loads(out) == {"topics": []}


def test_plain_output_says_when_nothing_is_heard(capsys) -> None:
    code, out, _ = run(capsys, "wat eten we vanavond")
    assert code == 0
    assert out.strip() == "no topic heard"


def test_the_text_may_be_given_as_separate_words(capsys) -> None:
    _, quoted, _ = run(capsys, "--json", "de top doet niet mee")
    _, words, _ = run(capsys, "--json", "de", "top", "doet", "niet", "mee")
    assert quoted == words
    assert json.loads(words)["topics"][0]["id"] == "causes.culture"


def test_step_shows_which_option_a_typed_answer_means(capsys) -> None:
    code, out, _ = run(capsys, "--step", "who_uses", "bijna iedereen")
    assert code == 0
    assert "option: everyone 1.00" in out
    assert "taken as a tap" in out
    code, out, _ = run(capsys, "--json", "--step", "top_uses", "ja")
    assert json.loads(out)["option"]["key"] == "actively"
    assert json.loads(out)["option"]["confidence"] < 0.85
    code, out, _ = run(capsys, "--step", "own_use", "pizza")
    assert "option: none" in out
    assert "never, sometimes, daily" in out


def test_an_unknown_step_is_a_usage_error_listing_the_steps(capsys) -> None:
    code, out, err = run(capsys, "--step", "nope", "ja")
    assert code == 2
    assert out == ""
    assert "no step 'nope'" in err
    assert "who_uses" in err


def test_empty_text_is_a_usage_error(capsys) -> None:
    code, _, err = run(capsys, "   ")
    assert code == 2
    assert "give the text" in err


def test_an_unknown_language_is_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit) as raised:
        main(["understand", "--lang", "de", "Sicherheit"])
    assert raised.value.code == 2


def test_broken_lexicons_end_with_a_content_error(tmp_path: Path, monkeypatch, capsys) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(PROJECT_ROOT / "knowledge", knowledge)
    (knowledge / "understanding" / "topics.yaml").write_text("topics: 3\n", encoding="utf-8")
    monkeypatch.setenv("COACHBOT_KNOWLEDGE_DIR", str(knowledge))
    code, out, err = run(capsys, "tijd")
    assert code == 1
    assert out == ""
    assert "topics.yaml:1: `topics` must be a list" in err
    assert "Traceback" not in err


def test_as_a_subprocess_through_the_console_entry_point() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COACHBOT_", "TELEGRAM_"))}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "understand", "--json", "--lang", "nl", "beveilging en privacy"],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert [t["id"] for t in data["topics"]] == ["fears.security"]
