"""A sweep killed with kill -9 keeps every completed request and resumes where it stopped."""

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from benchlib.records import RunDirectory
from benchlib.config import SweepConfig
from benchlib.sweep import run_sweep

pytestmark = [pytest.mark.model]

PARAMS = dict(profile="resume-test", prompts="tiny", output_tokens=24, repetitions=8, warmup=0, threads=1)


def _start_sweep(output_dir) -> subprocess.Popen:
    code = (
        "from benchlib.config import SweepConfig\nfrom benchlib.sweep import run_sweep\n"
        f"run_sweep(SweepConfig(**{PARAMS!r}, output_dir={str(output_dir)!r}), progress=False)\n"
    )
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for_rows(store: RunDirectory, count: int, process: subprocess.Popen, timeout_s: float = 120) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        if store.requests_file.exists():
            rows = len(store.read_requests())
            if rows >= count:
                return rows
        time.sleep(0.02)
    raise AssertionError(f"the sweep did not complete {count} requests in {timeout_s} s")


def test_kill_9_loses_nothing_and_the_sweep_resumes(tmp_path):
    params = SweepConfig(**PARAMS, output_dir=str(tmp_path))
    store = RunDirectory(params.run_dir())
    process = _start_sweep(tmp_path)
    _wait_for_rows(store, 2, process)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()

    before = store.read_requests()
    meta = json.loads(store.run_file.read_text())  # complete JSON, never half a file
    total = params.workload.repetitions * len(params.workload_plan().prompts)
    assert 2 <= len(before) < total, "kill landed after the sweep finished; make the sweep longer"
    assert meta["status"] == "running"
    assert store.effective_status() == "interrupted (process gone)"
    assert (before["attempt"] == 0).all()

    result = run_sweep(params, progress=False)
    after = result.requests
    assert result.meta["status"] == "complete"
    assert len(result.meta["attempts"]) == 2
    first = result.meta["attempts"][0]
    assert first["outcome"] == "interrupted" and first["error"].startswith("process gone: pid")
    assert "outcome" not in result.meta["attempts"][1]
    assert len(after) == total
    assert after["request_id"].is_unique
    kept = after[after["attempt"] == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, before.reset_index(drop=True))
    resumed = after[after["attempt"] == 1]
    assert set(resumed["request_id"]).isdisjoint(before["request_id"])
    assert len(resumed) == total - len(before)
    assert result.meta["summary"]["requests"] == total

    again = run_sweep(params, progress=False)
    assert again.reused and len(again.requests) == total


def test_a_changed_model_file_is_not_mixed_into_an_old_run(tmp_path, root):
    import shutil

    from benchlib.errors import ParameterError
    from benchlib.models import resolve_model

    model_path = tmp_path / "model.gguf"
    shutil.copy(resolve_model("smollm2-135m-q4_1").path, model_path)
    params = SweepConfig(
        profile="swap", model=str(model_path), prompts="tiny", output_tokens=2, repetitions=1, warmup=0,
        output_dir=str(tmp_path / "runs"),
    )  # fmt: skip
    run_sweep(params, progress=False)
    meta_file = params.run_dir() / "run.json"
    meta = json.loads(meta_file.read_text())
    meta["model"]["sha256"] = "0" * 64  # as if the file had been replaced since
    meta["status"] = "interrupted"  # an unfinished run (a running one whose process lives is refused anyway)
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ParameterError, match="fresh"):
        run_sweep(params, progress=False)
