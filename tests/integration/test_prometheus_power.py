"""The ``prometheus`` power source against a real Prometheus server and a real node_exporter.

A GPU host's dcgm-exporter cannot run here (no GPU): its ``/metrics`` page is
served from the format recorded in ``data/sensors/dcgm/`` with counters that
advance at a known power, and a REAL Prometheus (Debian's package) scrapes it.
Both modes of the source are checked against the power the page implies:
``scrape`` (the exporter read at 10 Hz by the sweep's sampler) and ``query``
(the server's HTTP API after the window), with a counter reset mid-window, a
server stopped before the query, a window the series does not cover, and
credentials that must not reach a record.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from benchlib.power.errors import PowerSourceUnavailable
from benchlib.power.sampler import PowerSampler
from benchlib.prometheus.source import open_prometheus
from benchlib.testing.prometheus_server import (
    NODE_EXPORTER_PROGRAMS,
    PROMETHEUS_PROGRAMS,
    node_exporter,
    prometheus_server,
    require_program,
    wait_for_samples,
)

pytestmark = [pytest.mark.prometheus]

ROOT = Path(__file__).resolve().parents[2]
DCGM_PAGE = (ROOT / "data" / "sensors" / "dcgm" / "metrics_2xL4.prom").read_text()
GPU_POWER_W = (72.0, 30.0)
BOOT_ENERGY_MJ = (151_536_223.0, 98_000_111.0)


class DcgmPage:
    """dcgm-exporter's page for two L4s whose energy counters advance at ``GPU_POWER_W``."""

    def __init__(self, with_counter: bool = True) -> None:
        self.with_counter = with_counter
        self.zero_unix_s = time.time()
        self.base_mj = list(BOOT_ENERGY_MJ)
        self.lock = threading.Lock()

    def reset_counters(self) -> None:
        """The driver reloaded: both counters restart from zero now."""
        with self.lock:
            self.zero_unix_s, self.base_mj = time.time(), [0.0, 0.0]

    def energy_j(self, start_unix_s: float, end_unix_s: float) -> float:
        return sum(GPU_POWER_W) * (end_unix_s - start_unix_s)

    def text(self) -> str:
        with self.lock:
            elapsed = time.time() - self.zero_unix_s
            values = {f"energy_mj_{i}": f"{self.base_mj[i] + GPU_POWER_W[i] * elapsed * 1000:.0f}" for i in (0, 1)}
        values |= {f"power_w_{i}": f"{GPU_POWER_W[i]:.3f}" for i in (0, 1)}
        lines = DCGM_PAGE.splitlines()
        if not self.with_counter:
            lines = [line for line in lines if "TOTAL_ENERGY" not in line]
        page = "\n".join(lines) + "\n"
        for key, value in values.items():
            page = page.replace("{" + key + "}", value)
        return page


