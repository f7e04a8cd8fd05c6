"""Which step first: the ranking rule, in one place, as a pure function.

1. The lowest gate not yet passed (ADKAR's "barrier point"): the person's own first use of social
   tools, then the next gate of each phase model, lowest first. A step that works on none of them
   comes after every step that does.
2. Steps written for this role alone before steps shared by several roles.
3. Steps that answer more of the fears and causes the person named.
4. Steps that work on the person's weakest C.
5. The order of knowledge/steps.yaml, where authors put the better step first.

Steps the person cannot take are never ranked: another role's, those whose conditions do not
hold, and those that only work on gates passed and requirements the answers already meet.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.coaching.assessment import Reading
from bot.coaching.gates import Verdict, open_requirements
from bot.coaching.rules import CoachingRules
from bot.coaching.steps import AdviceStep

#: The barrier of a step that works on no open gate: after all that do.
NO_GATE = 99


def _met(reading: Reading) -> set[str]:
    """Every gate passed and every requirement met, on either model or the person's own gate."""
    readings = [reading.personal]
    met: set[str] = set()
    for phase_estimate in reading.estimates.values():
        readings.extend(phase_estimate.passed)
        met.update(g.gate.ref for g in phase_estimate.passed)
        if phase_estimate.next is not None:
            readings.append(phase_estimate.next)
    if reading.personal.verdict is Verdict.MET:
        met.add(reading.personal.gate.ref)
    return met | {r.ref for g in readings for r, v in g.verdicts if v is Verdict.MET}


def ranked_steps(reading: Reading, rules: CoachingRules) -> list[AdviceStep]:
    """Every step this person can take, best first."""
    return rank(reading, rules.steps, rules.gate_targets)


def rank(reading: Reading, steps: Sequence[AdviceStep], targets: frozenset[str]) -> list[AdviceStep]:
    """`steps` ranked for this reading; `targets` are every gate and gate requirement, so a step
    that works only on gates passed and requirements met can be left out."""
    facts = reading.facts()
    met = _met(reading)
    barriers = open_requirements(reading.estimates, reading.personal)
    named = {f"fears.{f}" for f in reading.fears} | {f"causes.{c}" for c in reading.causes}

    def useful(step: AdviceStep) -> bool:
        worked_on = [ref for ref in step.addresses if ref in targets]
        return not worked_on or not all(ref in met for ref in worked_on)

    def key(indexed: tuple[int, AdviceStep]) -> tuple[int, int, int, int, int]:
        index, step = indexed
        barrier = min((barriers[ref] for ref in step.addresses if ref in barriers), default=NO_GATE)
        return (
            barrier,
            0 if len(step.roles) == 1 else 1,
            -len(named.intersection(step.addresses)),
            0 if reading.weakest_c in step.addresses else 1,
            index,
        )

    fitting = [
        (index, step)
        for index, step in enumerate(steps)
        if step.allowed(reading.standing, facts) and useful(step)
    ]
    return [step for _, step in sorted(fitting, key=key)]
