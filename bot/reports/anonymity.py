"""Statistical disclosure control for the admin report: fold small departments, hide small cells.

Pure functions on counts; no SQL, no Telegram. The rules, as statistics offices apply them to
frequency tables (k = COACHBOT_MIN_GROUP):

Groups (rows)
    Each month has its own rows. A department with fewer than k respondents that month is folded
    into "other departments"; if that leaves "other departments" with 1..k-1 people, the smallest
    shown department is folded in too, until it holds 0 or at least k. So every row total that is
    shown (respondents per group and month) is 0 or at least k, and "whole organisation minus the
    shown departments" is "other departments", itself 0 or at least k. A month whose whole
    organisation has fewer than k respondents is not shown at all. People are never a figure of
    their own: row totals (how many people) are always shown, answers are what is protected.

Cells (what people answered)
    *Primary suppression*: a cell with 1..k-1 people is hidden.
    *Zeros* are shown: every row has at least k people, so "nobody in this group of k or more chose
    this" describes a group of at least k. A zero is hidden only as a last resort (see below).
    *Secondary suppression* hides more cells until no combination of shown figures recovers a
    hidden one or describes a group of 1..k-1 people:

    1. every relation (a row summing to its respondents, the organisation's row summing to all
       respondents, a column of departments summing to the organisation's cell) with a known whole
       has no hidden part, or at least two whose sum is at least k ("total minus the shown parts");
    2. no hidden cell is determined by the relations together: in a two-way table with margins a
       cell is determined exactly when it is a bridge of the graph of hidden cells (rows and columns
       as vertices), so every hidden cell must lie on a cycle of hidden cells;
    3. between two blocks that can share people's answers (two releases of the same month; without
       `periods`, any two blocks), for every set of departments that both blocks' rows can be summed
       to, each category's change is not derivable or is 0 or at least k people, and the same holds
       for the hidden remainder of every such relation, so the people who checked in between two
       releases are protected like any other group. Different months share no answer (a month is
       its own check-ins, bot.reports.aggregates), so their difference describes nobody.

    Where a rule needs another cell hidden, the smallest positive shown cell that fixes it is
    taken (least information lost); the earlier month gives way to the later one. If nothing fixes
    it, the whole month of that measure is hidden, which always satisfies the rules.

One mark is used for every hidden cell, whether it was small or hidden to protect a small one, as
statistics offices do ("x"): two marks would tell a reader which hidden cells are at least k and,
with the row total, often pin the small one (a "fewer than 5" and a "5 or more" summing to 6 are 1
and 5).

Everything here counts distinct people; no figure is about fewer than k of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

#: Row key of the whole organisation.
ORG = "org"
#: Row key of the departments folded together.
OTHER = "other"
#: Vertex standing for every column when a month has no department rows (no column relations).
_FREE = ("c", "*free*")

Cell = tuple[str, str]
Vertex = tuple[str, str]
#: A department id; None for people without a department.
Department = int | None


# -- groups -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Folding:
    """Which departments get a row of their own in one month, and which are "other departments"."""

    shown: tuple[Department, ...]
    """Departments shown on their own, largest first."""
    other: frozenset[Department]
    """Departments folded into "other departments" (every department not shown, including none)."""


def group_key(department: Department) -> str:
    """Row key of a department shown on its own."""
    return f"d{department}"


def fold(respondents: Mapping[Department, int], min_group: int, known: Iterable[Department] = ()) -> Folding:
    """Departments with at least `min_group` respondents keep their row; the rest are "other".

    `respondents` maps a department (None for people without one) to its respondents; `known`
    lists every department of the organisation, so "other" names them all, even empty ones.
    Ties are broken by the department's string form, so the same data always folds the same way.
    """
    everyone = set(known) | set(respondents)
    shown = sorted(
        (d for d, n in respondents.items() if d is not None and n >= min_group),
        key=lambda d: (-respondents[d], str(d)),
    )
    total = sum(respondents.values())
    other = total - sum(respondents[d] for d in shown)
    while 0 < other < min_group and shown:
        smallest = shown.pop()
        other += respondents[smallest]
    return Folding(tuple(shown), frozenset(everyone - set(shown)))


# -- one month of one measure -----------------------------------------------------------------------


@dataclass
class Block:
    """One month of one measure: group rows plus the ORG row, by category, with known row totals.

    `counts` holds (row, category) for every row in `rows` and ORG; `totals` every row's respondents.
    `hidden` is what the protection decided; implicit categories (e.g. "did not name this fear")
    take part in the rules like any other but are never rendered.
    """

    rows: tuple[str, ...]
    members: Mapping[str, frozenset[Department]]
    categories: tuple[str, ...]
    counts: Mapping[Cell, int]
    totals: Mapping[str, int]
    hidden: set[Cell] = field(default_factory=set)

    def all_rows(self) -> tuple[str, ...]:
        return (*self.rows, ORG)

    def cells(self) -> list[Cell]:
        return [(row, category) for row in self.all_rows() for category in self.categories]

    def value(self, cell: Cell) -> int:
        return self.counts.get(cell, 0)

    def shown(self, cell: Cell) -> bool:
        return cell not in self.hidden

    def vertices(self, cell: Cell) -> tuple[Vertex, Vertex]:
        row, category = cell
        return ("r", row), (("c", category) if self.rows else _FREE)


def _sign(cell: Cell) -> int:
    """Organisation cells enter their column's relation with the opposite sign (they are its total)."""
    return -1 if cell[0] == ORG else 1


