"""`coachbot chat`: the terminal channel over the real services, on SQLite and on PostgreSQL.

A chat is a TerminalChat on StringIO: the input's end is Ctrl-D. Stopping mid-check and starting
again must continue at the same question with the earlier answers kept; bad lines get a clear
reply and change nothing that was stored.
"""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from bot import PROJECT_ROOT, commands
from bot.channels.terminal import CHANNEL, TerminalChat, system_language
from bot.content.catalog import Catalog, load_catalog
from bot.conversation import Visitor
from bot.domain import Role
from bot.engine.events import MAX_TEXT
from bot.router import Router
from bot.services import Services, open_services
from bot.settings import load_settings
from bot.storage.database import Database

#: English, agreed, employee, skip the department: lands on the first question of the check.
ONBOARD_EN = "2\n1\n1\n1\n"
#: Nine answers to the check (all "1": the first option), then no fears, no causes.
CHECK_ALL_FIRST = "1\n" * 9
NO_FEARS_NO_CAUSES = "5\n6\n5\n6\n"
BYE_EN = "Goodbye! Your answers are saved"
BYE_NL = "Tot ziens! Je antwoorden zijn bewaard"


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")


def url_of(database: Database) -> str:
    return database.url.render_as_string(hide_password=False)


@pytest_asyncio.fixture
async def services(database: Database, catalog: Catalog) -> AsyncIterator[Services]:
    opened = await open_services(load_settings(database_url=url_of(database)), catalog=catalog)
    yield opened
    await opened.close()


@dataclass(frozen=True)
class Stored:
    """What the database holds about one terminal user."""

    answers: tuple[tuple[str, str | None, str | None, int], ...]
    position: Any
    consent: bool


async def stored(services: Services, user: str) -> Stored:
    async with services.database.transaction() as repo:
        person = await repo.people.person_for_update(CHANNEL, user, create=False)
        assert person is not None
        data = await repo.personal_data(person.id)
        position = await repo.positions.position(person.id)
    answers = tuple((a.question, a.option, a.text, a.run_id) for a in data.answers)
    return Stored(answers, position, person.consent)


async def chat(services: Services, reader: io.StringIO | str, user: str = "ana", lang: str | None = "en"):
    """One `coachbot chat` session until the input ends; (exit code, everything printed)."""
    stream = io.StringIO(reader) if isinstance(reader, str) else reader
    out = io.StringIO()
    code = await TerminalChat(Router.around(services.coach), Visitor(CHANNEL, user, lang), stream, out).run()
    return code, out.getvalue()


# -- stopping and starting again ------------------------------------------------------------------


async def test_stopping_mid_check_and_starting_again_continues_at_the_same_question(
    database: Database,
) -> None:
    settings = load_settings(database_url=url_of(database))
    first = await open_services(settings)
    try:
        # Dutch, agreed, employee, skip department; then three answers of the check; then Ctrl-D.
        code, out = await chat(first, "1\n1\n1\n1\n1\n2\n3\n", user="piet", lang=None)
    finally:
        await first.close()
    assert code == 0
    assert "3/9" in out
    assert "4/9" in out
    assert out.rstrip().endswith("start opnieuw om verder te gaan.")
    assert BYE_NL in out

    second = await open_services(settings)  # a new process: new services on the same database
    try:
        code, out = await chat(second, "", user="piet", lang=None)
        assert code == 0
        assert "Welkom terug! We waren hier gebleven:" in out
        assert "4/9\nHebben jullie social-mediabeleid en delen jullie best practices?" in out
        assert "  3. Ja, beleid en gedeelde tips" in out
        assert "1/9" not in out
        assert "3/9" not in out
        kept = await stored(second, "piet")
        check = [(q, o) for q, o, _, run in kept.answers if run == kept.position.run_id]
        assert check == [("who_uses", "nobody"), ("top_uses", "some"), ("where_sits", "coordinated")]
        assert [q for q, *_ in kept.answers[:4]] == ["language", "privacy", "standing", "department"]
        assert (kept.position.dialogue, kept.position.state) == ("phase_check", "policy")
        assert kept.position.values["answers"] == {
            "who_uses": "nobody",
            "top_uses": "some",
            "where_sits": "coordinated",
        }

        # And carrying on from there answers question 4, not question 1.
        code, out = await chat(second, "3\n", user="piet", lang=None)
        assert code == 0
        assert "5/9" in out
        after = await stored(second, "piet")
        assert after.answers[: len(kept.answers)] == kept.answers
        assert after.answers[len(kept.answers) :] == (("policy", "shared", None, kept.position.run_id),)
    finally:
        await second.close()


