"""Typed text as comparable words: folded, split into clauses, stemmed per language.

People type on phones: capitals, accents, apostrophes and hyphens come and go ("e-mail", "email",
"doesn't", "doesnt", "één", "een"), so every comparison works on a folded form. Each word keeps its
place in the original text, so what triggered a topic can be shown back to the person.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import snowballstemmer  # type: ignore[import-untyped]

#: The Snowball stemmer per language we understand; a mixed answer is stemmed both ways.
STEMMERS: dict[str, str] = {"nl": "dutch", "en": "english"}
#: Characters that end a clause: a negation never reaches past them.
_CLAUSE_END = set(".,;:!?()[]\n")
#: A word: letters and digits, with apostrophes and hyphens inside it ("doesn't", "e-mail").
_WORD = re.compile(r"[a-z0-9]+(?:['\-][a-z0-9]+)*")
#: A dash between spaces ("tijd - en beveiliging") ends a clause like a comma does.
_SPACED_DASH = re.compile(r"\s[-–—]\s")


@dataclass(frozen=True)
class Word:
    """One word of a text: its folded form, where it stands, and which clause it is in."""

    norm: str
    raw: str
    start: int
    end: int
    clause: int
    index: int
    #: The word's stem per language (nl and en): an answer may mix them.
    stems: Mapping[str, str]


def fold(text: str) -> str:
    """Lower case without accents or inner punctuation: the form every comparison uses."""
    folded = "".join(_fold_char(c) for c in text)
    return folded.replace("'", "").replace("-", "")


def _fold_char(char: str) -> str:
    if char in "’‘`´":
        return "'"
    decomposed = unicodedata.normalize("NFKD", char)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def words(
    text: str, breaks: Collection[str] = (), not_breaks: Collection[tuple[str, str]] = ()
) -> list[Word]:
    """The words of `text`, each with its clause number.

    `breaks` are words that open a new clause ("maar", "but"), except inside one of the word
    pairs in `not_breaks` ("alleen maar"). Offsets point into the original text: folding is done
    per character, so a character that folds to several (or none) keeps the mapping right.
    """
    folded_chars: list[str] = []
    origin: list[int] = []
    for position, char in enumerate(text):
        for out in _fold_char(char):
            folded_chars.append(out)
            origin.append(position)
    folded = "".join(folded_chars)
    dash_ends = {m.start() + 1 for m in _SPACED_DASH.finditer(folded)}
    found: list[tuple[str, int, int, bool]] = []
    cursor = 0
    for match in _WORD.finditer(folded):
        between = folded[cursor : match.start()]
        ends_clause = any(c in _CLAUSE_END for c in between) or any(
            cursor <= d < match.start() for d in dash_ends
        )
        norm = match.group().replace("'", "").replace("-", "")
        found.append((norm, origin[match.start()], origin[match.end() - 1] + 1, ends_clause))
        cursor = match.end()
    result: list[Word] = []
    stem_in = stemmers()
    clause = 0
    for index, (norm, start, end, ends_clause) in enumerate(found):
        before = found[index - 1][0] if index else ""
        after = found[index + 1][0] if index + 1 < len(found) else ""
        turns = norm in breaks and (before, norm) not in not_breaks and (norm, after) not in not_breaks
        if result and (ends_clause or turns):
            clause += 1
        raw = text[start:end].replace("'", "").replace("’", "").replace("-", "")
        stems = {lang: stem_word(norm) for lang, stem_word in stem_in.items()}
        result.append(Word(norm, raw, start, end, clause, index, stems))
    return result


def stemmers() -> dict[str, Callable[[str], str]]:
    """Fresh Snowball stemmers, one per language. A stemmer keeps the last word it saw, so none is
    shared between calls: that would keep a piece of someone's answer in memory."""
    return {lang: snowballstemmer.stemmer(name).stemWord for lang, name in STEMMERS.items()}


@functools.lru_cache(maxsize=8192)
def stem(word: str, lang: str) -> str:
    """The Snowball stem of a folded word. For content only, which is why it may be remembered:
    the lexicons' few thousand words are stemmed at every start and content check, and building
    the stemmers each time cost more than the stemming. Typed text is stemmed inside `words`."""
    return _CONTENT_STEMMERS[lang](word)


#: Stemmers for content words only (see `stem`); never given typed text.
_CONTENT_STEMMERS = stemmers()
