"""Thermal sources against fixture sysfs trees, constructed vcgencmd outputs and an NVML replay.

This machine has no thermal zone, hwmon, cpufreq, vcgencmd or NVML; those
sources run their real code on data/sensors (see its README for what each
file is). Its one real source, psutil's CPU clock, is read for real.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Sequence
from pathlib import Path

import psutil
import pytest

from benchlib.paths import sensors_dir
from benchlib.thermal import (
    CpuClockSource,
    NvmlThermalSource,
    SysfsTemperatureSource,
    ThermalReadError,
    ThermalSourceUnavailable,
    VcgencmdSource,
    decode_clock_event_reasons,
    decode_throttled,
    detect_thermal_sources,
    parse_get_throttled,
    parse_measure_clock_hz,
    parse_measure_temp_c,
    read_temperatures_c,
)
from benchlib.thermal.replay import NvmlReplay

SENSORS = sensors_dir()
VCGENCMD = SENSORS / "vcgencmd"
PI5 = SENSORS / "sysfs" / "thermal_pi5"
X86 = SENSORS / "sysfs" / "thermal_x86"
L4 = SENSORS / "nvml" / "l4_thermal.json"


def vcgencmd(throttled: str = "get_throttled_ok", temp: str = "measure_temp", clock: str = "measure_clock_arm"):
    """A command runner answering vcgencmd's three commands from the fixture files; it records the calls."""
    files = {"get_throttled": throttled, "measure_temp": temp, "measure_clock": clock}
    calls: list[tuple[str, ...]] = []

    def runner(argv: Sequence[str]) -> str:
        calls.append(tuple(argv))
        assert argv[0] == "vcgencmd"
        return (VCGENCMD / f"{files[argv[1]]}.txt").read_text()

    runner.calls = calls  # type: ignore[attr-defined]
    return runner


# ---------------------------------------------------------------- vcgencmd


@pytest.mark.parametrize(
    ("bits", "now", "history"),
    [
        (0x0, (), ()),
        (0x50000, (), ("under-voltage has occurred", "throttling has occurred")),
        (0x50005, ("under-voltage", "currently throttled"), ("under-voltage has occurred", "throttling has occurred")),
        (0x80008, ("soft temperature limit",), ("soft temperature limit has occurred",)),
        (0xF000F, ("under-voltage", "arm frequency capped", "currently throttled", "soft temperature limit"),
         ("under-voltage has occurred", "arm frequency capping has occurred", "throttling has occurred",
          "soft temperature limit has occurred")),
    ],
)  # fmt: skip
def test_get_throttled_bits_decode_to_now_and_since_boot(bits, now, history):
    state = decode_throttled(bits)
    assert state.now == now and state.history == history
    assert state.throttled is bool(now)


def test_vcgencmd_outputs_parse():
    assert parse_get_throttled((VCGENCMD / "get_throttled_history.txt").read_text()).bits == 0x50000
    assert parse_get_throttled("throttled=0\n").bits == 0
    assert parse_measure_temp_c((VCGENCMD / "measure_temp.txt").read_text()) == 47.8
    assert parse_measure_clock_hz((VCGENCMD / "measure_clock_arm.txt").read_text()) == 2.4e9
    assert parse_measure_clock_hz("frequency(45)=1400000000") == 1.4e9  # a Pi 3B+'s clock id
    with pytest.raises(ThermalReadError, match="temp=47.8'C"):
        parse_measure_temp_c("error=1 error_msg=\"Command not registered\"")


def test_vcgencmd_source_reads_temperature_clock_and_throttle_state():
    runner = vcgencmd()
    source = VcgencmdSource(runner)
    reading = source.read()
    assert reading.temperatures_c == {"soc (vcgencmd)": 47.8}
    assert reading.cpu_clock_mhz == 2400.0
    assert reading.throttled is False and reading.throttle_reasons == ()
    assert ("vcgencmd", "measure_clock", "arm") in runner.calls and ("vcgencmd", "get_throttled") in runner.calls


def test_vcgencmd_source_on_a_throttled_pi():
    source = VcgencmdSource(vcgencmd("get_throttled_soft_limit", "measure_temp_hot", "measure_clock_arm_capped"))
    reading = source.read()
    assert reading.throttled is True
    assert reading.throttle_reasons == ("soft temperature limit",)
    assert reading.throttle_history == ("soft temperature limit has occurred",)
    assert reading.temperatures_c["soc (vcgencmd)"] == 81.4 and reading.cpu_clock_mhz == 1500.0
    assert reading.raw == {"get_throttled": "0x80008"}
    assert source.describe()["get_throttled"] == "0x80008"


