"""The dialogue engine on its own: turns on plain values, no database, no channel.

Positions are versioned the way storage does it (each accepted turn adds one), so stale taps are
tested against realistic versions.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import PROJECT_ROOT
from bot.domain import Position
from bot.engine.choice_token import CALLBACK_DATA_LIMIT, LARGEST_VERSION, ChoiceToken, token_size
from bot.engine.engine import DialogueEngine, clean_text, idle_position
from bot.engine.events import DONE, MAX_TEXT, Begin, Choose, Notice, OptionView, Prompt, Say, TurnResult
from bot.engine.loader import load_dialogues
from bot.engine.machine import DialogueMachine
from bot.engine.spec import END, Condition, Dialogue, Option, Rule, Step

CHECK_STEPS = (
    "who_uses",
    "top_uses",
    "where_sits",
    "policy",
    "with_customers",
    "customer_service",
    "customers_improve",
    "internal_use",
    "own_use",
)


@pytest.fixture(scope="module")
def engine() -> DialogueEngine:
    dialogues, problems = load_dialogues(PROJECT_ROOT / "dialogues")
    assert problems == []
    return DialogueEngine(dialogues)


def stored(result: TurnResult) -> Position:
    """What storage hands back for an accepted turn: the same position, one version later."""
    assert result.problem is None, result.problem
    return dataclasses.replace(result.position, version=result.position.version + 1)


def tap(engine: DialogueEngine, position: Position, option: str, **kwargs: object) -> TurnResult:
    step = engine.current_step(position)
    assert step is not None
    return engine.turn(position, Choose(position.version, step.id, option), **kwargs)  # type: ignore[arg-type]


def walk(engine: DialogueEngine, position: Position, options: Sequence[str]) -> Position:
    for option in options:
        position = stored(tap(engine, position, option))
    return position


def onboarded(engine: DialogueEngine, person_id: int = 1, standing: str = "employee") -> Position:
    """Through onboarding (consent yes) into the first question of the check."""
    position = stored(engine.turn(idle_position(person_id), Begin("onboarding")))
    return walk(engine, position, ["en", "yes", standing, "none"])


def prompt_of(result: TurnResult) -> Prompt:
    prompts = [r for r in result.replies if isinstance(r, Prompt)]
    assert len(prompts) == 1
    return prompts[0]


# -- the shared machine ---------------------------------------------------------------------------


def test_machines_hold_no_person_between_turns(engine: DialogueEngine) -> None:
    assert all(m.attached == 0 for m in engine.machines.values())
    scripts = {
        1: ["nl", "yes", "employee", "none", "nobody", "no", "nowhere", "none", "not_yet"],
        2: ["en", "yes", "middle_manager", "none", "everyone", "actively", "strategy", "living"],
        3: ["en", "no"],
        4: ["nl", "yes", "top_management", "none", *["one_department", "some", "one_team"]],
    }
    positions = {pid: stored(engine.turn(idle_position(pid), Begin("onboarding"))) for pid in scripts}
    turns = 0
    for index in range(max(len(s) for s in scripts.values())):
        for pid, script in scripts.items():
            if index >= len(script):
                continue
            positions[pid] = stored(tap(engine, positions[pid], script[index]))
            turns += 1
            assert [m.attached for m in engine.machines.values()] == [0] * len(engine.machines)
    assert turns == sum(len(s) for s in scripts.values())
    # Each person ended where their own answers led, though they shared the machines.
    assert positions[1].state == "customer_service"
    assert positions[2].state == "with_customers"
    assert (positions[3].dialogue, positions[3].state) == ("onboarding", END)
    assert positions[4].state == "policy"


def test_machine_advance_follows_conditions_and_attaches_nothing() -> None:
    dialogue = Dialogue(
        id="d",
        start="a",
        steps={
            "a": Step(
                "a",
                "choice",
                "t/a",
                options=(Option("x", {"nl": "x", "en": "x"}), Option("y", {"nl": "y", "en": "y"})),
                next=(Rule("b", Condition({"a": frozenset({"x"})})), Rule(END)),
            ),
            "b": Step("b", "info", "t/b", next=(Rule(END),)),
        },
    )
    machine = DialogueMachine(dialogue)
    assert machine.advance("a", {"a": "x"}) == "b"
    assert machine.advance("a", {"a": "y"}) == END
    assert machine.advance("a", {}) == END
    assert machine.advance("b", {}) == END
    assert machine.attached == 0


# -- refusals leave the position as it was -----------------------------------------------------


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda p: Choose(p.version - 1, "who_uses", "nobody"), "stale"),
        (lambda p: Choose(p.version + 1, "who_uses", "nobody"), "stale"),
        (lambda p: Choose(p.version, "top_uses", "no"), "stale"),
        (lambda p: Choose(p.version, "language", "en"), "stale"),
        (lambda p: Choose(p.version, "who_uses", "bogus"), "unknown_option"),
        (lambda p: Choose(p.version, "who_uses", DONE), "unknown_option"),
    ],
    ids=["old-version", "future-version", "wrong-step", "earlier-step", "forged-option", "done-on-choice"],
)
def test_refused_choices_leave_position_unchanged(engine: DialogueEngine, change, problem) -> None:
    position = onboarded(engine)
    assert position.state == "who_uses"
    before = copy.deepcopy(position)
    result = engine.turn(position, change(position))
    assert result.problem == problem
    assert result.position == before
    assert position == before
    assert result.answers == ()
    assert not result.changed


def test_old_keyboard_is_refused_after_the_person_moved_on(engine: DialogueEngine) -> None:
    position = onboarded(engine)
    old_version = position.version
    moved = stored(tap(engine, position, "nobody"))
    # The same button pressed again (a double tap, or an old message) must not answer top_uses.
    result = engine.turn(moved, Choose(old_version, "who_uses", "everyone"))
    assert result.problem == "stale"
    assert result.position == moved


def test_events_when_idle_or_for_unknown_dialogue(engine: DialogueEngine) -> None:
    idle = idle_position(9)
    assert engine.turn(idle, Say("hello")).problem == "idle"
    assert engine.turn(idle, Choose(0, "who_uses", "nobody")).problem == "idle"
    assert engine.turn(idle, Begin("no_such_dialogue")).problem == "unknown_dialogue"
    assert engine.prompt_for(idle) is None


# -- multi-select ---------------------------------------------------------------------------------


def at_fears(engine: DialogueEngine) -> Position:
    position = onboarded(engine)
    position = walk(engine, position, ["nobody", "no", "nowhere", "none", "not_yet", "no", "no", "email"])
    position = stored(tap(engine, position, "never"))
    assert (position.dialogue, position.state) == ("fears", "fears")
    return position


def selected(result: TurnResult) -> list[str]:
    return [o.key for o in prompt_of(result).options if o.selected]


def test_multi_select_toggles_on_and_off(engine: DialogueEngine) -> None:
    position = at_fears(engine)
    first = tap(engine, position, "time_loss")
    assert first.toggled
    assert first.answers == ()
    assert selected(first) == ["time_loss"]
    position = stored(first)
    position = stored(second := tap(engine, position, "security"))
    assert selected(second) == ["time_loss", "security"]
    third = tap(engine, position, "time_loss")
    assert selected(third) == ["security"]
    assert third.position.state == "fears"  # toggling never leaves the step


def test_exclusive_none_clears_others_and_is_cleared_by_them(engine: DialogueEngine) -> None:
    position = at_fears(engine)
    position = walk(engine, position, ["time_loss", "role_loss"])
    result = tap(engine, position, "none")
    assert selected(result) == ["none"]
    position = stored(result)
    result = tap(engine, position, "security")
    assert selected(result) == ["security"]


def test_done_with_nothing_selected_asks_to_pick_one(engine: DialogueEngine) -> None:
    position = at_fears(engine)
    before = copy.deepcopy(position)
    result = tap(engine, position, DONE)
    assert result.problem == "pick_one"
    assert result.position == before
    # Ticking and unticking again leaves nothing selected: still pick_one.
    position = walk(engine, position, ["security", "security"])
    assert tap(engine, position, DONE).problem == "pick_one"


def test_done_records_each_selected_option_and_moves_on(engine: DialogueEngine) -> None:
    position = walk(engine, at_fears(engine), ["unwanted_messages", "role_loss"])
    result = tap(engine, position, DONE)
    assert [(a.question, a.option) for a in result.answers] == [
        ("fears", "unwanted_messages"),
        ("fears", "role_loss"),
    ]
    assert result.chosen == ("unwanted_messages", "role_loss")
    assert result.position.state == "causes"
    assert result.position.values["answers"]["fears"] == ["unwanted_messages", "role_loss"]
    assert "fears" not in result.position.values["selected"]
    assert selected(result) == []  # the causes step starts with nothing ticked


def test_unknown_option_on_multi_step_is_refused(engine: DialogueEngine) -> None:
    position = at_fears(engine)
    result = tap(engine, position, "middle_managers")  # a causes key, not a fears key
    assert result.problem == "unknown_option"
    assert result.position == position


# -- typed input ----------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["English", "english", "  ENGLISH  ", "Nederlands"])
def test_typed_label_counts_as_that_choice(engine: DialogueEngine, typed: str) -> None:
    position = stored(engine.turn(idle_position(1), Begin("onboarding")))
    result = engine.turn(position, Say(typed))
    assert result.problem is None
    expected = "en" if "english" in typed.lower() else "nl"
    assert result.chosen == (expected,)
    assert result.position.values["profile"]["language"] == expected
    assert result.position.state == "privacy"


def test_typed_label_in_the_other_language_also_counts(engine: DialogueEngine) -> None:
    position = onboarded(engine)
    result = engine.turn(position, Say("Bijna iedereen"))  # the nl label of who_uses/everyone
    assert result.chosen == ("everyone",)


def test_typed_department_name_counts_as_that_department(engine: DialogueEngine) -> None:
    position = stored(engine.turn(idle_position(1), Begin("onboarding")))
    position = walk(engine, position, ["en", "yes", "employee"])
    dynamic = {"departments": [OptionView("d7", {"nl": "Verkoop", "en": "Verkoop"})]}
    prompt = engine.prompt_for(position, dynamic)
    assert prompt is not None
    assert [o.key for o in prompt.options] == ["d7", "none"]
    result = engine.turn(position, Say("verkoop"), dynamic=dynamic)
    assert result.chosen == ("d7",)
    assert result.position.values["profile"]["department"] == "d7"


@pytest.mark.parametrize("typed", ["hello", "1", "Almost", "English please", ""])
def test_free_text_at_a_choice_step_expects_a_tap(engine: DialogueEngine, typed: str) -> None:
    position = onboarded(engine)
    result = engine.turn(position, Say(typed))
    assert result.problem == "tap_expected"
    assert result.position == position


def test_typed_label_does_not_toggle_a_multi_step(engine: DialogueEngine) -> None:
    position = at_fears(engine)
    result = engine.turn(position, Say("Network security"))
    assert result.problem == "tap_expected"
    assert result.position == position


def at_text_step(engine: DialogueEngine) -> Position:
    position = walk(engine, at_fears(engine), ["none", DONE, "none", DONE])
    assert position.state == "anything_else"
    step = engine.current_step(position)
    assert step is not None
    assert step.kind == "text"
    return position


def test_text_step_accepts_text_and_finishes_the_dialogue(engine: DialogueEngine) -> None:
    position = at_text_step(engine)
    result = engine.turn(position, Say("  Our intranet is slow  "))
    assert result.problem is None
    assert [(a.question, a.option, a.text) for a in result.answers] == [
        ("anything_else", None, "Our intranet is slow")
    ]
    assert result.position.state == END
    assert result.finished == ("fears",)
    assert result.replies == ()


def test_text_step_also_takes_its_skip_button(engine: DialogueEngine) -> None:
    result = tap(engine, at_text_step(engine), "skip")
    assert [(a.option, a.text) for a in result.answers] == [("skip", None)]
    assert result.position.state == END


def test_text_step_strips_control_characters(engine: DialogueEngine) -> None:
    result = engine.turn(at_text_step(engine), Say("\x1b[31mred\x1b[0m\x00 and\x07 bell\r\n"))
    (answer,) = result.answers
    assert answer.text is not None
    assert not any(ord(ch) < 32 and ch not in "\n\t" for ch in answer.text)
    assert "\x1b" not in answer.text
    assert answer.text.startswith("[31mred")
    assert "bell" in answer.text


@pytest.mark.parametrize("typed", ["", "   ", "\x00\x01\x1b", "\t\n", "\u200b"])
def test_text_step_refuses_empty_text(engine: DialogueEngine, typed: str) -> None:
    position = at_text_step(engine)
    result = engine.turn(position, Say(typed))
    assert result.problem == "empty_text"
    assert result.position == position


def test_text_step_refuses_more_than_max_text(engine: DialogueEngine) -> None:
    position = at_text_step(engine)
    too_long = engine.turn(position, Say("x" * (MAX_TEXT + 1)))
    assert too_long.problem == "text_too_long"
    assert too_long.position == position
    assert too_long.answers == ()
    exactly = engine.turn(position, Say("x" * MAX_TEXT))
    assert exactly.problem is None
    assert exactly.answers[0].text == "x" * MAX_TEXT


def test_clean_text_keeps_newlines_and_tabs_inside() -> None:
    assert clean_text(" a\tb\nc\x0bd ") == "a\tb\nc d"


# -- moving between steps and dialogues -----------------------------------------------------------


def test_begin_shows_the_first_question(engine: DialogueEngine) -> None:
    result = engine.turn(idle_position(1), Begin("onboarding"))
    assert result.problem is None
    assert result.position.dialogue == "onboarding"
    assert result.position.state == "language"
    assert result.position.run_id == 1
    assert prompt_of(result).step == "language"
    assert [o.key for o in prompt_of(result).options] == ["nl", "en"]


def test_info_step_auto_advances_and_then_chains_to_the_check(engine: DialogueEngine) -> None:
    position = stored(engine.turn(idle_position(1), Begin("onboarding")))
    position = walk(engine, position, ["nl", "yes", "employee"])
    result = tap(engine, position, "none")  # department: the last question of onboarding
    assert [type(r) for r in result.replies] == [Notice, Prompt]
    notice, prompt = result.replies
    assert isinstance(notice, Notice)
    assert notice.template == "onboarding/ready"
    assert isinstance(prompt, Prompt)
    assert (prompt.dialogue, prompt.step) == ("phase_check", "who_uses")
    assert result.finished == ("onboarding",)
    assert (result.position.dialogue, result.position.state) == ("phase_check", "who_uses")
    # phase_check is a new run: its answers are a check of their own; the profile stays.
    assert result.position.run_id == position.run_id + 1
    assert result.position.values["profile"] == {
        "language": "nl",
        "consent": "yes",
        "standing": "employee",
        "department": "none",
    }
    assert "answers" not in result.position.values


def test_check_then_chains_to_fears(engine: DialogueEngine) -> None:
    position = onboarded(engine)
    position = walk(engine, position, ["nobody", "no", "nowhere", "none", "not_yet", "no", "no", "email"])
    result = tap(engine, position, "daily")
    assert result.finished == ("phase_check",)
    assert (result.position.dialogue, result.position.state) == ("fears", "fears")
    assert result.position.run_id == position.run_id  # fears belongs to the same check
    assert result.position.values["answers"]["own_use"] == "daily"
    assert prompt_of(result).kind == "multi"


def test_conditional_next_privacy_no_leads_to_declined(engine: DialogueEngine) -> None:
    position = stored(engine.turn(idle_position(1), Begin("onboarding")))
    position = stored(tap(engine, position, "en"))
    result = tap(engine, position, "no")
    assert [r.template for r in result.replies if isinstance(r, Notice)] == ["onboarding/declined"]
    assert not [r for r in result.replies if isinstance(r, Prompt)]
    assert result.position.state == END
    assert result.position.dialogue == "onboarding"  # `then` requires consent: no check follows
    assert result.finished == ("onboarding",)
    assert result.position.values["profile"]["consent"] == "no"


def test_conditional_next_privacy_yes_asks_standing(engine: DialogueEngine) -> None:
    position = walk(engine, stored(engine.turn(idle_position(1), Begin("onboarding"))), ["en"])
    result = tap(engine, position, "yes")
    assert prompt_of(result).step == "standing"


def test_prompt_for_re_asks_the_current_question(engine: DialogueEngine) -> None:
    position = walk(engine, onboarded(engine), ["nobody", "no", "nowhere"])
    prompt = engine.prompt_for(position)
    assert prompt is not None
    assert (prompt.dialogue, prompt.step) == ("phase_check", "policy")
    assert position.values["answers"] == {"who_uses": "nobody", "top_uses": "no", "where_sits": "nowhere"}


def test_a_whole_check_answers_every_step_once(engine: DialogueEngine) -> None:
    position = onboarded(engine)
    answered = []
    for option in ["several_departments", "unknown", "coordinated", "shared", "co_create"]:
        result = tap(engine, position, option)
        answered.extend((a.dialogue, a.question, a.option, a.run_id) for a in result.answers)
        position = stored(result)
    assert [q for _, q, _, _ in answered] == list(CHECK_STEPS[:5])
    assert {d for d, _, _, _ in answered} == {"phase_check"}
    assert {r for _, _, _, r in answered} == {position.run_id}


def test_synthetic_dialogue_with_chained_info_steps_and_conditional_then() -> None:
    label = {"nl": "x", "en": "x"}
    first = Dialogue(
        id="first",
        start="intro",
        steps={
            "intro": Step("intro", "info", "t/intro", next=(Rule("more"),)),
            "more": Step("more", "info", "t/more", next=(Rule("pick"),)),
            "pick": Step(
                "pick",
                "choice",
                "t/pick",
                options=(Option("go", label), Option("stay", label)),
                next=(Rule(END),),
            ),
        },
        then=(Rule("second", Condition({"pick": frozenset({"go"})})),),
    )
    second = Dialogue(
        id="second",
        start="bye",
        new_run=True,
        steps={"bye": Step("bye", "info", "t/bye", next=(Rule(END),))},
    )
    engine = DialogueEngine({"first": first, "second": second})
    begun = engine.turn(idle_position(1), Begin("first"))
    assert [getattr(r, "template", None) for r in begun.replies] == ["t/intro", "t/more", "t/pick"]
    position = stored(begun)
    go = engine.turn(position, Choose(position.version, "pick", "go"))
    assert go.finished == ("first", "second")
    assert [r.template for r in go.replies] == ["t/bye"]
    assert (go.position.dialogue, go.position.state) == ("second", END)
    assert go.position.run_id == 2
    stay = engine.turn(position, Choose(position.version, "pick", "stay"))
    assert stay.finished == ("first",)
    assert (stay.position.dialogue, stay.position.state) == ("first", END)


def test_condition_on_a_multi_answer_matches_any_shared_value() -> None:
    condition = Condition({"fears": frozenset({"security"})})
    assert condition.holds({"fears": ["time_loss", "security"]})
    assert not condition.holds({"fears": ["time_loss"]})
    assert not condition.holds({})
    assert Condition({"consent": frozenset({"yes"})}).holds({"consent": "yes"})


# -- the choice token -----------------------------------------------------------------------------

step_ids = st.from_regex(r"[a-z][a-z0-9_]{0,23}", fullmatch=True)


@given(version=st.integers(0, LARGEST_VERSION), step=step_ids, option=step_ids)
def test_choice_token_round_trips(version: int, step: str, option: str) -> None:
    token = ChoiceToken(version, step, option)
    data = token.encode()
    if len(data.encode()) <= CALLBACK_DATA_LIMIT:
        assert ChoiceToken.decode(data) == token
    else:
        assert ChoiceToken.decode(data) is None


@given(st.text())
def test_choice_token_decode_never_raises(data: str) -> None:
    decoded = ChoiceToken.decode(data)
    assert decoded is None or isinstance(decoded, ChoiceToken)


#: Digits of every script, superscripts and fractions: str.isdigit() accepts some that int() refuses.
any_digits = st.text(alphabet=st.characters(categories=("Nd", "No", "Nl")), min_size=1)


@given(st.one_of(st.text(), any_digits), st.text(), st.text())
def test_choice_token_decode_never_raises_on_token_like_data(a: str, b: str, c: str) -> None:
    decoded = ChoiceToken.decode(f"c{a}|{b}|{c}")
    if decoded is not None:
        assert decoded.version >= 0
        assert decoded.step
        assert decoded.option
        assert len(decoded.encode().encode()) <= CALLBACK_DATA_LIMIT


@pytest.mark.parametrize(
    "data",
    [
        "",
        "c",
        "x1|who_uses|nobody",
        "c|who_uses|nobody",
        "c-1|who_uses|nobody",
        "c1.5|who_uses|nobody",
        "c²|who_uses|nobody",
        "c١|who_uses|nobody",
        "c1||nobody",
        "c1|who_uses|",
        "c1|who_uses",
        "c1|who_uses|nobody|extra",
        "a|forget|yes",
        "c1|who_uses|" + "x" * 60,
    ],
)
def test_choice_token_rejects_malformed_data(data: str) -> None:
    assert ChoiceToken.decode(data) is None


def test_every_shipped_option_fits_telegram_callback_data(engine: DialogueEngine) -> None:
    for dialogue in engine.dialogues.values():
        for step in dialogue.steps.values():
            keys = [o.key for o in step.options] + ([DONE] if step.kind == "multi" else [])
            for key in keys:
                assert token_size(step.id, key) <= CALLBACK_DATA_LIMIT, (step.id, key)


# -- noting topics heard in typed text (bot/typed_answers.py) -------------------------------------


def at_anything_else(engine: DialogueEngine) -> Position:
    """Fears: unwanted messages; causes: none of these; now at the free-text step."""
    position = walk(engine, at_fears(engine), ["unwanted_messages", DONE, "none", DONE])
    assert position.state == "anything_else"
    return position


def test_noted_topics_join_their_steps_as_taps_and_keep_no_text(engine: DialogueEngine) -> None:
    position = at_anything_else(engine)
    position.values["heard"] = {"step": "anything_else", "topics": ["fears.time_loss"], "picked": None}
    result = engine.note(
        position, "anything_else", {"fears": ["time_loss"], "causes": ["middle_managers", "nonsense"]}
    )
    assert result.problem is None
    assert [(a.dialogue, a.question, a.option, a.text) for a in result.answers] == [
        ("fears", "fears", "time_loss", None),
        ("fears", "causes", "middle_managers", None),
    ]
    answers = result.position.values["answers"]
    assert answers["fears"] == ["unwanted_messages", "time_loss"]
    assert answers["causes"] == ["middle_managers"]  # "none of these" gave way; an unknown key is left out
    assert answers["anything_else"] is None
    assert "heard" not in result.position.values
    assert result.finished == ("fears",)
    assert position.values["answers"]["causes"] == ["none"]  # the caller's position is untouched


def test_noting_nothing_answers_the_step_and_logs_nothing(engine: DialogueEngine) -> None:
    result = engine.note(at_anything_else(engine), "anything_else", {})
    assert result.problem is None and result.answers == () and result.position.state == END


@pytest.mark.parametrize("step", ["fears", "who_uses", "nonsense"])
def test_noting_for_another_step_than_the_current_one_is_stale(engine: DialogueEngine, step: str) -> None:
    position = at_anything_else(engine) if step != "fears" else at_fears(engine)
    result = engine.note(position, "anything_else" if step == "fears" else step, {"fears": ["time_loss"]})
    assert result.problem == "stale" and result.position == position
