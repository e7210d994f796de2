"""A fresh clone followed by the report leaves ``git status`` clean: every output is ignored, nothing tracked changes.

``make report`` is ``make setup``, then ``benchlib sweep $(SWEEP)`` and ``benchlib report``. The test runs those two
commands in a fresh clone of this repository (with this environment's benchlib: a second ``make setup`` would
install the package again from the clone), then asks git.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.model]

ROOT = Path(__file__).resolve().parents[2]
BENCHLIB = str(Path(sys.executable).parent / "benchlib")


def _run(command: list[str], cwd: Path) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


def test_a_fresh_clone_after_the_report_has_a_clean_git_status(tmp_path):
    clone = tmp_path / "clone"
    _run(["git", "clone", "-q", str(ROOT), str(clone)], tmp_path)
    _run([BENCHLIB, "sweep", "params/smoke.yaml"], clone)
    _run([BENCHLIB, "report"], clone)
    written = sorted(path.name for path in (clone / "figures").iterdir())
    assert {"summary.csv", "per_token_latency.png", "report.html"} <= set(written), written  # the report did write
    assert any((clone / "data" / "runs").iterdir()) and any((clone / "data" / "report").iterdir())
    status = _run(["git", "status", "--porcelain", "--untracked-files=all"], clone)
    assert status == "", f"the report left these in git status:\n{status}"
