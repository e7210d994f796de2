"""Live sweep metrics scraped by a real Prometheus, and the Grafana dashboard's queries run by a real Prometheus.

* ``benchlib sweep --metrics-port`` on the real embedded model (papermill
  kernel, llama.cpp): Prometheus holds request and token counts equal to the
  run's ``requests.parquet``, and saw the phases and the step;
* a load sweep (``runtime: http``) against the local replay server: each step
  is seen, requests counted per outcome;
* every PromQL expression of ``data/grafana/benchlib-dashboard.json`` is
  accepted by Prometheus, and every metric it names is one benchlib's sweep
  metrics, benchlib's exporter or a preset (DCGM, node_exporter) defines.

Skipped when ``prometheus`` is not on ``PATH``, unless
``BENCHLIB_REQUIRE_PROMETHEUS=1`` (CI), which makes that a failure.
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pandas as pd
import pytest
from prometheus_client.parser import text_string_to_metric_families

from benchlib.cli import main
from benchlib.config import SweepConfig
from benchlib.sweep import run_sweep
from benchlib.sweep.live_metrics import SweepLabels, SweepMetrics
from benchlib.testing.local_servers import reserve_port, replay_server
from benchlib.testing.prometheus_server import (
    PROMETHEUS_PROGRAMS,
    find_program,
    prometheus_query,
    prometheus_server,
    wait_for_samples,
)

pytestmark = [pytest.mark.model, pytest.mark.notebook, pytest.mark.prometheus]

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "data" / "grafana" / "benchlib-dashboard.json"

EXPORTER_METRICS = {
    "benchlib_power_watts", "benchlib_energy_joules_total", "benchlib_temperature_celsius", "benchlib_exporter_up",
}  # fmt: skip
"""What ``benchlib exporter`` exposes (benchlib.prometheus)."""

PRESET_METRICS = {
    "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_GPU_TEMP",  # NVIDIA DCGM exporter
    "node_rapl_package_joules_total",  # node_exporter's RAPL collector
    "up",  # Prometheus' own scrape health
}  # fmt: skip

GRAFANA_VARIABLES = {"__rate_interval": "1m", "__interval": "15s", "__range": "10m", "run_id": ".*", "power_instance": ".*"}
"""Concrete values for the dashboard's Grafana variables (a query with any other variable fails the test)."""


@pytest.fixture(scope="module")
def prometheus_program() -> str:
    program = find_program(PROMETHEUS_PROGRAMS)
    if program is None:
        reason = "prometheus is not on PATH: `apt-get install prometheus` (or `make prometheus-tools`)"
        if os.environ.get("BENCHLIB_REQUIRE_PROMETHEUS") == "1":
            pytest.fail(f"BENCHLIB_REQUIRE_PROMETHEUS=1 but {reason}")
        pytest.skip(reason)
    return program


def _query_error(url: str, expr: str) -> str | None:
    """Prometheus' error for an instant query, or ``None`` when it succeeds."""
    try:
        prometheus_query(url, expr)
    except urllib.error.HTTPError as exc:
        return f"{exc.code}: {exc.read().decode()}"
    except RuntimeError as exc:
        return str(exc)
    return None


def _scraping(port: int, workdir: Path):
    """A started Prometheus scraping ``127.0.0.1:port`` every 0.25 s, once its scrape loop runs (the target is down).

    Prometheus hands new targets to its scrape loops up to 5 s after it starts; a sweep shorter than that would
    otherwise go unseen.
    """
    server = prometheus_server({"benchlib-sweep": f"127.0.0.1:{port}"}, workdir, scrape_interval_s=0.25).start()
    try:
        wait_for_samples(server.url, 'up{job="benchlib-sweep"}', count=1)
    except BaseException:
        server.stop()
        raise
    return server


def _one_value(url: str, expr: str) -> float:
    result = prometheus_query(url, expr)["result"]
    assert len(result) == 1, f"{expr}: {result}"
    return float(result[0]["value"][1])


# --- the dashboard -------------------------------------------------------------------------------------------


def dashboard_queries() -> list[str]:
    """Every PromQL expression of the dashboard: panel targets, and variable queries (``label_values``) as PromQL."""
    board = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in board["panels"] for t in panel.get("targets", [])]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", variable["query"]["query"])
            assert match, f"variable {variable['name']}: {variable['query']}"
            exprs.append(f"count by ({match[2]}) ({match[1]})")
    return exprs


