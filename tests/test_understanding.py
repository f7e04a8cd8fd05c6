"""What the coach hears in typed text: topics, negation, typos, mixed languages, spans, and typed options.

Pure tests: no database, no Telegram. The lexicons are the project's own (knowledge/understanding/),
except where a test changes a copy to show that the lexicons are data.
"""

from __future__ import annotations

import gc
import shutil
import sys
import types
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot import PROJECT_ROOT
from bot.engine.events import OptionView
from bot.understanding import (
    ASK,
    HEARD,
    SURE,
    TAKE,
    load_lexicon,
    match_option,
    understand,
)
from bot.understanding.lexicon import FOLDER
from bot.understanding.options import step_options

STEPS = step_options(PROJECT_ROOT / "dialogues")


def ids(text: str, lang: str = "nl") -> set[str]:
    return set(understand(text, lang).ids)


# -- each topic, in both languages --------------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "topic"),
    [
        ("nl", "Ik ben bang dat het intranet een roddelplek wordt", "fears.unwanted_messages"),
        ("en", "people posting rants and gossip", "fears.unwanted_messages"),
        ("nl", "Het kost gewoon te veel tijd", "fears.time_loss"),
        ("en", "it's a huge waste of time", "fears.time_loss"),
        ("nl", "wat als er klantgegevens uitlekken", "fears.security"),
        ("en", "data breaches and phishing", "fears.security"),
        ("nl", "Als teamleider word ik straks overbodig", "fears.role_loss"),
        ("en", "my team will just bypass me", "fears.role_loss"),
        ("nl", "De middenmanagers houden het tegen", "causes.middle_managers"),
        ("en", "my boss won't let us use it", "causes.middle_managers"),
        ("nl", "Het is een feestje van de communicatieafdeling", "causes.silo"),
        ("en", "it's seen as an IT project", "causes.silo"),
        ("nl", "De directie doet zelf niet mee", "causes.culture"),
        ("en", "our culture is very top-down", "causes.culture"),
        ("nl", "Mensen durven niks te posten", "causes.fear"),
        ("en", "people are afraid to make mistakes in public", "causes.fear"),
    ],
)
def test_each_topic_is_heard_in_dutch_and_english(lang: str, text: str, topic: str) -> None:
    heard = understand(text, lang)
    assert heard.ids == (topic,)
    assert heard.topics[0].sure
    assert 0.0 <= heard.topics[0].confidence <= 1.0


def test_the_issue_examples_are_heard() -> None:
    assert ids("Mijn leidinggevende vindt het tijdverspilling") == {
        "causes.middle_managers",
        "fears.time_loss",
    }
    assert ids("Legal says no to everything & IT is slow", "en") == {"causes.silo"}


def test_several_topics_in_one_answer_are_all_heard() -> None:
    assert ids("tijdverlies, datalekken en een directie die niet meedoet") == {
        "fears.time_loss",
        "fears.security",
        "causes.culture",
    }
    assert ids("managers block it, and people are scared to post", "en") == {
        "causes.middle_managers",
        "causes.fear",
    }


# -- nothing heard ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "geen idee",
        "weet ik niet",
        "no idea",
        "haha",
        "lol 😂",
        "Wat eten we vanavond?",
        "Lekker weertje",
        "nvt",
        "",
        "   ",
        "🤷",
        "?!",
        "1234",
    ],
)
def test_off_topic_jokes_and_dont_know_give_no_topic(text: str) -> None:
    heard = understand(text, "nl")
    assert heard.topics == ()
    assert not heard


def test_short_real_words_are_not_taken_for_typos_of_topic_words() -> None:
    # "leads" is one letter from "leaks", "lekker" from "lekken", "years" from "fears".
    assert ids("team leads are great", "en") == set()
    assert ids("lekker bezig", "nl") == set()
    assert ids("for years now", "en") == set()


# -- negation -----------------------------------------------------------------------------------


