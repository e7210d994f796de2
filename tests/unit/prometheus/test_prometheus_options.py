"""Options of the prometheus source: modes, presets, units, clock offsets, redaction — errors that say what to fix."""

from __future__ import annotations

import pytest

from benchlib.config import SweepConfig
from benchlib.errors import ParameterError
from benchlib.prometheus.clock import offset_from_date_header, offset_from_remote_time
from benchlib.prometheus.http import auth_headers, redact_url
from benchlib.prometheus.presets import PRESETS, custom_choice, get_preset
from benchlib.prometheus.scrape import parse_samples
from benchlib.prometheus.source import prometheus_mode


def test_the_mode_follows_the_url_unless_given():
    assert prometheus_mode({"url": "http://pi.local:9101/metrics"}) == "scrape"
    assert prometheus_mode({"url": "http://prometheus:9090"}) == "query"
    assert prometheus_mode({"url": "http://prometheus:9090/", "mode": "scrape"}) == "scrape"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs power_options.url"),
        ({"url": "pi.local:9101"}, "needs power_options.url"),
        ({"url": "http://p:9090", "mode": "push"}, "mode must be one of scrape, query"),
        ({"url": "http://pi:9101/metrics", "step_s": 1}, "step_s do not apply to mode 'scrape'"),
        ({"url": "http://p:9090", "tolerated_read_errors": 3}, "tolerated_read_errors do not apply to mode 'query'"),
    ],
)
def test_bad_options_are_refused_with_what_to_fix(options, message):
    with pytest.raises(ParameterError, match=message):
        prometheus_mode(options)


def test_a_sweep_refuses_a_prometheus_source_without_url_before_running():
    with pytest.raises(ValueError, match="needs power_options.url"):  # pydantic's error, with our message
        SweepConfig.model_validate({"power": "prometheus"})


def test_presets_prefer_counters_and_unknown_ones_list_the_valid():
    for preset in PRESETS.values():
        quantities = [c.quantity for c in preset.choices]
        assert quantities == sorted(quantities)  # "energy" (counters) before "power" (gauges)
    assert get_preset("dcgm").choices[0].scale == pytest.approx(1e-3)  # mJ
    assert get_preset("node-rapl").choices[0].matches("node_rapl_package_joules_total")
    assert not get_preset("node-rapl").choices[0].matches("node_rapl_core_joules_total")  # inside the package
    mmio = {"path": "/sys/class/powercap/intel-rapl-mmio:0"}
    assert not get_preset("node-rapl").choices[0].matches("node_rapl_package_joules_total", mmio)
    with pytest.raises(ParameterError, match="valid: benchlib, dcgm, node-rapl"):
        get_preset("ipmi")


def test_custom_metrics_need_a_unit_unless_the_name_says_it():
    assert custom_choice("my_energy_joules_total", None, None).quantity == "energy"
    assert custom_choice("ipmi_power_watts", None, None).unit == "W"
    assert custom_choice(None, 'sum(x{host="a"})', "mW").scale == pytest.approx(1e-3)
    with pytest.raises(ParameterError, match="valid: J, mJ, uJ, kWh, W, mW, uW"):
        custom_choice("gpu_power", None, None)
    with pytest.raises(ParameterError, match="not both"):
        custom_choice("a_watts", "sum(a_watts)", "W")


def test_selectors_carry_the_labels():
    choice = get_preset("node-rapl").choices[0]
    assert choice.selector({"instance": "gpu1:9100"}) == (
        '{__name__=~"node_rapl_(package|dram)_joules_total",instance="gpu1:9100",path!~".*intel-rapl-mmio.*"}'
    )
    assert get_preset("dcgm").choices[1].selector({}) == "DCGM_FI_DEV_POWER_USAGE"


def test_clock_offsets():
    found = offset_from_remote_time(1000.7, 1000.0, 1000.2, "m")
    assert found.offset_s == pytest.approx(0.6) and found.uncertainty_s == pytest.approx(0.1)
    dated = offset_from_date_header("Tue, 01 Dec 2026 19:00:10 GMT", 1796151609.9, 1796151610.1)
    assert dated is not None and dated.offset_s == pytest.approx(0.5) and dated.uncertainty_s == pytest.approx(0.6)
    assert offset_from_date_header("yesterday", 0, 1) is None


def test_credentials_are_redacted_and_tokens_come_from_the_environment(monkeypatch):
    assert redact_url("http://user:pw@prom.example:9090/x?y=1") == "http://prom.example:9090/x?y=1"
    assert redact_url("http://prom:9090") == "http://prom:9090"
    monkeypatch.setenv("PROM_TOKEN", "abc")
    assert auth_headers("PROM_TOKEN") == {"Authorization": "Bearer abc"}
    monkeypatch.delenv("PROM_TOKEN")
    with pytest.raises(ParameterError, match="'PROM_TOKEN', which is not set"):
        auth_headers("PROM_TOKEN")


def test_samples_keep_the_names_the_page_writes():
    page = "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\nDCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{gpu=\"0\"} 12\n"
    assert parse_samples(page) == [("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", {"gpu": "0"}, 12.0)]