async def test_a_full_conversation_ends_with_advice(services: Services) -> None:
    # ... then the numbered buttons under the advice work as taps: 4 is "Worries and blockers"
    # (1 and 2 are the commitment's "Yes, I'll do it" and "Not now").
    code, out = await chat(services, ONBOARD_EN + CHECK_ALL_FIRST + "2 4\n6\n1 3\n6\nnothing more\n4\n")
    assert code == 0
    assert "Towards social business: Presence (1/4)" in out
    assert "How it is organised: Pilot (1/4)" in out
    buttons = (
        "🤝 Yes, I'll do it",
        "Not now",
        "Why this phase?",
        "Worries and blockers",
        "Another step",
        "The model behind it",
    )
    assert "\n".join(f"  {i}. {label}" for i, label in enumerate(buttons, start=1)) in out
    assert "Your worries" in out.split("Worries and blockers")[-1]
    assert "What holds it back" in out
    assert out.rstrip().endswith("start again to carry on.")
    kept = await stored(services, "ana")
    assert ("fears", "time_loss", None) in [a[:3] for a in kept.answers]
    assert ("fears", "role_loss", None) in [a[:3] for a in kept.answers]
    # "nothing more" names no worry or blocker: an honest reply, and the text is not kept.
    assert "I don't recognise a worry or blocker" in out
    assert all(a[2] is None for a in kept.answers)


# -- bad input ------------------------------------------------------------------------------------

TAP_EXPECTED = "Please choose one of the options below."
#: The one answer to input that fits no option (then the question again).
CHOOSE_1_TO_5 = "Type the number of one answer, from 1 to 5, or a command such as /help."
OUT_OF_RANGE_5 = HINT = CHOOSE_1_TO_5


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("", HINT),
        ("    ", HINT),
        ("0", OUT_OF_RANGE_5),
        ("6", OUT_OF_RANGE_5),
        ("1,6", OUT_OF_RANGE_5),
        ("99999999999999999999999", OUT_OF_RANGE_5),
        ("x" * 10_000, TAP_EXPECTED),
        ("\x1b[2J\x07\x00\x08", TAP_EXPECTED),
        ("\x04", TAP_EXPECTED),
        ("-1", TAP_EXPECTED),
        ("/nonsense", "I don't know that command."),
        ("/", "I don't know that command."),
    ],
    ids=[
        "empty",
        "blanks",
        "zero",
        "above-range",
        "one-in-range-one-not",
        "huge-number",
        "ten-thousand-chars",
        "control-chars",
        "ctrl-d-char",
        "negative",
        "unknown-command",
        "bare-slash",
    ],
)
async def test_bad_input_at_a_choice_gets_a_reply_and_changes_nothing(
    services: Services, line: str, reply: str
) -> None:
    await chat(services, ONBOARD_EN)
    before = await stored(services, "ana")
    assert before.position.state == "who_uses"

    code, out = await chat(services, line + "\n")
    assert code == 0
    assert reply in out
    assert out.rstrip().endswith("start again to carry on.")
    assert await stored(services, "ana") == before

    # Nothing was lost either: the next good answer is taken as usual.
    code, out = await chat(services, "5\n")
    assert "2/9" in out
    final = await stored(services, "ana")
    assert final.answers[:-1] == before.answers
    assert final.answers[-1][:2] == ("who_uses", "everyone")


