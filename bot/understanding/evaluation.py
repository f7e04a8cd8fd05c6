"""Scores the understanding against labelled typed answers (tests/data/typed_answers*.yaml).

Shared by `bench/typed_answers.py`, which prints the figures, and the test that fails CI when the
held-out exact match drops, so both count the same way.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot import PROJECT_ROOT
from bot.engine.events import OptionView
from bot.understanding.hearing import understand
from bot.understanding.lexicon import Lexicon
from bot.understanding.options import match_option, step_options

DATA = PROJECT_ROOT / "tests" / "data"
TOPICS_FILE = DATA / "typed_answers.yaml"
OPTIONS_FILE = DATA / "typed_answers_options.yaml"
PARTS = ("dev", "heldout")


@dataclass(frozen=True)
class TopicCase:
    lang: str
    text: str
    topics: frozenset[str]


@dataclass(frozen=True)
class OptionCase:
    step: str
    lang: str
    text: str
    option: str | None


@dataclass(frozen=True)
class TopicMiss:
    lang: str
    text: str
    expected: tuple[str, ...]
    heard: tuple[str, ...]


@dataclass(frozen=True)
class OptionMiss:
    step: str
    lang: str
    text: str
    expected: str | None
    got: str


@dataclass
class TopicScore:
    """Precision and recall per topic, micro-averaged, and exact match, on one part."""

    cases: int = 0
    exact_count: int = 0
    topics: list[str] = field(default_factory=list)
    per_topic: dict[str, tuple[float | None, float | None, int]] = field(default_factory=dict)
    precision: float | None = None
    recall: float | None = None
    support: int = 0
    by_lang: Counter[str] = field(default_factory=Counter)
    exact_by_lang: dict[str, float | None] = field(default_factory=dict)
    empty_right: float | None = None
    misses: list[TopicMiss] = field(default_factory=list)

    @property
    def exact(self) -> float:
        return self.exact_count / self.cases if self.cases else 0.0


@dataclass
class OptionScore:
    """How typed answers at button questions fare: taken, asked back, wrong or left alone."""

    cases: int = 0
    taken_right: int = 0
    asked_right: int = 0
    wrong: int = 0
    wrong_taken: int = 0
    none_right: int = 0
    none_wrong: int = 0
    misses: list[OptionMiss] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return (self.taken_right + self.asked_right + self.none_right) / self.cases if self.cases else 0.0

    @property
    def taken_precision(self) -> float | None:
        taken = self.taken_right + self.wrong_taken
        return self.taken_right / taken if taken else None


def load_topic_cases(path: Path = TOPICS_FILE) -> dict[str, list[TopicCase]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        part: [TopicCase(str(c["lang"]), str(c["text"]), frozenset(c["topics"] or ())) for c in data[part]]
        for part in PARTS
    }


def load_option_cases(path: Path = OPTIONS_FILE) -> dict[str, list[OptionCase]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {
        part: [
            OptionCase(
                str(c["step"]),
                str(c["lang"]),
                str(c["text"]),
                None if c["option"] is None else str(c["option"]),
            )
            for c in data[part]
        ]
        for part in PARTS
    }


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def score_topics(cases: Sequence[TopicCase], lexicon: Lexicon | None = None) -> TopicScore:
    score = TopicScore(cases=len(cases))
    true_pos: Counter[str] = Counter()
    false_pos: Counter[str] = Counter()
    false_neg: Counter[str] = Counter()
    exact_lang: Counter[str] = Counter()
    empty = empty_right = 0
    for case in cases:
        heard = frozenset(understand(case.text, case.lang, lexicon).ids)
        score.by_lang[case.lang] += 1
        for topic in heard & case.topics:
            true_pos[topic] += 1
        for topic in heard - case.topics:
            false_pos[topic] += 1
        for topic in case.topics - heard:
            false_neg[topic] += 1
        if not case.topics:
            empty += 1
            empty_right += not heard
        if heard == case.topics:
            score.exact_count += 1
            exact_lang[case.lang] += 1
        else:
            score.misses.append(
                TopicMiss(case.lang, case.text, tuple(sorted(case.topics)), tuple(sorted(heard)))
            )
    score.topics = sorted(set(true_pos) | set(false_pos) | set(false_neg))
    for topic in score.topics:
        support = true_pos[topic] + false_neg[topic]
        score.per_topic[topic] = (
            _ratio(true_pos[topic], true_pos[topic] + false_pos[topic]),
            _ratio(true_pos[topic], support),
            support,
        )
    tp, fp, fn = sum(true_pos.values()), sum(false_pos.values()), sum(false_neg.values())
    score.precision = _ratio(tp, tp + fp)
    score.recall = _ratio(tp, tp + fn)
    score.support = tp + fn
    score.exact_by_lang = {lang: _ratio(exact_lang[lang], score.by_lang[lang]) for lang in ("nl", "en")}
    score.empty_right = _ratio(empty_right, empty)
    return score


def score_options(
    cases: Sequence[OptionCase],
    lexicon: Lexicon | None = None,
    options: Mapping[str, Sequence[OptionView]] | None = None,
) -> OptionScore:
    options = options or step_options(PROJECT_ROOT / "dialogues")
    score = OptionScore(cases=len(cases))
    for case in cases:
        match = match_option(case.text, case.lang, options[case.step], case.step, lexicon)
        got = "none" if match is None else f"{match.key} ({match.confidence:.2f})"
        if match is None:
            if case.option is None:
                score.none_right += 1
                continue
            score.none_wrong += 1
        elif match.key == case.option:
            if match.sure:
                score.taken_right += 1
            else:
                score.asked_right += 1
            continue
        else:
            score.wrong += 1
            score.wrong_taken += match.sure
        score.misses.append(OptionMiss(case.step, case.lang, case.text, case.option, got))
    return score
