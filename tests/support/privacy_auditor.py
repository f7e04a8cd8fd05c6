"""An attacker who knows everything but the answers, and tries to recover them from what was published.

Independent of the project's protection on purpose: none of bot.reports is imported here. The
auditor is told the event log an insider could know (who joined which department when, who
re-checked, moved, was vouched for or erased; the answers of its own puppet accounts) and every
figure that was published (report cells, each with the moment and kind of its release, and brief
figures). From the event log it works out, by its own rules, which assessments stood behind each
published group; each shown figure is then an equation over the unknown answers.

It looks for two kinds of success, the issue's promise:
- an individual answer: an assessment whose category is the same in every answer assignment that
  fits all equations;
- a group below the threshold: a set of people the attacker can single out (an *atom*: assessments
  that sit in exactly the same published groups, or two atoms together) whose count in a category is
  the same in every fitting assignment and lies in 1..k-1 ("exactly 2 of these 6 newcomers chose X").

Two things are not counted as successes, as the report's design shows them on purpose
(docs/privacy.md): a pinned 0 (the report shows zeros for groups of at least k, "nobody in Sales
chose X", and the differences of 0 they imply), and the answer of everyone in a unanimous published
group of at least k ("all 7 in Sales named no fear of X"): what it says about one of them it says
about all of them (group disclosure, not singling anyone out). Only when the pinned people are all
inside such a group, with the group's own answer, is the finding excused.

The search is exact: a depth-first enumeration of the atoms' category counts, pruned by the
equations, stopping as soon as every quantity has been seen with two values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Assessment:
    """One check as the attacker sees it: who, where, when; `answers` are known to the test only."""

    id: int
    person: int
    department: int | None
    at: datetime
    answers: Mapping[str, str]
    """Family id -> category (e.g. "presence_model" -> "dialogue", "fear:security" -> "named")."""


@dataclass
class World:
    """The event log: assessments, erasures, vouching, puppets."""

    zone: str
    assessments: list[Assessment] = field(default_factory=list)
    erased_at: dict[int, list[datetime]] = field(default_factory=dict)
    """Person id -> when their rows were erased (a database may give a later person the same id)."""
    vouched: dict[int, list[tuple[datetime, int | None]]] = field(default_factory=dict)
    """Person -> (from when, department vouched for), in time order."""
    puppets: set[int] = field(default_factory=set)
    """People whose answers the attacker knows (its own accounts)."""

    def vouched_for(self, person: int, at: datetime) -> int | None:
        current: int | None = None
        for since, department in self.vouched.get(person, []):
            if since <= at:
                current = department
        return current

    def gone(self, a: Assessment, at: datetime) -> bool:
        """Whether the assessment was erased by `at`."""
        return any(a.at < erased <= at for erased in self.erased_at.get(a.person, []))

    def checked_in(
        self, since: datetime, cutoff: datetime, *, inclusive: bool, at: datetime
    ) -> list[Assessment]:
        """Each person's latest assessment made from `since` to before `cutoff` (at or before, if
        inclusive) of those still stored at `at`: a month is its own check-ins, nobody else."""
        latest: dict[int, Assessment] = {}
        for a in self.assessments:
            if a.at < since or ((a.at > cutoff) if inclusive else (a.at >= cutoff)):
                continue
            if self.gone(a, at):
                continue
            held = latest.get(a.person)
            if held is None or (a.at, a.id) > (held.at, held.id):
                latest[a.person] = a
        return list(latest.values())

    def population(
        self,
        *,
        period_start: datetime,
        period_end: datetime | None,
        released_at: datetime,
        departments: Iterable[int | None] | None,
        excluded: Iterable[int | None] = (),
    ) -> frozenset[int]:
        """Assessment ids behind a published group.

        A month counts the people who checked in during it, each with their latest check of the
        month (published semantics since issue 14, "hide less"); someone who did not check in that
        month is not in it. period_end None: the current month, its check-ins up to the release;
        otherwise a closed month, its check-ins up to its end. `departments` None means every
        department; `excluded` removes some (for "other departments": everything but the
        departments shown on their own).
        """
        cutoff = released_at if period_end is None else period_end
        candidates = self.checked_in(period_start, cutoff, inclusive=period_end is None, at=released_at)
        wanted = None if departments is None else set(departments)
        skip = set(excluded)
        ids = set()
        for a in candidates:
            if self.vouched_for(a.person, released_at) != a.department or a.department is None:
                continue
            if wanted is not None and a.department not in wanted:
                continue
            if a.department in skip:
                continue
            ids.add(a.id)
        return frozenset(ids)

    def month_end(self, period_start: datetime) -> datetime:
        """The first instant of the next month in the organisation's zone."""
        local = period_start.astimezone(ZoneInfo(self.zone))
        year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
        return datetime(year, month, 1, tzinfo=ZoneInfo(self.zone))


