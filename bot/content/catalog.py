"""Loads and cross-checks all content at once: dialogues, knowledge and templates.

`coachbot validate`, the tests and start-up all go through here, so a content error is found
the same way everywhere and named with its file and line.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import TemplateSyntaxError

from bot.content.knowledge import Knowledge, load_knowledge
from bot.content.renderer import SUFFIX, Renderer
from bot.engine.engine import DialogueEngine
from bot.engine.loader import ContentProblem, load_dialogues
from bot.engine.spec import LANGUAGES, Dialogue
from bot.engine.validation import check_dialogues
from bot.understanding.lexicon import FOLDER as UNDERSTANDING_FOLDER
from bot.understanding.lexicon import load_lexicon

#: What `on_finish` may name: the coach knows how to do these.
FINISH_ACTIONS = frozenset({"assess", "commitment_worked", "commitment_held_back"})
#: Where options may come from besides the file itself.
OPTION_SOURCES = frozenset({"departments"})
#: Profile fields a step may `store` its answer in.
STORES = frozenset({"language", "consent", "standing", "department"})
#: Dialogues the coach starts by name; they must exist.
REQUIRED_DIALOGUES = ("onboarding", "phase_check", "fears", "commitment_worked", "commitment_held_back")


class ContentError(Exception):
    """Content that would fail at run time; carries every problem found."""

    def __init__(self, problems: list[ContentProblem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass
class Catalog:
    """Everything the coach says and asks, loaded once and shared by every turn."""

    dialogues: dict[str, Dialogue]
    engine: DialogueEngine
    knowledge: Knowledge
    renderer: Renderer


def _template_problems(templates_dir: Path) -> tuple[Renderer | None, list[ContentProblem]]:
    problems: list[ContentProblem] = []
    try:
        renderer = Renderer(templates_dir)
    except TemplateSyntaxError as error:
        path = Path(error.filename) if error.filename else templates_dir
        return None, [ContentProblem(path, error.lineno, f"template syntax: {error.message}")]
    for lang in LANGUAGES:
        for other in LANGUAGES:
            for missing in sorted(renderer.template_ids(lang) - renderer.template_ids(other)):
                path = templates_dir / lang / f"{missing}{SUFFIX}"
                problems.append(ContentProblem(path, 1, f"template has no {other!r} translation"))
    return renderer, problems


def _understanding_problems(
    dialogues: dict[str, Dialogue], knowledge: Knowledge, knowledge_dir: Path
) -> list[ContentProblem]:
    """The typed-text lexicons must name real fears and causes, and real steps and options."""
    topic_ids = {item.ref for kind in ("fears", "causes") for item in knowledge.kind(kind)}
    steps = {s.id: {o.key for o in s.options} for d in dialogues.values() for s in d.steps.values()}
    _, problems = load_lexicon(knowledge_dir / UNDERSTANDING_FOLDER, topic_ids, steps)
    return problems


def check_content(
    dialogues_dir: Path, knowledge_dir: Path, seeds_dir: Path | None = None
) -> tuple[Catalog | None, list[ContentProblem]]:
    """Every problem in the content; a Catalog only when there are none."""
    dialogues, problems = load_dialogues(dialogues_dir)
    knowledge, knowledge_problems = load_knowledge(knowledge_dir, seeds_dir)
    problems.extend(knowledge_problems)
    renderer, template_problems = _template_problems(knowledge_dir / "templates")
    problems.extend(template_problems)
    for required in REQUIRED_DIALOGUES:
        if required not in dialogues:
            problems.append(ContentProblem(dialogues_dir, 0, f"dialogue {required!r} is missing"))
    seen: dict[str, Dialogue] = {}
    for dialogue in dialogues.values():
        for step in dialogue.steps.values():
            if step.id in seen and seen[step.id] is not dialogue:
                problems.append(
                    ContentProblem(
                        dialogue.file,
                        step.line,
                        f"step id {step.id!r} is also used in {seen[step.id].file.name}",
                    )
                )
            seen[step.id] = dialogue
    problems.extend(
        check_dialogues(
            dialogues,
            template_exists=(renderer.exists if renderer else lambda _lang, _tid: False),
            references=set(knowledge.items),
            option_sources=OPTION_SOURCES,
            finish_actions=FINISH_ACTIONS,
            stores=STORES,
        )
    )
    problems.extend(_understanding_problems(dialogues, knowledge, knowledge_dir))
    if problems or renderer is None:
        return None, problems
    return Catalog(dialogues, DialogueEngine(dialogues), knowledge, renderer), []


def load_catalog(dialogues_dir: Path, knowledge_dir: Path) -> Catalog:
    """The catalog, or ContentError listing every problem."""
    catalog, problems = check_content(dialogues_dir, knowledge_dir)
    if catalog is None:
        raise ContentError(problems)
    return catalog