def test_a_negated_topic_is_ruled_out_and_the_rest_of_the_sentence_still_counts() -> None:
    heard = understand("Geen zorgen over tijd, wel over beveiliging", "nl")
    assert heard.ids == ("fears.security",)
    assert [t.id for t in heard.ruled_out] == ["fears.time_loss"]


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "not worried about security"),
        ("en", "I'm not afraid of hackers"),
        ("nl", "ik ben niet bang dat het te veel tijd kost"),
        ("nl", "Beveiliging is geen probleem"),
        ("en", "security isn't an issue for us"),
        ("nl", "Security is hier prima geregeld"),
        ("nl", "Onze manager houdt niks tegen, daar ligt het niet aan"),
    ],
)
def test_negations_and_denials_leave_the_topic_out(lang: str, text: str) -> None:
    heard = understand(text, lang)
    assert heard.topics == ()
    assert heard.ruled_out, "the denied topic is reported as ruled out"


def test_a_negation_that_belongs_to_the_phrase_keeps_its_meaning() -> None:
    assert ids("de top doet niet mee") == {"causes.culture"}
    assert ids("I don't have time for this", "en") == {"fears.time_loss"}
    assert ids("the board doesn't use it themselves", "en") == {"causes.culture"}


def test_a_negation_stops_at_a_turning_word() -> None:
    assert ids("not worried about time but our managers won't allow it", "en") == {"causes.middle_managers"}
    assert ids("Ik ben niet bang voor hackers maar wel voor geroddel") == {"fears.unwanted_messages"}


def test_filler_maar_does_not_cut_a_sentence() -> None:
    assert ids("Het kost alleen maar tijd") == {"fears.time_loss"}


# -- typos, compounds, mixed languages ----------------------------------------------------------


@pytest.mark.parametrize(
    ("lang", "text", "topic"),
    [
        ("nl", "beveilging", "fears.security"),
        ("nl", "tijdverspiling", "fears.time_loss"),
        ("en", "secruity", "fears.security"),
        ("nl", "middenmanagment", "causes.middle_managers"),
        ("nl", "informatiebeveiliging", "fears.security"),
    ],
)
def test_typos_and_compounds_are_forgiven_at_a_lower_confidence(lang: str, text: str, topic: str) -> None:
    heard = understand(text, lang)
    assert heard.ids == (topic,)
    assert HEARD <= heard.topics[0].confidence <= 1.0


def test_a_typo_costs_confidence() -> None:
    exact = understand("beveiliging", "nl").topics[0].confidence
    typo = understand("beveilging", "nl").topics[0].confidence
    assert typo < exact


def test_mixed_dutch_and_english_is_heard_whatever_the_language_setting() -> None:
    assert ids("security is mijn grootste zorg", "nl") == {"fears.security"}
    assert ids("Too much tijdverlies honestly", "en") == {"fears.time_loss"}
    assert ids("de managers are the real problem eigenlijk", "nl") == {"causes.middle_managers"}


def test_a_specific_fear_takes_the_place_of_fear_in_general() -> None:
    assert ids("angst voor datalekken") == {"fears.security"}
    assert ids("managers who block it, our culture, and fear above all", "en") == {
        "causes.middle_managers",
        "causes.culture",
        "causes.fear",
    }


# -- confidence and spans -----------------------------------------------------------------------


def test_one_hint_is_not_enough_two_hints_are_heard_but_not_sure() -> None:
    assert ids("de directie") == set()
    heard = understand("de directie en het hele bestuur", "nl")
    assert heard.ids == ("causes.culture",)
    assert HEARD <= heard.topics[0].confidence < SURE


def test_repeating_a_word_does_not_make_the_coach_surer() -> None:
    once = understand("tijd en druk", "nl")
    often = understand("tijd tijd tijd en druk", "nl")
    assert once.topics[0].confidence == often.topics[0].confidence


