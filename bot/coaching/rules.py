"""The coaching rules as data: phase gates, advice steps and tensions, read from knowledge/.

Read once at start-up next to the dialogues, and checked against them: every answer a gate, step
or tension names must exist in a dialogue, every reference must resolve, so a typo in content is a
`coachbot validate` error with file and line, not a step that silently never shows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.coaching.conditions import AnyOf, check_condition, parse_condition
from bot.coaching.gates import Gate, Requirement
from bot.coaching.steps import AdviceStep
from bot.content.catalog import Catalog, ContentError, check_content
from bot.content.knowledge import Item, Knowledge
from bot.engine.loader import ContentProblem
from bot.engine.spec import Dialogue

#: The phase models, in the order the coach shows them (seed 002's, then seed 003's).
PHASE_MODELS = ("presence_model", "pilot_model")
PERSONAL = "phases.personal"


@dataclass(frozen=True)
class Tension:
    """Two answers that contradict each other; the coach says which one it went by."""

    ref: str
    when: AnyOf


@dataclass(frozen=True)
class CoachingRules:
    """Everything the coach decides with, other than the dialogues themselves."""

    gates: Mapping[str, tuple[Gate, ...]]
    personal: Gate
    steps: tuple[AdviceStep, ...]
    tensions: tuple[Tension, ...]

    @property
    def requirement_refs(self) -> frozenset[str]:
        """Every gate requirement of both models and the person's own gate."""
        gates = [self.personal, *(g for model in self.gates.values() for g in model)]
        return frozenset(r.ref for g in gates for r in g.requirements)

    @property
    def gate_targets(self) -> frozenset[str]:
        """What a step can work on that the answers can show done: every gate and requirement."""
        gates = [self.personal, *(g for model in self.gates.values() for g in model)]
        return self.requirement_refs | {g.ref for g in gates}

    def step(self, step_id: str) -> AdviceStep | None:
        """A step by its stable id (what a commitment stores)."""
        return next((s for s in self.steps if s.id == step_id), None)


class _Problems:
    def __init__(self) -> None:
        self.found: list[ContentProblem] = []

    def add(self, item: Item, key: str | None, message: str) -> None:
        line_of = getattr(item.fields, "line_of", None)
        line = line_of(key) if key and line_of else item.line
        self.found.append(ContentProblem(item.path, line, message))


def known_answers(dialogues: Mapping[str, Dialogue], knowledge: Knowledge) -> dict[str, set[str]]:
    """Every fact a condition may name, with the values it can take."""
    known: dict[str, set[str]] = {}
    for dialogue in dialogues.values():
        for step in dialogue.steps.values():
            known[step.id] = {option.key for option in step.options}
    for model, phases in knowledge.phase_models.items():
        known[model] = {phase.id for phase in phases}
    return known


def _condition(item: Item, key: str, known: Mapping[str, Collection[str]], report: _Problems) -> AnyOf | None:
    condition, shape = parse_condition(item.fields.get(key))
    for message in (*shape, *check_condition(condition, known)):
        report.add(item, key, f"`{key}`: {message}")
    return condition


def _requirements(
    phase: Item, knowledge: Knowledge, known: Mapping[str, Collection[str]], report: _Problems
) -> tuple[Requirement, ...]:
    found: list[Requirement] = []
    for node in phase.fields.get("gate") or []:
        item = knowledge.items.get(f"{phase.ref}.{node.get('id')}") if isinstance(node, dict) else None
        if item is None:
            continue  # the loader already named what is wrong with it
        step = item.fields.get("step")
        if step not in known:
            report.add(item, "step", f"requirement reads unknown step {step!r}")
        for text in ("holds", "missing"):
            if text not in item.fields:
                report.add(item, None, f"requirement {item.id!r} needs `{text}`")
        for key in item.fields.get("missing_when") or {}:
            if step in known and key not in known[str(step)]:
                report.add(item, "missing_when", f"`missing_when`: {step!r} has no answer {key!r}")
        passes = _condition(item, "passes", known, report)
        if passes is None:
            report.add(item, "passes", f"requirement {item.id!r} needs `passes`")
            continue
        found.append(Requirement(item.ref, str(step), passes))
    return tuple(found)


