"""Where the five seed articles are: beside the project (../shared/seeds), or COACHBOT_SEEDS_DIR.

Tests that compare content with the seeds need them. A clone on its own (outside this workplace)
has none: there those tests skip and say why; under CI (CI set) a missing folder fails instead.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot import PROJECT_ROOT

SEEDS = Path(os.environ.get("COACHBOT_SEEDS_DIR") or PROJECT_ROOT.parent / "shared" / "seeds")

requires_seeds = pytest.mark.skipif(
    not SEEDS.is_dir() and not os.environ.get("CI"),
    reason=f"the seed articles are not at {SEEDS}; set COACHBOT_SEEDS_DIR (under CI they must be there)",
)
