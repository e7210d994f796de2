"""The exporter and its command-line plumbing over LIVE fixture trees (benchlib.testing.live_sysfs): energy as the profile implies."""

from __future__ import annotations

import time

import numpy as np
import pytest

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


@pytest.mark.realtime
def test_live_rapl_counters_hold_the_exact_integral_and_wrap(tmp_path):
    live = LiveSysfs(SYSFS / "x86_rapl", tmp_path)
    reader = RaplReader(root=live.root)
    first_at = live.write_now()
    first = reader.read_energy_j()
    time.sleep(0.3)  # past the package counter's wrap (1 J below it at 6-8 W)
    then_at = live.write_now()
    then = reader.read_energy_j()
    range_j = reader.counter_range_j["intel-rapl:0"]
    assert then["intel-rapl:0"] < first["intel-rapl:0"]  # wrapped
    assert then["intel-rapl:0"] + range_j - first["intel-rapl:0"] == pytest.approx(live.energy_j(first_at, then_at), abs=2e-6)
    assert then["intel-rapl:0:2"] - first["intel-rapl:0:2"] == pytest.approx(live.energy_j(first_at, then_at, 0.25), abs=2e-6)


@pytest.mark.realtime
def test_running_exporter_energy_matches_the_profile_within_2_percent(tmp_path):
    with LiveSysfs(SYSFS / "pi5_ina226", tmp_path / "ina", write_hz=200) as ina, \
            LiveSysfs(SYSFS / "x86_rapl", tmp_path / "rapl", write_hz=200, period_s=60.0) as rapl:  # fmt: skip
        power = PowerExporter(Ina2xxReader(root=ina.root), rate_hz=10).start()
        # A counter's power is its energy over the last interval (at least half a period). The files lag the
        # profile by a write period plus the writer thread's wait for the GIL (5 ms slices), so the interval
        # is made long (2 Hz) and the profile slow (60 s) for a power that can be checked to a few percent.
        energy = PowerExporter(RaplReader(root=rapl.root), rate_hz=2).start()
        try:
            time.sleep(0.3)
            before_start = time.time()  # each sample lies between the readings around it (see the reset test)
            power_start, energy_start = power.sample_now(), energy.sample_now()
            after_start = time.time()
            time.sleep(3.0)
            before_end = time.time()
            power_end, energy_end = power.sample_now(), energy.sample_now()
            after_end = time.time()
        finally:
            power.close()
            energy.close()
    for live, share, measured_j in ((ina, 1.0, power_end.energy_j - power_start.energy_j),
                                    (rapl, 1.25, energy_end.energy_j - energy_start.energy_j)):  # fmt: skip
        narrowest_j, widest_j = live.energy_j(after_start, before_end, share), live.energy_j(before_start, after_end, share)
        assert 0.98 * narrowest_j <= measured_j <= 1.02 * widest_j
    # package (1.0) + DRAM (0.25); the interval ends at the last sample at least a quarter second after the
    # one before, so it lies within the last 1.5 s (two periods and a late sample) before the end read
    package_and_dram = 1.0 + 0.25
    profile_w = [package_and_dram * rapl.power_w(t) for t in np.linspace(before_end - 1.5, after_end, 50)]
    assert 0.95 * min(profile_w) <= energy_end.power_w <= 1.05 * max(profile_w)
    assert power_end.samples >= 30 and power_end.read_errors == 0 and energy_end.read_errors == 0


@pytest.mark.realtime
def test_a_counter_reset_mid_run_loses_at_most_one_interval(tmp_path):
    with LiveSysfs(SYSFS / "x86_rapl", tmp_path, write_hz=200) as rapl:
        exporter = PowerExporter(RaplReader(root=rapl.root), rate_hz=10).start()
        try:
            time.sleep(0.3)
            # A sample is taken somewhere between these clock readings (it may wait for the sampler's lock on
            # a busy machine): the bounds below use the narrowest and the widest window it can have covered.
            before_start = time.time()
            start = exporter.sample_now()
            after_start = time.time()
            time.sleep(1.0)
            rapl.reset_counters()
            time.sleep(1.0)
            before_end = time.time()
            end = exporter.sample_now()
            after_end = time.time()
        finally:
            exporter.close()
    narrowest_j = rapl.energy_j(after_start, before_end, 1.25)
    widest_j = rapl.energy_j(before_start, after_end, 1.25)
    lost_j = end.uncovered_s * 1.25 * (rapl.profile.base_w + rapl.profile.amplitude_w)
    assert end.read_errors == 1 and end.up and 0 < end.uncovered_s <= 0.2
    assert narrowest_j - lost_j - 0.05 <= end.energy_j - start.energy_j <= widest_j + 0.05


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
