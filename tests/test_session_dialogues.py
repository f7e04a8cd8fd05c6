"""The champions' dialogues (dialogues/session_*.yaml) on the engine alone: values typed and parsed,
options from data, finish actions named, and the check's guarantees: a restart (a fresh engine on
the stored position) resumes where it stood, and a button of an earlier question, or of the other
dialogue, is stale. No database, no channel: positions are versioned as storage does it.
"""

from __future__ import annotations

import dataclasses

import pytest

from bot import PROJECT_ROOT
from bot.domain import Position
from bot.engine.engine import DialogueEngine, Parsers, idle_position
from bot.engine.events import DONE, Begin, Choose, OptionView, Prompt, Refusal, Say, TurnResult
from bot.engine.loader import load_dialogues
from bot.engine.spec import END
from bot.storage.models import SESSION_PLACE_MAX

DEPARTMENTS = [OptionView("d1", {"nl": "Sales", "en": "Sales"}), OptionView("d2", {"nl": "HR", "en": "HR"})]
ME, ANNA = 7, 8


def champions(*, locked: bool) -> list[OptionView]:
    return [
        OptionView(f"p{ME}", {"nl": "Jij", "en": "You"}, locked=locked),
        OptionView(f"p{ANNA}", {"nl": "Anna", "en": "Anna"}),
    ]


DYNAMIC = {"departments": DEPARTMENTS, "champions": champions(locked=False)}
#: The caller's date-and-time parser, reduced to what the engine needs: a value or a refusal.
PARSERS: Parsers = {
    "local_time": lambda text: (
        "2030-01-02T13:00:00+00:00" if text == "2-1-2030 14:00" else Refusal("champions/when_unreadable")
    )
}


def load() -> DialogueEngine:
    """A fresh engine, as after a restart: nothing of a person lives in it between turns."""
    dialogues, problems = load_dialogues(PROJECT_ROOT / "dialogues")
    assert problems == []
    return DialogueEngine(dialogues)


@pytest.fixture(scope="module")
def engine() -> DialogueEngine:
    return load()


def stored(result: TurnResult) -> Position:
    """What storage hands back for an accepted turn: the same position, one version later."""
    assert result.problem is None, result.problem
    return dataclasses.replace(result.position, version=result.position.version + 1)


def tap(engine: DialogueEngine, position: Position, option: str, dynamic=DYNAMIC) -> TurnResult:
    step = engine.current_step(position)
    assert step is not None
    return engine.turn(position, Choose(position.version, step.id, option), dynamic=dynamic)


def say(engine: DialogueEngine, position: Position, text: str) -> TurnResult:
    return engine.turn(position, Say(text), dynamic=DYNAMIC, parsers=PARSERS)


def mid_check(engine: DialogueEngine) -> Position:
    """Someone two questions into the check."""
    position = dataclasses.replace(idle_position(ME), version=5)
    position = stored(engine.turn(position, Begin("phase_check")))
    position = stored(tap(engine, position, "nobody"))
    assert position.state == "top_uses"
    return position


def to_confirm(engine: DialogueEngine, position: Position) -> Position:
    position = stored(engine.turn(position, Begin("session_schedule"), dynamic=DYNAMIC))
    position = stored(tap(engine, position, "workshop"))
    position = stored(say(engine, position, "2-1-2030 14:00"))
    position = stored(say(engine, position, "  Room   4.12 "))
    position = stored(tap(engine, position, "d2"))
    position = stored(tap(engine, position, DONE))
    position = stored(tap(engine, position, f"p{ANNA}"))
    position = stored(tap(engine, position, DONE))
    assert position.state == "session_confirm"
    return position


def test_scheduling_reads_values_and_names_its_finish_action(engine: DialogueEngine) -> None:
    position = to_confirm(engine, idle_position(ME))
    answers = position.values["answers"]
    assert answers["session_kind"] == "workshop"
    assert answers["session_when"] == "2030-01-02T13:00:00+00:00"  # the parser's value, not the text
    assert answers["session_place"] == "Room 4.12"  # blanks folded
    assert answers["session_departments"] == ["d2"] and answers["session_champions"] == [f"p{ANNA}"]
    done = tap(engine, position, "yes")
    assert done.finished == ("session_schedule",)
    assert engine.dialogues["session_schedule"].on_finish == "schedule_session"
    assert done.done_values["answers"]["session_place"] == "Room 4.12"
    assert engine.current_step(done.position) is None  # idle again: nothing was interrupted


def test_typed_problems_keep_the_step_and_say_why(engine: DialogueEngine) -> None:
    position = stored(engine.turn(idle_position(ME), Begin("session_schedule"), dynamic=DYNAMIC))
    position = stored(tap(engine, position, "inspiration"))
    refused = say(engine, position, "next week")
    assert refused.problem == "invalid_value" and refused.position == position
    assert refused.refusal == Refusal("champions/when_unreadable")
    position = stored(say(engine, position, "2-1-2030 14:00"))
    for text in ("", "   ", "x" * (SESSION_PLACE_MAX + 1)):
        refused = say(engine, position, text)
        assert refused.problem == "invalid_value" and refused.position == position
        assert refused.refusal == Refusal("champions/place_invalid", {"limit": SESSION_PLACE_MAX})
    assert say(engine, position, "x" * SESSION_PLACE_MAX).problem is None


