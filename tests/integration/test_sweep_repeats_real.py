"""``benchlib sweep --repeat 2`` on the embedded model: two independent runs, each its own kernel process, model
load and run directory, sharing a condition id; a second command reuses both."""

import json
import os
from pathlib import Path

import pytest

from benchlib.cli import main
from benchlib.config import SweepConfig
from benchlib.records import RunDirectory

pytestmark = [pytest.mark.model, pytest.mark.notebook]

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--set", "repetitions=1", "--set", "output_tokens=4", "--set", "warmup=0", "--set", "power=none",
        "--set", "price_profile=''", "--set", "price_files=[]"]  # fmt: skip
"""The smoke sweep cut to one request per repeat."""


def test_two_repeats_are_two_processes_and_two_run_directories_of_one_condition(tmp_path, capsys):
    runs = tmp_path / "runs"
    command = ["sweep", str(ROOT / "params" / "smoke.yaml"), "--repeat", "2", "--quiet", *TINY, "--set", f"output_dir={runs}"]
    assert main(command) == 0
    out = capsys.readouterr().out
    condition = sorted(p.name for p in runs.iterdir())[0]
    assert sorted(p.name for p in runs.iterdir()) == [condition, f"{condition}-r2"]
    assert f"repeat 1/2: run {condition} of condition {condition}" in out
    assert f"repeat 2/2: run {condition}-r2 of condition {condition}" in out
    assert "repeat 1/2: 1 requests: per-token latency" in out and "repeat 2/2: 1 requests" in out

    records = [RunDirectory(runs / name).read_record() for name in (condition, f"{condition}-r2")]
    assert [(r.status, r.condition_id, r.repeat_index) for r in records] == [("complete", condition, 1),
                                                                             ("complete", condition, 2)]  # fmt: skip
    pids = {r.attempts[0].pid for r in records}
    assert len(pids) == 2 and os.getpid() not in pids, "each repeat runs in a kernel process of its own"
    assert all(r.attempts[0].timings["model_load_s"] > 0 for r in records), "and loads the model itself"
    assert all((runs / r.run_id / "sweep.ipynb").exists() and r.summary.requests == 1 for r in records)
    # repeats: 1 keeps the run id of the same parameters: repeat 1 is that run
    values = {**json.loads((runs / condition / "run.json").read_text())["parameters"]}
    one = SweepConfig.from_mapping({k: values[k] for k in SweepConfig.names()} | {"repeats": 1})
    assert one.run_id() == condition

    assert main(command) == 0  # both complete: reused, nothing measured
    assert capsys.readouterr().out.count("is already complete; reusing it") == 2
    assert [len(RunDirectory(runs / r.run_id).read_record().attempts) for r in records] == [1, 1]
    assert main(["runs", "--runs-dir", str(runs)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split()[1:3] for line in listing[2:]] == [[condition, "1"], [condition, "2"]]
