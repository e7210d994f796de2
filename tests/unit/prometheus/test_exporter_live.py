"""The exporter and its command-line plumbing over LIVE fixture trees (benchlib.testing.live_sysfs): energy as the profile implies."""

from __future__ import annotations

import numpy as np
import pytest

from benchlib.clock import ScriptedClock
from benchlib.errors import ParameterError
from benchlib.paths import sensors_dir
from benchlib.power.errors import PowerSourceUnavailable
from benchlib.power.ina2xx import Ina2xxReader
from benchlib.power.rapl import RaplReader
from benchlib.prometheus.exporter import PowerExporter
from benchlib.prometheus.exporter_run import open_exporter_reader, parse_reader_options
from benchlib.testing.live_sysfs import LiveSysfs, PowerProfile

SYSFS = sensors_dir() / "sysfs"


def test_the_profile_integral_is_exact():
    profile = PowerProfile(base_w=6.0, amplitude_w=2.0, period_s=10.0, t0_unix_s=100.0)
    assert profile.energy_j(100.0, 110.0) == pytest.approx(60.0)  # a whole period: the sine cancels
    assert profile.energy_j(100.0, 105.0) == pytest.approx(30.0 + 2.0 * 10.0 / 3.141592653589793)
    assert profile.power_w(102.5) == pytest.approx(8.0)


def test_live_ina_tree_holds_the_profile_power_in_microwatts_and_milliamps(tmp_path):
    live = LiveSysfs(SYSFS / "pi5_ina226", tmp_path)
    written_at = live.write_now()
    hwmon = live.root / "sys/class/hwmon/hwmon3"
    assert int((hwmon / "power1_input").read_text()) == round(live.power_w(written_at) * 1e6)
    assert int((hwmon / "curr1_input").read_text()) == round(live.power_w(written_at) / 5.1 * 1e3)
    assert not list(hwmon.glob(".*tmp"))  # atomic writes leave no temporary file behind
    legacy = LiveSysfs(SYSFS / "ina219_legacy", tmp_path / "legacy")
    at = legacy.write_now()
    assert Ina2xxReader(root=legacy.root).read_power_w() == pytest.approx(legacy.power_w(at), abs=0.003)


def test_live_rapl_counters_hold_the_exact_integral_and_wrap(tmp_path):
    clock = ScriptedClock(threads=0)
    live = LiveSysfs(SYSFS / "x86_rapl", tmp_path, clock=clock)
    reader = RaplReader(root=live.root)
    first_at = live.write_now()
    first = reader.read_energy_j()
    clock.advance(0.3)  # past the package counter's wrap (1 J below it at 6-8 W)
    then_at = live.write_now()
    then = reader.read_energy_j()
    range_j = reader.counter_range_j["intel-rapl:0"]
    assert then["intel-rapl:0"] < first["intel-rapl:0"]  # wrapped
    assert then["intel-rapl:0"] + range_j - first["intel-rapl:0"] == pytest.approx(live.energy_j(first_at, then_at), abs=2e-6)
    assert then["intel-rapl:0:2"] - first["intel-rapl:0:2"] == pytest.approx(live.energy_j(first_at, then_at, 0.25), abs=2e-6)


def _sample_for(seconds: float, clock: ScriptedClock, lives: list[LiveSysfs], exporters: list[PowerExporter],
                reset_at_s: float | None = None) -> list[float]:  # fmt: skip
    """Every 1/8 s for ``seconds``: the trees are written for now, then each exporter samples them; the times sampled."""
    times = []
    for _ in range(round(seconds * 8)):
        start = clock.perf_s()
        if reset_at_s is not None and start < reset_at_s <= start + 0.125:
            clock.advance(reset_at_s - start)
            for live in lives:
                live.reset_counters()
            clock.advance(start + 0.125 - reset_at_s)
        else:
            clock.advance(0.125)
        for live in lives:
            live.write_now()
        for exporter in exporters:
            exporter.sample_now()
        times.append(clock.unix_s())
    return times


