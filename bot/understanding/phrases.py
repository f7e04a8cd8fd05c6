"""Phrases as authors write them in knowledge/understanding/, and finding them in typed words.

A phrase is words separated by spaces, matched in order inside one clause:
- a plain word matches any word with the same Snowball stem (`berichten` finds `bericht`),
  and a word one typo away that starts with the same letter, from seven letters on (five inside
  a phrase of several words; ten letters: two typos). Shorter words are too often another real
  word ("lekker" is not "lekken", "leads" not "leaks");
- `word*` matches words that start with it, `*word` words that end with it, `*word*` words
  holding it: Dutch glues words together (`tijdverspilling`, `klantgegevens`);
- `a|b|c` is any of these alternatives at that place;
- a word written with capitals matches only as typed (`IT` the department, not `it` the pronoun);
- between two words of a phrase up to GAP other words may stand (`houdt het tegen`
  finds "houdt alles tegen"); `...` between two words allows up to LONG_GAP.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rapidfuzz.distance import OSA

from bot.understanding.text import Word, fold, stem

#: Words that may stand between two words of a phrase.
GAP = 2
#: The same after an explicit `...`.
LONG_GAP = 6
#: A typo is only forgiven in words this long: shorter ones are too often another real word.
FUZZY_MIN = 7
#: Two typos are forgiven from this length on.
FUZZY_TWO = 10
#: Inside a phrase of several words the context protects us, so shorter words may have a typo too.
FUZZY_MIN_IN_PHRASE = 5
_ELLIPSIS = ("...", "…")


@dataclass(frozen=True)
class Alternative:
    """One way a word of a phrase may be written: plain (stem), or a prefix/suffix/infix."""

    text: str
    lang: str
    prefix: bool = False
    suffix: bool = False
    exact_case: bool = False
    #: The stem of a plain word in the phrase's language, worked out once when the phrase is read.
    stem: str = ""
    _hash: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Looked up thousands of times per text: hash the fields once, not on every lookup.
        key = (self.text, self.lang, self.prefix, self.suffix, self.exact_case)
        object.__setattr__(self, "_hash", hash(key))

    def __hash__(self) -> int:
        return self._hash

    @property
    def kind(self) -> str:
        if self.prefix and self.suffix:
            return "infix"
        if self.prefix:
            return "prefix"
        if self.suffix:
            return "suffix"
        return "word"


@dataclass(frozen=True)
class Slot:
    """One position in a phrase: its alternatives and how many words may stand before it."""

    alternatives: tuple[Alternative, ...]
    gap: int


@dataclass(frozen=True)
class Phrase:
    """A parsed phrase in one language, with the text it was written as (for messages)."""

    source: str
    lang: str
    slots: tuple[Slot, ...]

    @property
    def key(self) -> tuple[tuple[tuple[str, str], ...], ...]:
        """What the phrase matches, compared across topics to find phrases that always tie."""
        return tuple(
            tuple(
                sorted(
                    (a.kind, a.text if a.exact_case or a.kind != "word" else a.stem)
                    for a in slot.alternatives
                )
            )
            for slot in self.slots
        )


@dataclass(frozen=True)
class Found:
    """Where a phrase matched: the words it used and how many typos it forgave."""

    phrase: Phrase
    indexes: tuple[int, ...]
    typos: int

    @property
    def first(self) -> int:
        return self.indexes[0]


def parse(source: str, lang: str) -> Phrase:
    """A phrase from its written form; ValueError says what is wrong with it."""
    slots: list[Slot] = []
    gap = GAP
    for part in source.split():
        if part in _ELLIPSIS:
            gap = LONG_GAP
            continue
        alternatives = []
        for raw in part.split("|"):
            prefix = raw.endswith("*")
            suffix = raw.startswith("*")
            written = raw.strip("*")
            exact_case = written != written.lower()
            core = written.replace("'", "").replace("-", "") if exact_case else fold(written)
            if not core or not core.isalnum():
                raise ValueError(f"{raw!r} is not a word (letters and digits, `*` at an end)")
            alternatives.append(Alternative(core, lang, prefix, suffix, exact_case, stem(core, lang)))
        slots.append(Slot(tuple(alternatives), gap if slots else 0))
        gap = GAP
    if not slots:
        raise ValueError("the phrase is empty")
    return Phrase(source, lang, tuple(slots))


def within(word: str, target: str, min_length: int = FUZZY_MIN) -> int | None:
    """Typos between two folded words, if few enough to forgive at this length; else None.

    The first letter must agree: people mistype inside a word far more often than its start.
    """
    if len(target) < min_length or abs(len(word) - len(target)) > 2 or word[:1] != target[:1]:
        return None
    allowed = 2 if len(target) >= FUZZY_TWO else 1
    distance = OSA.distance(word, target, score_cutoff=allowed)
    return distance if distance <= allowed else None


def _alternative_typos(alternative: Alternative, word: Word) -> int | None:
    """0 for an exact match, the typos forgiven for a near one, None for no match."""
    text = alternative.text
    kind = alternative.kind
    norm = word.norm
    if alternative.exact_case:
        return 0 if kind == "word" and word.raw == text else None
    if kind == "word":
        if norm == text or word.stems[alternative.lang] == alternative.stem:
            return 0
        return within(norm, text, FUZZY_MIN_IN_PHRASE)
    if kind == "prefix":
        if norm.startswith(text):
            return 0
        if len(text) >= FUZZY_MIN + 1:
            options = [within(norm[:n], text, FUZZY_MIN + 1) for n in range(len(text) - 1, len(text) + 2)]
            found = [o for o in options if o is not None]
            return min(found) if found else None
        return None
    if kind == "suffix":
        return 0 if norm.endswith(text) else None
    return 0 if text in norm else None


@dataclass(frozen=True)
class Index:
    """Alternatives by first letter: everything but `*suffix` and `*infix*` needs the word's first
    letter (a stem, a prefix and a forgiven typo all keep it), so each word is compared with few."""

    by_letter: Mapping[str, tuple[Alternative, ...]]
    anywhere: tuple[Alternative, ...]

    @classmethod
    def of(cls, phrases: Iterable[Phrase]) -> Index:
        by_letter: dict[str, set[Alternative]] = defaultdict(set)
        anywhere: set[Alternative] = set()
        for phrase in phrases:
            for slot in phrase.slots:
                for alternative in slot.alternatives:
                    if alternative.suffix:
                        anywhere.add(alternative)
                    else:
                        by_letter[alternative.text[:1].lower()].add(alternative)
        return cls({k: tuple(v) for k, v in by_letter.items()}, tuple(anywhere))


class Matches:
    """Which alternatives each word of one text matches, worked out once per text and then looked up.

    Lives for one call only: it holds the person's words, so it is never cached.
    """

    def __init__(self, text_words: Sequence[Word], index: Index) -> None:
        self.words = text_words
        self.table: dict[tuple[Alternative, int], int] = {}
        self.places: dict[Alternative, list[int]] = defaultdict(list)
        for word in text_words:
            for alternative in (*index.by_letter.get(word.norm[:1], ()), *index.anywhere):
                typos = _alternative_typos(alternative, word)
                if typos is not None:
                    self.table[(alternative, word.index)] = typos
                    self.places[alternative].append(word.index)

    def starts(self, slot: Slot) -> list[int]:
        """Where a phrase beginning with `slot` might start: most phrases have no such place."""
        places = [self.places[a] for a in slot.alternatives if a in self.places]
        if len(places) < 2:
            return places[0] if places else []
        return sorted({index for found in places for index in found})

    def typos(self, slot: Slot, word: Word, min_length: int) -> int | None:
        """The fewest typos with which `word` fills `slot`, or None."""
        best: int | None = None
        for alternative in slot.alternatives:
            typos = self.table.get((alternative, word.index))
            if typos is None or (typos and alternative.kind == "word" and len(alternative.text) < min_length):
                continue
            if typos == 0:
                return 0
            best = typos if best is None else min(best, typos)
        return best


def find(phrase: Phrase, text_words: Sequence[Word], matches: Matches | None = None) -> list[Found]:
    """Every non-overlapping place the phrase matches, each inside one clause.

    `matches` is the text's lookup table for a whole lexicon; without it one is made for this phrase.
    """
    matches = matches or Matches(text_words, Index.of([phrase]))
    min_length = FUZZY_MIN_IN_PHRASE if len(phrase.slots) > 1 else FUZZY_MIN
    found: list[Found] = []
    used_until = -1
    for start in matches.starts(phrase.slots[0]):
        word = text_words[start]
        if start <= used_until:
            continue
        typos = matches.typos(phrase.slots[0], word, min_length)
        if typos is None:
            continue
        indexes = [start]
        total = typos
        for slot in phrase.slots[1:]:
            position = _next(slot, matches, indexes[-1], word.clause, min_length)
            if position is None:
                break
            indexes.append(position[0])
            total += position[1]
        else:
            found.append(Found(phrase, tuple(indexes), total))
            used_until = indexes[-1]
    return found


def _next(slot: Slot, matches: Matches, after: int, clause: int, min_length: int) -> tuple[int, int] | None:
    text_words = matches.words
    for position in range(after + 1, min(after + 2 + slot.gap, len(text_words))):
        candidate = text_words[position]
        if candidate.clause != clause:
            return None
        typos = matches.typos(slot, candidate, min_length)
        if typos is not None:
            return position, typos
    return None