async def test_a_typed_label_counts_as_a_tap(services: Services) -> None:
    await chat(services, ONBOARD_EN)
    code, out = await chat(services, "almost everyone\n")
    assert code == 0
    assert "2/9" in out
    assert (await stored(services, "ana")).answers[-1][:2] == ("who_uses", "everyone")


async def test_bad_input_on_a_multi_select_toggles_nothing(services: Services) -> None:
    await chat(services, ONBOARD_EN + CHECK_ALL_FIRST)
    before = await stored(services, "ana")
    assert before.position.state == "fears"
    code, out = await chat(services, "2,9\n\n6\nTime\n")
    assert code == 0
    assert "Type the numbers of your answers, from 1 to 6 (for example 1 3)" in out
    assert "Choose at least one answer first." in out  # Done (6) with nothing ticked
    assert "Do you mean Too much time lost?" in out  # typed, not sure enough: asked back
    assert "✅" not in out
    after = await stored(services, "ana")
    assert after.answers == before.answers
    assert after.position.values.get("selected", {}).get("fears", []) == []

    code, out = await chat(services, "2 4\n6\n")
    assert "2/3" in out
    answers = (await stored(services, "ana")).answers
    assert [a[:2] for a in answers[len(before.answers) :]] == [("fears", "time_loss"), ("fears", "role_loss")]


@pytest.mark.parametrize(
    ("line", "reply"),
    [
        ("x" * 10_000, f"That's too long for me: keep it under {MAX_TEXT} characters."),
        ("x" * (MAX_TEXT + 1), f"That's too long for me: keep it under {MAX_TEXT} characters."),
        ("\x00\x1b\x07", "I didn't see any text."),
        ("", "Type your answer, or 1 for ‘Skip’. Or a command such as /help."),
    ],
    ids=["ten-thousand-chars", "one-over-the-limit", "only-control-chars", "empty"],
)
async def test_bad_input_at_the_text_question(services: Services, line: str, reply: str) -> None:
    await chat(services, ONBOARD_EN + CHECK_ALL_FIRST + NO_FEARS_NO_CAUSES)
    before = await stored(services, "ana")
    assert before.position.state == "anything_else"
    code, out = await chat(services, line + "\n")
    assert code == 0
    assert reply in out
    assert await stored(services, "ana") == before

    code, out = await chat(services, "fine\x1b[31m now\x07\n")
    assert "Since your last check" not in out
    assert "Pilot (1/4)" in out
    # Read for the advice (nothing recognised in it), then dropped: no row keeps typed text.
    after = await stored(services, "ana")
    assert after.answers == before.answers
    assert after.position.state == "end"


async def test_ctrl_d_right_away_is_a_clean_exit(services: Services) -> None:
    code, out = await chat(services, "")
    assert code == 0
    assert "Which language would you like?" in out
    assert BYE_EN in out


class InterruptedReader(io.StringIO):
    """Ctrl-C: the read raises KeyboardInterrupt once the typed lines are used up."""

    def readline(self, size: int | None = -1) -> str:  # type: ignore[override]
        line = super().readline(size if size is not None else -1)
        if line == "":
            raise KeyboardInterrupt
        return line


async def test_ctrl_c_is_a_clean_exit_and_keeps_the_answers(services: Services) -> None:
    code, out = await chat(services, InterruptedReader(ONBOARD_EN + "5\n4\n"))
    assert code == 0
    assert out.rstrip().endswith("start again to carry on.")
    kept = await stored(services, "ana")
    assert [a[:2] for a in kept.answers[-2:]] == [("who_uses", "everyone"), ("top_uses", "unknown")]
    assert kept.position.state == "where_sits"

    code, out = await chat(services, InterruptedReader(""))
    assert code == 0
    assert "3/9" in out


