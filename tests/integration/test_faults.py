"""The fault matrix: what a sweep records when the server, the stream, the power sensor or the disk fails.

Real servers on loopback (benchlib's replay server, whose model name chooses
the fault), real files, real fixture sysfs trees; every test asserts what is
recorded (rows, error kinds, run.json), not only that nothing crashed.

* server killed mid-step: ``tests/integration/test_http.py::test_server_killed_mid_sweep_keeps_results_and_resumes``
  (real llama-cpp-python server, SIGKILL, resume) — not repeated here;
* HTTP 500, a stream cut mid-token, streams that never end: below;
* a power sensor vanishing mid-run: below for an http sweep (INA226 and RAPL
  trees); ``test_power_wiring.py`` has the in-process one;
* a read-only and a full output folder while appending: below.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from benchlib.config import SweepConfig
from benchlib.errors import BenchlibError, RuntimeFailure
from benchlib.paths import sensors_dir
from benchlib.records import RunDirectory
from benchlib.sweep import run_sweep
from benchlib.sweep.partial_log import PARTIAL_FILE, OutputNotWritable, PartialLog

pytestmark = [pytest.mark.model, pytest.mark.server]


def _sweep(url: str, output_dir: Path, **overrides) -> SweepConfig:
    values = dict(
        profile="fault-test", runtime="http", url=url, model="replay", served_model="replay", prompts="short",
        output_tokens=8, concurrency=[2], step_min_requests=6, step_max_s=60.0, warmup=0, power="none",
        request_timeout_s=30.0, output_dir=str(output_dir),
    )  # fmt: skip
    values.update(overrides)
    return SweepConfig.from_mapping(values)


def _partial_rows(run_dir: Path) -> list[dict]:
    path = run_dir / PARTIAL_FILE
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


# ----------------------------------------------------------------------------- server and stream faults


def _failed_run(params: SweepConfig) -> tuple[dict, object]:
    """A sweep whose every request fails: it raises, ends ``failed`` and keeps its rows; its run.json and rows."""
    with pytest.raises(RuntimeFailure, match="measured requests failed"):
        run_sweep(params, progress=False)
    store = RunDirectory(next(Path(params.flat()["output_dir"]).iterdir()))
    meta = json.loads(store.run_file.read_text())
    assert meta["status"] == "failed" and meta["errors_by_kind"], "a run without a success is never 'complete'"
    return meta, store.read_requests()


@pytest.mark.parametrize(
    ("mode", "kind", "detail"),
    [
        ("replay-500", "http", "HTTP 500"),
        ("replay-cut", "disconnected", "lost mid-stream"),
    ],
)
def test_a_failing_server_is_recorded_as_errors_never_dropped(replay, tmp_path, mode, kind, detail):
    meta, requests = _failed_run(_sweep(replay.url, tmp_path / "runs", served_model=mode, concurrency=[1],
                                        step_min_requests=3))  # fmt: skip
    assert len(requests) == 3, "every failed request is a row"
    assert (requests["error_kind"] == kind).all() and meta["errors_by_kind"][kind]["count"] == 3
    assert requests["error"].str.contains(detail).all()
    assert requests["ttft_s"].isna().all() and requests["tpot_s"].isna().all(), "no latency for a failed request"
    summary = meta["steps"]["c1"]["summary"]
    assert summary["requests_ok"] == 0 and summary["requests_failed"] == 3
    assert summary["errors_by_kind"] == {kind: 3}
    assert "ttft_s" not in summary and "throughput_tps" not in summary, "failed requests never enter latency statistics"


def test_server_errors_among_good_requests_stay_out_of_the_latency_statistics(replay, tmp_path):
    params = _sweep(replay.url, tmp_path / "runs", served_model="replay-flaky", concurrency=[1], step_min_requests=9)
    result = run_sweep(params, progress=False)
    requests = result.requests
    failed = requests[requests["error"].notna()]
    ok = requests[requests["error"].isna()]
    assert len(requests) == 9 and len(failed) == 3 and (failed["error_kind"] == "http").all()
    assert failed["ttft_s"].isna().all() and ok["ttft_s"].notna().all()
    summary = result.meta["steps"]["c1"]["summary"]
    assert summary["requests_ok"] == 6 and summary["errors_by_kind"] == {"http": 3}
    assert summary["ttft_s"]["n"] == 6 and summary["e2e_s"]["n"] == 6, "only successful requests are measured"
    assert summary["output_tokens"] == 6 * 8
    assert result.meta["summary"]["requests"] == 6


def test_a_cut_stream_keeps_its_tokens_out_of_the_statistics(replay, tmp_path):
    """Two tokens arrived before the cut: they are not measured output."""
    from benchlib.runtimes.base import GenerationRequest
    from benchlib.runtimes.http import HttpRuntime, HttpSettings

    trace = HttpRuntime(HttpSettings(url=replay.url, served_model="replay-cut")).generate(GenerationRequest("cut-p00", "x", 8))
    assert trace.error_kind == "disconnected" and len(trace.token_times_s) == 2
    meta, _ = _failed_run(_sweep(replay.url, tmp_path / "runs", served_model="replay-cut", step_min_requests=2))
    assert meta["steps"]["c2"]["summary"]["requests_ok"] == 0 and "summary" not in meta


@pytest.mark.parametrize("mode", ["replay-endless", "replay-stall"])
def test_a_stream_that_never_ends_is_bounded_by_request_timeout_s(replay, tmp_path, mode):
    timeout_s = 1.0
    params = _sweep(replay.url, tmp_path / "runs", served_model=mode, request_timeout_s=timeout_s, step_min_requests=4)
    meta, requests = _failed_run(params)
    assert len(requests) == 4 and (requests["error_kind"] == "timeout").all()
    assert requests["error"].str.contains("request_timeout_s=1").all()
    step = meta["steps"]["c2"]
    assert step["status"] == "complete" and step["summary"]["errors_by_kind"] == {"timeout": 4}
    # two rounds of two streams, each cut at its timeout: never shorter (no upper bound: a busy machine is slower)
    assert 2 * timeout_s <= step["summary"]["duration_s"]


# ----------------------------------------------------------------------------- power sensor vanishing


@pytest.mark.parametrize(
    ("source", "tree", "vanishing"),
    [
        ("ina2xx", "pi5_ina226", "sys/class/hwmon/hwmon3"),
        ("rapl", "x86_rapl", "sys/class/powercap/intel-rapl:0/energy_uj"),
    ],
)
def test_a_power_sensor_vanishing_mid_http_sweep(replay, tmp_path, source, tree, vanishing):
    sysfs = tmp_path / "sysfs"
    shutil.copytree(sensors_dir() / "sysfs" / tree, sysfs)
    params = _sweep(
        replay.url, tmp_path / "runs", power=source, power_options={"root": str(sysfs)}, power_rate_hz=50.0,
        output_tokens=20, step_min_requests=40, concurrency=[2],
    )  # fmt: skip
    store = RunDirectory(params.run_dir())
    outcome: dict = {}

    def sweep() -> None:
        try:
            outcome["result"] = run_sweep(params, progress=False)
        except BaseException as exc:  # examined below
            outcome["error"] = exc

    worker = threading.Thread(target=sweep)
    worker.start()
    deadline = time.monotonic() + 60
    while len(_partial_rows(store.path)) < 4:
        assert worker.is_alive() and time.monotonic() < deadline, outcome
        time.sleep(0.01)
    target = sysfs / vanishing
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    worker.join(timeout=120)
    assert "error" not in outcome, outcome.get("error")
    meta = store.read_meta()
    assert meta["status"] == "complete"
    requests = store.read_requests()
    assert len(requests) == 40 and requests["error"].isna().all(), "no completed request is lost"
    energy = meta["summary"]["energy"]
    assert energy["valid"] is False and f"power source {source}" in energy["problem"] and "failed" in energy["problem"], energy
    assert "energy_j" not in energy and "energy_per_token_j" not in energy, "never a made-up number"
    assert meta["power"]["sampler"]["state"] == "failed" and meta["power"]["sampler"]["problem"]
    assert (store.path / "power.parquet").exists(), "the samples before the sensor vanished are kept"


# ----------------------------------------------------------------------------- output folder not writable


def _sweep_in_subprocess(params: SweepConfig) -> subprocess.Popen:
    code = (
        "from benchlib.config import SweepConfig\nfrom benchlib.sweep import run_sweep\n"
        f"run_sweep(SweepConfig.from_mapping({params.flat()!r}), progress=False)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _wait_for_rows(process: subprocess.Popen, run_dir: Path, rows: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while len(_partial_rows(run_dir)) < rows:
        assert process.poll() is None, process.stderr.read().decode()[-3000:]
        assert time.monotonic() < deadline
        time.sleep(0.005)


class _ReadOnly:
    """Makes a directory read-only for this process: chmod, or ``chattr +i`` for root (chmod does not stop root)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.root = os.geteuid() == 0
        if self.root and not shutil.which("chattr"):
            pytest.skip("running as root, where chmod does not stop writes, and chattr is missing")

    def __enter__(self) -> "_ReadOnly":
        if self.root:
            done = subprocess.run(["chattr", "+i", str(self.path)], capture_output=True, text=True)
            if done.returncode != 0:
                pytest.skip(f"running as root and chattr +i fails here ({done.stderr.strip()}); chmod would not stop root")
        else:
            self.path.chmod(0o555)
        return self

    def __exit__(self, *exc) -> None:
        if self.root:
            subprocess.run(["chattr", "-i", str(self.path)], check=True)
        else:
            self.path.chmod(0o755)


