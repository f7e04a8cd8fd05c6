"""Loads and checks knowledge/understanding/: what the coach listens for, as data.

Three files, each with Dutch and English side by side:
- topics.yaml: per topic id (as in knowledge/: `fears.time_loss`, `causes.silo`, …) the phrases
  that are enough on their own, and hints that only count together;
- language.yaml: the small words that change meaning: negations, denials ("is geen probleem"),
  words that turn a sentence ("maar", "but"), filler words, and numbers written out;
- answers.yaml: synonyms for the options of button questions, per step id and option key, and
  common ones per option key ("nee", "nope" for any option keyed `no`).

`coachbot validate` goes through `load_lexicon`, so an author sees every problem with file and line.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from bot import PROJECT_ROOT
from bot.engine.loader import ContentProblem
from bot.engine.yaml_lines import LineDict, LineList, YamlError, load_yaml
from bot.understanding.phrases import Index, Phrase, parse
from bot.understanding.text import STEMMERS, fold

LANGUAGES: tuple[str, ...] = tuple(STEMMERS)
TOPICS_FILE = "topics.yaml"
LANGUAGE_FILE = "language.yaml"
ANSWERS_FILE = "answers.yaml"
#: Where the lexicons live below knowledge/.
FOLDER = "understanding"
_LANGUAGE_LISTS = ("negations", "not_negations", "denials", "breaks", "not_breaks", "stopwords")


@dataclass(frozen=True)
class TopicLexicon:
    """What makes the coach hear one topic: phrases (enough alone) and hints (only together)."""

    id: str
    phrases: tuple[Phrase, ...]
    hints: tuple[Phrase, ...]
    #: Topics that, heard in the same clause, take this one's place.
    gives_way_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lexicon:
    """Everything the understanding step knows; loaded once, shared, never changed."""

    topics: Mapping[str, TopicLexicon]
    negations: frozenset[str]
    not_negations: tuple[Phrase, ...]
    denials: tuple[Phrase, ...]
    breaks: frozenset[str]
    not_breaks: frozenset[tuple[str, str]]
    stopwords: frozenset[str]
    numbers: Mapping[str, int]
    #: (step id or None for any step, option key) -> folded synonyms in either language.
    synonyms: Mapping[tuple[str | None, str], tuple[str, ...]] = field(default_factory=dict)
    #: Every phrase's words by first letter, so a text is compared with few of them.
    index: Index = field(default_factory=lambda: Index({}, ()))

    @property
    def phrases(self) -> list[Phrase]:
        """Every phrase of every topic, and the negation phrases."""
        topics = [p for t in self.topics.values() for p in (*t.phrases, *t.hints)]
        return [*topics, *self.not_negations, *self.denials]

    def synonyms_for(self, step: str | None, key: str) -> tuple[str, ...]:
        """Synonyms of one option: those of its step, then the common ones for its key."""
        own = self.synonyms.get((step, key), ()) if step is not None else ()
        return own + self.synonyms.get((None, key), ())


class LexiconError(Exception):
    """The lexicons cannot be used; carries every problem found."""

    def __init__(self, problems: list[ContentProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


def _read(path: Path, problems: list[ContentProblem]) -> LineDict | None:
    if not path.exists():
        problems.append(ContentProblem(path, 0, "understanding file is missing"))
        return None
    try:
        root = load_yaml(path)
    except YamlError as error:
        problems.append(ContentProblem(path, error.line, f"not valid YAML: {error.message}"))
        return None
    if not isinstance(root, LineDict):
        problems.append(ContentProblem(path, 1, "must be a mapping"))
        return None
    return root


def _strings(node: Any, path: Path, line: int, where: str, problems: list[ContentProblem]) -> list[str]:
    if node is None:
        return []
    if not isinstance(node, list) or not all(isinstance(s, str) and s.strip() for s in node):
        problems.append(ContentProblem(path, line, f"{where} must be a list of non-empty texts"))
        return []
    return [str(s) for s in node]


def _lines(node: Any, line: int) -> list[int]:
    """The line of each item of a YAML list (the list's own line when unknown)."""
    return list(getattr(node, "item_lines", [])) or [line] * len(node or ())


def _phrases(
    node: Any, lang: str, path: Path, line: int, where: str, problems: list[ContentProblem]
) -> list[tuple[Phrase, int]]:
    """The phrases of a YAML list, each with its own line, so a problem names the phrase's line."""
    texts = _strings(node, path, line, where, problems)
    parsed = []
    for text, text_line in zip(texts, _lines(node, line), strict=False):
        try:
            parsed.append((parse(text, lang), text_line))
        except ValueError as error:
            problems.append(ContentProblem(path, text_line, f"{where}: phrase {text!r}: {error}"))
    return parsed


def _load_topics(  # noqa: C901 (one check per field of a topic, each with its own message)
    root: LineDict, path: Path, topic_ids: Collection[str] | None, problems: list[ContentProblem]
) -> dict[str, TopicLexicon]:
    entries = root.get("topics")
    if not isinstance(entries, LineList):
        problems.append(ContentProblem(path, root.line_of("topics"), "`topics` must be a list"))
        return {}
    topics: dict[str, TopicLexicon] = {}
    owner: dict[tuple[str, Any], tuple[str, str]] = {}
    for entry in entries:
        if not isinstance(entry, LineDict) or not isinstance(entry.get("id"), str):
            problems.append(ContentProblem(path, getattr(entry, "line", 1), "a topic needs an `id`"))
            continue
        topic_id = str(entry["id"])
        if topic_ids is not None and topic_id not in topic_ids:
            problems.append(
                ContentProblem(path, entry.line, f"unknown topic id {topic_id!r} (not in knowledge/)")
            )
        if topic_id in topics:
            problems.append(ContentProblem(path, entry.line, f"topic {topic_id!r} is listed twice"))
        phrases: list[Phrase] = []
        hints: list[Phrase] = []
        for lang in LANGUAGES:
            block = entry.get(lang)
            line = entry.line_of(lang)
            if not isinstance(block, LineDict):
                problems.append(ContentProblem(path, line, f"topic {topic_id!r} has no {lang!r} lexicon"))
                continue
            where = f"{topic_id}.{lang}"
            strong = _phrases(
                block.get("phrases"), lang, path, block.line_of("phrases"), f"{where}.phrases", problems
            )
            weak = _phrases(
                block.get("hints"), lang, path, block.line_of("hints"), f"{topic_id}.{lang}.hints", problems
            )
            if not block.get("phrases"):
                problems.append(ContentProblem(path, line, f"topic {topic_id!r} has no {lang} phrases"))
            for found, bucket in ((strong, phrases), (weak, hints)):
                for phrase, phrase_line in found:
                    seen = owner.get((lang, phrase.key))
                    if seen is not None and seen[0] != topic_id:
                        message = (
                            f"{lang} phrase {phrase.source!r} of {topic_id!r} matches the same as "
                            f"{seen[1]!r} of {seen[0]!r}: the two topics would always tie"
                        )
                        problems.append(ContentProblem(path, phrase_line, message))
                    elif seen is not None:
                        message = f"{lang} phrase {phrase.source!r} is listed twice"
                        problems.append(ContentProblem(path, phrase_line, message))
                    owner[(lang, phrase.key)] = (topic_id, phrase.source)
                    bucket.append(phrase)
        gives_way_to = _strings(
            entry.get("gives_way_to"),
            path,
            entry.line_of("gives_way_to"),
            f"{topic_id}.gives_way_to",
            problems,
        )
        topics[topic_id] = TopicLexicon(topic_id, tuple(phrases), tuple(hints), tuple(gives_way_to))
    for topic in topics.values():
        for other in topic.gives_way_to:
            if other not in topics or other == topic.id:
                message = f"{topic.id!r} gives way to {other!r}, which is not another topic here"
                problems.append(ContentProblem(path, root.line_of("topics"), message))
    for missing in sorted(set(topic_ids or ()) - set(topics)):
        problems.append(ContentProblem(path, root.line, f"topic {missing!r} has no lexicon"))
    return topics


def _load_language(root: LineDict, path: Path, problems: list[ContentProblem]) -> dict[str, Any]:
    found: dict[str, Any] = {name: [] for name in _LANGUAGE_LISTS}
    numbers: dict[str, int] = {}
    for lang in LANGUAGES:
        block = root.get(lang)
        if not isinstance(block, LineDict):
            problems.append(ContentProblem(path, root.line_of(lang), f"no {lang!r} section"))
            continue
        for name in _LANGUAGE_LISTS:
            if not block.get(name):
                problems.append(ContentProblem(path, block.line_of(name), f"{lang}.{name} is empty"))
            if name in ("not_negations", "denials"):
                line = block.line_of(name)
                parsed = _phrases(block.get(name), lang, path, line, f"{lang}.{name}", problems)
                found[name].extend(phrase for phrase, _ in parsed)
                continue
            texts = _strings(block.get(name), path, block.line_of(name), f"{lang}.{name}", problems)
            if name == "not_breaks":
                pairs = [tuple(fold(t).split()) for t in texts]
                for text, pair in zip(texts, pairs, strict=True):
                    if len(pair) != 2:
                        problems.append(
                            ContentProblem(
                                path, block.line_of(name), f"{lang}.not_breaks: {text!r} is not two words"
                            )
                        )
                found[name].extend(p for p in pairs if len(p) == 2)
            else:
                found[name].extend(fold(t) for t in texts)
        written = block.get("numbers")
        if not isinstance(written, LineDict) or not all(
            isinstance(v, int) and v > 0 for v in written.values()
        ):
            problems.append(
                ContentProblem(path, block.line_of("numbers"), f"{lang}.numbers must map words to 1, 2, …")
            )
        else:
            numbers.update({fold(k): int(v) for k, v in written.items()})
    found["numbers"] = numbers
    return found


def _load_answers(
    root: LineDict,
    path: Path,
    steps: Mapping[str, Collection[str]] | None,
    problems: list[ContentProblem],
) -> dict[tuple[str | None, str], tuple[str, ...]]:
    synonyms: dict[tuple[str | None, str], tuple[str, ...]] = {}
    common = root.get("common")
    if not isinstance(common, LineDict):
        problems.append(
            ContentProblem(path, root.line_of("common"), "`common` must map option keys to synonyms")
        )
        common = LineDict()
    per_step = root.get("steps")
    if not isinstance(per_step, LineDict):
        problems.append(ContentProblem(path, root.line_of("steps"), "`steps` must map step ids to options"))
        per_step = LineDict()
    all_keys = {k for keys in (steps or {}).values() for k in keys}
    for key, block in common.items():
        if steps is not None and key not in all_keys:
            problems.append(ContentProblem(path, common.line_of(key), f"no step has an option {key!r}"))
        synonyms[(None, key)] = _synonyms(block, path, common.line_of(key), f"common.{key}", problems)
    for step_id, options in per_step.items():
        line = per_step.line_of(step_id)
        if steps is not None and step_id not in steps:
            problems.append(ContentProblem(path, line, f"unknown step {step_id!r}"))
            continue
        if not isinstance(options, LineDict):
            problems.append(ContentProblem(path, line, f"step {step_id!r} must map option keys to synonyms"))
            continue
        owners: dict[str, str] = {}
        for key, block in options.items():
            if steps is not None and key not in steps[step_id]:
                problems.append(
                    ContentProblem(path, options.line_of(key), f"step {step_id!r} has no option {key!r}")
                )
            texts = _synonyms(block, path, options.line_of(key), f"{step_id}.{key}", problems)
            for text in texts:
                if owners.get(text, key) != key:
                    message = f"{step_id}: synonym {text!r} is given for both {owners[text]!r} and {key!r}"
                    problems.append(ContentProblem(path, options.line_of(key), message))
                owners[text] = key
            synonyms[(step_id, key)] = texts
    return synonyms


def _synonyms(
    block: Any, path: Path, line: int, where: str, problems: list[ContentProblem]
) -> tuple[str, ...]:
    if not isinstance(block, LineDict):
        problems.append(ContentProblem(path, line, f"{where} must have nl and en synonyms"))
        return ()
    texts: list[str] = []
    for lang in LANGUAGES:
        lang_line = block.line_of(lang) if lang in block else line
        found = _strings(block.get(lang), path, lang_line, f"{where}.{lang}", problems)
        if not found:
            problems.append(ContentProblem(path, lang_line, f"{where} has no {lang} synonyms"))
        texts.extend(" ".join(fold(t).split()) for t in found)
    return tuple(texts)


def load_lexicon(
    directory: Path,
    topic_ids: Collection[str] | None = None,
    steps: Mapping[str, Collection[str]] | None = None,
) -> tuple[Lexicon | None, list[ContentProblem]]:
    """The lexicons in `directory`, and every problem; a Lexicon only when there are none.

    With `topic_ids` (from knowledge/) every topic must be one of them and each must have a lexicon;
    with `steps` (step id -> option keys, from dialogues/) synonyms must name real steps and options.
    """
    problems: list[ContentProblem] = []
    topics_root = _read(directory / TOPICS_FILE, problems)
    language_root = _read(directory / LANGUAGE_FILE, problems)
    answers_root = _read(directory / ANSWERS_FILE, problems)
    topics = _load_topics(topics_root, directory / TOPICS_FILE, topic_ids, problems) if topics_root else {}
    language = _load_language(language_root, directory / LANGUAGE_FILE, problems) if language_root else {}
    synonyms = _load_answers(answers_root, directory / ANSWERS_FILE, steps, problems) if answers_root else {}
    if problems:
        return None, problems
    lexicon = Lexicon(
        topics=topics,
        negations=frozenset(language["negations"]),
        not_negations=tuple(language["not_negations"]),
        denials=tuple(language["denials"]),
        breaks=frozenset(language["breaks"]),
        not_breaks=frozenset(language["not_breaks"]),
        stopwords=frozenset(language["stopwords"]),
        numbers=language["numbers"],
        synonyms=synonyms,
    )
    return replace(lexicon, index=Index.of(lexicon.phrases)), []


@cache
def lexicon_at(directory: Path) -> Lexicon:
    """The lexicons of one folder, loaded once per process; LexiconError if they are broken."""
    lexicon, problems = load_lexicon(directory)
    if lexicon is None:
        raise LexiconError(problems)
    return lexicon


def default_lexicon() -> Lexicon:
    """The project's own lexicons (knowledge/understanding/), for callers that pass none."""
    return lexicon_at(PROJECT_ROOT / "knowledge" / FOLDER)