class _Cycles:
    """A basis of the cycles of the hidden cells' graph: the directions in which hidden cells can
    change together without changing any shown figure. A sum of hidden cells is derivable from the
    shown figures exactly when no such direction changes it."""

    def __init__(self, block: Block) -> None:  # noqa: C901 (one graph construction; splitting it hides the invariant)
        self.block = block
        adjacency: dict[Vertex, list[tuple[Vertex, Cell]]] = defaultdict(list)
        hidden = sorted(block.hidden)
        for cell in hidden:
            a, b = block.vertices(cell)
            adjacency[a].append((b, cell))
            adjacency[b].append((a, cell))
        parent: dict[Vertex, tuple[Vertex, Cell] | None] = {}
        depth: dict[Vertex, int] = {}
        tree: set[Cell] = set()
        for root in adjacency:
            if root in parent:
                continue
            parent[root], depth[root] = None, 0
            stack = [root]
            while stack:
                vertex = stack.pop()
                for neighbour, cell in adjacency[vertex]:
                    if neighbour not in parent:
                        parent[neighbour] = (vertex, cell)
                        depth[neighbour] = depth[vertex] + 1
                        tree.add(cell)
                        stack.append(neighbour)
        self.cycles: list[dict[Cell, int]] = []
        for cell in hidden:
            if cell in tree:
                continue
            a, b = block.vertices(cell)
            # Path a .. b in the tree, then back over `cell`: alternate +1/-1 along the cycle.
            left: list[Cell] = []
            right: list[Cell] = []
            x, y = a, b
            while depth[x] > depth[y]:
                step = parent[x]
                assert step is not None
                left.append(step[1])
                x = step[0]
            while depth[y] > depth[x]:
                step = parent[y]
                assert step is not None
                right.append(step[1])
                y = step[0]
            while x != y:
                sx, sy = parent[x], parent[y]
                assert sx is not None
                assert sy is not None
                left.append(sx[1])
                right.append(sy[1])
                x, y = sx[0], sy[0]
            # a -> b over `cell`, b up to the common ancestor, then down to a: consecutive edges.
            path = [cell, *right, *reversed(left)]
            self.cycles.append({edge: (1 if i % 2 == 0 else -1) for i, edge in enumerate(path)})
        #: hidden cell -> {cycle number: its coefficient there, organisation cells sign-flipped}
        self.vectors: dict[Cell, dict[int, int]] = defaultdict(dict)
        for number, cycle in enumerate(self.cycles):
            for edge, coefficient in cycle.items():
                self.vectors[edge][number] = coefficient * _sign(edge)

    def covered(self) -> set[Cell]:
        """Hidden cells on some cycle: the ones no combination of shown figures pins down."""
        return set(self.vectors)

    def derivable(self, weights: Mapping[Cell, int]) -> bool:
        """Whether sum(weight * count) is determined by the shown figures of this block."""
        total: dict[int, int] = defaultdict(int)
        for cell, weight in weights.items():
            if weight and cell in self.vectors:
                for number, coefficient in self.vectors[cell].items():
                    total[number] += weight * coefficient
        return not any(total.values())


