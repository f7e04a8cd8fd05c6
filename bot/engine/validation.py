"""Cross-checks a set of dialogues the way Rasa checks flows against its domain.

The engine cannot know where templates or knowledge live, so the caller passes what exists.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

from bot.engine.choice_token import CALLBACK_DATA_LIMIT, LARGEST_VERSION, token_size
from bot.engine.events import DONE
from bot.engine.loader import ContentProblem
from bot.engine.spec import END, LANGUAGES, Dialogue, Step

#: The longest key a dynamic option (a department) gets: "d" + its id.
DYNAMIC_KEY_EXAMPLE = f"d{LARGEST_VERSION}"


def check_dialogues(
    dialogues: Mapping[str, Dialogue],
    *,
    template_exists: Callable[[str, str], bool],
    references: Collection[str],
    option_sources: Collection[str],
    finish_actions: Collection[str],
    stores: Collection[str],
) -> list[ContentProblem]:
    """Every problem that would otherwise reach a person at run time."""
    problems: list[ContentProblem] = []
    for dialogue in dialogues.values():
        problems.extend(
            _check_one(
                dialogue,
                dialogues,
                template_exists,
                references,
                option_sources,
                finish_actions,
                stores,
            )
        )
    return problems


def _check_one(  # noqa: C901 (one check per dialogue rule, each with its own message)
    dialogue: Dialogue,
    dialogues: Mapping[str, Dialogue],
    template_exists: Callable[[str, str], bool],
    references: Collection[str],
    option_sources: Collection[str],
    finish_actions: Collection[str],
    stores: Collection[str],
) -> list[ContentProblem]:
    problems: list[ContentProblem] = []

    def add(line: int, message: str) -> None:
        problems.append(ContentProblem(dialogue.file, line, message))

    if dialogue.start not in dialogue.steps:
        add(dialogue.line, f"start step {dialogue.start!r} does not exist")
    for rule in dialogue.then:
        if rule.target not in dialogues:
            add(rule.line, f"`then` names unknown dialogue {rule.target!r}")
    if dialogue.on_finish is not None and dialogue.on_finish not in finish_actions:
        add(dialogue.line, f"unknown on_finish action {dialogue.on_finish!r}")
    for step in dialogue.steps.values():
        for rule in step.next:
            if rule.target != END and rule.target not in dialogue.steps:
                add(rule.line, f"step {step.id!r} goes to unknown state {rule.target!r}")
        for lang in LANGUAGES:
            if step.template and not template_exists(lang, step.template):
                add(step.line, f"template {step.template!r} is missing for language {lang!r}")
        if step.options_from is not None and step.options_from not in option_sources:
            add(step.line, f"unknown options_from {step.options_from!r}")
        if step.store is not None and step.store not in stores:
            add(step.line, f"unknown store {step.store!r}; use one of {', '.join(sorted(stores))}")
        problems.extend(_check_options(dialogue, step, references))
    for step_id in _unreachable(dialogue):
        add(dialogue.steps[step_id].line, f"step {step_id!r} cannot be reached from {dialogue.start!r}")
    if _info_loop(dialogue):
        add(dialogue.line, "info steps form a loop that never asks anything")
    return problems


def _check_options(dialogue: Dialogue, step: Step, references: Collection[str]) -> list[ContentProblem]:
    problems: list[ContentProblem] = []
    keys = [o.key for o in step.options]
    if step.kind == "multi":
        keys.append(DONE)
        if any(o.key == DONE for o in step.options):
            problems.append(ContentProblem(dialogue.file, step.line, f"option key {DONE!r} is reserved"))
    if step.options_from:
        keys.append(DYNAMIC_KEY_EXAMPLE)
    for key in keys:
        size = token_size(step.id, key)
        if size > CALLBACK_DATA_LIMIT:
            line = next((o.line for o in step.options if o.key == key), step.line)
            problems.append(
                ContentProblem(
                    dialogue.file,
                    line,
                    f"step {step.id!r} option {key!r} needs {size} bytes of callback_data; "
                    f"Telegram allows {CALLBACK_DATA_LIMIT}: shorten the step id or the key",
                )
            )
    for option in step.options:
        for ref in (*option.flags, *option.gaps):
            if ref not in references:
                problems.append(
                    ContentProblem(dialogue.file, option.line, f"unknown knowledge reference {ref!r}")
                )
    return problems


def _unreachable(dialogue: Dialogue) -> list[str]:
    if dialogue.start not in dialogue.steps:
        return []
    seen = {dialogue.start}
    todo = [dialogue.start]
    while todo:
        step = dialogue.steps[todo.pop()]
        for rule in step.next:
            if rule.target in dialogue.steps and rule.target not in seen:
                seen.add(rule.target)
                todo.append(rule.target)
    return [step_id for step_id in dialogue.steps if step_id not in seen]


def _info_loop(dialogue: Dialogue) -> bool:
    """True when some info step can only ever lead back to info steps (a cycle)."""
    info = {s.id for s in dialogue.steps.values() if s.kind == "info"}

    def visit(step_id: str, path: set[str]) -> bool:
        if step_id in path:
            return True
        if step_id not in info:
            return False
        return any(visit(rule.target, path | {step_id}) for rule in dialogue.steps[step_id].next)

    return any(visit(step_id, set()) for step_id in info)
