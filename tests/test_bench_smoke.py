"""Every bench script still runs: each with --quick (tiny sizes; the figures mean nothing here).

bench/all.py --quick runs the five scripts behind issue 15's table and assembles it; the supporting
scripts run on their own. Minutes in all, so marked slow: `.ci/run` runs it, the everyday run not.
No time is asserted: the scripts only print.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

BENCH = PROJECT_ROOT / "bench"
#: Run through bench/all.py --quick (so not again on their own).
IN_ALL = {"burst.py", "per_update.py", "capacity.py", "workers.py", "fanout.py"}
#: Helpers imported by the scripts, not scripts.
HELPERS = {"_common.py", "_load.py", "_seed.py", "bot_server.py", "double_server.py", "all.py"}
ON_THEIR_OWN = sorted(p.name for p in BENCH.glob("*.py") if p.name not in IN_ALL | HELPERS)


def _run(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, *args],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_all_runs_the_figure_scripts_this_test_leaves_to_it():
    from bench.all import SCRIPTS

    assert {Path(script[0]).name for script in SCRIPTS} == IN_ALL
    assert all((BENCH / name).exists() for name in IN_ALL)


def test_all_runs_each_figure_script_and_prints_one_table(tmp_path: Path):
    out = tmp_path / "table.md"
    done = _run("bench/all.py", "--quick", "--out", str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    table = out.read_text()
    assert "| figure | result | target | met? |" in table
    for expected in (
        "people at once, as deployed, sqlite",
        "people at once, as deployed, postgres",
        "updates/s Poisson, as deployed",
        "CPU per update ÷ echo floor",
        "sustained rate",
        "webhook workers",
        "fan-out",
    ):
        assert expected in table, expected
    assert "failed (exit" not in table, table


@pytest.mark.parametrize("script", ON_THEIR_OWN)
def test_supporting_script_runs_quick(script: str):
    done = _run(f"bench/{script}", "--quick")
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip(), "printed nothing"
