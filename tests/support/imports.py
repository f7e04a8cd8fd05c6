"""The import graph of a source tree, read with `ast`, and the architecture rules checked on it.

Kept apart from tests/test_architecture.py so the same checks run on the real tree and on small
synthetic trees with planted violations (which must be caught, or the checks prove nothing).

Vocabulary: a *module* is a dotted name (`bot.storage.people`); a *unit* is what the layering talks
about: a direct child of the layered package (`bot.storage`, `bot.coach`) or the package itself
(`bot`). Anything outside the layered package (tests, bench) is one unit per top-level name.
Every import counts, also one inside a function or under TYPE_CHECKING: a dependency is a
dependency, however late it is resolved.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Library families the layering places: which units may talk to Telegram, which may speak SQL.
TELEGRAM: frozenset[str] = frozenset({"telegram"})
SQL: frozenset[str] = frozenset({"sqlalchemy", "asyncpg", "aiosqlite", "alembic"})
PLACED_LIBRARIES = TELEGRAM | SQL
#: Underscore names that are public API by convention (namedtuple's methods).
PUBLIC_UNDERSCORE = frozenset({"_replace", "_asdict", "_fields", "_make"})


@dataclass(frozen=True)
class Layer:
    """What one unit may import: other units of the package, and which placed libraries."""

    uses: frozenset[str] = frozenset()
    libraries: frozenset[str] = frozenset()


def layer(*uses: str, libraries: Iterable[str] = ()) -> Layer:
    return Layer(frozenset(uses), frozenset(libraries))


@dataclass(frozen=True)
class Import:
    """One imported module, as one statement names it; `names` are the non-module names taken from it."""

    importer: str
    target: str
    names: tuple[str, ...]
    path: Path
    line: int

    def where(self, root: Path) -> str:
        return f"{self.path.relative_to(root)}:{self.line}"


@dataclass
class ImportGraph:
    """Every module under `root` of the given top-level packages, and every import they make."""

    root: Path
    layered: str
    modules: dict[str, Path] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)

    @classmethod
    def of(cls, root: Path, layered: str, also: Iterable[str] = ()) -> ImportGraph:
        """Reads `root/<layered>` and the other top-level folders in `also` (e.g. tests, bench)."""
        graph = cls(root, layered)
        for top in (layered, *also):
            for path in sorted((root / top).rglob("*.py")):
                graph.modules[module_name(path, root)] = path
        for name, path in graph.modules.items():
            graph.imports.extend(graph._read(name, path))
        return graph

    def _read(self, name: str, path: Path) -> Iterator[Import]:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield Import(name, alias.name, (), path, node.lineno)
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(package, node.level, node.module)
                plain: list[str] = []
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    if submodule in self.modules:  # `from bot import storage` names a module
                        yield Import(name, submodule, (), path, node.lineno)
                    else:
                        plain.append(alias.name)
                if plain or not node.names:
                    yield Import(name, base, tuple(plain), path, node.lineno)

    def internal(self, target: str) -> bool:
        return target in self.modules

    def unit(self, module: str) -> str:
        parts = module.split(".")
        return ".".join(parts[:2]) if parts[0] == self.layered else parts[0]

    def units(self) -> set[str]:
        """The units of the layered package."""
        return {self.unit(m) for m in self.modules if m.split(".")[0] == self.layered}

    def edges(self, *, by_unit: bool) -> dict[str, set[str]]:
        """Who imports whom inside the layered package, by module or by unit (self-edges dropped)."""
        found: dict[str, set[str]] = {}
        for item in self.imports:
            if not (_inside(item.importer, self.layered) and self.internal(item.target)):
                continue
            if not _inside(item.target, self.layered):
                continue
            a, b = item.importer, item.target
            if by_unit:
                a, b = self.unit(a), self.unit(b)
            if a != b:
                found.setdefault(a, set()).add(b)
        return found


def module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(package: str, level: int, module: str | None) -> str:
    if not level:
        return module or ""
    base = package.split(".")
    prefix = ".".join(base[: len(base) - (level - 1)])
    return f"{prefix}.{module}" if module else prefix


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


# -- the rules ---------------------------------------------------------------------------------------


def private_imports(graph: ImportGraph) -> list[str]:
    """Imports of a private name (or from a private module) of another unit."""
    found: list[str] = []
    for item in graph.imports:
        if not graph.internal(item.target) or graph.unit(item.importer) == graph.unit(item.target):
            continue
        private = [n for n in item.names if _private(n)]
        if any(_private(part) for part in item.target.split(".")[1:]):
            private.append(item.target)
        found.extend(f"{item.where(graph.root)}: {item.importer} imports {n}" for n in private)
    return found


def private_attributes(graph: ImportGraph) -> list[str]:
    """Reaching into another object's private parts: `other._x`, or getattr(other, "_x")."""
    found: list[str] = []
    for name, path in graph.modules.items():
        if not _inside(name, graph.layered):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.expr) and (attribute := _reached_private(node)) is not None:
                found.append(f"{path.relative_to(graph.root)}:{node.lineno}: {attribute}")
    return found


def _reached_private(node: ast.expr) -> str | None:
    if isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in PUBLIC_UNDERSCORE:
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            return None
        if isinstance(owner, ast.Call) and isinstance(owner.func, ast.Name) and owner.func.id == "super":
            return None
        return f".{node.attr}"
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
        and len(node.args) >= 2
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
        and _private(node.args[1].value)
    ):
        return f"{node.func.id}(…, {node.args[1].value!r})"
    return None


def cycles(edges: Mapping[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one member (Tarjan), each sorted, in order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(edges.get(node, ())):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(set(edges) | {s for targets in edges.values() for s in targets}):
        if node not in index:
            visit(node)
    return sorted(found)


def unplaced(graph: ImportGraph, layers: Mapping[str, Layer]) -> list[str]:
    """Units the layering does not mention (a new package must be given its place), and stale entries."""
    units = graph.units()
    return [f"{u}: not in the layering" for u in sorted(units - set(layers))] + [
        f"{u}: in the layering but not in the tree" for u in sorted(set(layers) - units)
    ]


def layer_violations(graph: ImportGraph, layers: Mapping[str, Layer]) -> list[str]:
    """Imports the layering does not allow: of a unit not in `uses`, or of a placed library."""
    found: list[str] = []
    for item in graph.imports:
        if not _inside(item.importer, graph.layered):
            continue
        unit = graph.unit(item.importer)
        rules = layers.get(unit)
        if rules is None:
            continue  # reported by unplaced()
        if graph.internal(item.target) and _inside(item.target, graph.layered):
            target = graph.unit(item.target)
            if target != unit and target not in rules.uses:
                found.append(f"{item.where(graph.root)}: {unit} imports {item.target}")
            continue
        library = item.target.split(".")[0]
        if library in PLACED_LIBRARIES and library not in rules.libraries:
            found.append(f"{item.where(graph.root)}: {unit} imports {item.target}")
    return found