# -- the protection ---------------------------------------------------------------------------------


class _Protector:
    def __init__(
        self,
        blocks: Sequence[Block],
        min_group: int,
        frozen: int = 0,
        periods: Sequence[Hashable] | None = None,
    ) -> None:
        self.blocks = blocks
        #: Which month each block describes; rule 3 applies only within one (None: between all).
        self.periods = periods
        self.k = min_group
        #: The first `frozen` blocks were published already: they never gain a hidden cell.
        self.frozen = {id(block) for block in blocks[:frozen]}
        self._cycles: dict[int, tuple[int, _Cycles]] = {}

    # helpers

    def cycles(self, index: int) -> _Cycles:
        block = self.blocks[index]
        version = len(block.hidden)
        cached = self._cycles.get(index)
        if cached is None or cached[0] != version:
            cached = (version, _Cycles(block))
            self._cycles[index] = cached
        return cached[1]

    def small(self, value: int) -> bool:
        return 0 < abs(value) < self.k

    def hide_best(self, block: Block, candidates: Iterable[Cell]) -> bool:
        """Hides one more shown candidate: a positive one before a zero, then one that also gives a
        relation with a single hidden cell its second (two fixes at once), then the smallest."""
        if id(block) in self.frozen:
            return False
        order = {cell: i for i, cell in enumerate(block.cells())}
        shown = [c for c in candidates if block.shown(c) and c in order]
        if not shown:
            return False
        lonely: dict[Cell, int] = defaultdict(int)
        for whole, parts in self.relations(block):
            members = [*parts, *([whole] if whole is not None else [])]
            if sum(1 for m in members if not block.shown(m)) == 1:
                for member in members:
                    lonely[member] += 1
        best = min(shown, key=lambda c: (block.value(c) == 0, -lonely[c], block.value(c), order[c]))
        block.hidden.add(best)
        return True

    def hide_all(self, block: Block) -> bool:
        if id(block) in self.frozen:
            return False
        before = len(block.hidden)
        block.hidden.update(block.cells())
        return len(block.hidden) != before

    # rules inside one month

    def relations(self, block: Block) -> list[tuple[Cell | None, list[Cell]]]:
        """(whole, parts) of every relation; whole None means a known row total."""
        relations: list[tuple[Cell | None, list[Cell]]] = [
            (None, [(row, c) for c in block.categories]) for row in block.all_rows()
        ]
        if block.rows:
            relations.extend(((ORG, c), [(row, c) for row in block.rows]) for c in block.categories)
        return relations

    def primary(self, block: Block) -> None:
        for cell in block.cells():
            if 0 < block.value(cell) < self.k:
                block.hidden.add(cell)

    def fix_relations(self, block: Block) -> bool:
        for whole, parts in self.relations(block):
            hidden = [p for p in parts if not block.shown(p)]
            if whole is None or block.shown(whole):
                total_hidden = sum(block.value(p) for p in hidden)
                if len(hidden) == 1 or (hidden and total_hidden < self.k):
                    return self._widen(block, parts, whole)
            elif not hidden:
                return self._widen(block, parts, whole)
        return False

    def _widen(self, block: Block, parts: list[Cell], whole: Cell | None) -> bool:
        """Hides one more part of a relation, or its whole when every part is hidden already."""
        if self.hide_best(block, parts):
            return True
        if whole is not None and block.shown(whole):
            block.hidden.add(whole)
            return True
        return self.hide_all(block)

    def fix_bridges(self, index: int) -> bool:
        block = self.blocks[index]
        bridges = sorted(block.hidden - self.cycles(index).covered())
        if not bridges:
            return False
        bridge = bridges[0]
        a, b = block.vertices(bridge)
        side_a, side_b = self._side(block, bridge, a), self._side(block, bridge, b)
        crossing = [
            cell
            for cell in block.cells()
            if block.shown(cell)
            and {block.vertices(cell)[0], block.vertices(cell)[1]} & side_a
            and {block.vertices(cell)[0], block.vertices(cell)[1]} & side_b
        ]
        if self.hide_best(block, crossing):
            return True
        touching = [cell for cell in block.cells() if set(block.vertices(cell)) & {a, b}]
        return self.hide_best(block, touching) or self.hide_all(block)

    @staticmethod
    def _side(block: Block, bridge: Cell, start: Vertex) -> set[Vertex]:
        """Vertices reachable from `start` over the hidden cells other than the bridge."""
        adjacency: dict[Vertex, list[Vertex]] = defaultdict(list)
        for cell in block.hidden:
            if cell == bridge:
                continue
            a, b = block.vertices(cell)
            adjacency[a].append(b)
            adjacency[b].append(a)
        seen = {start}
        stack = [start]
        while stack:
            for neighbour in adjacency[stack.pop()]:
                if neighbour not in seen:
                    seen.add(neighbour)
                    stack.append(neighbour)
        return seen

    def settle(self, index: int) -> bool:
        """Rules 1 and 2 on one month until they hold; True if anything was hidden."""
        block = self.blocks[index]
        changed = False
        while self.fix_relations(block) or self.fix_bridges(index):
            changed = True
        return changed

    # rules between two months

    def components(self, early: Block, late: Block) -> list[tuple[list[str], list[str]]]:
        """The finest sets of departments both months' group rows can be summed to."""
        rows = [("e", r) for r in early.rows] + [("l", r) for r in late.rows]
        members = {("e", r): early.members[r] for r in early.rows} | {
            ("l", r): late.members[r] for r in late.rows
        }
        parent = {row: row for row in rows}

        def find(row: tuple[str, str]) -> tuple[str, str]:
            while parent[row] != row:
                parent[row] = parent[parent[row]]
                row = parent[row]
            return row

        owner: dict[Department, tuple[str, str]] = {}
        for row in rows:
            for department in members[row]:
                if department in owner:
                    parent[find(row)] = find(owner[department])
                else:
                    owner[department] = row
        groups: dict[tuple[str, str], tuple[list[str], list[str]]] = {}
        for row in rows:
            early_rows, late_rows = groups.setdefault(find(row), ([], []))
            (early_rows if row[0] == "e" else late_rows).append(row[1])
        return [g for g in groups.values() if g[0] or g[1]]

    def fix_pair(self, i: int, j: int) -> bool:  # noqa: C901 (rule 3's case analysis, kept together so it can be checked against the proof)
        """Rule 3 for months i < j; hides in month i (then j) when it must."""
        early, late = self.blocks[i], self.blocks[j]
        if early.categories != late.categories:
            return False
        ce, cl = self.cycles(i), self.cycles(j)
        units: list[tuple[list[str], list[str]]] = [([ORG], [ORG])]
        if early.rows and late.rows:
            units.extend(self.components(early, late))

        def change(unit: tuple[list[str], list[str]], category: str) -> int | None:
            we = {(r, category): 1 for r in unit[0]}
            wl = {(r, category): 1 for r in unit[1]}
            if not (ce.derivable(we) and cl.derivable(wl)):
                return None
            return sum(late.value(c) for c in wl) - sum(early.value(c) for c in we)

        def hide_in(unit: tuple[list[str], list[str]], categories: Iterable[str]) -> bool:
            categories = list(categories)
            for block, rows in ((early, unit[0]), (late, unit[1])):
                if self.hide_best(block, [(r, c) for r in rows for c in categories]):
                    return True
                if self.hide_best(block, [cell for cell in block.cells() if cell[1] in categories]):
                    return True
            return self.hide_all(early) or self.hide_all(late)

        def unanimous(unit: tuple[list[str], list[str]], category: str) -> bool:
            """Everyone in the unit chose `category` in both months, as the shown cells say: the
            people who joined or left it did too, which the unanimous rows (at least k each) show
            on purpose, so a small change here tells nothing about anyone in particular."""
            return all(
                all(block.shown((r, category)) for r in rows)
                and sum(block.value((r, category)) for r in rows) == sum(block.totals.get(r, 0) for r in rows)
                for block, rows in ((early, unit[0]), (late, unit[1]))
            )

        changes = {(u, c): change(unit, c) for u, unit in enumerate(units) for c in early.categories}
        for (u, c), delta in changes.items():
            if delta is not None and self.small(delta) and not unanimous(units[u], c):
                return hide_in(units[u], [c])
        # the hidden remainder of each unit's row (its respondents' change is known)
        for u, unit in enumerate(units):
            unknown = [c for c in early.categories if changes[(u, c)] is None]
            if unknown and len(unknown) < len(early.categories):
                joined = sum(late.totals.get(r, 0) for r in unit[1]) - sum(
                    early.totals.get(r, 0) for r in unit[0]
                )
                rest = joined - sum(changes[(u, c)] or 0 for c in early.categories if c not in unknown)
                if self.small(rest):
                    return hide_in(unit, [c for c in early.categories if c not in unknown])
        # the hidden remainder of each category's column over the department units
        if len(units) > 1:
            for c in early.categories:
                whole = changes[(0, c)]
                if whole is None:
                    continue
                unknown_units = [u for u in range(1, len(units)) if changes[(u, c)] is None]
                if unknown_units and len(unknown_units) < len(units) - 1:
                    rest = whole - sum(
                        changes[(u, c)] or 0 for u in range(1, len(units)) if u not in unknown_units
                    )
                    if self.small(rest):
                        known_units = [u for u in range(1, len(units)) if u not in unknown_units]
                        cells = [(r, c) for u in known_units for r in units[u][0]]
                        if self.hide_best(early, cells) or self.hide_best(
                            late, [(r, c) for u in known_units for r in units[u][1]]
                        ):
                            return True
                        return self.hide_all(early) or self.hide_all(late)
        return False

    def run(self) -> None:
        open_blocks = [i for i, block in enumerate(self.blocks) if id(block) not in self.frozen]
        for index in open_blocks:
            self.primary(self.blocks[index])
        dirty = set(open_blocks)
        passed: dict[tuple[int, int], tuple[int, int]] = {}
        pairs = [
            (i, j)
            for j in open_blocks
            for i in range(j)
            if self.periods is None or self.periods[i] == self.periods[j]
        ]
        while True:
            for index in sorted(dirty):
                self.settle(index)
            dirty.clear()
            for i, j in pairs:
                versions = (len(self.blocks[i].hidden), len(self.blocks[j].hidden))
                if passed.get((i, j)) == versions:
                    continue
                if self.fix_pair(i, j):
                    dirty.update(
                        index
                        for index, before in ((i, versions[0]), (j, versions[1]))
                        if len(self.blocks[index].hidden) != before
                    )
                    break
                passed[(i, j)] = versions
            if not dirty:
                return


