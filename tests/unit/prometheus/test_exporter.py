"""The exporter over fixture sysfs trees: what it exposes, what the tree implies, failed reads and counter resets."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from benchlib.clock import ScriptedClock
from benchlib.errors import ParameterError
from benchlib.paths import sensors_dir
from benchlib.power.errors import PowerReadError
from benchlib.power.ina2xx import INA_BOUNDARY, Ina2xxReader
from benchlib.power.meter_log import MeterLogReader
from benchlib.power.rapl import RaplReader
from benchlib.prometheus.exporter import PowerExporter, is_loopback, serve_exporter
from benchlib.prometheus.exporter_run import scrape_metrics
from benchlib.thermal.sources import detect_thermal_sources

SYSFS = sensors_dir() / "sysfs"
INA226_W = 6.125  # power1_input 6125000 uW in pi5_ina226


def copy_tree(name: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(SYSFS / name, tmp_path / name))


def samples(text: str) -> dict[str, list]:
    """Sample name -> the samples of that name in a text exposition."""
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def value(text: str, name: str) -> float:
    (sample,) = samples(text)[name]
    return sample.value


def scrape(exporter: PowerExporter) -> str:
    return generate_latest(exporter.registry).decode()


def test_power_reader_exposes_power_and_trapezoid_energy_with_reader_labels(tmp_path):
    clock = ScriptedClock(threads=0)  # no sampling thread: the test reads, and moves time between reads
    exporter = PowerExporter(Ina2xxReader(root=SYSFS / "pi5_ina226"), rate_hz=10, host="pi5-lab", clock=clock)
    first = exporter.sample_now()
    assert first.energy_j == 0.0 and first.power_w == INA226_W
    clock.advance(0.25)
    last = exporter.sample_now()
    assert last.energy_j == INA226_W * 0.25  # constant power times the time between the reads

    clock.advance(0.125)
    text = scrape(exporter)
    found = samples(text)
    (power,) = found["benchlib_power_watts"]
    assert power.value == INA226_W
    assert power.labels == {"source": "ina2xx", "boundary": INA_BOUNDARY, "kind": "measured"}
    (energy,) = found["benchlib_energy_joules_total"]
    assert energy.labels == power.labels and energy.value == INA226_W * 0.375  # a fresh sample at the scrape
    assert value(text, "benchlib_exporter_time_seconds") == clock.unix_s()
    assert value(text, "benchlib_exporter_up") == 1.0
    assert value(text, "benchlib_exporter_samples_total") == 3
    assert value(text, "benchlib_exporter_read_errors_total") == 0
    assert value(text, "benchlib_exporter_rate_hz") == 10.0
    (info,) = found["benchlib_exporter_info"]
    assert info.labels == {**power.labels, "quantity": "power", "host": "pi5-lab"}
    assert "benchlib_temperature_celsius" not in found  # no thermal sources given


def test_old_ina219_layout_is_volts_times_amps():
    exporter = PowerExporter(Ina2xxReader(root=SYSFS / "ina219_legacy"))
    assert exporter.sample_now().power_w == pytest.approx(5.080 * 0.850)


def test_a_failed_read_is_counted_marks_the_gap_and_adds_no_energy(tmp_path):
    tree = copy_tree("pi5_ina226", tmp_path)
    power_file = tree / "sys/class/hwmon/hwmon3/power1_input"
    clock = ScriptedClock(threads=0)
    exporter = PowerExporter(Ina2xxReader(root=tree), clock=clock)
    exporter.sample_now()
    clock.advance(0.125)
    good = exporter.sample_now()
    assert good.energy_j == INA226_W * 0.125

    power_file.write_text("not a number\n")
    for _ in range(3):
        clock.advance(0.125)
        failed = exporter.sample_now()
    power_file.unlink()  # a sensor that vanished fails the same way
    clock.advance(0.125)
    text = scrape(exporter)
    failed = exporter.state()
    assert failed.read_errors == 4 and not failed.up and "power1_input" in failed.last_error
    assert failed.energy_j == good.energy_j  # nothing invented while the sensor is silent
    assert value(text, "benchlib_exporter_up") == 0.0
    assert value(text, "benchlib_energy_joules_total") == good.energy_j
    assert "benchlib_power_watts" not in samples(text)  # no stale power while reads fail

    power_file.write_text("6125000\n")
    back = exporter.sample_now()
    assert back.up and back.energy_j == good.energy_j  # no trapezoid across the gap
    assert back.uncovered_s == 0.5  # from the last good read to this one
    clock.advance(0.125)
    after = exporter.sample_now()
    assert after.energy_j == good.energy_j + INA226_W * 0.125 and after.read_errors == 4


def test_a_first_read_that_fails_is_counted_with_its_reason(tmp_path):
    tree = copy_tree("pi5_ina226", tmp_path)
    (tree / "sys/class/hwmon/hwmon3/power1_input").write_text("garbage\n")
    state = PowerExporter(Ina2xxReader(root=tree)).sample_now()  # the reader opens without reading
    assert not state.up and "garbage" in state.last_error and state.read_errors == 1 and state.energy_j == 0


def write_uj(zone_dir: Path, microjoules: int) -> None:
    (zone_dir / "energy_uj").write_text(f"{microjoules}\n")


def test_energy_counters_sum_exactly_across_a_wrap_and_survive_a_reset(tmp_path):
    tree = copy_tree("x86_rapl", tmp_path)
    powercap = tree / "sys/class/powercap"
    package, dram = powercap / "intel-rapl:0", powercap / "intel-rapl:0:2"
    range_uj = int((package / "max_energy_range_uj").read_text())
    package_uj = int((package / "energy_uj").read_text())
    assert range_uj - package_uj == 1_000_000  # the fixture's package counter is 1 J below its wrap
    dram_uj = int((dram / "energy_uj").read_text())
    clock = ScriptedClock(threads=0)
    exporter = PowerExporter(RaplReader(root=tree), rate_hz=10, clock=clock)
    start = exporter.sample_now()
    assert start.energy_j == 0 and start.power_w is None

    clock.advance(0.25)
    write_uj(package, 1_500_000)  # wrapped: 1 J to the wrap + 1.5 J after it
    write_uj(dram, dram_uj + 500_000)
    wrapped = exporter.sample_now()
    assert wrapped.energy_j == pytest.approx(3.0, abs=1e-9)
    assert wrapped.power_w == pytest.approx(3.0 / 0.25)

    clock.advance(0.125)
    write_uj(package, 200_000)  # backwards by 1.3 J: a wrap would mean 2 MJ in 0.125 s, so a reset
    reset = exporter.sample_now()
    assert reset.read_errors == 1 and not reset.up and "backwards" in reset.last_error
    assert reset.energy_j == wrapped.energy_j and reset.uncovered_s == 0.125
    text = scrape(exporter)  # the next read is good again: counted from the new baseline
    assert value(text, "benchlib_exporter_up") == 1.0
    assert value(text, "benchlib_energy_joules_total") == wrapped.energy_j

    clock.advance(0.125)
    write_uj(package, 1_200_000)
    write_uj(dram, dram_uj + 750_000)
    resumed = exporter.sample_now()
    assert resumed.energy_j == pytest.approx(3.0 + 1.0 + 0.25, abs=1e-9) and resumed.up
    assert resumed.read_errors == 1


def test_the_state_does_not_grow_with_samples():
    import tracemalloc

    exporter = PowerExporter(Ina2xxReader(root=SYSFS / "pi5_ina226"))
    for _ in range(200):
        exporter.sample_now()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    for _ in range(3000):
        exporter.sample_now()
    grown, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert exporter.state().samples == 3200
    assert grown - base < 20_000  # bytes: a list of 3000 samples would be far more


def vcgencmd(throttled: str):
    answers = {
        ("vcgencmd", "get_throttled"): throttled,
        ("vcgencmd", "measure_temp"): "measure_temp",
        ("vcgencmd", "measure_clock", "arm"): "measure_clock_arm_capped",
    }
    broken = {"now": False}

    def run(argv):
        if broken["now"]:
            raise PowerReadError("vcgencmd: VCHI initialization failed")
        return (sensors_dir() / "vcgencmd" / f"{answers[tuple(argv)]}.txt").read_text()

    return run, broken


def test_thermal_metrics_at_scrape_and_a_failing_source_does_not_break_the_scrape():
    runner, broken = vcgencmd("get_throttled_undervoltage")
    thermal = detect_thermal_sources(SYSFS / "thermal_pi5", runner=runner, nvml=object(), cpu_freq=None)
    assert thermal.names == ("vcgencmd", "sysfs-temp", "cpu-clock")
    exporter = PowerExporter(Ina2xxReader(root=SYSFS / "pi5_ina226"), thermal=thermal)
    found = samples(scrape(exporter))
    temps = {s.labels["sensor"]: s.value for s in found["benchlib_temperature_celsius"]}
    assert temps["cpu-thermal"] == pytest.approx(47.85) and temps["soc (vcgencmd)"] == pytest.approx(47.8)
    assert [s.value for s in found["benchlib_throttled"]] == [1.0]
    # get_throttled 0x50005: under-voltage and throttled now, both also since boot
    assert {s.labels["reason"]: s.value for s in found["benchlib_throttle_reason"]} == {
        "under-voltage": 1.0, "currently throttled": 1.0,
    }  # fmt: skip
    assert {s.labels["condition"] for s in found["benchlib_throttle_history"]} == {
        "under-voltage has occurred", "throttling has occurred",
    }  # fmt: skip
    assert [s.value for s in found["benchlib_cpu_clock_hz"]] == [1.5e9]  # the firmware's capped ARM clock wins
    assert [s.value for s in found["benchlib_cpu_max_clock_hz"]] == [2.4e9]
    assert {s.labels["source"]: s.value for s in found["benchlib_thermal_source_up"]} == {
        "vcgencmd": 1.0, "sysfs-temp": 1.0, "cpu-clock": 1.0,
    }  # fmt: skip

    broken["now"] = True
    found = samples(scrape(exporter))
    assert {s.labels["source"]: s.value for s in found["benchlib_thermal_source_up"]}["vcgencmd"] == 0.0
    assert "benchlib_throttled" not in found  # no source can tell now
    assert [s.value for s in found["benchlib_power_watts"]] == [INA226_W]


@pytest.mark.server
def test_serve_exporter_answers_over_http_on_loopback_and_releases_the_port():
    clock = ScriptedClock()
    exporter = PowerExporter(Ina2xxReader(root=SYSFS / "pi5_ina226"), rate_hz=8, clock=clock).start()
    try:
        with serve_exporter(exporter, port=0) as server:
            assert server.host == "127.0.0.1" and server.url == f"http://127.0.0.1:{server.port}/metrics"
            first = value(scrape_metrics(server.url), "benchlib_energy_joules_total")
            clock.advance(0.375)  # the thread samples three times
            text = scrape_metrics(server.url)
            assert value(text, "benchlib_energy_joules_total") == first + INA226_W * 0.375
            assert value(text, "benchlib_exporter_samples_total") == 6  # start, scrape, 3 by the thread, scrape
        with pytest.raises(OSError, match="did not answer"):
            scrape_metrics(server.url, timeout_s=2)
    finally:
        exporter.close()


@pytest.mark.server
def test_a_port_in_use_is_a_clear_error():
    exporter = PowerExporter(Ina2xxReader(root=SYSFS / "pi5_ina226"))
    with serve_exporter(exporter, port=0) as server:
        with pytest.raises(ParameterError, match=f"cannot listen on 127.0.0.1:{server.port}.*--port"):
            serve_exporter(exporter, port=server.port)


def test_bad_settings_are_refused(tmp_path):
    reader = Ina2xxReader(root=SYSFS / "pi5_ina226")
    with pytest.raises(ParameterError, match="rate_hz"):
        PowerExporter(reader, rate_hz=0)
    log = tmp_path / "meter.csv"
    shutil.copy(sensors_dir() / "meter_watts_iso.csv", log)
    with pytest.raises(ParameterError, match="not sampled.*pi5-pmic, ina2xx, rapl or nvml"):
        PowerExporter(MeterLogReader(log, tz="Europe/Berlin"))


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("::", False), ("192.168.1.20", False), ("pi5.local", False)],
)  # fmt: skip
def test_loopback_addresses(host, loopback):
    assert is_loopback(host) is loopback
