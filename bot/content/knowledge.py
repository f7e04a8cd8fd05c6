"""Loads knowledge/*.yaml: what the coach knows from the seeds, in Dutch and English.

Every item is addressed by a dotted reference (`fears.time_loss`, `six_cs.continuous`,
`phases.pilot_model.coordination`) so dialogues and coaching can cite it and the validator can
check that each citation resolves.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.content.seed_quotes import SeedTexts
from bot.engine.loader import ContentProblem
from bot.engine.spec import LANGUAGES
from bot.engine.yaml_lines import LineDict, LineList, YamlError, load_yaml

SEED_FILE = re.compile(r"^\d{3}_[0-9a-f]{16}\.txt$")
#: `source: own` marks an item that is ours, not a paraphrase of a seed: it needs no quote.
OWN = "own"
#: Fields of an item that hold no text to translate: ids, citations, conditions, references.
_PLAIN_FIELDS = ("id", "source", "quote", "own")
#: Fields that hold items of their own (checked as such, not as texts of their parent).
_NESTED_ITEMS = ("phases", "gate")
#: Files and the lists inside them that hold addressable items: file stem -> list keys.
_LISTS: Mapping[str, tuple[str, ...]] = {
    "causes": ("causes",),
    "fears": ("fears",),
    "standings": ("standings",),
    "six_cs": ("six_cs",),
    "social_model": ("letters", "climate"),
    "internal_external": ("items",),
    "real_time": ("items",),
    "rollout": ("steps", "talking_points"),
    "tensions": ("tensions",),
    "steps": ("steps",),
    "models": ("models",),
}
_SINGLES: Mapping[str, tuple[str, ...]] = {
    "social_model": ("base",),
    "rollout": ("principle", "invite_next"),
}
_TEXT_KEYS = ("nl", "en")
REQUIRED_FILES = ("phases", *(_LISTS.keys()))


@dataclass(frozen=True)
class Item:
    """One knowledge item: its reference, its fields (texts are {nl, en} maps), where it was read."""

    ref: str
    fields: Mapping[str, Any]
    path: Path
    line: int

    def text(self, key: str, lang: str) -> str:
        """A text field in one language; the validator guarantees both exist."""
        value = self.fields[key]
        return str(value[lang])

    @property
    def id(self) -> str:
        return str(self.fields["id"])


@dataclass
class Knowledge:
    """Everything from knowledge/, indexed by reference and by kind."""

    items: dict[str, Item] = field(default_factory=dict)
    phase_models: dict[str, list[Item]] = field(default_factory=dict)
    model_names: dict[str, Item] = field(default_factory=dict)

    def get(self, ref: str) -> Item:
        """The item; KeyError means content and code disagree, which the validator prevents."""
        return self.items[ref]

    def kind(self, prefix: str) -> list[Item]:
        """All items of one kind (`fears`, `causes`, ...) in file order."""
        return [
            item for ref, item in self.items.items() if ref.startswith(prefix + ".") and ref.count(".") == 1
        ]

    def phase(self, model: str, phase_id: str) -> Item:
        return self.items[f"phases.{model}.{phase_id}"]


def _texts(node: Any) -> Iterator[tuple[str, Any, int]]:
    """Every {nl, en} text mapping below node, with the line it sits on."""
    if isinstance(node, dict):
        if set(node) & set(_TEXT_KEYS) and set(node) <= {*_TEXT_KEYS}:
            yield "", node, getattr(node, "line", 0)
            return
        for key, value in node.items():
            for path, text, line in _texts(value):
                yield f"{key}.{path}" if path else key, text, line or getattr(node, "line", 0)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            for path, text, line in _texts(value):
                yield f"{index}.{path}" if path else str(index), text, line


def _quotes(item: LineDict) -> list[tuple[str, int]]:
    """The item's quotes with their lines; `quote` is one string or a list of them."""
    raw = item.get("quote")
    if isinstance(raw, str):
        return [(raw, item.line_of("quote"))]
    if isinstance(raw, LineList):
        return [(q, line) for q, line in zip(raw, raw.item_lines, strict=True) if isinstance(q, str)]
    return []


def _check_sources(  # noqa: C901 (one check per source rule, each with its own message)
    item: LineDict, path: Path, problems: list[ContentProblem], seeds: SeedTexts | None
) -> None:
    """A cited seed exists and every quote is in one of the item's seeds; `own` items quote nothing."""
    sources = item.get("source")
    listed = sources if isinstance(sources, list) else [sources]
    where = item.line_of("source")
    if sources is None or not listed:
        problems.append(ContentProblem(path, item.line, f"item {item.get('id')!r} cites no seed (`source`)"))
        return
    cited: list[str] = []
    for source in listed:
        if source == OWN:
            continue
        if not isinstance(source, str) or not SEED_FILE.match(source):
            problems.append(ContentProblem(path, where, f"`source` {source!r} is not a seed file (or `own`)"))
        elif seeds is not None and source not in seeds.texts:
            problems.append(ContentProblem(path, where, f"seed {source!r} does not exist"))
        else:
            cited.append(source)
    quotes = _quotes(item)
    raw = item.get("quote")
    well_formed = isinstance(raw, str) or (isinstance(raw, list) and len(quotes) == len(raw))
    if raw is not None and not well_formed:
        message = "`quote` must be a text or a list of texts"
        problems.append(ContentProblem(path, item.line_of("quote"), message))
    if cited and not quotes:
        message = f"item {item.get('id')!r} cites {', '.join(cited)} but quotes no sentence of it (`quote`)"
        problems.append(ContentProblem(path, where, message))
    if not cited and quotes and OWN in listed:
        problems.append(ContentProblem(path, item.line_of("quote"), "an `own` item quotes no seed"))
    if seeds is None:
        return
    missing = False
    for quote, line in quotes:
        if seeds.first_seed_with(cited, quote) is None:
            missing = True
            shown = quote if len(quote) <= 60 else quote[:57] + "..."
            problems.append(ContentProblem(path, line, f"quote not in {' or '.join(cited)}: {shown!r}"))
    for source in cited if quotes and not missing else ():
        if not any(seeds.contains(source, quote) for quote, _ in quotes):
            problems.append(ContentProblem(path, where, f"no quote is from the cited seed {source!r}"))