def protect(
    blocks: Sequence[Block],
    min_group: int,
    frozen: int = 0,
    periods: Sequence[Hashable] | None = None,
) -> None:
    """Decides `hidden` for every month of one measure (blocks oldest first), in place.

    The first `frozen` blocks are releases published before (bot.reports.releases): their hidden
    cells stay as published, and every rule between them and a new block is met by hiding in the
    new block only (at worst all of it), so a new release never undoes an old one's protection.
    `periods` (one per block) limits rule 3 to blocks of the same period; None applies it to all.
    """
    _Protector(blocks, min_group, frozen, periods).run()


def protect_column(values: Mapping[str, int], min_group: int) -> set[str]:
    """Hidden rows of a one-column figure (e.g. people onboarded) whose group rows sum to ORG.

    Only rule 1 applies: there are no row totals, so a hidden group is recovered only as the
    organisation minus the shown groups.
    """
    hidden = {row for row, value in values.items() if 0 < value < min_group}
    groups = [row for row in values if row != ORG]
    while True:
        parts = [row for row in groups if row in hidden]
        whole_known = ORG not in hidden
        needs = (
            whole_known and (len(parts) == 1 or (parts and sum(values[p] for p in parts) < min_group))
        ) or (not whole_known and groups and not parts)
        if not needs:
            return hidden
        candidates = [row for row in groups if row not in hidden]
        if not candidates:
            hidden.add(ORG)
            continue
        hidden.add(min(candidates, key=lambda row: (values[row] == 0, values[row], groups.index(row))))