def test_vcgencmd_missing_here_says_where_it_comes_from():
    if shutil.which("vcgencmd"):
        pytest.skip("this machine has vcgencmd")
    with pytest.raises(ThermalSourceUnavailable, match="Raspberry Pi OS"):
        VcgencmdSource()  # the real runner: the program is not on PATH


def test_vcgencmd_unexpected_output_makes_the_source_unavailable():
    with pytest.raises(ThermalSourceUnavailable, match="does not answer"):
        VcgencmdSource(lambda argv: "error=2 error_msg=\"Command not registered\"\n")


# ---------------------------------------------------------------- sysfs and psutil


def test_pi5_tree_temperatures_and_fastest_core_clock():
    assert read_temperatures_c(PI5) == {"cpu-thermal": 47.85, "cpu_thermal/temp1": 47.85}
    clock = CpuClockSource(PI5, cpu_freq=None)
    assert clock.method == "cpufreq"
    reading = clock.read()
    assert reading.cpu_clock_mhz == 2400.0 and reading.cpu_max_clock_mhz == 2400.0


def test_x86_tree_names_zones_and_labelled_hwmon_channels_old_layout_included():
    assert read_temperatures_c(X86) == {
        "acpitz": 27.8,
        "x86_pkg_temp": 61.0,
        "coretemp/Package id 0": 61.0,
        "coretemp/Core 0": 58.0,
        "nvme/temp1": 39.85,
    }
    reading = CpuClockSource(X86, cpu_freq=None).read()
    assert reading.cpu_clock_mhz == 3100.0 and reading.cpu_max_clock_mhz == 4200.0


def test_existing_power_fixture_tree_reads_its_hwmon_temperatures():
    temps = read_temperatures_c(SENSORS / "sysfs" / "pi5_ina226")
    assert temps and all(name.endswith("/temp1") for name in temps)


def test_a_tree_without_sensors_is_unavailable_with_the_paths(tmp_path):
    with pytest.raises(ThermalSourceUnavailable, match="thermal_zone"):
        SysfsTemperatureSource(tmp_path)
    with pytest.raises(ThermalSourceUnavailable, match="cpufreq"):
        CpuClockSource(tmp_path, cpu_freq=None)


def test_a_sensor_that_stops_answering_is_left_out_and_all_gone_is_a_read_error(tmp_path):
    tree = tmp_path / "x86"
    shutil.copytree(X86, tree)
    source = SysfsTemperatureSource(tree)
    (tree / "sys/class/thermal/thermal_zone0/temp").unlink()
    (tree / "sys/class/thermal/thermal_zone0/temp").mkdir()  # reading it now fails with an OSError
    assert "acpitz" not in source.read().temperatures_c
    shutil.rmtree(tree / "sys/class")
    with pytest.raises(ThermalReadError, match="answered"):
        source.read()


def test_this_machines_clock_comes_from_psutil_for_real():
    clock = CpuClockSource()
    reading = clock.read()
    expected = psutil.cpu_freq()
    assert reading.cpu_clock_mhz is not None and reading.cpu_clock_mhz > 0
    if clock.method == "psutil":
        assert reading.cpu_clock_mhz == pytest.approx(expected.current, rel=0.5)
        assert clock.describe()["reads"].startswith("psutil.cpu_freq()")


# ---------------------------------------------------------------- NVML


def test_nvml_reasons_decode_to_names():
    assert decode_clock_event_reasons(0x0) == ()
    assert decode_clock_event_reasons(0x24) == ("sw_power_cap", "sw_thermal_slowdown")
    assert decode_clock_event_reasons(0x1 | 0x1000) == ("gpu_idle", "unknown_0x1000")