def concrete(expr: str) -> str:
    """The expression with Grafana's variables replaced by :data:`GRAFANA_VARIABLES`."""

    def value(match: re.Match) -> str:
        name = match[1] or match[2]
        assert name in GRAFANA_VARIABLES, f"unknown Grafana variable ${name} in {expr}"
        return GRAFANA_VARIABLES[name]

    return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, expr)


_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless"}


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects (bare identifiers that are no function, keyword or label)."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)  # label lists
    text = re.sub(r"(?<![A-Za-z0-9_:])\d[\w.]*", " ", text)  # numbers and durations (1000, 1e3, 5m)
    names = set()
    for match in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        rest = text[match.end():].lstrip()
        if match[0] not in _KEYWORDS and not rest.startswith("("):
            names.add(match[0])
    return names


def test_the_metric_name_reader_finds_names_and_only_names():
    expr = 'sum by (instance, gpu) (rate(DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{instance=~"a|b"}[1m])) / 1000 / up'
    assert metric_names(expr) == {"DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "up"}
    assert metric_names("max by (run_id) (benchlib_sweep_phase == 1) and on(run_id) x_total offset 5m") == {
        "benchlib_sweep_phase", "x_total"}  # fmt: skip


def sweep_metric_names() -> set[str]:
    """The sample names benchlib's live sweep metrics expose, read from a real scrape."""
    live = SweepMetrics(0)
    try:
        live.start(SweepLabels("names", "p"))
        live.set_step("sequential", "sequential", 0)
        with urllib.request.urlopen(live.url, timeout=5) as response:
            text = response.read().decode()
    finally:
        live.stop()
    return {s.name for family in text_string_to_metric_families(text) for s in family.samples}


def test_every_dashboard_metric_is_one_benchlib_or_a_preset_defines():
    known = sweep_metric_names() | EXPORTER_METRICS | PRESET_METRICS
    used = set().union(*(metric_names(concrete(e)) for e in dashboard_queries()))
    assert used - known == set(), f"the dashboard queries metrics nothing defines: {sorted(used - known)}"
    sweep_used = {n for n in used if n.startswith("benchlib_sweep_")}
    assert {"benchlib_sweep_output_tokens_per_second", "benchlib_sweep_requests_total", "benchlib_sweep_phase",
            "benchlib_sweep_step"} <= sweep_used  # fmt: skip
    assert {"benchlib_power_watts", "DCGM_FI_DEV_POWER_USAGE", "node_rapl_package_joules_total"} <= used


def test_the_dashboard_imports_with_a_datasource_input():
    board = json.loads(DASHBOARD.read_text())
    assert board["schemaVersion"] >= 36 and board["uid"] and board["title"]
    assert [i["name"] for i in board["__inputs"]] == ["DS_PROMETHEUS"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in board["panels"]:
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]


def test_real_prometheus_accepts_every_dashboard_query(prometheus_program, tmp_path):
    queries = [concrete(e) for e in dashboard_queries()]
    assert len(queries) >= 20
    server = prometheus_server({}, tmp_path / "prometheus").start()
    try:
        assert _query_error(server.url, "sum(rate(x[1m]) offset") is not None  # a broken query is refused
        errors = {q: error for q in queries if (error := _query_error(server.url, q)) is not None}
    finally:
        server.stop()
    assert errors == {}


# --- sweeps scraped by Prometheus ----------------------------------------------------------------------------


def test_benchlib_sweep_metrics_port_scraped_by_prometheus(prometheus_program, tmp_path, capsys, reserved_port):
    port = reserved_port
    runs = tmp_path / "runs"
    overrides = {"output_dir": str(runs), "repetitions": 8, "output_tokens": 24, "power": "none"}
    prometheus = _scraping(port, tmp_path / "prometheus")
    try:
        argv = ["sweep", str(ROOT / "params" / "smoke.yaml"), "--quiet", "--metrics-port", str(port)]
        argv += [arg for name, text in overrides.items() for arg in ("--set", f"{name}={text}")]
        assert main(argv) == 0, capsys.readouterr().err
        out = capsys.readouterr().out
        assert f"http://127.0.0.1:{port}/metrics" in out

        (run_dir,) = runs.iterdir()
        values = {**__import__("yaml").safe_load((ROOT / "params" / "smoke.yaml").read_text()), **overrides}
        assert run_dir.name == SweepConfig.from_mapping(values).run_id(), "the metrics port changed the run id"
        requests = pd.read_parquet(run_dir / "requests.parquet")
        assert json.loads((run_dir / "run.json").read_text())["status"] == "complete" and len(requests) == 8
        assert "metrics_port" in (run_dir / "sweep.ipynb").read_text()  # the executed notebook shows how it ran

        url, run = prometheus.url, f'run_id="{run_dir.name}",job="benchlib-sweep"'
        assert _one_value(url, f'max_over_time(benchlib_sweep_requests_total{{{run},outcome="ok"}}[10m])') == len(requests)
        assert _one_value(url, f'max_over_time(benchlib_sweep_requests_total{{{run},outcome="failed"}}[10m])') == 0
        tokens = _one_value(url, f"max_over_time(benchlib_sweep_output_tokens_total{{{run}}}[10m])")
        assert tokens == requests["output_tokens"].sum() == 8 * 24
        assert _one_value(url, f"max_over_time(benchlib_sweep_requests_planned{{{run}}}[10m])") == 8
        assert _one_value(url, f"max_over_time(benchlib_sweep_requests_completed{{{run}}}[10m])") == 8
        # the gauge shows a phase only if a scrape fell inside it; the counter keeps every phase entered
        entered = prometheus_query(url, f"max_over_time(benchlib_sweep_phase_entered_total{{{run}}}[10m])")["result"]
        assert {r["metric"]["phase"]: r["value"][1] for r in entered} == {"load": "1", "warmup": "1", "idle": "1",
                                                                          "measure": "1", "done": "1"}  # fmt: skip
        final = prometheus_query(url, f"last_over_time(benchlib_sweep_phase{{{run}}}[10m]) == 1")["result"]
        assert [r["metric"]["phase"] for r in final] == ["done"]
        step = prometheus_query(url, f"max_over_time(benchlib_sweep_step{{{run}}}[10m])")["result"]
        assert [(r["metric"]["step"], r["metric"]["mode"], r["value"][1]) for r in step] == [("sequential", "sequential", "0")]
        assert _one_value(url, f"max_over_time(benchlib_sweep_output_tokens_per_second{{{run}}}[10m])") > 0
        info = prometheus_query(url, f"benchlib_sweep_info{{{run}}}[10m]")["result"][0]["metric"]
        assert (info["platform"], info["model"], info["runtime"]) == ("this machine (CPU)", "smollm2-135m-q4_1", "llama.cpp")
    finally:
        prometheus.stop()


def test_a_load_sweep_shows_each_step_and_counts_per_outcome(prometheus_program, tmp_path, reserved_port):
    port = reserved_port
    server = replay_server(reserve_port(), tmp_path / "replay.log", interval_ms=20.0).start()  # 0.3 s per request
    try:
        prometheus = _scraping(port, tmp_path / "prometheus")
    except BaseException:
        server.stop()
        raise
    try:
        config = SweepConfig.from_mapping(dict(
            profile="live-load", runtime="http", url=server.url, model="replay", prompts="tiny", output_tokens=16,
            concurrency=[1, 3], rates_rps=[20.0], step_min_requests=6, warmup=1, power="none",
            output_dir=str(tmp_path / "runs"),
        ))  # fmt: skip
        result = run_sweep(config, progress=False, metrics_port=port)
        requests = result.requests
        url, run = prometheus.url, f'run_id="{config.run_id()}"'
        ok = requests["error"].isna()
        assert _one_value(url, f'max_over_time(benchlib_sweep_requests_total{{{run},outcome="ok"}}[10m])') == ok.sum()
        assert _one_value(url, f'max_over_time(benchlib_sweep_requests_total{{{run},outcome="failed"}}[10m])') == (~ok).sum()
        assert _one_value(url, f"max_over_time(benchlib_sweep_output_tokens_total{{{run}}}[10m])") == requests[
            "output_tokens"].sum()  # fmt: skip
        steps = prometheus_query(url, f"max_over_time(benchlib_sweep_step{{{run}}}[10m])")["result"]
        seen = {(r["metric"]["step"], r["metric"]["mode"]): float(r["value"][1]) for r in steps}
        assert seen == {("c1", "closed"): 1.0, ("c3", "closed"): 3.0, ("r20", "open"): 20.0}
    finally:
        prometheus.stop()
        server.stop()