def _check_item(item: LineDict, path: Path, problems: list[ContentProblem], seeds: SeedTexts | None) -> None:
    _check_sources(item, path, problems, seeds)
    own = item.get("own")
    if own is not None and (not isinstance(own, list) or any(name not in item for name in own)):
        problems.append(ContentProblem(path, item.line_of("own"), "`own` must list fields of this item"))
    plain = {k: v for k, v in item.items() if k not in _PLAIN_FIELDS and k not in _NESTED_ITEMS}
    for where, text, line in _texts(plain):
        for lang in LANGUAGES:
            value = text.get(lang) if isinstance(text, dict) else None
            if not isinstance(value, str) or not value.strip():
                problems.append(ContentProblem(path, line or item.line, f"{where} has no {lang} text"))


def _item(
    node: Any,
    path: Path,
    ref_prefix: str,
    problems: list[ContentProblem],
    seeds: SeedTexts | None,
    knowledge: Knowledge,
) -> Item | None:
    if not isinstance(node, LineDict) or not isinstance(node.get("id"), str):
        problems.append(ContentProblem(path, getattr(node, "line", 1), "an item needs an `id`"))
        return None
    _check_item(node, path, problems, seeds)
    ref = f"{ref_prefix}.{node['id']}"
    if ref in knowledge.items:
        problems.append(ContentProblem(path, node.line, f"duplicate item {ref!r}"))
    item = Item(ref, node, path, node.line)
    knowledge.items[ref] = item
    return item


def _load_gate(
    owner: Item, path: Path, problems: list[ContentProblem], seeds: SeedTexts | None, knowledge: Knowledge
) -> None:
    """A phase's gate: the requirements that must hold for it, each an item with its own quote."""
    gate = owner.fields.get("gate")
    if gate is None:
        return
    if not isinstance(gate, LineList):
        problems.append(ContentProblem(path, owner.line, "`gate` must be a list"))
        return
    for requirement in gate:
        _item(requirement, path, owner.ref, problems, seeds, knowledge)


def _load_phases(
    root: LineDict, path: Path, problems: list[ContentProblem], seeds: SeedTexts | None, knowledge: Knowledge
) -> None:
    models = root.get("models")
    if not isinstance(models, LineList):
        problems.append(ContentProblem(path, root.line, "phases.yaml needs `models`"))
        return
    for model in models:
        header = _item(model, path, "phases", problems, seeds, knowledge)
        if header is None:
            continue
        knowledge.model_names[header.id] = header
        phases = model.get("phases")
        if not isinstance(phases, LineList) or len(phases) != 4:
            problems.append(ContentProblem(path, model.line, f"model {header.id!r} needs four phases"))
            continue
        items = [_item(p, path, f"phases.{header.id}", problems, seeds, knowledge) for p in phases]
        knowledge.phase_models[header.id] = [i for i in items if i is not None]
        for item in knowledge.phase_models[header.id]:
            _load_gate(item, path, problems, seeds, knowledge)
    personal = _item(root.get("personal"), path, "phases", problems, seeds, knowledge)
    if personal is not None:
        _load_gate(personal, path, problems, seeds, knowledge)


def load_knowledge(directory: Path, seeds_dir: Path | None = None) -> tuple[Knowledge, list[ContentProblem]]:
    """Every knowledge file; problems name file and line. With `seeds_dir`, every cited seed must
    exist there and every quote must be in the seed it cites."""
    knowledge = Knowledge()
    problems: list[ContentProblem] = []
    seeds: SeedTexts | None = None
    if seeds_dir is not None:
        if seeds_dir.is_dir():
            seeds = SeedTexts.read(seeds_dir)
        else:
            problems.append(ContentProblem(seeds_dir, 0, "seed folder not found"))
    for stem in REQUIRED_FILES:
        path = directory / f"{stem}.yaml"
        if not path.exists():
            problems.append(ContentProblem(path, 0, "knowledge file is missing"))
            continue
        try:
            root = load_yaml(path)
        except YamlError as error:
            problems.append(ContentProblem(path, error.line, f"not valid YAML: {error.message}"))
            continue
        if not isinstance(root, LineDict):
            problems.append(ContentProblem(path, 1, "a knowledge file must be a mapping"))
            continue
        if stem == "phases":
            _load_phases(root, path, problems, seeds, knowledge)
            continue
        for key in _SINGLES.get(stem, ()):
            _item(root.get(key), path, stem, problems, seeds, knowledge)
        for key in _LISTS[stem]:
            entries = root.get(key)
            if not isinstance(entries, LineList):
                problems.append(ContentProblem(path, root.line_of(key), f"`{key}` must be a list"))
                continue
            for node in entries:
                _item(node, path, stem, problems, seeds, knowledge)
    return knowledge, problems
