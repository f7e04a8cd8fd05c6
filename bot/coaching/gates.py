"""Phase gates: a phase is reached when its own gate and every gate below it hold.

The seeds define each phase by what is true of the organisation (seed 002: "Dialogue: social media
is een kanaal om in gesprek te gaan met de doelgroep"), not by a score. So each gate is a list of
requirements on the answers, and the estimate climbs gate by gate until one does not hold: the
answer that keeps it there is the reason, and a more mature answer can never lower a phase.
"Don't know" is not "no": an unknown requirement neither holds nor fails, so the estimate stays
below it and says it may be higher.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.coaching.conditions import AnyOf, Facts

#: The option key of every "Weet ik niet" answer.
UNKNOWN = "unknown"


class Verdict(StrEnum):
    """What the answers say about one requirement."""

    MET = "met"
    MISSING = "missing"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Requirement:
    """One condition of a gate, read from the answer to `step` (and perhaps others)."""

    ref: str
    step: str
    passes: AnyOf

    def verdict(self, answers: Facts) -> Verdict:
        """Met when the condition holds; unknown when its own answer is "don't know" or missing."""
        if self.passes.holds(answers):
            return Verdict.MET
        answer = answers.get(self.step)
        return Verdict.UNKNOWN if answer is None or answer == UNKNOWN else Verdict.MISSING


@dataclass(frozen=True)
class Gate:
    """What must hold for one phase (a model's lowest phase has no requirements); `ref` is the
    phase's knowledge reference."""

    ref: str
    model: str
    phase: str
    level: int
    requirements: tuple[Requirement, ...]


@dataclass(frozen=True)
class GateReading:
    """A gate against one person's answers."""

    gate: Gate
    verdicts: tuple[tuple[Requirement, Verdict], ...]

    @property
    def verdict(self) -> Verdict:
        found = {verdict for _, verdict in self.verdicts}
        if Verdict.MISSING in found:
            return Verdict.MISSING
        return Verdict.UNKNOWN if Verdict.UNKNOWN in found else Verdict.MET

    def requirements(self, verdict: Verdict) -> tuple[Requirement, ...]:
        return tuple(r for r, v in self.verdicts if v is verdict)


def read_gate(gate: Gate, answers: Facts) -> GateReading:
    return GateReading(gate, tuple((r, r.verdict(answers)) for r in gate.requirements))


@dataclass(frozen=True)
class PhaseEstimate:
    """Where one model puts the organisation, the gates passed on the way, and the one above."""

    model: str
    level: int
    phase: str
    passed: tuple[GateReading, ...]
    next: GateReading | None

    @property
    def may_be_higher(self) -> bool:
        """The gate above is not failed, only unknown: the estimate could be one phase higher."""
        return self.next is not None and self.next.verdict is Verdict.UNKNOWN


def estimate(gates: Sequence[Gate], answers: Facts) -> PhaseEstimate:
    """Climb the model's gates (lowest first) while they hold."""
    reached = gates[0]
    passed = [read_gate(reached, answers)]
    for gate in gates[1:]:
        reading = read_gate(gate, answers)
        if reading.verdict is not Verdict.MET:
            return PhaseEstimate(gate.model, reached.level, reached.phase, tuple(passed), reading)
        reached = gate
        passed.append(reading)
    return PhaseEstimate(reached.model, reached.level, reached.phase, tuple(passed), None)


def open_requirements(estimates: Mapping[str, PhaseEstimate], personal: GateReading) -> dict[str, int]:
    """What a step can work on now, with the level of its gate: the person's own first gate, and
    for each model the next gate and its requirements that do not hold yet."""
    found: dict[str, int] = {}
    if personal.verdict is not Verdict.MET:
        found[personal.gate.ref] = personal.gate.level
        for requirement in personal.requirements(Verdict.MISSING) + personal.requirements(Verdict.UNKNOWN):
            found[requirement.ref] = personal.gate.level
    for phase_estimate in estimates.values():
        reading = phase_estimate.next
        if reading is None:
            continue
        found[reading.gate.ref] = reading.gate.level
        for requirement, verdict in reading.verdicts:
            if verdict is not Verdict.MET:
                found[requirement.ref] = reading.gate.level
    return found
