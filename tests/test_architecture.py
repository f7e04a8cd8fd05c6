"""Layering: the engine is pure Python (no Telegram, no SQL), and what it writes fits the storage.

Import rules are read from the source with `ast`, and checked once more in a fresh interpreter so a
forbidden library cannot slip in through another module.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import PROJECT_ROOT
from bot.coaching.assessment import DEFAULT_LENS, all_steps
from bot.content.catalog import STORES, Catalog, load_catalog
from bot.domain import Standing
from bot.storage.models import (
    CAUSE_IDS,
    FEAR_IDS,
    answers_table,
    assessments_table,
    people_table,
    positions_table,
)

BOT = PROJECT_ROOT / "bot"
#: Libraries and project packages the engine must not reach.
ENGINE_FORBIDDEN = (
    "telegram",
    "sqlalchemy",
    "asyncpg",
    "aiosqlite",
    "alembic",
    "bot.storage",
    "bot.channels",
    "bot.coach",
    "bot.services",
    "bot.cli",
)
#: Coaching and content are pure too: they turn answers and files into text, nothing else.
PURE_FORBIDDEN = ("telegram", "sqlalchemy", "asyncpg", "aiosqlite", "bot.storage", "bot.channels")
DATABASE_FIXTURES = {"database", "sqlite_database", "postgres_database", "database_url", "postgres_url"}


def modules(package: Path) -> list[Path]:
    return sorted(package.rglob("*.py"))


def module_name(path: Path, root: Path = PROJECT_ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path, root: Path = PROJECT_ROOT) -> Iterator[tuple[str, int]]:
    """Every module an import statement names (relative imports resolved), with its line."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    name = module_name(path, root)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                prefix = ".".join(base[: len(base) - (node.level - 1)])
                target = f"{prefix}.{node.module}" if node.module else prefix
            else:
                target = node.module or ""
            yield target, node.lineno
            for alias in node.names:  # `from bot import storage` names bot.storage
                yield f"{target}.{alias.name}", node.lineno


def hits(name: str, forbidden: tuple[str, ...]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


def test_the_import_reader_sees_imports_of_every_kind(tmp_path: Path) -> None:
    fake = tmp_path / "bot" / "engine" / "mod.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(
        "import sqlalchemy.orm\nfrom telegram import Bot\nfrom bot import storage\nfrom ..channels import x\n"
        "def f():\n    import asyncpg\n",
        encoding="utf-8",
    )
    names = {name for name, _ in imported_names(fake, tmp_path)}
    assert {"sqlalchemy.orm", "telegram", "bot.storage", "bot.channels.x", "asyncpg"} <= names
    assert all(
        hits(n, ENGINE_FORBIDDEN) for n in ("sqlalchemy.orm", "telegram", "bot.storage", "bot.channels")
    )
    assert not hits("bot.storagex", ENGINE_FORBIDDEN)


@pytest.mark.parametrize("path", modules(BOT / "engine"), ids=lambda p: p.name)
def test_engine_module_imports_no_telegram_sql_storage_or_channel(path: Path) -> None:
    bad = [
        f"{path.name}:{line}: {name}" for name, line in imported_names(path) if hits(name, ENGINE_FORBIDDEN)
    ]
    assert bad == []


@pytest.mark.parametrize(
    "path", [*modules(BOT / "coaching"), *modules(BOT / "content")], ids=lambda p: f"{p.parent.name}/{p.name}"
)
def test_coaching_and_content_are_pure(path: Path) -> None:
    bad = [f"{path.name}:{line}: {name}" for name, line in imported_names(path) if hits(name, PURE_FORBIDDEN)]
    assert bad == []


def test_importing_the_engine_loads_no_telegram_and_no_sql() -> None:
    engine_modules = [module_name(p) for p in modules(BOT / "engine")]
    assert "bot.engine.engine" in engine_modules
    assert "bot.engine.machine" in engine_modules
    roots = sorted({f.split(".")[0] for f in ENGINE_FORBIDDEN if not f.startswith("bot.")})
    script = (
        "import importlib, json, sys\n"
        f"for name in {engine_modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        check=True,
        timeout=60,
    )
    loaded = json.loads(done.stdout)
    assert "bot.engine.engine" in loaded
    assert [m for m in loaded if m.split(".")[0] in roots] == []
    assert [m for m in loaded if hits(m, ENGINE_FORBIDDEN)] == []


def test_the_engine_tests_need_no_database() -> None:
    path = Path(__file__).with_name("test_engine.py")
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [name for name, _ in imported_names(path) if hits(name, ENGINE_FORBIDDEN)]
    assert bad == []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = {a.arg for a in node.args.args}
            assert not arguments & DATABASE_FIXTURES, node.name


# -- what the engine and coaching write fits the tables ---------------------------------------------


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(PROJECT_ROOT / "dialogues", PROJECT_ROOT / "knowledge")


def width(column: object) -> int:
    length = getattr(getattr(column, "type", None), "length", None)
    assert isinstance(length, int)
    return length


def too_wide(values: set[str], column: object) -> list[str]:
    return sorted(v for v in values if len(v) > width(column))


def test_dialogue_step_and_option_ids_fit_their_columns(catalog: Catalog) -> None:
    steps = all_steps(catalog.dialogues)
    options = {o.key for s in steps.values() for o in s.options} | {"done"}
    assert too_wide(set(catalog.dialogues), answers_table.c.dialogue) == []
    assert too_wide(set(catalog.dialogues), positions_table.c.dialogue) == []
    assert too_wide(set(steps), answers_table.c.question) == []
    assert too_wide(set(steps), positions_table.c.state) == []
    assert too_wide(options, answers_table.c.option) == []


def test_every_lens_the_coaching_can_choose_fits_the_assessments_column(catalog: Catalog) -> None:
    """A gap reference becomes the stored lens; a longer one fails the INSERT on PostgreSQL."""
    lenses = {gap for s in all_steps(catalog.dialogues).values() for o in s.options for gap in o.gaps}
    lenses.add(DEFAULT_LENS)
    assert too_wide(lenses, assessments_table.c.lens) == [], (
        f"lens column is {width(assessments_table.c.lens)}"
    )


def test_phases_standings_fears_and_causes_match_the_storage(catalog: Catalog) -> None:
    phases = {p.id for items in catalog.knowledge.phase_models.values() for p in items}
    assert too_wide(phases, assessments_table.c.phase_presence_model) == []
    assert too_wide(phases, assessments_table.c.phase_pilot_model) == []
    assert {i.id for i in catalog.knowledge.kind("fears")} == set(FEAR_IDS)
    assert {i.id for i in catalog.knowledge.kind("causes")} == set(CAUSE_IDS)
    assert {i.id for i in catalog.knowledge.kind("standings")} == {s.value for s in Standing}
    assert too_wide({s.value for s in Standing}, people_table.c.standing) == []
    standing_step = catalog.dialogues["onboarding"].step("standing")
    assert standing_step.store in STORES
    assert {o.key for o in standing_step.options} == {s.value for s in Standing}