def test_exporter_energy_is_the_profile_integral(tmp_path):
    clock = ScriptedClock(threads=0)  # the test writes the trees and samples at the times it moves to
    ina = LiveSysfs(SYSFS / "pi5_ina226", tmp_path / "ina", clock=clock)
    rapl = LiveSysfs(SYSFS / "x86_rapl", tmp_path / "rapl", period_s=60.0, clock=clock)
    power = PowerExporter(Ina2xxReader(root=ina.root), rate_hz=8, clock=clock)
    energy = PowerExporter(RaplReader(root=rapl.root), rate_hz=8, clock=clock)
    _sample_for(0.25, clock, [ina, rapl], [power, energy])
    start_at, power_start, energy_start = clock.unix_s(), power.state(), energy.state()
    times = _sample_for(3.0, clock, [ina, rapl], [power, energy])
    power_end, energy_end = power.state(), energy.state()
    # The power sensor's energy is the trapezoids of the profile at the sample times (to its 1 uW rounding)...
    sampled_w = [ina.power_w(t) for t in [start_at, *times]]
    assert power_end.energy_j - power_start.energy_j == pytest.approx(np.trapezoid(sampled_w, [start_at, *times]), abs=1e-5)
    assert power_end.energy_j - power_start.energy_j == pytest.approx(ina.energy_j(start_at, times[-1]), rel=1e-3)
    # ...and the counters' is the profile's integral itself: package (1.0) + DRAM (0.25), to their 1 uJ steps.
    assert energy_end.energy_j - energy_start.energy_j == pytest.approx(rapl.energy_j(start_at, times[-1], 1.25), abs=1e-5)
    assert power_end.samples == energy_end.samples == 26 and power_end.read_errors == energy_end.read_errors == 0
    # a counter's power is its energy over the last interval of at least half a period
    last_w = [1.25 * rapl.power_w(t) for t in np.linspace(times[-2], times[-1], 20)]
    assert min(last_w) <= energy_end.power_w <= max(last_w)


def test_a_counter_reset_mid_run_loses_exactly_the_interval_it_falls_in(tmp_path):
    clock = ScriptedClock(threads=0)
    rapl = LiveSysfs(SYSFS / "x86_rapl", tmp_path, clock=clock)
    exporter = PowerExporter(RaplReader(root=rapl.root), rate_hz=8, clock=clock)
    _sample_for(0.25, clock, [rapl], [exporter])
    start_at, start = clock.unix_s(), exporter.state()
    reset_at = clock.perf_s() + 1.0 + 0.05  # between the samples at 1.0 s and 1.125 s
    times = _sample_for(2.0, clock, [rapl], [exporter], reset_at_s=reset_at)
    end = exporter.state()
    lost = (times[7], times[8])  # the samples around the reset: the energy between them is unknown
    assert end.read_errors == 1 and end.up and end.uncovered_s == 0.125
    expected_j = rapl.energy_j(start_at, lost[0], 1.25) + rapl.energy_j(lost[1], times[-1], 1.25)
    assert end.energy_j - start.energy_j == pytest.approx(expected_j, abs=1e-5)


def test_open_exporter_reader_options_root_and_auto(tmp_path):
    assert parse_reader_options(["devices=ina226", 'domains=["package"]']) == {"devices": "ina226", "domains": ["package"]}
    reader = open_exporter_reader("ina2xx", {"devices": "ina226"}, SYSFS / "pi5_ina226")  # one name, no list needed
    assert [d.chip for d in reader.devices] == ["ina226"]
    rapl = open_exporter_reader("rapl", {"domains": "package"}, SYSFS / "x86_rapl")
    assert rapl.boundary == "CPU package" and list(rapl.counter_range_j) == ["intel-rapl:0"]
    assert open_exporter_reader("auto", root=SYSFS / "pi5_ina226").name == "ina2xx"
    with pytest.raises(ParameterError, match="valid: pi5-pmic, ina2xx, rapl, nvml, auto"):
        open_exporter_reader("estimate")
    with pytest.raises(ParameterError, match="no option 'device'; its options: devices, boundary"):
        open_exporter_reader("ina2xx", {"device": "ina226"}, SYSFS / "pi5_ina226")
    with pytest.raises(ParameterError, match="--root applies to sources that read sysfs"):
        open_exporter_reader("pi5-pmic", root=SYSFS / "pi5_ina226")
    with pytest.raises(ParameterError, match="--option needs a named source"):
        open_exporter_reader("auto", {"devices": "x"})
    with pytest.raises(PowerSourceUnavailable, match="no INA2xx monitor"):
        open_exporter_reader("ina2xx", root=SYSFS / "x86_rapl")
    with pytest.raises(PowerSourceUnavailable, match="no measured power source.*ina2xx: .*rapl: "):
        open_exporter_reader("auto", root=tmp_path)
    with pytest.raises(ParameterError, match="KEY=VALUE"):
        parse_reader_options(["devices"])
