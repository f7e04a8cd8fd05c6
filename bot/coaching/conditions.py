"""Conditions on a person's answers, as content writes them (Rasa-style slot conditions).

`{who_uses: [nobody, enthusiasts], own_use: [never]}` holds when every named answer is one of the
listed keys; a list of such mappings holds when one of them does. Gates, advice steps and tensions
all use this one form, so authors learn it once and the validator checks it once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from bot.engine.spec import Condition

Facts = Mapping[str, object]


@dataclass(frozen=True)
class AnyOf:
    """Holds when one of its clauses holds; each clause is the engine's all-of `Condition`."""

    clauses: tuple[Condition, ...]

    def holds(self, facts: Facts) -> bool:
        return any(clause.holds(facts) for clause in self.clauses)

    def names(self) -> set[str]:
        """Every fact the condition reads."""
        return {name for clause in self.clauses for name in clause.facts}


def parse_condition(node: Any) -> tuple[AnyOf | None, list[str]]:
    """A condition from YAML (None when absent), and what is wrong with its shape."""
    if node is None:
        return None, []
    mappings = node if isinstance(node, list) else [node]
    clauses: list[Condition] = []
    problems: list[str] = []
    for mapping in mappings:
        if not isinstance(mapping, dict) or not mapping:
            problems.append("a condition maps answers to a list of keys, or is a list of such mappings")
            continue
        facts: dict[str, frozenset[str]] = {}
        for name, wanted in mapping.items():
            values = wanted if isinstance(wanted, list) else [wanted]
            if not all(isinstance(v, str) for v in values):
                problems.append(f'{name}: write keys as text (quote yes/no: "no")')
            facts[str(name)] = frozenset(str(v) for v in values)
        clauses.append(Condition(facts))
    return (AnyOf(tuple(clauses)) if clauses else None), problems


def check_condition(condition: AnyOf | None, known: Mapping[str, Collection[str]]) -> list[str]:
    """Names and keys that do not exist: `known` maps each fact to the values it can take."""
    if condition is None:
        return []
    problems: list[str] = []
    for clause in condition.clauses:
        for name, wanted in clause.facts.items():
            if name not in known:
                problems.append(f"condition names unknown answer {name!r}")
                continue
            for value in sorted(wanted - set(known[name])):
                problems.append(f"condition: {name!r} has no answer {value!r}")
    return problems
