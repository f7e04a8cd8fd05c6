"""The message catalog: loading knowledge/messages/*.yaml and checking every reference to it.

A message is `key: {nl: "...", en: "..."}` in knowledge/messages/<feature>.yaml and is named
`<feature>/<key>`. Templates (knowledge/templates/<feature>/<name>.html) share that name space.
`coachbot validate` checks, through here, that every message has every language with the same
variables, that every name the code, the dialogues and the templates use exists, that no name is
built at run time (it would hide a missing or unused one), and reports messages nobody uses.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, TemplateSyntaxError, meta, nodes

from bot.content.renderer import SUFFIX, MessageText
from bot.engine.loader import ContentProblem
from bot.engine.spec import LANGUAGES
from bot.engine.yaml_lines import LineDict, YamlError, load_yaml

#: Where message files live inside the knowledge directory.
FOLDER = "messages"
#: Variables every message and template gets without being passed.
IMPLICIT = frozenset({"lang", "t"})
_NAME = re.compile(r"^[a-z][a-z0-9_]*/[a-z_][a-z0-9_]*$")


@dataclass(frozen=True)
class Reference:
    """A place that names a message or template."""

    name: str
    path: Path
    line: int


def load_messages(messages_dir: Path) -> tuple[list[MessageText], list[ContentProblem]]:
    """Every message text, or the problems with the files (a language missing, not a string)."""
    texts: list[MessageText] = []
    problems: list[ContentProblem] = []
    for path in sorted(messages_dir.glob("*.yaml")):
        try:
            root = load_yaml(path)
        except YamlError as error:
            problems.append(ContentProblem(path, error.line, error.message))
            continue
        if not isinstance(root, LineDict):
            problems.append(ContentProblem(path, 1, "a message file is a mapping `key: {nl, en}`"))
            continue
        for key, pair in root.items():
            line = root.line_of(key)
            name = f"{path.stem}/{key}"
            if not isinstance(pair, dict):
                problems.append(ContentProblem(path, line, f"message {name!r} needs {{nl: ..., en: ...}}"))
                continue
            for lang in sorted(set(pair) - set(LANGUAGES)):
                problems.append(ContentProblem(path, line, f"message {name!r} has unknown language {lang!r}"))
            for lang in LANGUAGES:
                text = pair.get(lang)
                if not isinstance(text, str) or not text.strip():
                    problems.append(ContentProblem(path, line, f"message {name!r} has no {lang!r} text"))
                    continue
                texts.append(MessageText(name, lang, text, path, line))
    return texts, problems


def variable_problems(env: Environment, texts: Iterable[MessageText]) -> list[ContentProblem]:
    """Each language of a message must use the same variables (and be valid Jinja)."""
    problems: list[ContentProblem] = []
    by_name: dict[str, dict[str, tuple[MessageText, set[str]]]] = {}
    for text in texts:
        try:
            names = meta.find_undeclared_variables(env.parse(text.text)) - IMPLICIT
        except TemplateSyntaxError as error:
            message = f"message {text.message_id!r} ({text.lang}): {error.message}"
            problems.append(ContentProblem(text.path, text.line, message))
            continue
        by_name.setdefault(text.message_id, {})[text.lang] = (text, names)
    for name, langs in by_name.items():
        (first_lang, (first, first_vars)), *others = sorted(langs.items())
        for lang, (_text, names) in others:
            for missing, where, other in (
                (first_vars - names, lang, first_lang),
                (names - first_vars, first_lang, lang),
            ):
                for variable in sorted(missing):
                    message = (
                        f"message {name!r} has no variable {variable!r} in {where!r} (it has in {other!r})"
                    )
                    problems.append(ContentProblem(first.path, first.line, message))
    return problems


def template_references(
    env: Environment, templates_dir: Path
) -> tuple[list[Reference], list[ContentProblem]]:
    """What each template names: `t("<feature>/<key>")` calls and imported templates."""
    references: list[Reference] = []
    problems: list[ContentProblem] = []
    for path in sorted(templates_dir.rglob(f"*{SUFFIX}")):
        try:
            tree = env.parse(path.read_text(encoding="utf-8"))
        except TemplateSyntaxError as error:
            problems.append(ContentProblem(path, error.lineno, f"template syntax: {error.message}"))
            continue
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "t":
                first = call.args[0] if call.args else None
                if isinstance(first, nodes.Const) and isinstance(first.value, str):
                    references.append(Reference(first.value, path, call.lineno))
                else:
                    problems.append(ContentProblem(path, call.lineno, "t() needs a message name written out"))
        for imported in meta.find_referenced_templates(tree):
            if imported is not None:
                references.append(Reference(imported.removesuffix(SUFFIX), path, 1))
    return references, problems


def code_references(code_dir: Path, features: set[str]) -> tuple[list[Reference], list[ContentProblem]]:
    """String constants in the code that name a message (`"<feature>/<key>"`), and names the code
    builds at run time (an f-string starting with `<feature>/`), which the catalog cannot check."""
    references: list[Reference] = []
    problems: list[ContentProblem] = []
    for path in sorted(code_dir.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _strings(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if _NAME.match(node.value) and node.value.split("/", 1)[0] in features:
                    references.append(Reference(node.value, path, node.lineno))
            elif isinstance(node, ast.JoinedStr) and node.values:
                head = node.values[0]
                if isinstance(head, ast.Constant) and isinstance(head.value, str):
                    feature = head.value.split("/", 1)[0]
                    if "/" in head.value and feature in features:
                        message = f"message name built at run time ({head.value}…): write each name out"
                        problems.append(ContentProblem(path, node.lineno, message))
    return references, problems


def _strings(tree: ast.AST) -> Iterator[ast.AST]:
    """String constants and f-strings, not the constants inside an f-string."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            inside.update(id(value) for value in node.values)
            yield node
        elif isinstance(node, ast.Constant) and id(node) not in inside:
            yield node


def reference_problems(references: Iterable[Reference], exists: set[str]) -> list[ContentProblem]:
    return [
        ContentProblem(ref.path, ref.line, f"message {ref.name!r} does not exist")
        for ref in references
        if ref.name not in exists
    ]


def unused(texts: Iterable[MessageText], references: Iterable[Reference]) -> list[ContentProblem]:
    """Messages nothing names: reported, not fatal (remove them, or use them)."""
    used = {ref.name for ref in references}
    seen: dict[str, MessageText] = {}
    for text in texts:
        seen.setdefault(text.message_id, text)
    return [
        ContentProblem(text.path, text.line, f"message {name!r} is not used")
        for name, text in sorted(seen.items())
        if name not in used
    ]