def test_the_place_bound_is_the_columns(engine: DialogueEngine) -> None:
    assert engine.dialogues["session_schedule"].steps["session_place"].maximum == SESSION_PLACE_MAX


def test_headcounts_are_bounded_and_wanted_never_exceeds_attended(engine: DialogueEngine) -> None:
    begin = Begin("session_followup", {"session": 3, "asks_workshop": "yes"})
    position = stored(engine.turn(idle_position(ME), begin))
    for text in ("-1", "1.5", "twelve", "²", "100001", ""):
        refused = say(engine, position, text)
        assert refused.problem == "invalid_value", text
        assert refused.refusal == Refusal("champions/number_invalid", {"limit": 100_000})
    position = stored(say(engine, position, " 14 "))
    assert position.state == "followup_wanted"
    refused = say(engine, position, "15")
    assert refused.refusal == Refusal("champions/number_invalid", {"limit": 14})
    done = say(engine, position, "14")
    assert done.finished == ("session_followup",)
    assert done.done_values["answers"] == {"followup_attended": 14, "followup_wanted": 14}
    assert done.done_values["given"] == {"session": 3, "asks_workshop": "yes"}


def test_a_workshop_followup_asks_only_how_many_came(engine: DialogueEngine) -> None:
    position = stored(
        engine.turn(idle_position(ME), Begin("session_followup", {"session": 3, "asks_workshop": "no"}))
    )
    done = say(engine, position, "9")
    assert done.finished == ("session_followup",) and "followup_wanted" not in done.done_values["answers"]


def test_the_whole_organisation_answers_at_once_and_no_tick_means_the_same(engine: DialogueEngine) -> None:
    position = stored(engine.turn(idle_position(ME), Begin("session_schedule"), dynamic=DYNAMIC))
    position = stored(tap(engine, position, "inspiration"))
    position = stored(say(engine, position, "2-1-2030 14:00"))
    position = stored(say(engine, position, "Room"))
    ticked = stored(tap(engine, position, "d1"))
    whole = tap(engine, ticked, "all")
    assert whole.position.state == "session_champions" and whole.chosen == ("all",)
    nothing = tap(engine, position, DONE)
    assert nothing.position.state == "session_champions" and nothing.chosen == ()


def test_the_champion_who_schedules_is_ticked_and_cannot_be_untied(engine: DialogueEngine) -> None:
    mine = {"departments": DEPARTMENTS, "champions": champions(locked=True)}
    position = stored(engine.turn(idle_position(ME), Begin("session_schedule"), dynamic=mine))
    position = stored(tap(engine, position, "inspiration", mine))
    position = stored(say(engine, position, "2-1-2030 14:00"))
    position = stored(say(engine, position, "Room"))
    position = stored(tap(engine, position, DONE, mine))
    prompt = engine.prompt_for(position, mine)
    assert prompt is not None and [o.selected for o in prompt.options] == [True, False]
    assert tap(engine, position, f"p{ME}", mine).problem == "locked"
    done = tap(engine, position, DONE, mine)  # nothing else ticked: they alone run it
    assert done.position.state == "session_confirm" and done.chosen == (f"p{ME}",)
    # An admin schedules for others: nobody ticked is refused.
    assert tap(engine, position, DONE, DYNAMIC).problem == "pick_one"


def test_a_restart_resumes_every_session_dialogue_where_it_stood() -> None:
    before = load()
    position = stored(before.turn(idle_position(ME), Begin("session_schedule"), dynamic=DYNAMIC))
    position = stored(tap(before, position, "workshop"))
    after = load()  # the process restarted; the stored position is all there is
    prompt = after.prompt_for(position, DYNAMIC)
    assert prompt is not None and prompt.template == "champions/ask_when"
    assert after.turn(position, Say("2-1-2030 14:00"), parsers=PARSERS).position.state == "session_place"
    moving = stored(before.turn(idle_position(ME), Begin("session_move", {"session": 4})))
    moving = stored(say(before, moving, "2-1-2030 14:00"))
    assert load().prompt_for(moving).template == "champions/confirm"  # type: ignore[union-attr]
    assert tap(load(), moving, "yes").finished == ("session_move",)
    following = stored(
        before.turn(idle_position(ME), Begin("session_followup", {"session": 4, "asks_workshop": "yes"}))
    )
    following = stored(say(before, following, "3"))
    assert load().prompt_for(following).template == "champions/followup_ask_wanted"  # type: ignore[union-attr]


