"""Layering: every unit of the bot has its place, imports only what its place allows, no cycles, no
private names across packages, and what the engine and coaching write fits the storage.

Import rules are read from the source with `ast` (tests/support/imports.py) and checked once more in
a fresh interpreter, so a forbidden library cannot slip in through another module. The same checks
run on a small synthetic tree with planted violations, which they must report.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot import PROJECT_ROOT
from bot.coaching.assessment import DEFAULT_LENS, all_steps
from bot.content.catalog import STORES, Catalog, load_catalog
from bot.domain import Standing
from bot.storage.models import (
    FINDING_ID_MAX,
    answers_table,
    assessments_table,
    people_table,
    positions_table,
)
from tests.support.imports import (
    SQL,
    TELEGRAM,
    ImportGraph,
    Layer,
    cycles,
    layer,
    layer_violations,
    private_attributes,
    private_imports,
    unplaced,
)

#: Every unit of the bot and what it may use. Read top-down: each line may only name lines above it
#: (bot.cli and bot.__main__, the entry points, use everything). The engine knows nothing of
#: Telegram or SQL, nor of the content it runs; content and coaching are pure too; only storage,
#: the reports' aggregate SQL and the demo-data generator speak SQL; only channels and the CLI
#: speak Telegram. A new package must be given a line here.
LAYERS: dict[str, Layer] = {
    "bot": layer(),
    "bot.domain": layer(),
    "bot.conversation": layer(),
    "bot.logs": layer(),
    "bot.sending": layer(),
    "bot.commands": layer("bot.domain"),
    "bot.callbacks": layer(),
    "bot.settings": layer("bot"),
    "bot.engine": layer("bot.domain"),
    "bot.nudging": layer("bot.domain"),
    "bot.commitment_taps": layer("bot.conversation"),
    "bot.understanding": layer("bot", "bot.domain", "bot.engine"),
    "bot.content": layer("bot.domain", "bot.engine", "bot.understanding"),
    "bot.coaching": layer("bot.domain", "bot.engine", "bot.understanding", "bot.content"),
    "bot.storage": layer("bot.domain", "bot.settings", "bot.sending", libraries=SQL),
    "bot.invites": layer("bot.domain", "bot.storage"),
    "bot.advice_messages": layer(
        "bot.callbacks",
        "bot.domain",
        "bot.conversation",
        "bot.engine",
        "bot.content",
        "bot.coaching",
        "bot.commitment_taps",
    ),
    "bot.commitment_flow": layer(
        "bot.commitment_taps",
        "bot.domain",
        "bot.conversation",
        "bot.settings",
        "bot.engine",
        "bot.understanding",
        "bot.content",
        "bot.coaching",
        "bot.storage",
        "bot.nudging",
    ),
    "bot.typed_answers": layer(
        "bot.domain",
        "bot.conversation",
        "bot.engine",
        "bot.understanding",
        "bot.content",
        "bot.storage",
    ),
    "bot.coach": layer(
        "bot.callbacks",
        "bot.commitment_taps",
        "bot.commitment_flow",
        "bot.nudging",
        "bot.domain",
        "bot.commands",
        "bot.conversation",
        "bot.settings",
        "bot.engine",
        "bot.content",
        "bot.coaching",
        "bot.advice_messages",
        "bot.storage",
        "bot.invites",
        "bot.typed_answers",
    ),
    "bot.reports": layer("bot.domain", "bot.settings", "bot.content", "bot.storage", libraries=SQL),
    # Prep briefs show the released report figures (issue 14), so champions read bot.reports.
    "bot.champions": layer(
        "bot.callbacks",
        "bot.nudging",
        "bot.commitment_flow",
        "bot.coaching",
        "bot.domain",
        "bot.commands",
        "bot.conversation",
        "bot.settings",
        "bot.engine",
        "bot.content",
        "bot.storage",
        "bot.invites",
        "bot.coach",
        "bot.reports",
    ),
    "bot.demo_data": layer(
        "bot.domain", "bot.settings", "bot.content", "bot.storage", "bot.reports", libraries=SQL
    ),
    "bot.router": layer(
        "bot.domain",
        "bot.conversation",
        "bot.callbacks",
        "bot.commands",
        "bot.coach",
        "bot.champions",
        "bot.storage",
    ),
    "bot.services": layer("bot.settings", "bot.sending", "bot.content", "bot.storage", "bot.coach"),
    "bot.channels": layer(
        "bot.callbacks",
        "bot.domain",
        "bot.commands",
        "bot.router",
        "bot.conversation",
        "bot.logs",
        "bot.sending",
        "bot.settings",
        "bot.engine",
        "bot.content",
        "bot.storage",
        "bot.coach",
        "bot.champions",
        "bot.reports",
        "bot.demo_data",
        "bot.services",
        libraries=TELEGRAM,
    ),
}
LAYERS["bot.cli"] = layer(*LAYERS, libraries=TELEGRAM)
LAYERS["bot.__main__"] = layer("bot.cli")

#: The pure units: loading them must not load Telegram or SQL.
PURE = ("bot.engine", "bot.nudging", "bot.understanding", "bot.content", "bot.coaching")
DATABASE_FIXTURES = {"database", "sqlite_database", "postgres_database", "database_url", "postgres_url"}


@pytest.fixture(scope="module")
def graph() -> ImportGraph:
    return ImportGraph.of(PROJECT_ROOT, "bot", also=("tests", "bench"))


def test_every_unit_has_its_place_in_the_layering(graph: ImportGraph) -> None:
    assert unplaced(graph, LAYERS) == []


def test_units_import_only_what_their_layer_allows(graph: ImportGraph) -> None:
    assert layer_violations(graph, LAYERS) == []


def test_no_import_cycles_between_units(graph: ImportGraph) -> None:
    assert cycles(graph.edges(by_unit=True)) == []


def test_no_import_cycles_between_modules(graph: ImportGraph) -> None:
    assert cycles(graph.edges(by_unit=False)) == []


def test_no_private_names_imported_across_packages(graph: ImportGraph) -> None:
    """Covers tests/ and bench/ too: neither may lean on a private name of the bot."""
    assert private_imports(graph) == []


def test_no_private_attributes_reached_from_outside(graph: ImportGraph) -> None:
    """No `other._session`, no getattr(repo, "_session"): what a class shares is public."""
    assert private_attributes(graph) == []


def test_the_layering_reads_top_down() -> None:
    """Each unit uses only units listed before it, so the table itself cannot describe a cycle."""
    order = list(LAYERS)
    later = [
        f"{unit} uses {used}"
        for unit, rules in LAYERS.items()
        for used in rules.uses
        if order.index(used) >= order.index(unit)
    ]
    assert later == []


# -- the checks catch what they are for -----------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> ImportGraph:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return ImportGraph.of(root, "bot", also=("tests",))


SMALL_LAYERS = {
    "bot": layer(),
    "bot.domain": layer(),
    "bot.engine": layer("bot.domain"),
    "bot.storage": layer("bot.domain", libraries=SQL),
}


def test_the_checks_pass_a_clean_tree(tmp_path: Path) -> None:
    graph = _tree(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/domain.py": "from dataclasses import dataclass\n",
            "bot/engine/__init__.py": "",
            "bot/engine/machine.py": "from bot.domain import dataclass\n_helper = 1\n",
            "bot/engine/rules.py": "from bot.engine.machine import _helper\nfrom . import machine\n",
            "bot/storage/__init__.py": "",
            "bot/storage/db.py": "import sqlalchemy\nfrom bot import domain\n\nclass A:\n    def f(self):\n"
            "        return self._x, super()._y\n",
        },
    )
    assert unplaced(graph, SMALL_LAYERS) == []
    assert layer_violations(graph, SMALL_LAYERS) == []
    assert private_imports(graph) == []  # _helper stays inside bot.engine
    assert private_attributes(graph) == []
    assert cycles(graph.edges(by_unit=True)) == []
    assert cycles(graph.edges(by_unit=False)) == []


def test_the_checks_report_planted_violations(tmp_path: Path) -> None:
    graph = _tree(
        tmp_path,
        {
            "bot/__init__.py": "",
            "bot/domain.py": "def f():\n    from bot.engine import machine\n",  # upwards, and a cycle
            "bot/engine/__init__.py": "",
            "bot/engine/machine.py": (
                "import sqlalchemy.orm\n"  # SQL in the engine
                "from telegram import Bot\n"  # Telegram in the engine
                "from bot.domain import Thing\n"
                "from ..storage.db import _SESSION, Public\n"  # a layer it may not use, a private name
            ),
            "bot/engine/loop_a.py": "from bot.engine import loop_b\n",  # a cycle inside one unit
            "bot/engine/loop_b.py": "import bot.engine.loop_a\n",
            "bot/storage/__init__.py": "",
            "bot/storage/db.py": "_SESSION = 1\nPublic = 2\n",
            "bot/storage/_pool.py": "",
            "bot/storage/repo.py": "from bot.storage import _pool\n",  # private module, same unit: fine
            "bot/newpkg/__init__.py": "from bot.storage import _pool\n",  # unplaced; private module
            "bot/newpkg/reach.py": "def f(repo):\n    return getattr(repo, '_session'), repo._session\n",
            "tests/__init__.py": "",
            "tests/test_x.py": "from bot.storage.db import _SESSION\n",
        },
    )
    assert unplaced(graph, {**SMALL_LAYERS, "bot.gone": layer()}) == [
        "bot.newpkg: not in the layering",
        "bot.gone: in the layering but not in the tree",
    ]
    assert layer_violations(graph, SMALL_LAYERS) == [
        "bot/domain.py:2: bot.domain imports bot.engine.machine",
        "bot/engine/machine.py:1: bot.engine imports sqlalchemy.orm",
        "bot/engine/machine.py:2: bot.engine imports telegram",
        "bot/engine/machine.py:4: bot.engine imports bot.storage.db",
    ]
    assert sorted(private_imports(graph)) == [
        "bot/engine/machine.py:4: bot.engine.machine imports _SESSION",
        "bot/newpkg/__init__.py:1: bot.newpkg imports bot.storage._pool",
        "tests/test_x.py:1: tests.test_x imports _SESSION",
    ]
    assert private_attributes(graph) == [
        "bot/newpkg/reach.py:2: getattr(…, '_session')",
        "bot/newpkg/reach.py:2: ._session",
    ]
    assert cycles(graph.edges(by_unit=True)) == [["bot.domain", "bot.engine"]]
    assert cycles(graph.edges(by_unit=False)) == [
        ["bot.domain", "bot.engine.machine"],
        ["bot.engine.loop_a", "bot.engine.loop_b"],
    ]


# -- what is loaded at run time ---------------------------------------------------------------------


@pytest.mark.parametrize("unit", PURE)
def test_importing_a_pure_unit_loads_no_telegram_and_no_sql(graph: ImportGraph, unit: str) -> None:
    names = sorted(m for m in graph.modules if m == unit or m.startswith(unit + "."))
    assert len(names) > 1
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}: importlib.import_module(name)\n"
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
    assert names[-1] in loaded
    assert [m for m in loaded if m.split(".")[0] in TELEGRAM | SQL] == []
    allowed = {unit, *LAYERS[unit].uses}
    assert [m for m in loaded if m.startswith("bot.") and graph.unit(m) not in allowed] == []


def test_the_engine_tests_need_no_database(graph: ImportGraph) -> None:
    path = Path(__file__).with_name("test_engine.py")
    used = {graph.unit(i.target) for i in graph.imports if i.importer == "tests.test_engine"}
    assert used & {"bot.storage", "bot.channels", "bot.coach", "bot.services", "bot.cli"} == set()
    assert {i.target.split(".")[0] for i in graph.imports if i.importer == "tests.test_engine"} & (
        TELEGRAM | SQL
    ) == set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
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
    findings = {i.id for kind in ("fears", "causes") for i in catalog.knowledge.kind(kind)}
    assert findings
    assert sorted(f for f in findings if len(f) > FINDING_ID_MAX) == []  # any id fits; none is listed
    assert {i.id for i in catalog.knowledge.kind("standings")} == {s.value for s in Standing}
    assert too_wide({s.value for s in Standing}, people_table.c.standing) == []
    standing_step = catalog.dialogues["onboarding"].step("standing")
    assert standing_step.store in STORES
    assert {o.key for o in standing_step.options} == {s.value for s in Standing}
