"""What the coach hears in a typed answer: the coach's own topics, each with a confidence.

The steps, in the order a reader would check them:
1. the text becomes folded words in clauses (text.py);
2. every phrase and hint of every topic is looked for in both languages: staff mix Dutch and
   English freely ("security is mijn grootste zorg"), so the person's language only breaks ties;
3. negation: a negating word before a match in the same clause ("geen zorgen over tijd", "not
   worried about security"), or a denial in the clause ("security is geen probleem"), turns the
   match into a ruled-out topic. A negating word that belongs to a phrase ("de top doet niet mee",
   "I don't have time") is part of its meaning and negates nothing. A clause that is only a denial
   ("…, daar ligt het niet aan") denies the clause before it;
4. per topic the matches add up (a noisy-or), so two weak hints make one topic, a phrase is enough.

Nothing is kept: the text lives only for the length of the call.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.understanding.lexicon import Lexicon, default_lexicon
from bot.understanding.phrases import Found, Matches, Phrase, find
from bot.understanding.text import Word, words

#: Confidence of one phrase found exactly, and of one hint.
PHRASE_WEIGHT = 0.9
HINT_WEIGHT = 0.35
#: Each forgiven typo takes this share off a match's weight.
TYPO_PENALTY = 0.15
#: A match in the other language than the person's counts a little less, so ties go to their own.
OTHER_LANGUAGE = 0.95
#: Below this a topic is not heard at all; at or above SURE it may be taken without asking back.
HEARD = 0.5
SURE = 0.8


@dataclass(frozen=True)
class Span:
    """A piece of the typed text that made the coach hear a topic, with its place in the text."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class TopicHeard:
    """One topic id (as in knowledge/), how sure the coach is, and what triggered it."""

    id: str
    confidence: float
    spans: tuple[Span, ...]

    @property
    def sure(self) -> bool:
        """Sure enough to act on without asking back."""
        return self.confidence >= SURE


@dataclass(frozen=True)
class Heard:
    """What the coach heard: topics (most confident first) and topics the person ruled out."""

    topics: tuple[TopicHeard, ...] = ()
    ruled_out: tuple[TopicHeard, ...] = ()

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(t.id for t in self.topics)

    def __bool__(self) -> bool:
        return bool(self.topics)


@dataclass(frozen=True)
class _Match:
    topic: str
    found: Found
    weight: float


def understand(text: str, lang: str, lexicon: Lexicon | None = None) -> Heard:
    """The coach's topics in a typed text; empty for off-topic text, jokes and "geen idee"."""
    lexicon = lexicon or default_lexicon()
    text_words = words(text, lexicon.breaks, lexicon.not_breaks)
    if not text_words:
        return Heard()
    table = Matches(text_words, lexicon.index)
    matches = [
        _Match(topic.id, found, _weight(found, weight, lang))
        for topic in lexicon.topics.values()
        for phrases, weight in ((topic.phrases, PHRASE_WEIGHT), (topic.hints, HINT_WEIGHT))
        for phrase in phrases
        for found in find(phrase, text_words, table)
    ]
    negated = _negated(matches, table, lexicon)
    positive: dict[str, list[_Match]] = defaultdict(list)
    denied: dict[str, list[_Match]] = defaultdict(list)
    for index, match in enumerate(matches):
        (denied if index in negated else positive)[match.topic].append(match)
    _give_way(positive, lexicon, text_words)
    topics = _topics(positive, text, text_words)
    heard_ids = {t.id for t in topics}
    ruled_out = [t for t in _topics(denied, text, text_words) if t.id not in heard_ids]
    return Heard(tuple(topics), tuple(ruled_out))


def _give_way(positive: dict[str, list[_Match]], lexicon: Lexicon, text_words: Sequence[Word]) -> None:
    """Drop a general topic's matches in clauses where a more specific one it yields to was heard."""
    clauses = {
        topic: {text_words[m.found.first].clause for m in found}
        for topic, found in positive.items()
        if _combine(_independent(found)) >= HEARD
    }
    for topic in list(positive):
        specific = lexicon.topics[topic].gives_way_to
        taken = set().union(*(clauses.get(other, set()) for other in specific)) if specific else set()
        kept = [m for m in positive[topic] if text_words[m.found.first].clause not in taken]
        if kept:
            positive[topic] = kept
        else:
            del positive[topic]