def test_spans_point_at_the_words_that_triggered_each_topic() -> None:
    text = "Eerlijk? Mijn baas vindt het zonde van de tijd, en IT heeft het tool gekozen."
    heard = understand(text, "nl")
    assert set(heard.ids) == {"causes.middle_managers", "fears.time_loss", "causes.silo"}
    for topic in heard.topics:
        assert topic.spans
        for span in topic.spans:
            assert text[span.start : span.end] == span.text
    time_loss = next(t for t in heard.topics if t.id == "fears.time_loss")
    assert "zonde van de tijd" in [s.text for s in time_loss.spans]


def test_spans_keep_the_original_accents_and_capitals() -> None:
    text = "Ángst! Wij durven NIKS te posten"
    heard = understand(text, "nl")
    assert heard.ids == ("causes.fear",)
    assert {s.text for s in heard.topics[0].spans} >= {"Ángst"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["nl", "en"]))
def test_any_text_gives_a_valid_answer(text: str, lang: str) -> None:
    heard = understand(text, lang)
    for topic in (*heard.topics, *heard.ruled_out):
        assert 0.0 <= topic.confidence <= 1.0
        for span in topic.spans:
            assert text[span.start : span.end] == span.text
    assert all(t.confidence >= HEARD for t in heard.topics)
    assert not {t.id for t in heard.topics} & {t.id for t in heard.ruled_out}


def test_the_longest_text_the_engine_accepts_is_understood() -> None:
    text = ("Het kost te veel tijd en de directie doet niet mee. " * 30)[:1000]
    assert ids(text) == {"fears.time_loss", "causes.culture"}


# -- the lexicons are data ----------------------------------------------------------------------


def test_a_phrase_added_to_the_data_is_heard_without_code_changes(tmp_path: Path) -> None:
    folder = tmp_path / FOLDER
    shutil.copytree(PROJECT_ROOT / "knowledge" / FOLDER, folder)
    topics = folder / "topics.yaml"
    text = topics.read_text(encoding="utf-8")
    topics.write_text(
        text.replace('        - "tijdverlies"\n', '        - "tijdverlies"\n        - "vergaderzucht"\n'),
        encoding="utf-8",
    )
    lexicon, problems = load_lexicon(folder)
    assert problems == []
    assert lexicon is not None
    assert understand("vergaderzucht", "nl", lexicon).ids == ("fears.time_loss",)
    assert understand("vergaderzucht", "nl").ids == ()


# -- typed answers at button questions ----------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "lang", "text", "key"),
    [
        ("who_uses", "nl", "bijna iedereen", "everyone"),
        ("who_uses", "en", "Almost everyone", "everyone"),
        ("own_use", "nl", "dagelijks", "daily"),
        ("own_use", "en", "every day", "daily"),
        ("top_uses", "nl", "nee", "no"),
        ("top_uses", "nl", "weet ik niet", "unknown"),
        ("top_uses", "en", "no idea", "unknown"),
        ("customers_improve", "nl", "af en toe", "sometimes"),
        ("standing", "nl", "ik ben teamleider", "middle_manager"),
        ("privacy", "en", "sure", "yes"),
        ("language", "nl", "Nederlands", "nl"),
        ("own_use", "nl", "dagelijk", "daily"),
    ],
)
def test_a_typed_label_or_synonym_is_taken_as_the_tap(step: str, lang: str, text: str, key: str) -> None:
    match = match_option(text, lang, STEPS[step], step)
    assert match is not None
    assert match.key == key
    assert match.sure
    assert match.confidence >= TAKE


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("1", 1),
        ("2.", 2),
        ("3)", 3),
        (" 4 ", 4),
        ("optie 2", 2),
        ("nr. 5", 5),
        ("#3", 3),
        ("de tweede", 2),
        ("the first one", 1),
        ("3e", 3),
        ("vijf", 5),
    ],
)
def test_a_number_is_the_option_at_that_place(text: str, position: int) -> None:
    options = STEPS["who_uses"]
    match = match_option(text, "nl", options, "who_uses")
    assert match is not None
    assert match.key == options[position - 1].key
    assert match.how == "number"
    assert match.sure


