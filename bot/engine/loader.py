"""Turns dialogues/*.yaml into Dialogue specs, collecting every problem with file and line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.engine.spec import END, LANGUAGES, UNDERSTAND, Condition, Dialogue, Option, Rule, Step
from bot.engine.yaml_lines import LineDict, LineList, YamlError, load_yaml

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_KINDS = ("choice", "multi", "text", "info")
_STEP_KEYS = {"id", "kind", "ask", "topic", "options", "options_from", "store", "optional", "next"}
_STEP_KEYS |= {"understand"}  # what a text step hears in typed text (bot/typed_answers.py)
_OPTION_KEYS = {"key", "label", "flags", "gaps", "exclusive"}
_DIALOGUE_KEYS = {"id", "start", "steps", "then", "on_finish", "new_run", "description"}


@dataclass(frozen=True)
class ContentProblem:
    """One thing wrong in a content file; printed as `file:line: message`."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class _Collector:
    """Gathers problems so an author sees all of them in one run, not one per run."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.problems: list[ContentProblem] = []

    def add(self, line: int, message: str) -> None:
        self.problems.append(ContentProblem(self.path, line, message))


def _line(node: Any, key: str | None = None) -> int:
    if isinstance(node, LineDict):
        return node.line_of(key) if key else node.line
    return getattr(node, "line", 0)


def _labels(node: Any, where: int, report: _Collector, what: str) -> dict[str, str]:
    if not isinstance(node, dict):
        report.add(where, f"{what} must map each language ({', '.join(LANGUAGES)}) to a text")
        return {}
    labels: dict[str, str] = {}
    for lang in LANGUAGES:
        text = node.get(lang)
        if not isinstance(text, str) or not text.strip():
            report.add(where, f"{what} has no {lang} translation")
        else:
            labels[lang] = text.strip()
    return labels


def _strings(node: Any, where: int, report: _Collector, what: str) -> tuple[str, ...]:
    if node is None:
        return ()
    if not isinstance(node, list) or not all(isinstance(v, str) for v in node):
        report.add(where, f"{what} must be a list of references")
        return ()
    return tuple(node)


def _condition(node: Any, where: int, report: _Collector) -> Condition | None:
    if node is None:
        return None
    if not isinstance(node, dict) or not node:
        report.add(where, "`when` must map a fact to a value or a list of values")
        return None
    facts: dict[str, frozenset[str]] = {}
    for name, wanted in node.items():
        values = wanted if isinstance(wanted, list) else [wanted]
        facts[str(name)] = frozenset(str(v).lower() if isinstance(v, bool) else str(v) for v in values)
    return Condition(facts)


def _rules(node: Any, where: int, report: _Collector) -> tuple[Rule, ...]:
    if node is None:
        return ()
    if isinstance(node, str):
        return (Rule(node, None, where),)
    if not isinstance(node, list):
        report.add(where, "`next`/`then` must be a step id or a list of {to, when}")
        return ()
    rules: list[Rule] = []
    for index, item in enumerate(node):
        line = node.item_lines[index] if isinstance(node, LineList) else where
        if isinstance(item, str):
            rules.append(Rule(item, None, line))
        elif isinstance(item, dict) and isinstance(item.get("to"), str):
            rules.append(Rule(item["to"], _condition(item.get("when"), line, report), line))
        else:
            report.add(line, "a rule needs `to: <step id>` and may have `when`")
    return tuple(rules)


def _option(node: Any, line: int, report: _Collector) -> Option | None:
    if not isinstance(node, dict) or not isinstance(node.get("key"), str):
        report.add(line, "an option needs a `key`")
        return None
    for unknown in sorted(set(node) - _OPTION_KEYS):
        report.add(_line(node, unknown), f"unknown option field {unknown!r}")
    key = node["key"]
    if not _ID.match(key):
        report.add(line, f"option key {key!r} must be lowercase letters, digits and _")
    return Option(
        key=key,
        label=_labels(node.get("label"), _line(node, "label"), report, f"option {key!r} label"),
        flags=_strings(node.get("flags"), _line(node, "flags"), report, "flags"),
        gaps=_strings(node.get("gaps"), _line(node, "gaps"), report, "gaps"),
        exclusive=bool(node.get("exclusive", False)),
        line=line,
    )


def _step(node: Any, line: int, report: _Collector) -> Step | None:  # noqa: C901 (one check per field of a step, each with its own message)
    if not isinstance(node, dict) or not isinstance(node.get("id"), str):
        report.add(line, "a step needs an `id`")
        return None
    for unknown in sorted(set(node) - _STEP_KEYS):
        report.add(_line(node, unknown), f"unknown step field {unknown!r}")
    step_id = node["id"]
    if not _ID.match(step_id) or step_id == END:
        report.add(line, f"step id {step_id!r} must be lowercase letters, digits and _ (not 'end')")
    kind = node.get("kind", "choice")
    if kind not in _KINDS:
        report.add(_line(node, "kind"), f"unknown step kind {kind!r}; use one of {', '.join(_KINDS)}")
        kind = "info"
    template = node.get("ask")
    if not isinstance(template, str) or not template:
        report.add(line, f"step {step_id!r} needs `ask: <template id>`")
        template = ""
    raw_options = node.get("options") or []
    options: list[Option] = []
    if not isinstance(raw_options, list):
        report.add(_line(node, "options"), "`options` must be a list")
        raw_options = []
    for index, raw in enumerate(raw_options):
        option_line = raw_options.item_lines[index] if isinstance(raw_options, LineList) else line
        option = _option(raw, option_line, report)
        if option is not None:
            if any(o.key == option.key for o in options):
                report.add(option_line, f"duplicate option key {option.key!r}")
            options.append(option)
    options_from = node.get("options_from")
    if kind in ("choice", "multi") and not options and not options_from:
        report.add(line, f"step {step_id!r} asks for a tap but has no options")
    understand = node.get("understand")
    if understand is not None and (understand not in UNDERSTAND or kind != "text"):
        report.add(
            _line(node, "understand"),
            f"step {step_id!r}: `understand` takes {', '.join(UNDERSTAND)} and only on a text step",
        )
        understand = None
    next_rules = _rules(node.get("next"), _line(node, "next"), report)
    if not next_rules:
        report.add(line, f"step {step_id!r} needs `next` (a step id or `end`)")
    elif next_rules[-1].when is not None:
        report.add(next_rules[-1].line, f"step {step_id!r}: the last `next` rule must have no `when`")
    return Step(
        id=step_id,
        kind=kind,
        template=template,
        options=tuple(options),
        options_from=options_from if isinstance(options_from, str) else None,
        store=node.get("store") if isinstance(node.get("store"), str) else None,
        optional=bool(node.get("optional", False)),
        next=next_rules,
        understand=understand,
        topic=_labels(node["topic"], _line(node, "topic"), report, "topic") if "topic" in node else {},
        line=line,
    )


def parse_dialogue(path: Path) -> tuple[Dialogue | None, list[ContentProblem]]:
    """One file into a Dialogue; the structural problems found on the way."""
    report = _Collector(path)
    try:
        root = load_yaml(path)
    except YamlError as error:
        report.add(error.line, f"not valid YAML: {error.message}")
        return None, report.problems
    if not isinstance(root, LineDict):
        report.add(1, "a dialogue file must be a mapping with id, start and steps")
        return None, report.problems
    for unknown in sorted(set(root) - _DIALOGUE_KEYS):
        report.add(root.line_of(unknown), f"unknown dialogue field {unknown!r}")
    dialogue_id = root.get("id")
    if not isinstance(dialogue_id, str) or not _ID.match(dialogue_id):
        report.add(root.line_of("id"), "the dialogue needs an `id` of lowercase letters and _")
        dialogue_id = path.stem
    raw_steps = root.get("steps")
    steps: dict[str, Step] = {}
    if not isinstance(raw_steps, list) or not raw_steps:
        report.add(root.line_of("steps"), "`steps` must be a non-empty list")
        raw_steps = LineList()
    for index, raw in enumerate(raw_steps):
        line = raw_steps.item_lines[index] if isinstance(raw_steps, LineList) else 1
        step = _step(raw, line, report)
        if step is None:
            continue
        if step.id in steps:
            report.add(line, f"duplicate step id {step.id!r}")
        steps[step.id] = step
    start = root.get("start", next(iter(steps), ""))
    dialogue = Dialogue(
        id=dialogue_id,
        start=str(start),
        steps=steps,
        then=_rules(root.get("then"), root.line_of("then"), report),
        on_finish=root.get("on_finish") if isinstance(root.get("on_finish"), str) else None,
        new_run=bool(root.get("new_run", False)),
        file=path,
        line=root.line_of("start"),
    )
    return dialogue, report.problems


def load_dialogues(directory: Path) -> tuple[dict[str, Dialogue], list[ContentProblem]]:
    """Every *.yaml in the directory, by dialogue id."""
    dialogues: dict[str, Dialogue] = {}
    problems: list[ContentProblem] = []
    for path in sorted(directory.glob("*.yaml")):
        dialogue, found = parse_dialogue(path)
        problems.extend(found)
        if dialogue is None:
            continue
        if dialogue.id in dialogues:
            problems.append(ContentProblem(path, dialogue.line, f"duplicate dialogue id {dialogue.id!r}"))
        dialogues[dialogue.id] = dialogue
    if not dialogues:
        problems.append(ContentProblem(directory, 0, "no dialogue files found"))
    return dialogues, problems