def test_a_read_only_output_folder_while_appending_loses_nothing_and_resumes(replay, tmp_path):
    params = _sweep(replay.url, tmp_path / "runs", served_model="replay", output_tokens=30, step_min_requests=30)
    store = RunDirectory(params.run_dir())
    process = _sweep_in_subprocess(params)
    _wait_for_rows(process, store.path, 2)
    with _ReadOnly(store.path):
        _, stderr = process.communicate(timeout=120)
        assert process.returncode != 0
        message = stderr.decode()
        assert "OutputNotWritable: Cannot write to the run directory" in message and "resume" in message
        kept = _partial_rows(store.path)
        assert 2 <= len(kept) <= 30
        meta = store.read_meta()
        assert meta["status"] == "running" and "c2" not in meta.get("steps", {})
        # run.json could not be updated, but its process is gone: the run reads as interrupted, not running
        assert store.effective_status(meta) == "interrupted (process gone)"
    result = run_sweep(params, progress=False)
    assert result.meta["status"] == "complete"
    requests = result.requests
    first = requests[requests["attempt"] == 0]
    assert sorted(first["request_id"]) == sorted(r["request_id"] for r in kept), "nothing completed was lost"
    assert result.meta["steps"]["c2"]["attempt"] == 1 and result.meta["steps"]["c2"]["summary"]["requests_ok"] == 30
    assert not (store.path / PARTIAL_FILE).exists()


