"""A real Prometheus scraping a real ``benchlib exporter`` and the real node_exporter over live sysfs trees.

The trees follow a known power profile (:mod:`benchlib.testing.live_sysfs`), so
the energy Prometheus stores can be checked against the exact integral: within
2%, from the raw samples and from ``increase()``. Skipped when Prometheus or
node_exporter is not installed, unless ``BENCHLIB_REQUIRE_PROMETHEUS=1`` (CI),
which makes their absence a failure.
"""

from __future__ import annotations

import contextlib
import time

import pytest

from benchlib.paths import sensors_dir
from benchlib.testing.live_sysfs import LiveSysfs
from benchlib.testing.local_servers import ServerProcess, reserve_port
from benchlib.testing.prometheus_server import (
    NODE_EXPORTER_PROGRAMS,
    PROMETHEUS_PROGRAMS,
    benchlib_exporter,
    node_exporter,
    prometheus_query,
    prometheus_server,
    require_program,
    wait_for_samples,
)

pytestmark = [pytest.mark.server, pytest.mark.prometheus]

SYSFS = sensors_dir() / "sysfs"
BENCHLIB_ENERGY = 'benchlib_energy_joules_total{source="ina2xx"}'
NODE_PACKAGE = 'node_rapl_package_joules_total{path=~".*/intel-rapl:0"}'  # not the intel-rapl-mmio duplicate
SCRAPE_INTERVAL_S = 0.25
SPAN_S = 10.0


@pytest.fixture(scope="module")
def tools():
    require_program(PROMETHEUS_PROGRAMS)
    require_program(NODE_EXPORTER_PROGRAMS)


def exporter_process(root, port, log) -> ServerProcess:
    return benchlib_exporter("ina2xx", log, root=root, port=port)


def raw_samples(url: str, selector: str, at_unix_s: float, span_s: float) -> list[tuple[float, float]]:
    """(Prometheus timestamp, value) of every stored sample of one series in ``(at - span, at]``."""
    (series,) = prometheus_query(url, f"{selector}[{int(span_s * 1000)}ms]", time=f"{at_unix_s:.3f}")["result"]
    return [(float(t), float(v)) for t, v in series["values"]]


def increase_j(values: list[float]) -> float:
    """Sum of the steps of a counter, a drop counted as a restart from 0 (Prometheus' rule)."""
    return sum(b - a if b >= a else b for a, b in zip(values, values[1:]))


def test_prometheus_stores_the_energy_the_live_trees_imply(tools, tmp_path):
    with contextlib.ExitStack() as stack:
        ina = stack.enter_context(LiveSysfs(SYSFS / "pi5_ina226", tmp_path / "ina"))
        rapl = stack.enter_context(LiveSysfs(SYSFS / "x86_rapl", tmp_path / "rapl"))
        exporter = exporter_process(ina.root, reserve_port(), tmp_path / "exporter.log").start(timeout_s=60)
        stack.callback(exporter.stop)
        node = node_exporter(rapl.sysfs, ["rapl"], tmp_path / "node_exporter.log").start()
        stack.callback(node.stop)
        targets = {"benchlib": f"127.0.0.1:{exporter.port}", "node": f"127.0.0.1:{node.port}"}
        prometheus = prometheus_server(targets, tmp_path / "prometheus", scrape_interval_s=SCRAPE_INTERVAL_S)
        stack.callback(prometheus.stop)
        prometheus.start()
        wait_for_samples(prometheus.url, BENCHLIB_ENERGY, count=4)
        wait_for_samples(prometheus.url, NODE_PACKAGE, count=4)
        time.sleep(SPAN_S + 1.0)
        at = time.time() - 0.5

        agreement = {}
        # Raw samples: the exporter's own clock at each scrape (same scrape, same timestamp) dates its counter.
        energy = raw_samples(prometheus.url, BENCHLIB_ENERGY, at, SPAN_S)
        clock = dict(raw_samples(prometheus.url, 'benchlib_exporter_time_seconds{job="benchlib"}', at, SPAN_S))
        assert len(energy) >= SPAN_S / SCRAPE_INTERVAL_S * 0.8
        (t1, e1), (t2, e2) = energy[0], energy[-1]
        assert all(b >= a for (_, a), (_, b) in zip(energy, energy[1:]))  # a counter: never backwards
        expected = ina.energy_j(clock[t1], clock[t2])
        agreement["benchlib raw"] = (e2 - e1) / expected - 1
        node_samples = raw_samples(prometheus.url, NODE_PACKAGE, at, SPAN_S)
        expected_node = rapl.energy_j(node_samples[0][0], node_samples[-1][0])
        agreement["node_exporter raw"] = increase_j([v for _, v in node_samples]) / expected_node - 1

        # Prometheus' own increase() over the last SPAN_S (extrapolated to the window's edges).
        for name, selector, live in (("benchlib", BENCHLIB_ENERGY, ina), ("node_exporter", NODE_PACKAGE, rapl)):
            (result,) = prometheus_query(prometheus.url, f"increase({selector}[{int(SPAN_S)}s])", time=f"{at:.3f}")["result"]
            agreement[f"{name} increase()"] = float(result["value"][1]) / live.energy_j(at - SPAN_S, at) - 1

        print("energy agreement with the profile integral:", {k: f"{v:+.3%}" for k, v in agreement.items()})
        for name, error in agreement.items():
            assert abs(error) < 0.02, f"{name}: {error:+.2%}"

        temps = prometheus_query(prometheus.url, 'benchlib_temperature_celsius{job="benchlib"}', time=f"{at:.3f}")["result"]
        assert {r["metric"]["sensor"]: float(r["value"][1]) for r in temps}["cpu_thermal/temp1"] == 52.35
        (up,) = prometheus_query(prometheus.url, 'benchlib_exporter_up{job="benchlib"}', time=f"{at:.3f}")["result"]
        assert float(up["value"][1]) == 1.0
    assert exporter.process.returncode == 0  # SIGTERM from stop(): a clean exit
