"""Checks that every quoted seed sentence is really in the seed it cites.

Knowledge items paraphrase the seeds in our own words and keep the Dutch sentence they follow
beside them (`quote:`), so a reader, and this check, can hold the paraphrase against its source.
Seeds mix typographic and straight quote marks and wrap lines at random, so both sides are
normalised before comparing; an ellipsis in a quote stands for left-out words.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

#: Every quote mark the seeds use (and their straight cousins) counts as the same mark.
_QUOTE_MARKS = str.maketrans(dict.fromkeys('‘’‚‛′`´“”„‟″"', "'"))
_SPACE = re.compile(r"\s+")
#: "…" (or "...") in a quote: the fragments around it must appear in this order.
_GAP = re.compile(r"\s*(?:…|\.\.\.)\s*")


def normalise(text: str) -> str:
    """One spelling of whitespace and quote marks, so only the words are compared."""
    return _SPACE.sub(" ", text.translate(_QUOTE_MARKS)).strip()


@dataclass(frozen=True)
class SeedTexts:
    """The seed files of one folder, read once and normalised."""

    texts: Mapping[str, str]

    @classmethod
    def read(cls, folder: Path) -> SeedTexts:
        return cls({path.name: normalise(path.read_text(encoding="utf-8")) for path in folder.glob("*.txt")})

    def contains(self, seed: str, quote: str) -> bool:
        """Whether the quote (its fragments, in order) is in that seed."""
        text = self.texts.get(seed)
        if text is None:
            return False
        position = 0
        for fragment in (f for f in _GAP.split(normalise(quote)) if f):
            found = text.find(fragment, position)
            if found < 0:
                return False
            position = found + len(fragment)
        return True

    def first_seed_with(self, seeds: Iterable[str], quote: str) -> str | None:
        """The first of the cited seeds that holds the quote, if any."""
        return next((seed for seed in seeds if self.contains(seed, quote)), None)
