"""What the coach understands in typed text: its own topics, and options typed instead of tapped.

Pure and offline: no Telegram, no SQL, no network, no model download. The lexicons are data in
knowledge/understanding/. Nothing here keeps the text it is given.

    understand(text, lang) -> Heard                      # fears and causes, with confidence and spans
    match_option(text, lang, options, step) -> OptionMatch | None   # a typed answer to a button question
"""

from bot.understanding.hearing import HEARD, SURE, Heard, Span, TopicHeard, understand
from bot.understanding.lexicon import Lexicon, LexiconError, default_lexicon, load_lexicon
from bot.understanding.options import ASK, TAKE, OptionMatch, match_option

__all__ = [
    "ASK",
    "HEARD",
    "SURE",
    "TAKE",
    "Heard",
    "Lexicon",
    "LexiconError",
    "OptionMatch",
    "Span",
    "TopicHeard",
    "default_lexicon",
    "load_lexicon",
    "match_option",
    "understand",
]