@pytest.mark.parametrize("text", ["0", "6", "99", "optie 7"])
def test_a_number_outside_the_list_means_no_option(text: str) -> None:
    assert match_option(text, "nl", STEPS["who_uses"], "who_uses") is None


def test_numbers_follow_the_order_the_options_are_shown_in() -> None:
    options = tuple(reversed(STEPS["own_use"]))
    match = match_option("1", "en", options, "own_use")
    assert match is not None
    assert match.key == options[0].key == "daily"


def test_part_of_a_label_is_asked_back_not_taken() -> None:
    match = match_option("ja", "nl", STEPS["top_uses"], "top_uses")
    assert match is not None
    assert match.key == "actively"
    assert ASK <= match.confidence < TAKE
    assert not match.sure


@pytest.mark.parametrize(
    ("step", "text"),
    [
        ("who_uses", "pizza"),
        ("own_use", "misschien"),
        ("top_uses", ""),
        ("top_uses", "😀"),
        ("own_use", "ja en nee en soms en nooit"),
    ],
)
def test_nothing_fitting_or_an_ambiguous_answer_gives_no_option(step: str, text: str) -> None:
    assert match_option(text, "nl", STEPS[step], step) is None


def test_a_negated_option_is_not_taken() -> None:
    match = match_option("niet dagelijks", "nl", STEPS["own_use"], "own_use")
    assert match is None or (match.key != "daily" or not match.sure)


def test_without_a_step_labels_and_common_synonyms_still_count() -> None:
    options = (
        OptionView("yes", {"nl": "Klopt", "en": "That's right"}),
        OptionView("no", {"nl": "Niet helemaal", "en": "Not quite"}),
    )
    yes = match_option("jep", "nl", options)
    no = match_option("nope", "en", options)
    assert yes is not None and yes.key == "yes" and yes.sure
    assert no is not None and no.key == "no" and no.sure
    assert match_option("klopt", "nl", options) == match_option("Klopt!", "nl", options)


def test_an_empty_option_list_gives_no_option() -> None:
    assert match_option("ja", "nl", ()) is None


# -- privacy: the module keeps nothing of what people type --------------------------------------


def _strings_kept_by_the_module(needle: str) -> list[str]:
    """Every string reachable from bot.understanding's modules (caches, lexicon, globals) holding `needle`.

    Walks gc.get_referents, which also sees containers the collector does not track (a dict of only
    strings, such as a functools cache), and stays inside the understanding package's own objects.
    """
    roots = [m for name, m in sys.modules.items() if name.startswith("bot.understanding")]
    seen: set[int] = set()
    queue: list[object] = list(roots)
    found: list[str] = []
    while queue and len(seen) < 500_000:
        obj = queue.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            if needle in obj:
                found.append(obj)
            continue
        if isinstance(obj, types.ModuleType) and obj not in roots:
            continue  # other libraries' modules are not ours to search
        queue.extend(gc.get_referents(obj))
    return found


def _understand(marker: str) -> None:
    # The marker comes last: whatever keeps "the last word it saw" would keep it.
    assert understand(f"Mijn BAAS vindt het tijdverspilling {marker.upper()}", "nl").ids


def _match(marker: str) -> None:
    match_option(f"ja {marker.upper()}", "nl", STEPS["top_uses"], "top_uses")


@pytest.mark.parametrize("call", [_understand, _match], ids=["understand", "match_option"])
def test_nothing_of_the_typed_text_stays_in_memory_after_the_call(call: Callable[[str], None]) -> None:
    marker = "qzx" + uuid.uuid4().hex[:10]
    call(marker)
    gc.collect()
    # The marker was typed in capitals: only the module's folded copies would be in lower case.
    assert _strings_kept_by_the_module(marker) == []
