"""``benchlib fleet`` on this machine: the smoke fleet's sweeps run one after another through papermill."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from benchlib.cli import main
from benchlib.fleet.matrix import load_fleet

pytestmark = [pytest.mark.model, pytest.mark.notebook]

ROOT = Path(__file__).resolve().parents[2]
FLEET = ROOT / "params" / "fleet" / "smoke.yaml"


def _benchlib(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    """The real command in its own process, from the checkout; returns it and its wall time in seconds."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchlib.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=900)  # fmt: skip
    return done, time.perf_counter() - started


def test_smoke_fleet_runs_every_sweep_once_and_a_rerun_skips_them(tmp_path):
    runs = tmp_path / "runs"
    fleet = load_fleet(FLEET)
    first, wall_s = _benchlib("fleet", str(FLEET), "--runs-dir", str(runs), "--quiet")
    assert first.returncode == 0, first.stdout + first.stderr
    print(f"\n4-sweep smoke fleet, locally: {wall_s:.1f} s wall (command start to exit)\n{first.stdout}")
    assert sorted(p.name for p in runs.iterdir()) == sorted(s.run_id for s in fleet.sweeps)
    windows = []
    for sweep in fleet.sweeps:
        run_dir = runs / sweep.run_id
        meta = json.loads((run_dir / "run.json").read_text())
        assert meta["status"] == "complete"
        assert meta["parameters"]["platform"] == sweep.overrides["platform"]
        assert meta["parameters"]["output_tokens"] == sweep.overrides["output_tokens"]
        assert (run_dir / "sweep.ipynb").exists() and (run_dir / "requests.parquet").exists()  # through papermill
        assert re.search(rf"^{re.escape(sweep.label)} +complete ", first.stdout, re.MULTILINE), first.stdout
        windows.append((meta["started_at"], meta["ended_at"]))
    windows.sort()
    assert all(end <= start for (_, end), (start, _) in zip(windows, windows[1:])), "two sweeps ran at once"
    assert "4 sweeps in " in first.stdout and "4 complete, 0 skipped, 0 failed" in first.stdout

    second, rerun_s = _benchlib("fleet", str(FLEET), "--runs-dir", str(runs), "--quiet")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "0 complete, 4 skipped, 0 failed" in second.stdout
    assert second.stdout.count("skipped (already complete)") == 4
    print(f"rerun (all complete): {rerun_s:.1f} s")

    listing, _ = _benchlib("fleet", str(FLEET), "--runs-dir", str(runs), "--dry-run")
    assert [line.split()[-1] for line in listing.stdout.splitlines()[3:]] == ["complete"] * 4


def test_a_failed_sweep_is_recorded_and_the_fleet_carries_on(tmp_path, capsys):
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump({
        "base": "params/smoke.yaml",
        "set": {"repetitions": 1, "warmup": 0},
        "matrix": {"output_tokens": [4]},
        "targets": {"gone": {"platform": "gone", "model": str(tmp_path / "missing.gguf")}, "here": {"platform": "here"}},
    }))  # fmt: skip
    runs = tmp_path / "runs"
    assert main(["fleet", str(path), "--runs-dir", str(runs), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "2 sweeps in " in out and "1 complete, 0 skipped, 1 failed" in out
    assert "gone · output_tokens=4: failed: " in out and "missing.gguf" in out
    here = load_fleet(path).sweeps[1]
    assert json.loads((runs / here.run_id / "run.json").read_text())["status"] == "complete"