def test_nvml_replay_through_the_real_reader():
    replay = NvmlReplay.load(L4)
    source = NvmlThermalSource(replay)
    assert source.describe()["gpus"] == [{"index": 0, "name": "NVIDIA L4"}]
    idle = source.read()
    assert idle.temperatures_c == {"gpu0": 34.0} and idle.gpu_clock_mhz == {"gpu0": 210.0}
    assert idle.gpu_max_clock_mhz == {"gpu0": 2040.0}
    assert idle.throttle_reasons == ("gpu0: gpu_idle",) and idle.throttled is False  # idle is not throttling
    replay.step()
    busy = source.read()
    assert busy.gpu_clock_mhz == {"gpu0": 2040.0} and busy.throttled is False and busy.throttle_reasons == ()
    replay.step()
    replay.step()
    hot = source.read()
    assert hot.temperatures_c == {"gpu0": 87.0} and hot.gpu_clock_mhz == {"gpu0": 1530.0}
    assert hot.throttled is True
    assert hot.throttle_reasons == ("gpu0: sw_power_cap", "gpu0: sw_thermal_slowdown")
    assert hot.raw == {"clocks_event_reasons": {"gpu0": "0x24"}}
    source.close()
    assert not replay.initialised
    source.close()  # twice is fine


def test_nvml_bindings_without_the_event_reasons_name_use_the_throttle_reasons_one():
    replay = NvmlReplay.load(L4)
    replay.values["event_reasons_api"] = False
    old = NvmlReplay(replay.values)
    assert not hasattr(old, "nvmlDeviceGetCurrentClocksEventReasons")
    assert NvmlThermalSource(old).read().throttle_reasons == ("gpu0: gpu_idle",)


def test_nvml_without_a_driver_says_so():
    with pytest.raises(ThermalSourceUnavailable, match="no NVIDIA driver"):
        NvmlThermalSource(NvmlReplay.load(L4, fail_init=True))


def test_nvml_real_path_without_pynvml_says_how_to_install():
    if importlib.util.find_spec("pynvml") is not None:
        pytest.skip("pynvml is installed here")
    with pytest.raises(ThermalSourceUnavailable, match="nvidia-ml-py"):
        NvmlThermalSource()


# ---------------------------------------------------------------- detection


def test_detection_on_this_machine_lists_every_missing_source_with_why():
    found = detect_thermal_sources()
    assert set(found.names) | set(found.unavailable) == {"vcgencmd", "nvml", "sysfs-temp", "cpu-clock"}
    assert not set(found.names) & set(found.unavailable)
    assert "cpu-clock" in found.names  # psutil answers on every Linux machine
    assert all(reason for reason in found.unavailable.values())
    snapshot = found.snapshot()
    assert snapshot.cpu_clock_mhz is not None and snapshot.cpu_clock_mhz > 0
    assert snapshot.sources == found.names
    found.close()


def test_detection_on_a_pi5_fixture_prefers_the_firmware_clock():
    found = detect_thermal_sources(PI5, runner=vcgencmd("get_throttled_soft_limit", "measure_temp_hot", "measure_clock_arm_capped"),
                                   nvml=NvmlReplay.load(L4, fail_init=True), cpu_freq=None)  # fmt: skip
    assert found.names == ("vcgencmd", "sysfs-temp", "cpu-clock")
    assert "driver" in found.unavailable["nvml"]
    assert found.has_temperature
    snapshot = found.snapshot()
    assert snapshot.cpu_clock_mhz == 1500.0  # the firmware's ARM clock, not cpufreq's 2400 request
    assert snapshot.cpu_max_clock_mhz == 2400.0  # from cpufreq
    assert snapshot.temperatures_c == {"soc (vcgencmd)": 81.4, "cpu-thermal": 47.85, "cpu_thermal/temp1": 47.85}
    assert snapshot.max_temp_c == 81.4
    assert snapshot.throttled is True and snapshot.throttle_reasons == ("soft temperature limit",)
    row = snapshot.row()
    assert row["temp_c:soc (vcgencmd)"] == 81.4 and row["throttle_reasons"] == "soft temperature limit"


def test_a_source_that_fails_mid_run_is_named_in_the_snapshot_not_raised():
    answers = iter(["throttled=0x0\n", "temp=47.8'C\n", "frequency(0)=2400000000\n"])

    def runner(argv):
        try:
            return next(answers)
        except StopIteration:
            from benchlib.power.errors import PowerReadError

            raise PowerReadError("`vcgencmd get_throttled` exited with status 255: VCHI initialization failed") from None

    found = detect_thermal_sources(Path("/nonexistent"), runner=runner, nvml=NvmlReplay.load(L4), cpu_freq=None)
    assert found.names == ("vcgencmd", "nvml")
    snapshot = found.snapshot()
    assert "VCHI" in snapshot.errors["vcgencmd"] and "video" in snapshot.errors["vcgencmd"]
    assert snapshot.gpu_clock_mhz == {"gpu0": 210.0} and snapshot.sources == ("nvml",)