@dataclass(frozen=True)
class Equation:
    """A published figure: how many of `population` answered `category` in `family`."""

    population: frozenset[int]
    family: str
    category: str
    count: int
    source: str = ""


@dataclass(frozen=True)
class Finding:
    """A successful attack."""

    family: str
    category: str
    assessments: frozenset[int]
    value: int
    reason: str


class _Search:
    """Every answer assignment of one family that fits the equations, over atoms."""

    def __init__(
        self,
        family: str,
        categories: Sequence[str],
        equations: Sequence[Equation],
        known: Mapping[int, str],
    ) -> None:
        self.categories = list(categories)
        involved: set[int] = set()
        for equation in equations:
            involved |= equation.population
        unknown = sorted(involved - set(known))
        signature: dict[int, frozenset[int]] = {
            a: frozenset(i for i, e in enumerate(equations) if a in e.population) for a in unknown
        }
        atoms: dict[frozenset[int], list[int]] = defaultdict(list)
        for a in unknown:
            atoms[signature[a]].append(a)
        self.atoms = [tuple(members) for _, members in sorted(atoms.items(), key=lambda kv: kv[1])]
        # Each equation minus what the attacker knows (its puppets), over atom indices.
        self.equations: list[tuple[list[int], int, int]] = []
        for equation in equations:
            c = self.categories.index(equation.category)
            known_part = sum(1 for a in equation.population if known.get(a) == equation.category)
            parts = [i for i, atom in enumerate(self.atoms) if atom[0] in equation.population]
            self.equations.append((parts, c, equation.count - known_part))
        self.by_atom: dict[int, list[int]] = defaultdict(list)
        for number, (parts, _, _) in enumerate(self.equations):
            for atom in parts:
                self.by_atom[atom].append(number)
        self.last_atom = [max(parts) if parts else -1 for parts, _, _ in self.equations]
        # Unanimous published groups, shown as such or following from the row (the other
        # categories shown as 0); the attacker's own accounts do not make a group.
        rows: dict[frozenset[int], dict[str, int]] = defaultdict(dict)
        for e in equations:
            rows[e.population][e.category] = e.count
        self.unanimous = []
        for population, shown in rows.items():
            for category in self.categories:
                others = [shown.get(c) for c in self.categories if c != category]
                if shown.get(category) == len(population) or (others and all(o == 0 for o in others)):
                    self.unanimous.append(
                        (population - set(known), self.categories.index(category), len(population))
                    )
        self.family = family

    def _compositions(self, size: int, parts: int) -> Iterable[tuple[int, ...]]:
        if parts == 1:
            yield (size,)
            return
        for first in range(size, -1, -1):
            for rest in self._compositions(size - first, parts - 1):
                yield (first, *rest)

    def excused(self, members: frozenset[int], category: int, value: int, min_group: int) -> bool:
        """Everyone pinned chose what every member of a published group of at least k chose."""
        if value != len(members):
            return False
        return any(
            c == category
            and members <= population
            and len(population) >= min_group
            and count == len(population)
            for population, c, count in self.unanimous
        )

    def run(self, min_group: int) -> list[Finding]:
        atoms = self.atoms
        width = len(self.categories)
        singles = {(i, c) for i in range(len(atoms)) for c in range(width)}
        pairs = {(i, j, c) for i, j in combinations(range(len(atoms)), 2) for c in range(width)}
        seen_single: dict[tuple[int, int], set[int]] = defaultdict(set)
        seen_pair: dict[tuple[int, int, int], set[int]] = defaultdict(set)
        open_single, open_pair = set(singles), set(pairs)
        partial = [0] * len(self.equations)
        remaining_cap = [sum(len(atoms[i]) for i in parts) for parts, _, _ in self.equations]
        choice: list[tuple[int, ...]] = [()] * len(atoms)
        feasible = False

        def record() -> None:
            for key in list(open_single):
                i, c = key
                seen_single[key].add(choice[i][c])
                if len(seen_single[key]) > 1:
                    open_single.discard(key)
            for key in list(open_pair):
                i, j, c = key
                seen_pair[key].add(choice[i][c] + choice[j][c])
                if len(seen_pair[key]) > 1:
                    open_pair.discard(key)

        def go(index: int) -> bool:
            nonlocal feasible
            if index == len(atoms):
                feasible = True
                record()
                return not open_single and not open_pair
            size = len(atoms[index])
            touched = self.by_atom.get(index, [])
            for vector in self._compositions(size, width):
                ok = True
                for number in touched:
                    _, c, target = self.equations[number]
                    partial[number] += vector[c]
                    remaining_cap[number] -= size
                for number in touched:
                    _, c, target = self.equations[number]
                    if partial[number] > target or partial[number] + remaining_cap[number] < target:
                        ok = False
                        break
                    if self.last_atom[number] == index and partial[number] != target:
                        ok = False
                        break
                if ok:
                    choice[index] = vector
                    if go(index + 1):
                        for number in touched:
                            _, c, _ = self.equations[number]
                            partial[number] -= vector[c]
                            remaining_cap[number] += size
                        return True
                for number in touched:
                    _, c, _ = self.equations[number]
                    partial[number] -= vector[c]
                    remaining_cap[number] += size
            return False

        go(0)
        if not feasible:
            raise AssertionError(f"{self.family}: the published figures contradict the event log")
        findings: list[Finding] = []
        for i, c in sorted(open_single):
            (value,) = seen_single[(i, c)]
            atom = atoms[i]
            if self.excused(frozenset(atom), c, value, min_group):
                continue
            if len(atom) == 1 and value == 1:
                findings.append(
                    Finding(self.family, self.categories[c], frozenset(atom), value, "individual answer")
                )
            elif 0 < value < min_group:
                findings.append(
                    Finding(self.family, self.categories[c], frozenset(atom), value, "small group")
                )
        for i, j, c in sorted(open_pair):
            if (i, c) in open_single and (j, c) in open_single:
                continue  # both parts pinned on their own, and judged above
            (value,) = seen_pair[(i, j, c)]
            members = frozenset(atoms[i]) | frozenset(atoms[j])
            if 0 < value < min_group and not self.excused(members, c, value, min_group):
                findings.append(
                    Finding(self.family, self.categories[c], members, value, "small group of two atoms")
                )
        return findings


def audit(
    equations: Sequence[Equation],
    families: Mapping[str, Sequence[str]],
    known: Mapping[int, Mapping[str, str]],
    min_group: int,
) -> list[Finding]:
    """Every successful attack on the published figures; `known` maps puppet assessments to answers."""
    findings: list[Finding] = []
    for family, categories in families.items():
        mine = [e for e in equations if e.family == family and e.population]
        if not mine:
            continue
        knowns = {a: answers[family] for a, answers in known.items() if family in answers}
        findings.extend(_Search(family, categories, mine, knowns).run(min_group))
    return findings


def month_start(at: datetime, zone: str) -> datetime:
    local = at.astimezone(ZoneInfo(zone))
    return datetime(local.year, local.month, 1, tzinfo=ZoneInfo(zone))


__all__ = ["Assessment", "Equation", "Finding", "World", "audit", "month_start", "timedelta"]