def _fill(disk: Path) -> Path:
    """Write a file until the disk is full; return it."""
    filler = disk / "filler"
    chunk = b"\0" * 4096
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(chunk)
        except OSError:
            pass
    return filler


def test_a_full_disk_while_appending_is_a_clear_error_and_loses_nothing(replay, tiny_disk, tmp_path):
    params = _sweep(replay.url, tiny_disk / "runs", served_model="replay", output_tokens=30, step_min_requests=30)
    store = RunDirectory(params.run_dir())
    process = _sweep_in_subprocess(params)
    _wait_for_rows(process, store.path, 2)
    filler = _fill(tiny_disk)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0
    message = stderr.decode()
    assert "OutputNotWritable: Cannot write to the run directory" in message and "No space left on device" in message
    kept = _partial_rows(store.path)
    assert 2 <= len(kept) < 30
    assert store.effective_status() == "interrupted (process gone)", "run.json could not be updated, but it does not read as running"
    filler.unlink()
    result = run_sweep(params, progress=False)
    assert result.meta["status"] == "complete"
    first = result.requests[result.requests["attempt"] == 0]
    assert sorted(first["request_id"]) == sorted(r["request_id"] for r in kept), "every row written before the disk filled is kept"
    assert result.meta["steps"]["c2"]["summary"]["requests_ok"] == 30


def test_a_partial_line_cut_by_a_failed_write_does_not_swallow_the_next_row(tmp_path):
    log = PartialLog(tmp_path)
    log.append({"request_id": "a"})
    log.close()
    with open(log.path, "ab") as handle:
        handle.write(b'{"request_id": "cut-by-a-full-di')  # what a failed write leaves behind
    log.append({"request_id": "b"})
    log.close()
    assert list(log.read()["request_id"]) == ["a", "b"]