def test_an_earlier_buttons_press_is_stale_in_every_session_dialogue(engine: DialogueEngine) -> None:
    first = stored(engine.turn(idle_position(ME), Begin("session_schedule"), dynamic=DYNAMIC))
    later = stored(tap(engine, first, "workshop"))
    later = stored(say(engine, later, "2-1-2030 14:00"))
    later = stored(say(engine, later, "Room"))
    old = engine.turn(later, Choose(first.version, "session_kind", "inspiration"), dynamic=DYNAMIC)
    assert old.problem == "stale" and old.position == later
    ticked = stored(tap(engine, later, "d1"))
    # The keyboard before the tick is stale too: the ticks were made on a newer one.
    assert (
        engine.turn(ticked, Choose(later.version, "session_departments", "d2"), dynamic=DYNAMIC).problem
        == "stale"
    )
    confirm = to_confirm(engine, idle_position(ME))
    done = stored(tap(engine, confirm, "yes"))
    assert engine.turn(done, Choose(confirm.version, "session_confirm", "yes")).problem == "idle"
    moving = stored(engine.turn(idle_position(ME), Begin("session_move", {"session": 4})))
    moving_on = stored(say(engine, moving, "2-1-2030 14:00"))
    assert engine.turn(moving_on, Choose(moving.version, "move_confirm", "yes")).problem == "stale"


def test_scheduling_mid_check_keeps_the_check_and_hands_it_back(engine: DialogueEngine) -> None:
    check = mid_check(engine)
    answers_so_far = check.values["answers"]
    confirm = to_confirm(engine, check)
    assert confirm.run_id == check.run_id  # an aside starts no new run of the check
    done = tap(engine, confirm, "yes")
    back = done.position
    assert (back.dialogue, back.state, back.values["answers"]) == ("phase_check", "top_uses", answers_so_far)
    assert [r.step for r in done.replies if isinstance(r, Prompt)] == ["top_uses"]  # asked again
    assert done.done_values["answers"]["session_kind"] == "workshop"  # what the desk plans from
    # The check's old buttons were given before the aside: they are stale now.
    assert engine.turn(stored(done), Choose(check.version, "top_uses", "no")).problem == "stale"
    # The check's new button works and the check goes on where it was.
    resumed = stored(done)
    assert tap(engine, resumed, "no").position.state == "where_sits"


def test_the_checks_buttons_are_stale_during_scheduling_and_the_sessions_after(
    engine: DialogueEngine,
) -> None:
    check = mid_check(engine)
    scheduling = stored(engine.turn(check, Begin("session_schedule"), dynamic=DYNAMIC))
    assert engine.turn(scheduling, Choose(check.version, "top_uses", "no")).problem == "stale"
    back = stored(engine.stop(scheduling, DYNAMIC))
    assert engine.turn(back, Choose(scheduling.version, "session_kind", "workshop")).problem == "stale"


def test_stop_and_the_stop_button_resume_the_check_or_leave_idle(engine: DialogueEngine) -> None:
    check = mid_check(engine)
    scheduling = stored(engine.turn(check, Begin("session_schedule"), dynamic=DYNAMIC))
    stopped = engine.stop(scheduling, DYNAMIC)
    assert stopped.stopped == "session_schedule" and stopped.position.state == "top_uses"
    assert stopped.answers == () and stopped.finished == ()
    confirm = to_confirm(engine, check)
    by_button = tap(engine, confirm, "stop")
    assert by_button.stopped == "session_schedule" and by_button.finished == ()
    assert by_button.position.dialogue == "phase_check" and by_button.position.state == "top_uses"
    alone = engine.stop(stored(engine.turn(idle_position(ME), Begin("session_move", {"session": 1}))))
    assert engine.current_step(alone.position) is None
    assert engine.stop(alone.position).problem == "idle"


def test_a_second_aside_resumes_what_the_first_one_interrupted(engine: DialogueEngine) -> None:
    check = mid_check(engine)
    moving = stored(engine.turn(check, Begin("session_move", {"session": 4})))
    scheduling = stored(engine.turn(moving, Begin("session_schedule"), dynamic=DYNAMIC))
    back = engine.stop(scheduling, DYNAMIC).position
    assert (back.dialogue, back.state) == ("phase_check", "top_uses")


def test_revisit_asks_an_earlier_step_again_with_what_still_holds(engine: DialogueEngine) -> None:
    confirm = to_confirm(engine, idle_position(ME))
    again = engine.revisit(confirm, "session_departments", selected=["d1"], dynamic=DYNAMIC)
    assert again.position.state == "session_departments"
    (prompt,) = again.replies
    assert isinstance(prompt, Prompt) and [o.key for o in prompt.options if o.selected] == ["d1"]
    # Going on, the champions chosen before are still ticked.
    position = stored(tap(engine, stored(again), DONE))
    assert tap(engine, position, DONE).position.state == "session_confirm"
    assert engine.revisit(confirm, "nope").problem == "stale"


def test_the_session_dialogues_end_at_their_confirmation_or_numbers(engine: DialogueEngine) -> None:
    for dialogue in ("session_schedule", "session_move", "session_followup"):
        spec = engine.dialogues[dialogue]
        assert spec.aside and not spec.then
        assert all(rule.target in (*spec.steps, END) for step in spec.steps.values() for rule in step.next)
