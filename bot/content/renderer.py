"""Jinja2 reply templates, compiled once at start-up, rendered for Telegram's HTML parse mode.

StrictUndefined makes a missing variable fail a test instead of reaching a person; autoescape
escapes everything a person typed, since Telegram rejects stray `<`, `>` and `&`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from bot.engine.spec import LANGUAGES

SUFFIX = ".html"
_BLANK_RUNS = re.compile(r"\n{3,}")


class Renderer:
    """One Jinja2 environment per language, every template compiled up front."""

    def __init__(self, templates_dir: Path, languages: Iterable[str] = LANGUAGES) -> None:
        self.templates_dir = templates_dir
        self._compiled: dict[tuple[str, str], Template] = {}
        for lang in languages:
            env = Environment(
                loader=FileSystemLoader(templates_dir / lang),
                undefined=StrictUndefined,
                autoescape=True,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=False,
            )
            for name in env.list_templates(extensions=[SUFFIX.lstrip(".")]):
                self._compiled[(lang, name.removesuffix(SUFFIX))] = env.get_template(name)

    def exists(self, lang: str, template_id: str) -> bool:
        return (lang, template_id) in self._compiled

    def template_ids(self, lang: str) -> set[str]:
        return {tid for (lg, tid) in self._compiled if lg == lang}

    def render(self, lang: str, template_id: str, **context: Any) -> str:
        """The reply text; blank-line runs folded so templates can be laid out readably."""
        text = self._compiled[(lang, template_id)].render(lang=lang, **context)
        return _BLANK_RUNS.sub("\n\n", text).strip()
