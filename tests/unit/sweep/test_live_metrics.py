"""Live sweep metrics over real HTTP: what a scraper reads, a port in use, the server's end, the engine's wiring."""

from __future__ import annotations

import socket
import threading
import urllib.request

import pytest
from fakes import SPEC
from prometheus_client.parser import text_string_to_metric_families

from benchlib.cli import main
from benchlib.clock import ScriptedClock
from benchlib.config import SweepConfig
from benchlib.errors import ParameterError
from benchlib.runtimes.registry import RUNTIMES
from benchlib.sweep import run_sweep
from benchlib.sweep.live_metrics import (
    LINGER_MAX_S,
    PHASES,
    MetricsPortUnavailable,
    SweepLabels,
    SweepMetrics,
    check_metrics_port,
    linger_s,
)

LABELS = SweepLabels("run-abc", "this machine (CPU)", "smollm2-135m-q4_1", "llama.cpp", "smoke")


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """Every sample of the exposition at ``url``: (name, sorted labels) -> value."""
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    matches = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls)]
    assert len(matches) == 1, f"{name}{labels}: {len(matches)} samples in {sorted(k for k in samples if k[0] == name)}"
    return matches[0]


@pytest.fixture
def busy_port():
    """A port another socket listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.fixture
def clock():
    """Time the test moves (no sampler thread waits on it)."""
    return ScriptedClock(threads=0)


@pytest.fixture
def live(clock):
    metrics = SweepMetrics(0, window_s=0.5, clock=clock)
    yield metrics
    metrics.stop()


@pytest.mark.server
def test_a_scraper_reads_the_updates_with_their_labels(live, clock):
    url = live.start(LABELS)
    assert url.startswith("http://127.0.0.1:") and url.endswith("/metrics")
    live.set_progress(4, 20)
    live.set_phase("measure")
    live.set_step("c1", "closed", 1)
    live.set_step("c4", "closed", 4)
    live.requests_finished(output_tokens=8)
    live.requests_finished(output_tokens=7)
    live.requests_finished(output_tokens=0, failed=True)
    samples = scrape(url)
    run = {"run_id": "run-abc", "platform": "this machine (CPU)"}
    assert value(samples, "benchlib_sweep_requests_total", outcome="ok", **run) == 2
    assert value(samples, "benchlib_sweep_requests_total", outcome="failed", **run) == 1
    assert value(samples, "benchlib_sweep_output_tokens_total", **run) == 15
    assert value(samples, "benchlib_sweep_requests_planned", **run) == 20
    assert value(samples, "benchlib_sweep_requests_completed", **run) == 4
    assert value(samples, "benchlib_sweep_step", **run) == 4  # only the current step is a series
    assert value(samples, "benchlib_sweep_step", step="c4", mode="closed") == 4
    assert {phase: value(samples, "benchlib_sweep_phase", phase=phase) for phase in PHASES} == {
        phase: float(phase == "measure") for phase in PHASES
    }
    info = value(samples, "benchlib_sweep_info", model="smollm2-135m-q4_1", runtime="llama.cpp", profile="smoke", **run)
    assert info == 1
    # 15 tokens since the measurement began (< 1 s ago, so over 1 s); none once the 0.5 s window has passed
    assert value(samples, "benchlib_sweep_output_tokens_per_second") == 15.0
    clock.advance(0.25)
    live.requests_finished(output_tokens=5)
    clock.advance(0.375)  # the first 15 are out of the window, the last 5 in it; 0.625 s since the start: over 1 s
    assert value(scrape(url), "benchlib_sweep_output_tokens_per_second") == 5.0
    clock.advance(1.5)  # 2.125 s since the start: the window's 0.5 s, and nothing in it
    assert value(scrape(url), "benchlib_sweep_output_tokens_per_second") == 0.0


def test_tokens_per_second_is_zero_before_the_measurement(live):
    live.start(LABELS)
    live.set_phase("warmup")
    assert value(scrape(live.url), "benchlib_sweep_output_tokens_per_second") == 0.0
    assert value(scrape(live.url), "benchlib_sweep_phase", phase="warmup") == 1.0


def test_without_a_port_nothing_is_served_and_no_thread_starts():
    threads = threading.active_count()
    metrics = SweepMetrics(None)
    assert metrics.start(LABELS) is None and not metrics.serving
    metrics.set_phase("measure")
    metrics.set_step("c4", "closed", 4)
    metrics.requests_finished(output_tokens=8)
    metrics.stop(complete=True)
    assert threading.active_count() == threads


def test_a_port_in_use_is_a_clear_error_naming_it(busy_port):
    for attempt in (lambda: SweepMetrics(busy_port).start(LABELS), lambda: check_metrics_port(busy_port)):
        with pytest.raises(MetricsPortUnavailable) as error:
            attempt()
        message = str(error.value)
        assert f"127.0.0.1:{busy_port}" in message and "in use" in message and "--metrics-port" in message


@pytest.mark.parametrize("port", [-1, 65536, "9102", True])
def test_a_bad_port_number_is_refused(port):
    with pytest.raises(ParameterError, match="metrics_port must be a TCP port"):
        SweepMetrics(port)


def test_the_port_is_free_again_after_stop_and_serves_a_second_sweep(reserved_port):
    port = reserved_port
    for run in ("first", "second"):
        metrics = SweepMetrics(port)
        metrics.start(SweepLabels(run, "p"))
        assert value(scrape(metrics.url), "benchlib_sweep_phase", phase="load", run_id=run) == 1.0
        metrics.stop(complete=True)
        assert check_metrics_port(port) == port
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


@pytest.mark.server
def test_a_finished_sweep_waits_for_one_scrape_of_its_final_state(live, clock):
    live.start(LABELS)
    for _ in range(3):  # a scraper every 0.25 s
        assert value(scrape(live.url), "benchlib_sweep_phase", phase="done") == 0.0
        clock.advance(0.25)
    stopping = threading.Thread(target=live.stop, kwargs={"complete": True})
    stopping.start()
    seen = 0.0
    while seen != 1.0 and stopping.is_alive():  # the scraper comes again; the sweep waits for it
        try:
            seen = value(scrape(live.url), "benchlib_sweep_phase", phase="done")
        except OSError:
            break
    stopping.join(timeout=60)
    assert seen == 1.0 and live.final_scrape_seen is True and not live.serving


def test_the_wait_for_a_final_scrape_is_one_and_a_half_intervals_and_half_a_second_at_most_20_s():
    assert linger_s([]) is None and linger_s([5.0]) is None  # no scraper seen twice: no wait
    assert linger_s([0.0, 1.0]) == 2.0
    assert linger_s([0.0, 0.25, 1.25]) == 2.0  # the longest interval counts
    assert linger_s([0.0, 60.0]) == LINGER_MAX_S == 20.0


@pytest.mark.server
def test_a_stopped_sweep_does_not_wait_for_a_scrape(live, clock):
    live.start(LABELS)
    scrape(live.url)
    clock.advance(1.0)
    scrape(live.url)  # a scraper every 1 s
    live.stop(complete=False)
    assert live.final_scrape_seen is None and not live.serving


def _fake_config(tmp_path) -> SweepConfig:
    return SweepConfig.from_mapping(
        {"profile": "live", "runtime": "fake", "prompts": "short", "output_tokens": 4, "repetitions": 2,
         "warmup": 1, "power": "none", "output_dir": str(tmp_path)}
    )  # fmt: skip


@pytest.mark.server
def test_run_sweep_refuses_a_port_in_use_before_anything_runs(tmp_path, busy_port, monkeypatch):
    monkeypatch.setitem(RUNTIMES, "fake", SPEC)
    config = _fake_config(tmp_path)
    with pytest.raises(MetricsPortUnavailable, match=str(busy_port)):
        run_sweep(config, progress=False, metrics_port=busy_port)
    assert not (config.run_dir() / "run.json").exists(), "nothing may be measured or recorded"


@pytest.mark.server
def test_run_sweep_serves_and_frees_its_port_and_keeps_its_run_id(tmp_path, monkeypatch, capsys, reserved_port):
    monkeypatch.setitem(RUNTIMES, "fake", SPEC)
    config = _fake_config(tmp_path)
    port = reserved_port
    result = run_sweep(config, progress=False, metrics_port=port)
    assert f"Live sweep metrics: http://127.0.0.1:{port}/metrics" in capsys.readouterr().out
    assert result.run_dir == config.run_dir() and result.meta["status"] == "complete"
    assert "metrics_port" not in result.meta["parameters"]
    assert check_metrics_port(port) == port  # stopped with the sweep


def test_the_cli_refuses_a_port_in_use_before_the_kernel_starts(tmp_path, busy_port, capsys, root):
    runs = tmp_path / "runs"
    code = main(["sweep", str(root / "params" / "smoke.yaml"), "--set", f"output_dir={runs}",
                 "--metrics-port", str(busy_port)])  # fmt: skip
    assert code == 2
    assert f"127.0.0.1:{busy_port}" in capsys.readouterr().err
    assert not runs.exists()


def test_phase_entered_counts_each_phase_once_per_entry(live):
    live.start(LABELS)  # enters "load"
    for phase in ("load", "warmup", "idle", "measure", "measure"):  # repeating the current phase is no new entry
        live.set_phase(phase)
    samples = scrape(live.url)
    entered = {phase: value(samples, "benchlib_sweep_phase_entered_total", phase=phase) for phase in PHASES[:4]}
    assert entered == {"load": 1, "warmup": 1, "idle": 1, "measure": 1}
