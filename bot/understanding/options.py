"""A typed answer to a button question: which option it means, and how sure that is.

People type "bijna iedereen", "dagelijks", "nee hoor", "weet ik niet", "2" or "1)" instead of
tapping. Each option is known by its labels in both languages, its synonyms from
knowledge/understanding/answers.yaml (per step, and common ones per option key), and its place:
a number is the option at that position as shown.

The confidence says what the conversation should do (part 2 of issue 12):
- at or above TAKE: the text is an option's label or synonym (typos forgiven): take it as a tap;
- between ASK and TAKE: the text holds part of an option or an option and more: ask back with
  one confirm button;
- None: nothing fits, or two options fit about equally ("ja en nee"): list what is possible.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from bot.engine.events import OptionView
from bot.engine.loader import load_dialogues
from bot.understanding.lexicon import LANGUAGES, Lexicon, default_lexicon
from bot.understanding.phrases import FUZZY_MIN_IN_PHRASE, within
from bot.understanding.text import Word, fold, words

#: Take the option without asking back at or above this confidence.
TAKE = 0.85
#: Below this, no option is meant.
ASK = 0.5
#: Two options closer than this are a tie: the answer is ambiguous.
MARGIN = 0.1
#: A negating word before the matched words ("niet dagelijks") halves the confidence.
NEGATED = 0.5
#: Each forgiven typo takes this off the confidence.
TYPO = 0.05
#: A typed position: "2", "2.", "2)", "#2", "optie 2", "nr. 2", "2e", "the 2nd".
_NUMBER = re.compile(
    r"^\s*(?:(?:optie|option|nummer|number|nr|no|keuze|choice|antwoord|answer)\s*\.?\s*|#\s*)?"
    r"(\d{1,2})\s*(?:e|ste|de|st|nd|rd|th)?\s*[.)!:]*\s*$"
)
#: Words around a written-out position: "de tweede", "the first one", "optie drie".
_AROUND_POSITION = frozenset(
    {"de", "het", "the", "optie", "option", "nummer", "number", "keuze", "choice", "one", "die", "that"}
)

How = Literal["number", "exact", "words"]


@dataclass(frozen=True)
class OptionMatch:
    """The option a typed answer means: its key, a confidence in [0, 1], and how it was found."""

    key: str
    confidence: float
    how: How

    @property
    def sure(self) -> bool:
        """Sure enough to count as the tap without asking back."""
        return self.confidence >= TAKE


@dataclass(frozen=True)
class _Score:
    """How well a text fits one option, and which of its words the option explains."""

    score: float
    key: str
    how: How
    #: The text's words this option's labels and synonyms hold.
    explained: frozenset[int]
    #: The text's words that spell out one whole label or synonym of this option.
    named: frozenset[int] = frozenset()


@dataclass(frozen=True)
class _Candidate:
    """One way to write an option (a label or a synonym): all its words, and those that carry meaning."""

    norms: tuple[str, ...]
    content: tuple[Word, ...]


def match_option(
    text: str,
    lang: str,
    options: Sequence[OptionView],
    step: str | None = None,
    lexicon: Lexicon | None = None,
) -> OptionMatch | None:
    """The option `text` means among `options` (in the order shown), or None.

    `step` selects the step's own synonyms; without it only labels and common synonyms count.
    `lang` is the person's language: their labels come first, but both languages are understood.
    """
    lexicon = lexicon or default_lexicon()
    text_words = words(text)
    if not text_words or not options:
        return None
    position = _position(text, text_words, lexicon)
    if position is not None:
        if 1 <= position <= len(options):
            return OptionMatch(options[position - 1].key, 1.0, "number")
        return None
    scored = sorted(
        (_score_option(text_words, option, step, lang, lexicon) for option in options),
        key=lambda s: -s.score,
    )
    best = scored[0]
    if best.score < ASK:
        return None
    if len(scored) > 1 and scored[1].score > best.score - MARGIN and scored[1].key != best.key:
        return None
    if any(other.named - best.explained for other in scored[1:] if other.key != best.key):
        return None  # the text names another option in full too ("ja en nee")
    return OptionMatch(best.key, round(best.score, 2), best.how)


def _position(text: str, text_words: Sequence[Word], lexicon: Lexicon) -> int | None:
    if text.lstrip().startswith(("-", "−")):
        return None  # "-1" is no place in a list (folding would drop the minus)
    found = _NUMBER.match(fold(text))
    if found:
        return int(found.group(1))
    norms = [w.norm for w in text_words]
    core = [n for n in norms if n not in _AROUND_POSITION] or norms
    if len(core) == 1 and core[0] in lexicon.numbers and len(norms) <= 3:
        return lexicon.numbers[core[0]]
    return None


def _candidates(option: OptionView, step: str | None, lang: str, lexicon: Lexicon) -> list[_Candidate]:
    labels = [option.label[lang]] if lang in option.label else []
    labels += [option.label[other] for other in LANGUAGES if other != lang and other in option.label]
    result = []
    for text in (*labels, *lexicon.synonyms_for(step, option.key)):
        found = _content_words(text)
        if found:
            content = tuple(w for w in found if w.norm not in lexicon.stopwords) or found
            result.append(_Candidate(tuple(w.norm for w in found), content))
    return result


@lru_cache(maxsize=4096)
def _content_words(text: str) -> tuple[Word, ...]:
    """The words of a label or synonym (content, never a person's text), stemmed once."""
    return tuple(words(text))


def _score_option(
    text_words: Sequence[Word], option: OptionView, step: str | None, lang: str, lexicon: Lexicon
) -> _Score:
    """How well the text fits one option: its best label or synonym, less for extra words or typos."""
    candidates = _candidates(option, step, lang, lexicon)
    norms = tuple(w.norm for w in text_words)
    if any(c.norms == norms for c in candidates):
        return _Score(1.0, option.key, "exact", frozenset(w.index for w in text_words))
    content = [w for w in text_words if w.norm not in lexicon.stopwords] or list(text_words)
    vocabulary = [word for c in candidates for word in c.content]
    explained = [_typos_in(w, vocabulary) for w in content]
    precision = sum(1 for t in explained if t is not None) / len(content)
    best = 0.0
    named: set[int] = set()
    for candidate in candidates:
        places = [_place_in(word, content) for word in candidate.content]
        hits = [p for p in places if p is not None]
        recall = len(hits) / len(candidate.content)
        if recall == 1.0:
            named.update(index for index, _ in hits)
        typos = sum(t for _, t in hits) + sum(t for t in explained if t)
        if precision == 1.0 and recall == 1.0:
            score = 0.95  # the text is this label or synonym, give or take filler words
        elif precision == 1.0 or recall == 1.0:
            score = 0.5 + 0.35 * precision * recall  # one holds the other: worth asking back
        else:
            score = 0.8 * precision * recall
        best = max(best, score * (1.0 - TYPO * typos))
    if best and _negated(content, vocabulary, lexicon):
        best *= NEGATED
    known = frozenset(w.index for w, t in zip(content, explained, strict=True) if t is not None)
    return _Score(best, option.key, "words", known, frozenset(named))


def _place_in(word: Word, text_words: Sequence[Word]) -> tuple[int, int] | None:
    """Where a label's word stands in the text, and with how many typos; None when it is not there."""
    for candidate in text_words:
        typos = _typos_in(word, (candidate,))
        if typos is not None:
            return candidate.index, typos
    return None


def _typos_in(word: Word, vocabulary: Iterable[Word]) -> int | None:
    """0 if the word (or its stem, in either language) is in the vocabulary, typos if near, else None."""
    best: int | None = None
    for known in vocabulary:
        if word.norm == known.norm or any(word.stems[lang] == known.stems[lang] for lang in LANGUAGES):
            return 0
        typos = within(word.norm, known.norm, FUZZY_MIN_IN_PHRASE)
        if typos is not None and (best is None or typos < best):
            best = typos
    return best


def _negated(content: Sequence[Word], vocabulary: Sequence[Word], lexicon: Lexicon) -> bool:
    """A negating word of the text that the option itself does not hold, before a word it does."""
    for index, word in enumerate(content):
        if word.norm in lexicon.negations and _typos_in(word, vocabulary) is None:
            later = content[index + 1 :]
            if any(w.clause == word.clause and _typos_in(w, vocabulary) is not None for w in later):
                return True
    return False


def step_options(dialogues_dir: Path) -> dict[str, tuple[OptionView, ...]]:
    """Each step's own options as the engine shows them, in order: for `coachbot understand --step`
    and the evaluation. (Options filled in at run time, such as departments, are not in the files.)
    """
    dialogues, problems = load_dialogues(dialogues_dir)
    if problems:
        raise ValueError("\n".join(str(p) for p in problems))
    return {
        step.id: tuple(OptionView(o.key, o.label) for o in step.options)
        for dialogue in dialogues.values()
        for step in dialogue.steps.values()
        if step.options
    }