def serve(page: DcgmPage) -> tuple[ThreadingHTTPServer, str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            body = page.text().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/metrics"


@pytest.fixture
def dcgm():
    page = DcgmPage()
    server, url = serve(page)
    yield page, url
    server.shutdown()


@pytest.fixture
def prometheus(dcgm, tmp_path):
    require_program(PROMETHEUS_PROGRAMS)
    _, url = dcgm
    server = prometheus_server({"dcgm": url}, tmp_path / "prometheus", scrape_interval_s=0.25).start()
    try:
        wait_for_samples(server.url, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", count=3)
        yield server
    finally:
        server.stop()


def measure_live(reader, seconds: float, during=None):
    """A 10 Hz sampler over ``reader`` for ``seconds``; ``during`` runs halfway. Returns (measurement, start, end)."""
    sampler = PowerSampler(reader, 10.0, tolerate_errors=getattr(reader, "tolerated_read_errors", 0)).start()
    time.sleep(0.3)
    start_perf, start_unix = time.perf_counter(), time.time()
    time.sleep(seconds / 2)
    if during is not None:
        during()
    time.sleep(seconds / 2)
    end_perf, end_unix = time.perf_counter(), time.time()
    time.sleep(0.3)
    measurement = sampler.measure("w", start_perf, end_perf, start_unix_s=start_unix, end_unix_s=end_unix)
    sampler.stop()
    return measurement, start_unix, end_unix


def test_scrape_mode_reads_the_dcgm_energy_counters_at_10_hz(dcgm):
    page, url = dcgm
    reader = open_prometheus(url=url, preset="dcgm")
    try:
        assert reader.quantity == "energy" and len(reader.series) == 2
        assert reader.boundary.startswith("GPU only")
        measurement, start, end = measure_live(reader, 3.0)
    finally:
        reader.close()
    assert measurement.valid, measurement.problem
    assert measurement.energy_j == pytest.approx(page.energy_j(start, end), rel=0.02)
    assert measurement.samples >= 2  # how many arrive in real time depends on the machine's load: the rate is tested on a scripted clock (tests/unit/prometheus)
    assert reader.describe()["clock_offset"]["method"].startswith("HTTP Date header")


def test_scrape_mode_bridges_a_counter_reset_mid_window(dcgm):
    page, url = dcgm
    reader = open_prometheus(url=url, preset="dcgm")
    try:
        measurement, start, end = measure_live(reader, 3.0, during=page.reset_counters)
    finally:
        reader.close()
    assert measurement.valid, measurement.problem
    assert reader.counter_resets == 2  # one per GPU
    assert measurement.energy_j == pytest.approx(page.energy_j(start, end), rel=0.02)


def test_an_older_dcgm_without_the_energy_counter_falls_back_to_the_power_gauge():
    page = DcgmPage(with_counter=False)
    server, url = serve(page)
    reader = open_prometheus(url=url, preset="dcgm", labels={"gpu": "1"})
    try:
        assert reader.quantity == "power" and reader.choice.pattern == "DCGM_FI_DEV_POWER_USAGE"
        assert reader.read_power_w() == pytest.approx(GPU_POWER_W[1])
        measurement, start, end = measure_live(reader, 1.0)
    finally:
        reader.close()
        server.shutdown()
    assert measurement.energy_j == pytest.approx(GPU_POWER_W[1] * (end - start), rel=0.01)


def test_a_metric_the_exporter_lacks_is_refused_with_what_it_has(dcgm, reserved_port):
    _, url = dcgm
    with pytest.raises(PowerSourceUnavailable, match="exposes none of node_rapl.*DCGM_FI_DEV_POWER_USAGE"):
        open_prometheus(url=url, preset="node-rapl")
    with pytest.raises(PowerSourceUnavailable, match="does not answer"):
        open_prometheus(url=f"http://127.0.0.1:{reserved_port}/metrics")


def test_query_mode_measures_a_window_from_the_servers_raw_samples(dcgm, prometheus):
    page, _ = dcgm
    source = open_prometheus(url=prometheus.url, preset="dcgm", labels={"Hostname": "gpu-host-1"})
    try:
        assert source.quantity == "log" and len(source.series) == 2
        start = time.time()
        time.sleep(3.0)
        end = time.time()
        measurement = source.measure(start, end)
        frame = source.samples_frame()
    finally:
        source.close()
    assert measurement.valid, measurement.problem
    assert measurement.energy_j == pytest.approx(page.energy_j(start, end), rel=0.02)
    assert measurement.samples >= 2 * 2  # two series, each scraped more than once (how often in real time: Prometheus')
    assert abs(source.clock.offset_s) < 1.0 and source.describe()["clock_offset"]["method"] == "Prometheus time()"
    medians = sorted(frame.groupby("source")["power_w"].median())
    assert medians == pytest.approx(sorted(GPU_POWER_W), rel=0.05)


def test_query_mode_bridges_a_counter_reset_and_a_promql_query_works(dcgm, prometheus):
    page, _ = dcgm
    source = open_prometheus(url=prometheus.url, preset="dcgm")
    promql = open_prometheus(url=prometheus.url, query="sum(DCGM_FI_DEV_POWER_USAGE)", unit="W", step_s=0.25)
    try:
        start = time.time()
        time.sleep(1.5)
        page.reset_counters()
        time.sleep(1.5)
        end = time.time()
        measurement = source.measure(start, end)
        by_query = promql.measure(start, end)
    finally:
        source.close()
        promql.close()
    assert measurement.valid, measurement.problem
    assert source.describe()["last_window"]["counter_resets"] == 2
    assert measurement.energy_j == pytest.approx(page.energy_j(start, end), rel=0.02)
    assert by_query.valid, by_query.problem
    assert by_query.energy_j == pytest.approx(page.energy_j(start, end), rel=0.02)


def test_query_mode_a_stopped_server_or_an_uncovered_window_is_invalid_never_zero(dcgm, prometheus):
    source = open_prometheus(url=prometheus.url, preset="dcgm", wait_s=1.0)
    try:
        long_ago = source.measure(time.time() - 3600, time.time() - 3590)
        assert not long_ago.valid and "does not cover the window" in long_ago.problem
        prometheus.stop()
        gone = source.measure(time.time() - 2, time.time() - 1)
    finally:
        source.close()
    assert not gone.valid and "cannot reach" in gone.problem
    assert gone.energy_j != gone.energy_j  # nan, not zero


def test_no_credentials_reach_the_record(dcgm, prometheus, monkeypatch):
    monkeypatch.setenv("BENCHLIB_TEST_PROM_TOKEN", "s3cret-token")
    with_password = open_prometheus(url=prometheus.url.replace("http://", "http://reader:hunter2@"), preset="dcgm")
    with_token = open_prometheus(url=prometheus.url, preset="dcgm", bearer_token_env="BENCHLIB_TEST_PROM_TOKEN")
    try:
        recorded = [repr(s.describe()) + repr(s.measure(time.time() - 1.5, time.time() - 0.5).to_dict()) for s in (with_password, with_token)]
    finally:
        with_password.close()
        with_token.close()
    for text in recorded:
        assert "hunter2" not in text and "reader@" not in text and "s3cret" not in text


def test_node_exporter_rapl_counters_over_a_fixture_tree(tmp_path):
    require_program(NODE_EXPORTER_PROGRAMS)
    exporter = node_exporter(ROOT / "data" / "sensors" / "sysfs" / "x86_rapl" / "sys", ["rapl", "time"], tmp_path / "node.log")
    exporter.start()
    try:
        reader = open_prometheus(url=exporter.url + "/metrics", preset="node-rapl")
        try:
            described = reader.describe()
            assert reader.quantity == "energy"
            names = {key.split("{")[0] for key in described["series"]}
            assert names == {"node_rapl_package_joules_total", "node_rapl_dram_joules_total"}
            # node_exporter lists the package twice (intel-rapl:0 and its intel-rapl-mmio:0 twin): counted once.
            assert len(described["series"]) == 2 and not any("mmio" in key for key in described["series"])
            assert described["clock_offset"]["method"] == "node_time_seconds"
            assert abs(described["clock_offset"]["offset_s"]) < 0.5
            assert sum(reader.read_energy_j().values()) == 0.0  # first read: energy since then
        finally:
            reader.close()
    finally:
        exporter.stop()
