"""How few Bot API calls an outcome needs: the next question folded into the pressed message's
edit, adjacent short messages joined; the advice and long texts keep messages of their own."""

from __future__ import annotations

from bot.channels.telegram.delivery import JOIN_LIMIT, folded, joined
from bot.conversation import Button, Edit, Message

ROW = ((Button("Yes", "c1|q|yes"),),)


def test_the_next_question_is_folded_under_the_answered_one():
    edit, rest = folded(Edit("Q1\n\n✅ <b>Yes</b>"), [Message("2/9 Q2", ROW, question=True)])
    assert edit == Edit("Q1\n\n✅ <b>Yes</b>\n\n2/9 Q2", ROW)
    assert rest == []


def test_an_intro_and_the_question_after_it_fold_as_one():
    edit, rest = folded(Edit("Q"), [Message("Nine short questions."), Message("1/9 Q1", ROW, question=True)])
    assert edit is not None and edit.text == "Q\n\nNine short questions.\n\n1/9 Q1" and edit.buttons == ROW
    assert rest == []


def test_the_advice_keeps_a_message_of_its_own():
    advice = Message("Where you stand …", ((Button("Why?", "a|why|1"),),))
    edit, rest = folded(Edit("Anything else?\n\n✅ <b>Skip</b>"), [advice])
    assert edit == Edit("Anything else?\n\n✅ <b>Skip</b>")
    assert rest == [advice]


def test_nothing_is_folded_past_a_phone_screen_or_into_a_keyboard_edit():
    long_question = Message("x" * JOIN_LIMIT, ROW, question=True)
    assert folded(Edit("Q1"), [long_question]) == (Edit("Q1"), [long_question])
    ticks = Edit(None, ROW)  # a multi-select's new ticks: only the keyboard changes
    question = Message("Q2", ROW, question=True)
    assert folded(ticks, [question]) == (ticks, [question])


def test_adjacent_messages_are_joined_only_after_one_without_buttons():
    first, second, third = Message("a"), Message("b", ROW), Message("c")
    assert joined([first, second, third]) == [Message("a\n\nb", ROW), third]
    assert joined([Message("x" * JOIN_LIMIT), second]) == [Message("x" * JOIN_LIMIT), second]
