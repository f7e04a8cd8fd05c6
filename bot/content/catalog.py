"""Loads and cross-checks all content at once: dialogues, knowledge, messages and templates.

`coachbot validate`, the tests and start-up all go through here, so a content error is found
the same way everywhere and named with its file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import TemplateSyntaxError

from bot.content import messages
from bot.content.knowledge import Knowledge, load_knowledge
from bot.content.renderer import Renderer, environment
from bot.engine.engine import DialogueEngine
from bot.engine.loader import ContentProblem, load_dialogues
from bot.engine.spec import Dialogue
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
#: The code that names messages: checked for names that do not exist or are built at run time.
CODE_DIR = Path(__file__).resolve().parent.parent


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
    #: Messages nothing names; `coachbot validate` reports them without failing.
    unused: list[ContentProblem] = field(default_factory=list)


def _message_problems(
    knowledge_dir: Path, dialogues: dict[str, Dialogue], code_dir: Path
) -> tuple[Renderer | None, list[ContentProblem], list[ContentProblem]]:
    """The renderer, the problems with messages and templates and every reference to them, and the
    messages nothing uses."""
    templates_dir = knowledge_dir / "templates"
    env = environment(templates_dir)
    texts, problems = messages.load_messages(knowledge_dir / messages.FOLDER)
    problems.extend(messages.variable_problems(env, texts))
    references, template_problems = messages.template_references(env, templates_dir)
    problems.extend(template_problems)
    try:
        renderer = Renderer(templates_dir, texts)
    except TemplateSyntaxError as error:
        path = Path(error.filename) if error.filename else templates_dir
        return None, [*problems, ContentProblem(path, error.lineno, f"template syntax: {error.message}")], []
    names = renderer.message_ids() | renderer.template_ids()
    features = {name.split("/", 1)[0] for name in names}
    found, code_problems = messages.code_references(code_dir, features)
    problems.extend(code_problems)
    references.extend(found)
    problems.extend(messages.reference_problems(references, names))
    references.extend(
        messages.Reference(step.template, dialogue.file, step.line)
        for dialogue in dialogues.values()
        for step in dialogue.steps.values()
    )
    unused = messages.unused(texts, references)
    return renderer, problems, unused


def _understanding_problems(
    dialogues: dict[str, Dialogue], knowledge: Knowledge, knowledge_dir: Path
) -> list[ContentProblem]:
    """The typed-text lexicons must name real fears and causes, and real steps and options."""
    topic_ids = {item.ref for kind in ("fears", "causes") for item in knowledge.kind(kind)}
    steps = {s.id: {o.key for o in s.options} for d in dialogues.values() for s in d.steps.values()}
    _, problems = load_lexicon(knowledge_dir / UNDERSTANDING_FOLDER, topic_ids, steps)
    return problems


def check_content(
    dialogues_dir: Path, knowledge_dir: Path, seeds_dir: Path | None = None, code_dir: Path = CODE_DIR
) -> tuple[Catalog | None, list[ContentProblem]]:
    """Every problem in the content; a Catalog only when there are none."""
    dialogues, problems = load_dialogues(dialogues_dir)
    knowledge, knowledge_problems = load_knowledge(knowledge_dir, seeds_dir)
    problems.extend(knowledge_problems)
    renderer, message_problems, unused = _message_problems(knowledge_dir, dialogues, code_dir)
    problems.extend(message_problems)
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
    return Catalog(dialogues, DialogueEngine(dialogues), knowledge, renderer, unused), []


def load_catalog(dialogues_dir: Path, knowledge_dir: Path) -> Catalog:
    """The catalog, or ContentError listing every problem."""
    catalog, problems = check_content(dialogues_dir, knowledge_dir)
    if catalog is None:
        raise ContentError(problems)
    return catalog