async def test_declining_in_the_terminal_stores_nothing(services: Services) -> None:
    code, out = await chat(services, "2\n2\n")
    assert code == 0
    assert "I won't keep anything about you" in out
    async with services.database.transaction() as repo:
        assert await repo.people.person_for_update(CHANNEL, "ana", create=False) is None


async def test_numbers_without_buttons_are_plain_text(services: Services) -> None:
    code, out = await chat(services, "2\n2\n7\n")  # declined: there is nothing to pick any more
    assert code == 0
    assert "Let's get acquainted first: send /start." in out


async def test_a_stray_message_after_declining_creates_no_one(services: Services) -> None:
    code, out = await chat(services, "2\n2\nhi there\n/mydata\n")
    assert code == 0
    assert "Let's get acquainted first: send /start." in out
    assert "I haven't stored anything about you" in out
    async with services.database.transaction() as repo:
        assert await repo.people.person_for_update(CHANNEL, "ana", create=False) is None


async def test_several_numbers_at_a_single_choice_answer_nothing(services: Services) -> None:
    await chat(services, ONBOARD_EN)
    before = await stored(services, "ana")
    code, out = await chat(services, "2 3\n")
    assert code == 0
    assert CHOOSE_1_TO_5 in out
    assert await stored(services, "ana") == before


# -- the terminal as a full channel: the command table, --lang, Ctrl-C ------------------------------

UNKNOWN = "I don't know that command."


async def make_role(services: Services, user: str, role: Role) -> None:
    async with services.database.transaction() as repo:
        person = await repo.people.person_for_update(CHANNEL, user, create=False)
        assert person is not None
        person.role = role
        await repo.people.save_person(person)


def help_commands(out: str) -> list[str]:
    """The commands /help listed: lines that start with a slash and a name."""
    return [line.split(" ", 1)[0][1:] for line in out.splitlines() if re.match(r"^/[a-z]+ – ", line)]


@pytest.mark.parametrize("role", [Role.EMPLOYEE, Role.CHAMPION, Role.ADMIN])
async def test_help_in_the_terminal_lists_exactly_the_table_s_commands(
    services: Services, role: Role
) -> None:
    await chat(services, ONBOARD_EN)
    await make_role(services, "ana", role)
    _, out = await chat(services, "/help\n")
    assert help_commands(out) == [c.name for c in commands.visible(role, commands.TERMINAL)]
    # What is not for the terminal (files, Telegram links) is not shown.
    assert not {"report", "export", "invite"} & set(help_commands(out))


async def test_every_command_of_the_table_works_in_the_terminal(services: Services) -> None:
    await chat(services, ONBOARD_EN)
    await make_role(services, "ana", Role.ADMIN)
    for spec in commands.TABLE:
        code, out = await chat(services, f"/{spec.name}\n")
        assert code == 0
        works = commands.TERMINAL in spec.channels
        assert (UNKNOWN not in out) == works, f"/{spec.name}: in the table for the terminal: {works}\n{out}"
    # The desk's commands answer as in Telegram.
    _, out = await chat(services, "/sessions\n")
    assert "Upcoming sessions" in out and "Nothing planned yet." in out
    _, out = await chat(services, "/roles\n")
    assert "Champions and admins" in out


async def test_scheduling_works_in_the_terminal(services: Services) -> None:
    await chat(services, ONBOARD_EN)
    await make_role(services, "ana", Role.CHAMPION)
    _, out = await chat(services, "/schedule\n1\n")
    assert UNKNOWN not in out
    assert "1. Inspiration session" in out or "Inspiration" in out
    assert "When is it?" in out or "When" in out


async def test_lang_skips_the_language_question(services: Services) -> None:
    stream, out = io.StringIO("1\n"), io.StringIO()
    visitor = Visitor(CHANNEL, "bo", "nl")
    code = await TerminalChat(Router.around(services.coach), visitor, stream, out, language_given=True).run()
    assert code == 0
    text = out.getvalue()
    assert "Hoi! Ik ben je Social Business Coach" in text
    assert "In welke taal" not in text and "Which language" not in text
    assert "Even over privacy" in text
    kept = await stored(services, "bo")
    assert kept.consent  # "1" answered the privacy question, not the language one
    assert ("language", "nl", None) in [a[:3] for a in kept.answers]