def _sweep_in_thread(params) -> tuple[threading.Thread, dict]:
    """Start ``run_sweep`` in a thread; the dict gets the error it raises, if any."""
    outcome: dict = {}

    def sweep() -> None:
        try:
            run_sweep(params, progress=False)
        except BaseException as exc:  # examined by the test
            outcome["error"] = exc

    worker = threading.Thread(target=sweep)
    worker.start()
    return worker, outcome


def test_the_error_the_user_sees_is_the_clear_one(replay, tmp_path):
    params = _sweep(replay.url, tmp_path / "runs", served_model="replay", output_tokens=30, step_min_requests=30)
    store = RunDirectory(params.run_dir())
    worker, outcome = _sweep_in_thread(params)
    deadline = time.monotonic() + 60
    while len(_partial_rows(store.path)) < 2:
        assert worker.is_alive() and time.monotonic() < deadline
        time.sleep(0.005)
    with _ReadOnly(store.path):
        worker.join(timeout=120)
    error = outcome.get("error")
    assert isinstance(error, OutputNotWritable), repr(error)
    assert isinstance(error, BenchlibError) and "resume" in str(error)


def test_an_in_process_sweep_into_a_read_only_folder_says_how_to_resume(tmp_path):
    params = SweepConfig.from_mapping(
        dict(profile="fault-test", prompts="tiny", output_tokens=8, repetitions=20, warmup=1, threads=1, power="none",
             output_dir=str(tmp_path / "runs"))
    )  # fmt: skip
    store = RunDirectory(params.run_dir())
    worker, outcome = _sweep_in_thread(params)
    deadline = time.monotonic() + 120
    while not (store.requests_file.exists() and len(store.read_requests()) >= 2):
        assert worker.is_alive() and time.monotonic() < deadline, outcome
        time.sleep(0.01)
    with _ReadOnly(store.path):
        worker.join(timeout=120)
        kept = len(store.read_requests())
    assert kept >= 2
    error = outcome.get("error")
    assert isinstance(error, BenchlibError) and "Cannot write to the run directory" in str(error), repr(error)


def test_a_long_step_can_be_summarized_in_bounded_memory():
    """3000 requests of 631 tokens (1.9M gaps, what 10 minutes at c64 and 20 ms/token give), under a 4 GB address space."""
    code = """
import resource, time
resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))
import numpy as np, pandas as pd
from benchlib.metrics import step_statistics
from benchlib.runtimes.base import GenerationRequest, TokenTrace
from benchlib.sweep.rows import load_step_row
from benchlib.sweep.steps import LoadStep
step = LoadStep("c64", "closed", 64, None, 3000, 600.0)
rng = np.random.default_rng(0)
rows = []
for i in range(3000):
    sent = i * 0.2
    times = tuple(sent + 0.05 + np.cumsum(rng.normal(0.02, 0.001, 631)))
    trace = TokenTrace(request_id=f"c64-a0-{i:05d}-p00", sent_s=sent, token_times_s=times, prompt_tokens=8, headers_s=sent + 0.01)
    rows.append(load_step_row(trace, GenerationRequest(trace.request_id, "x", 631), step, 0, 1.7e9))
started = time.perf_counter()
statistics = step_statistics(pd.DataFrame(rows), 600.0, {})
assert statistics["itl_s"]["n"] == 3000 * 630, statistics["itl_s"]
print("seconds", time.perf_counter() - started)
"""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-1500:]
    assert float(done.stdout.split()[-1]) < 60, done.stdout


def test_soak_benchmark_runs_short(monkeypatch):
    """The soak of ``make bench`` (10 minutes there), for a few seconds: its figures exist and no request failed."""
    from benchlib.selfbench.soak import SOAK_DURATION_ENV, soak

    monkeypatch.setenv(SOAK_DURATION_ENV, "4")
    figures = soak(concurrency=8)
    assert figures["requests_failed"] == 0 and figures["requests_issued"] > 0
    assert figures["requests_recorded"] == figures["requests_issued"]
    assert figures["tokens_per_s"] > 0 and figures["client_cpu_s_per_1k_tps"] > 0
    assert figures["rss_growth_goal_met"] in (True, False) and figures["rss_samples"] >= 2