def _gates(
    knowledge: Knowledge, known: Mapping[str, Collection[str]], report: _Problems
) -> tuple[dict[str, tuple[Gate, ...]], Gate | None]:
    gates: dict[str, tuple[Gate, ...]] = {}
    for model in PHASE_MODELS:
        phases = knowledge.phase_models.get(model, [])
        gates[model] = tuple(
            Gate(
                p.ref, model, p.id, int(p.fields.get("level", 0)), _requirements(p, knowledge, known, report)
            )
            for p in phases
        )
        for index, gate in enumerate(gates[model], start=1):
            if gate.level != index:
                report.add(phases[index - 1], "level", f"phase {gate.phase!r} must have level {index}")
        if gates[model] and gates[model][0].requirements:
            report.add(phases[0], "gate", "the first phase is where everyone starts: its gate must be empty")
    personal_item = knowledge.items.get(PERSONAL)
    personal = None
    if personal_item is not None:
        requirements = _requirements(personal_item, knowledge, known, report)
        level = int(personal_item.fields.get("level", 1))
        personal = Gate(PERSONAL, "personal", "personal", level, requirements)
    return gates, personal


def _steps(
    knowledge: Knowledge, known: Mapping[str, Collection[str]], report: _Problems
) -> tuple[AdviceStep, ...]:
    roles = {item.id for item in knowledge.kind("standings")}
    steps: list[AdviceStep] = []
    for item in knowledge.kind("steps"):
        fields: Mapping[str, Any] = item.fields
        listed = fields.get("roles")
        if not isinstance(listed, list) or not listed or not set(listed) <= roles:
            report.add(item, "roles", f"`roles` must list some of: {', '.join(sorted(roles))}")
            listed = []
        addresses = fields.get("addresses")
        if not isinstance(addresses, list) or not addresses:
            report.add(item, "addresses", "`addresses` must list what the step works on")
            addresses = []
        for ref in addresses:
            if ref not in knowledge.items:
                report.add(item, "addresses", f"`addresses` names unknown knowledge item {ref!r}")
        lens = fields.get("lens")
        if lens not in knowledge.items:
            report.add(item, "lens", f"`lens` names unknown knowledge item {lens!r}")
        for text in ("text", "why"):
            if text not in fields:
                report.add(item, None, f"step {item.id!r} needs `{text}`")
        steps.append(
            AdviceStep(
                id=item.id,
                ref=item.ref,
                roles=frozenset(listed),
                addresses=tuple(str(a) for a in addresses),
                lens=str(lens),
                when=_condition(item, "when", known, report),
                unless=_condition(item, "unless", known, report),
            )
        )
    return tuple(steps)


def _tensions(
    knowledge: Knowledge, known: Mapping[str, Collection[str]], report: _Problems
) -> tuple[Tension, ...]:
    found: list[Tension] = []
    for item in knowledge.kind("tensions"):
        when = _condition(item, "when", known, report)
        if when is None:
            report.add(item, None, f"tension {item.id!r} needs `when`")
            continue
        found.append(Tension(item.ref, when))
    return tuple(found)


def load_rules(
    knowledge: Knowledge, dialogues: Mapping[str, Dialogue]
) -> tuple[CoachingRules | None, list[ContentProblem]]:
    """The rules, or the problems that keep them from being sound."""
    report = _Problems()
    known = known_answers(dialogues, knowledge)
    gates, personal = _gates(knowledge, known, report)
    steps = _steps(knowledge, known, report)
    tensions = _tensions(knowledge, known, report)
    if personal is None or report.found or any(not g for g in gates.values()):
        return None, report.found
    return CoachingRules(gates, personal, steps, tensions), []


def rules_of(catalog: Catalog) -> CoachingRules:
    """The rules for a loaded catalog; ContentError names what is wrong (`coachbot validate` finds
    the same problems first)."""
    rules, problems = load_rules(catalog.knowledge, catalog.dialogues)
    if rules is None:
        raise ContentError(problems)
    return rules


def check_all(
    dialogues_dir: Path, knowledge_dir: Path, seeds_dir: Path | None = None
) -> tuple[Catalog | None, list[ContentProblem]]:
    """The content's problems, then (once it loads) the rules' problems against it: what
    `coachbot validate` reports. A catalog only when there are none."""
    catalog, problems = check_content(dialogues_dir, knowledge_dir, seeds_dir)
    if catalog is None:
        return None, problems
    _, problems = load_rules(catalog.knowledge, catalog.dialogues)
    return (None if problems else catalog), problems
