"""Everything the bot says, compiled once at start-up, rendered for Telegram's HTML parse mode.

Two sources, one name space (`<feature>/<key>`):
- messages: short texts as `{nl, en}` pairs in knowledge/messages/<feature>.yaml, Jinja variables allowed;
- templates: knowledge/templates/<feature>/<name>.html, only where logic is needed (loops, conditions),
  written once for all languages; their words come from messages through `t("<feature>/<key>", var=…)`.

StrictUndefined makes a missing variable fail a test instead of reaching a person; autoescape
escapes everything a person typed, since Telegram rejects stray `<`, `>` and `&`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from bot.engine.spec import LANGUAGES

SUFFIX = ".html"
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class MessageText:
    """One language of one message, as written, with where it was written."""

    message_id: str
    lang: str
    text: str
    path: Path
    line: int


def environment(templates_dir: Path) -> Environment:
    """The one Jinja environment: templates by file name, messages compiled from their text."""
    return Environment(
        loader=FileSystemLoader(templates_dir),
        undefined=StrictUndefined,
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )


class Renderer:
    """Messages per language and language-free templates, all compiled up front."""

    def __init__(
        self, templates_dir: Path, messages: Iterable[MessageText], languages: Iterable[str] = LANGUAGES
    ) -> None:
        self.templates_dir = templates_dir
        self.languages = tuple(languages)
        self._env = environment(templates_dir)
        self._env.globals["t"] = self._t
        self._messages: dict[tuple[str, str], Template] = {}
        for message in messages:
            self._messages[(message.lang, message.message_id)] = self._env.from_string(message.text)
        self._templates: dict[str, Template] = {}
        for name in self._env.list_templates(extensions=[SUFFIX.lstrip(".")]):
            self._templates[name.removesuffix(SUFFIX)] = self._env.get_template(name)

    def exists(self, lang: str, message_id: str) -> bool:
        return (lang, message_id) in self._messages or message_id in self._templates

    def message_ids(self) -> set[str]:
        return {mid for (_lang, mid) in self._messages}

    def template_ids(self) -> set[str]:
        return set(self._templates)

    def render(self, lang: str, message_id: str, **context: Any) -> str:
        """The reply text; blank-line runs folded so templates can be laid out readably."""
        template = self._messages.get((lang, message_id)) or self._templates[message_id]
        text = template.render(lang=lang, **context)
        return _BLANK_RUNS.sub("\n\n", text).strip()

    @pass_context
    def _t(self, context: Context, message_id: str, **variables: Any) -> Markup:
        """`t("<feature>/<key>", var=…)` inside a template: the message in the template's language."""
        lang = context["lang"]
        # Rendered with autoescape already: what a person typed is escaped exactly once.
        return Markup(self._messages[(lang, message_id)].render(lang=lang, **variables))
