"""Ctrl-C stops a sweep and leaves a run that says so; a sweep that cannot run is refused before anything is written.

These run the real ``benchlib sweep`` command (papermill, a kernel, the real
model or a real local server) in a subprocess and send it SIGINT as a
terminal's Ctrl-C does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from benchlib.cli import main
from benchlib.models import resolve_model
from benchlib.records import RunDirectory, scan_runs
from benchlib.testing.local_servers import reserve_port, replay_server

pytestmark = [pytest.mark.model, pytest.mark.server, pytest.mark.notebook]

ROOT = Path(__file__).resolve().parents[2]


def _sweep(args: list[str]) -> subprocess.Popen:
    command = [sys.executable, "-m", "benchlib.cli", "sweep", *args, "--quiet"]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_rows(runs_dir: Path, process: subprocess.Popen, rows: int = 2, timeout_s: float = 180) -> RunDirectory:
    """The run directory once it holds ``rows`` completed requests (in requests.parquet or the partial log)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        for path in runs_dir.glob("*/"):
            store = RunDirectory(path)
            partial = path / "requests.partial.jsonl"
            done = len(store.read_requests()) if store.requests_file.exists() else 0
            done += len(partial.read_text().splitlines()) if partial.exists() else 0
            if done >= rows:
                return store
        time.sleep(0.1)
    raise AssertionError("the sweep completed no request in time")


def _kernels_of(process: subprocess.Popen) -> list[psutil.Process]:
    try:
        return [c for c in psutil.Process(process.pid).children(recursive=True) if "ipykernel" in " ".join(c.cmdline())]
    except psutil.Error:
        return []


def test_ctrl_c_stops_an_in_process_sweep_and_the_same_command_resumes_it(tmp_path):
    args = ["params/smoke.yaml", "--set", "repetitions=40", "--set", "output_tokens=24", "--set", f"output_dir={tmp_path}"]
    process = _sweep(args)
    store = _wait_for_rows(tmp_path, process)
    kernels = _kernels_of(process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "run the same command to resume" in err and "benchlib sweep params/smoke.yaml" in err
    meta = store.read_meta()
    assert meta["status"] == "interrupted" and "stopped by the user" in meta["error"]
    kept = store.read_requests()
    assert 2 <= len(kept) < 40 and meta["progress"]["completed"] == len(kept)
    assert not any(k.is_running() and k.status() != psutil.STATUS_ZOMBIE for k in kernels), "the kernel is shut down"

    resumed = _sweep(args)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err
    meta = store.read_meta()
    assert meta["status"] == "complete" and meta["attempts"][0]["outcome"] == "interrupted"
    after = store.read_requests()
    assert len(after) == 40 and after["request_id"].is_unique


def test_a_second_ctrl_c_exits_at_once_and_the_run_reads_as_interrupted(tmp_path):
    process = _sweep(["params/smoke.yaml", "--set", "repetitions=40", "--set", "output_tokens=24",
                      "--set", f"output_dir={tmp_path}"])  # fmt: skip
    store = _wait_for_rows(tmp_path, process)
    process.send_signal(signal.SIGINT)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    # the kernel the second Ctrl-C abandons exits on its own; under load that takes longer than a second
    deadline = time.monotonic() + 20
    while store.effective_status() == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    assert store.effective_status() in ("interrupted", "interrupted (process gone)")
    kept = store.read_requests()
    assert len(kept) >= 2 and kept["request_id"].is_unique


def test_ctrl_c_stops_a_load_sweep_abandoning_the_requests_in_flight(tmp_path):
    server = replay_server(reserve_port(), tmp_path / "server.log", interval_ms=20).start()
    try:
        process = _sweep(["params/smoke.yaml", "--set", "runtime=http", "--set", f"url={server.url}", "--set", "model=replay",
                          "--set", "prompts=tiny", "--set", "output_tokens=100", "--set", "concurrency=[4]",
                          "--set", "step_min_requests=400", "--set", "warmup=0", "--set", "power=none",
                          "--set", f"output_dir={tmp_path / 'runs'}"])  # fmt: skip
        store = _wait_for_rows(tmp_path / "runs", process, rows=4)
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        server.stop()
    assert process.returncode == 130, err
    meta = store.read_meta()
    assert meta["status"] == "interrupted"
    rows = store.read_requests()  # the partial log was folded in
    assert len(rows) >= 4 and not (store.path / "requests.partial.jsonl").exists()
    assert rows["error"].isna().all(), "an abandoned request is not recorded as a measurement"
    assert (rows["output_tokens"] == 100).all()


@pytest.mark.parametrize("kind", ["zero bytes", "json", "half", "directory", "misspelt"])
def test_a_model_that_cannot_run_is_refused_before_a_kernel_starts(tmp_path, kind, capsys):
    source = Path(resolve_model("smollm2-135m-q4_1").path)
    model = tmp_path / "model.gguf"
    if kind == "zero bytes":
        model.write_bytes(b"")
    elif kind == "json":
        model.write_text('{"model": "not really"}')
    elif kind == "half":
        model.write_bytes(source.read_bytes()[: source.stat().st_size // 2])
    elif kind == "directory":
        model.mkdir()
    else:
        model = "smollm2-135m-q4_l"
    runs = tmp_path / "runs"
    assert main(["sweep", "params/smoke.yaml", "--set", f"model={model}", "--set", f"output_dir={runs}"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("benchlib: error:") and ("GGUF" in err or "not a file" in err or "Unknown model" in err)
    assert not runs.exists(), "a refused sweep writes nothing"


@pytest.mark.parametrize(
    "overrides, message",
    [(["runtime=http", "url=http://127.0.0.1:9", "model=m"], "127.0.0.1:9"),
     (["power=rapl"], "rapl")],
)  # fmt: skip
def test_a_server_or_sensor_that_is_not_there_is_refused_before_a_kernel_starts(tmp_path, overrides, message, capsys):
    runs = tmp_path / "runs"
    sets = [part for value in overrides for part in ("--set", value)]
    assert main(["sweep", "params/smoke.yaml", *sets, "--set", f"output_dir={runs}"]) == 2
    assert message in capsys.readouterr().err
    assert not runs.exists() and scan_runs(runs).runs == []