@pytest.mark.parametrize("typed", ["5.", "5)", " 5. "])
async def test_numbers_as_options_are_shown_are_accepted(services: Services, typed: str) -> None:
    await chat(services, ONBOARD_EN)
    _, out = await chat(services, typed + "\n")
    assert "2/9" in out
    assert (await stored(services, "ana")).answers[-1][:2] == ("who_uses", "everyone")


async def test_wrong_input_says_what_is_possible_and_shows_the_question_again(services: Services) -> None:
    await chat(services, ONBOARD_EN)
    _, out = await chat(services, "9\n")
    after = out.split(CHOOSE_1_TO_5, 1)[1]
    assert "1/9" in after  # the question again, with its options
    assert "  5. " in after


async def test_after_forget_the_goodbye_does_not_claim_answers_are_kept(services: Services) -> None:
    await chat(services, ONBOARD_EN + "5\n")
    _, out = await chat(services, "/forget\n1\n")
    assert "Your answers are saved" not in out
    assert "I keep nothing about you" in out
    async with services.database.transaction() as repo:
        assert await repo.people.person_for_update(CHANNEL, "ana", create=False) is None


def test_one_ctrl_c_ends_coachbot_chat_with_a_goodbye(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "chat", "--user", "cleo", "--lang", "en"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=PROJECT_ROOT,
        text=True,
    )
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + 60
    while "> " not in seen and time.monotonic() < deadline:
        seen += process.stdout.read(1)
    assert "A word on privacy" in seen
    process.send_signal(signal.SIGINT)  # once
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Goodbye!" in out
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANG": "nl_NL.UTF-8"}, "nl"),
        ({"LANG": "en_GB.UTF-8"}, "en"),
        ({"LC_ALL": "nl_BE.UTF-8", "LANG": "en_US.UTF-8"}, "nl"),  # LC_ALL wins, as in POSIX
        ({"LC_MESSAGES": "en_US", "LANG": "nl_NL"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, None),  # a language the coach does not speak
        ({"LANG": "C.UTF-8"}, None),
        ({}, None),
    ],
)
def test_the_locale_names_the_greeting_language(environ: dict[str, str], expected: str | None) -> None:
    assert system_language(environ) == expected


def test_without_lang_the_greeting_follows_the_locale_and_the_language_is_still_asked(tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LC_")},
        "LANG": "nl_NL.UTF-8",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'chat.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "chat", "--user", "dirk"],
        input="",
        capture_output=True,
        env=env,
        cwd=PROJECT_ROOT,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Hoi! Ik ben je Social Business Coach" in done.stdout
    assert "In welke taal wil je verder?" in done.stdout
    assert "Hi! I'm your" not in done.stdout


@pytest.mark.parametrize(
    ("lang", "claims"),
    [
        (
            "nl",
            (
                "groepen van minstens 5 mensen",
                "alleen over wie die maand de check deed",
                "één keer gepubliceerd en daarna bewaard",
                "met een afdelingslink voor je borg staat",
                "/forget wist het meteen. Totalen die al gepubliceerd zijn, blijven",
            ),
        ),
        (
            "en",
            (
                "groups of at least 5 people",
                "count only the people who did the check that month",
                "published once and then kept as they were",
                "vouched for you with a department link",
                "/forget erases it at once. Totals published before stay",
            ),
        ),
    ],
)
async def test_privacy_says_what_is_protected_and_how(
    services: Services, lang: str, claims: tuple[str, ...]
) -> None:
    """Issue 14: /privacy names the threshold, what a month is, releases kept over time, vouching, and
    what /forget does to totals already published, in both languages."""
    _, out = await chat(services, "/privacy\n", user=f"reader-{lang}", lang=lang)
    text = " ".join(out.split())
    for claim in claims:
        assert claim in text, claim