def _weight(found: Found, base: float, lang: str) -> float:
    weight = base * max(0.0, 1.0 - TYPO_PENALTY * found.typos)
    return weight if found.phrase.lang == lang else weight * OTHER_LANGUAGE


def _negated(matches: Sequence[_Match], table: Matches, lexicon: Lexicon) -> set[int]:
    """Indexes of the matches that a negation or a denial turns around."""
    text_words = table.words
    inside = {i for m in matches for i in m.found.indexes}
    exempt = set(inside)
    for phrase in lexicon.not_negations:
        for found in find(phrase, text_words, table):
            exempt.update(found.indexes)
    denials = [found for phrase in lexicon.denials for found in find(phrase, text_words, table)]
    for found in denials:
        exempt.update(found.indexes)
    cues = [w for w in text_words if w.norm in lexicon.negations and w.index not in exempt]
    denied_clauses = _denied_clauses(denials, matches, text_words)
    negated: set[int] = set()
    for index, match in enumerate(matches):
        first = text_words[match.found.first]
        if first.clause in denied_clauses or any(
            c.clause == first.clause and c.index < first.index for c in cues
        ):
            negated.add(index)
    return negated


def _denied_clauses(
    denials: Iterable[Found], matches: Sequence[_Match], text_words: Sequence[Word]
) -> set[int]:
    """Clauses a denial speaks about: its own, or the one before when its own names no topic."""
    with_topics = {text_words[m.found.first].clause for m in matches}
    clauses: set[int] = set()
    for found in denials:
        clause = text_words[found.first].clause
        clauses.add(clause if clause in with_topics or clause == 0 else clause - 1)
    return clauses


def _topics(by_topic: dict[str, list[_Match]], text: str, text_words: Sequence[Word]) -> list[TopicHeard]:
    heard = []
    for topic, found in by_topic.items():
        confidence = _combine(_independent(found))
        if confidence < HEARD:
            continue
        spans = tuple(_span(text, text_words, m.found) for m in sorted(found, key=lambda m: m.found.first))
        heard.append(TopicHeard(topic, round(confidence, 2), _merge(spans, text)))
    return sorted(heard, key=lambda t: (-t.confidence, t.id))


def _independent(found: Iterable[_Match]) -> list[float]:
    """The weights of matches that are separate evidence: one per phrase, and one per word.

    "tijd, tijd, tijd" is not three times as sure as "tijd", and one word found by several
    phrases (`*beveilig*`, `beveiliging`, or a hint in both languages) counts once, at its best.
    """
    used_phrases: set[Phrase] = set()
    used_words: set[int] = set()
    weights = []
    for match in sorted(found, key=lambda m: -m.weight):
        if match.found.phrase in used_phrases or used_words & set(match.found.indexes):
            continue
        used_phrases.add(match.found.phrase)
        used_words.update(match.found.indexes)
        weights.append(match.weight)
    return weights


def _combine(weights: Iterable[float]) -> float:
    remaining = 1.0
    for weight in weights:
        remaining *= 1.0 - weight
    return 1.0 - remaining


def _span(text: str, text_words: Sequence[Word], found: Found) -> Span:
    start = text_words[found.indexes[0]].start
    end = text_words[found.indexes[-1]].end
    return Span(start, end, text[start:end])


def _merge(spans: Sequence[Span], text: str) -> tuple[Span, ...]:
    """Overlapping spans as one, so a topic's trigger is shown once."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if merged and span.start <= merged[-1].end:
            last = merged[-1]
            end = max(last.end, span.end)
            merged[-1] = Span(last.start, end, text[last.start : end])
        else:
            merged.append(span)
    return tuple(merged)
