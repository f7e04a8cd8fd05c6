"""An advice step as data: who can take it, when it fits, and what it works on.

Kept as plain values so the ranking can be a pure function and a later feature (a person's
commitment to a step) can refer to a step by its stable id.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.coaching.conditions import AnyOf, Facts


@dataclass(frozen=True)
class AdviceStep:
    """One step from knowledge/steps.yaml; its texts stay in the knowledge item `ref`."""

    id: str
    ref: str
    roles: frozenset[str]
    addresses: tuple[str, ...]
    lens: str
    when: AnyOf | None = None
    unless: AnyOf | None = None

    def allowed(self, standing: str, facts: Facts) -> bool:
        """Whether this person's role can carry it out and their answers ask for it."""
        if standing not in self.roles:
            return False
        if self.when is not None and not self.when.holds(facts):
            return False
        return self.unless is None or not self.unless.holds(facts)
