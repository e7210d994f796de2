"""Power readers against recorded command output and fixture sysfs trees.

This machine has no RAPL, hwmon power sensor, NVML or vcgencmd; the readers
run their real code on the fixtures in data/sensors (see its README
for where each comes from), and the NVML / vcgencmd absence is tested as is.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from benchlib.errors import ParameterError
from benchlib.paths import sensors_dir
from benchlib.power import (
    CounterError,
    CounterUnwrapper,
    Ina2xxReader,
    LinearCalibration,
    Pi5PmicReader,
    PowerReadError,
    PowerSourceUnavailable,
    ProfileEstimateReader,
    RaplReader,
    counter_delta_j,
    open_nvml,
    parse_pmic_read_adc,
    run_command,
)
from benchlib.power.base import EnergyCounterReader, PowerRateReader, PowerReader

FIXTURES = sensors_dir()
PMIC_TEXT = (FIXTURES / "pmic_read_adc.txt").read_text()


def recorded(text: str):
    """A command runner that answers with recorded output and remembers the command."""
    calls: list[tuple[str, ...]] = []

    def runner(argv: Sequence[str]) -> str:
        calls.append(tuple(argv))
        return text

    runner.calls = calls  # type: ignore[attr-defined]
    return runner


# ---------------------------------------------------------------- pi5-pmic

# The 12 rails with both channels in the recorded output, V x I each, by hand:
#   3V7_WL_SW 0.09368929 A x 3.69977600 V = 0.346629386599040
#   3V3_SYS   0.08783370 A x 3.31003300 V = 0.290732445512100
#   1V8_SYS   0.18054710 A x 1.80512600 V = 0.325910264434600
#   DDR_VDD2  0.22543980 A x 1.10476100 V = 0.249057098887800
#   DDR_VDDQ  0.06666720 A x 0.60146460 V = 0.040097960781120
#   1V1_SYS   0.17566740 A x 1.11025500 V = 0.195035609187000
#   0V8_SW    0.37670900 A x 0.80146440 V = 0.301918852659600
#   VDD_CORE  6.22421000 A x 0.86173300 V = 5.363607155930000
#   3V3_DAC   0.00006105 A x 3.31318300 V = 0.000202269822150
#   3V3_ADC   0.00036630 A x 3.30677300 V = 0.001211270949900
#   0V8_AON   0.00305250 A x 0.80029220 V = 0.002442891940500
#   HDMI      0.02417580 A x 5.08664000 V = 0.122973591312000
#   sum                                  = 7.239818798015810 W
# EXT5V_V (5.09066 V) and BATT_V (0 V) have no current: not in the sum.
PMIC_EXPECTED_W = 7.23981879801581


def test_pmic_recorded_output_sums_v_times_i_of_paired_rails() -> None:
    by_hand = (
        0.09368929 * 3.69977600
        + 0.08783370 * 3.31003300
        + 0.18054710 * 1.80512600
        + 0.22543980 * 1.10476100
        + 0.06666720 * 0.60146460
        + 0.17566740 * 1.11025500
        + 0.37670900 * 0.80146440
        + 6.22421000 * 0.86173300
        + 0.00006105 * 3.31318300
        + 0.00036630 * 3.30677300
        + 0.00305250 * 0.80029220
        + 0.02417580 * 5.08664000
    )
    assert by_hand == pytest.approx(PMIC_EXPECTED_W, rel=1e-14)
    runner = recorded(PMIC_TEXT)
    reader = Pi5PmicReader(runner=runner)
    assert reader.read_power_w() == pytest.approx(PMIC_EXPECTED_W, rel=1e-12)
    assert runner.calls == [("vcgencmd", "pmic_read_adc")]
    reading = reader.last_reading
    assert reading is not None
    assert len(reading.rails) == 12
    assert {r.rail for r in reading.rails} >= {"VDD_CORE", "DDR_VDD2", "DDR_VDDQ", "HDMI", "3V7_WL_SW"}
    assert reading.voltage_only_v == {"EXT5V": 5.09066, "BATT": 0.0}
    assert reading.ext5v_v == 5.09066
    assert reader.describe()["ext5v_v"] == 5.09066
    assert reader.boundary == "SoC/PMIC rails (excludes 5 V peripherals and HATs)"
    assert reader.kind == "measured" and reader.quantity == "power"
    assert isinstance(reader, PowerRateReader)


def test_pmic_pairs_by_name_not_channel_and_skips_a_current_without_voltage() -> None:
    # Constructed (not recorded): one rail with a current and no voltage line.
    text = PMIC_TEXT + "   NO_VOLT_A current(30)=0.50000000A\n"
    reading = parse_pmic_read_adc(text)
    assert reading.current_only_a == {"NO_VOLT": 0.5}
    assert reading.total_power_w == pytest.approx(PMIC_EXPECTED_W, rel=1e-12)
    core = next(r for r in reading.rails if r.rail == "VDD_CORE")
    assert (core.current_a, core.volt_v) == (6.22421, 0.861733)  # current(7) with volt(15)


def test_pmic_parses_nul_separated_output() -> None:
    assert parse_pmic_read_adc(PMIC_TEXT.replace("\n", "\x00")).total_power_w == pytest.approx(PMIC_EXPECTED_W)


def test_pmic_calibration_changes_watts_and_boundary() -> None:
    cal = LinearCalibration(scale=1.25, offset_w=1.5, reference="USB-C meter at the PSU")
    reader = Pi5PmicReader(runner=recorded(PMIC_TEXT), calibration=cal)
    assert reader.read_power_w() == pytest.approx(1.25 * PMIC_EXPECTED_W + 1.5)
    assert reader.boundary.startswith("board input")
    assert "1.25" in reader.boundary and "USB-C meter at the PSU" in reader.boundary
    assert reader.describe()["calibration"] == {"scale": 1.25, "offset_w": 1.5, "reference": "USB-C meter at the PSU"}


def test_pmic_output_without_rails_is_a_clear_error() -> None:
    with pytest.raises(PowerReadError, match="Raspberry Pi 5"):
        Pi5PmicReader(runner=recorded("error=1 error_msg=\"Command not registered\"\n")).read_power_w()
    with pytest.raises(PowerReadError, match="no rail with both"):
        Pi5PmicReader(runner=recorded("     EXT5V_V volt(24)=5.14000000V\n")).read_power_w()


@pytest.mark.subprocess
def test_pmic_through_a_real_subprocess_of_recorded_output() -> None:
    fixture = FIXTURES / "pmic_read_adc.txt"
    reader = Pi5PmicReader(runner=lambda argv: run_command(["cat", str(fixture)]))
    assert reader.read_power_w() == pytest.approx(PMIC_EXPECTED_W, rel=1e-12)


@pytest.mark.skipif(shutil.which("vcgencmd") is not None, reason="this machine has vcgencmd")
def test_pmic_without_vcgencmd_says_what_is_needed() -> None:
    with pytest.raises(PowerSourceUnavailable, match="vcgencmd not found.*Raspberry Pi 5.*raspi-utils"):
        Pi5PmicReader().read_power_w()


def test_run_command_reports_failures_and_timeouts() -> None:
    with pytest.raises(PowerReadError, match="exited with status 1"):
        run_command(["false"])
    with pytest.raises(PowerReadError, match="did not answer within 0.2 s"):
        run_command(["sleep", "5"], timeout_s=0.2)
    with pytest.raises(PowerSourceUnavailable, match="not found on PATH"):
        run_command(["benchlib-no-such-program-xyz"])


# ---------------------------------------------------------------- ina2xx


def test_ina226_reads_power1_input_in_microwatts() -> None:
    reader = Ina2xxReader(root=FIXTURES / "sysfs" / "pi5_ina226")
    assert [(d.hwmon, d.chip, d.method) for d in reader.devices] == [("hwmon3", "ina226", "power1_input")]
    assert reader.read_power_w() == pytest.approx(6.125)  # 6125000 uW
    assert reader.boundary == "board input (INA2xx shunt in the supply line)"
    assert isinstance(reader, PowerRateReader)


def test_ina219_legacy_layout_multiplies_millivolts_by_milliamps() -> None:
    reader = Ina2xxReader(root=FIXTURES / "sysfs" / "ina219_legacy", boundary="AI HAT+ 2 5 V branch")
    assert [(d.chip, d.method) for d in reader.devices] == [("ina219", "in1_input x curr1_input")]
    assert reader.read_power_w() == pytest.approx(5.080 * 0.850)  # 5080 mV x 850 mA
    assert reader.boundary == "AI HAT+ 2 5 V branch"


def test_ina_several_monitors_must_be_chosen(tmp_path: Path) -> None:
    hwmon = tmp_path / "sys" / "class" / "hwmon"
    shutil.copytree(FIXTURES / "sysfs" / "pi5_ina226" / "sys" / "class" / "hwmon", hwmon)
    shutil.copytree(FIXTURES / "sysfs" / "ina219_legacy" / "sys" / "class" / "hwmon" / "hwmon0", hwmon / "hwmon4")
    listing = r"found 2 INA2xx monitors: hwmon3 \(ina226\), hwmon4 \(ina219\); pass devices="
    with pytest.raises(PowerSourceUnavailable, match=listing):
        Ina2xxReader(root=tmp_path)
    both = Ina2xxReader(root=tmp_path, devices=["hwmon3", "ina219"])
    assert both.read_power_w() == pytest.approx(6.125 + 5.080 * 0.850)
    with pytest.raises(PowerSourceUnavailable, match="no INA2xx monitor named"):
        Ina2xxReader(root=tmp_path, devices=["ina260"])


def test_ina_absent_says_why() -> None:
    with pytest.raises(PowerSourceUnavailable, match=r"no INA2xx monitor .*found: hwmon0 acpitz, hwmon1 coretemp"):
        Ina2xxReader(root=FIXTURES / "sysfs" / "x86_rapl")
    with pytest.raises(PowerSourceUnavailable, match="exposes no hardware monitors"):
        Ina2xxReader(root=FIXTURES / "sysfs" / "ina219_legacy" / "sys")


def test_ina_sensor_vanishing_mid_run_is_a_read_error(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "sysfs" / "pi5_ina226", tmp_path, dirs_exist_ok=True)
    reader = Ina2xxReader(root=tmp_path)
    (tmp_path / "sys/class/hwmon/hwmon3/power1_input").unlink()
    with pytest.raises(PowerReadError, match="cannot read .*power1_input"):
        reader.read_power_w()


# ---------------------------------------------------------------- rapl


@pytest.fixture
def rapl_root(tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / "sysfs" / "x86_rapl", tmp_path, dirs_exist_ok=True)
    return tmp_path


def set_energy_uj(root: Path, zone: str, value_uj: int) -> None:
    (root / "sys/class/powercap" / zone / "energy_uj").write_text(f"{value_uj}\n")


def test_rapl_reads_package_and_dram_only(rapl_root: Path) -> None:
    reader = RaplReader(root=rapl_root)
    assert [(z.zone, z.name) for z in reader.zones] == [("intel-rapl:0", "package-0"), ("intel-rapl:0:2", "dram")]
    assert reader.boundary == "CPU package + DRAM"
    assert reader.read_energy_j() == {"intel-rapl:0": 262142.32885, "intel-rapl:0:2": 12345.678901}
    assert reader.counter_range_j == {"intel-rapl:0": 262143.32885, "intel-rapl:0:2": 65712.999613}
    assert isinstance(reader, EnergyCounterReader) and reader.quantity == "energy"
    assert RaplReader(root=rapl_root, domains=["package"]).boundary == "CPU package"


def test_rapl_wrap_uses_max_energy_range(rapl_root: Path) -> None:
    reader = RaplReader(root=rapl_root)
    unwrapper = CounterUnwrapper(reader.counter_range_j, reader.max_plausible_power_w)
    assert unwrapper.update(reader.read_energy_j(), 0.0) == 0.0
    # package: 262142.328850 J -> wraps at 262143.328850 J -> 2.000000 J: 1 J + 2 J = 3 J
    set_energy_uj(rapl_root, "intel-rapl:0", 2_000_000)
    # dram: +0.5 J, no wrap
    set_energy_uj(rapl_root, "intel-rapl:0:2", 12_346_178_901)
    assert unwrapper.update(reader.read_energy_j(), 0.1) == pytest.approx(3.0 + 0.5, abs=1e-9)


def test_rapl_counter_going_backwards_without_plausible_wrap_is_an_error(rapl_root: Path) -> None:
    reader = RaplReader(root=rapl_root)
    unwrapper = CounterUnwrapper(reader.counter_range_j, reader.max_plausible_power_w)
    unwrapper.update(reader.read_energy_j(), 0.0)
    set_energy_uj(rapl_root, "intel-rapl:0:2", 12_000_000_000)  # dram 12345.68 J -> 12000 J, 0.1 s later
    with pytest.raises(CounterError, match=r"intel-rapl:0:2 went backwards .*not a wrap"):
        unwrapper.update(reader.read_energy_j(), 0.1)


def test_counter_delta_rules() -> None:
    assert counter_delta_j(10.0, 12.5, range_j=None, interval_s=1.0, max_plausible_power_w=100) == 2.5
    assert counter_delta_j(99.0, 1.0, range_j=100.0, interval_s=1.0, max_plausible_power_w=100) == pytest.approx(2.0)
    with pytest.raises(CounterError, match="range is unknown"):
        counter_delta_j(5.0, 4.0, range_j=None, interval_s=1.0, max_plausible_power_w=100)


def test_rapl_absent_says_why() -> None:
    with pytest.raises(PowerSourceUnavailable, match="no .*powercap: .*modprobe intel_rapl_msr"):
        RaplReader(root=FIXTURES / "sysfs" / "pi5_ina226")


def _read_as_nobody(root: Path) -> str:
    """Open a RaplReader in a forked child that dropped root; return its error message."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        message = "no error"
        try:
            os.setgid(65534)
            os.setuid(65534)
            RaplReader(root=root)
        except PowerSourceUnavailable as exc:
            message = str(exc)
        except BaseException as exc:  # noqa: BLE001
            message = f"unexpected {type(exc).__name__}: {exc}"
        finally:
            os.write(write_fd, message.encode())
            os._exit(0)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        message = pipe.read().decode()
    os.waitpid(pid, 0)
    return message


@pytest.mark.skipif(sys.platform != "linux", reason="Linux permissions")
def test_rapl_root_only_counter_gives_the_permission_fix() -> None:
    base = Path(tempfile.mkdtemp(prefix="benchlib-rapl-"))
    try:
        base.chmod(0o755)  # let an unprivileged user traverse it
        shutil.copytree(FIXTURES / "sysfs" / "x86_rapl", base, dirs_exist_ok=True)
        energy = base / "sys/class/powercap/intel-rapl:0/energy_uj"
        energy.chmod(0o400)  # as on current kernels: root only
        if os.geteuid() == 0:
            message = _read_as_nobody(base)
        else:
            energy.chmod(0o000)
            with pytest.raises(PowerSourceUnavailable) as info:
                RaplReader(root=base)
            message = str(info.value)
        assert "no permission to read" in message and "intel-rapl:0/energy_uj" in message
        assert "CVE-2020-8694" in message and "run as root" in message and "chmod a+r" in message
    finally:
        for path in base.rglob("*"):
            if path.is_file():
                path.chmod(stat.S_IRUSR | stat.S_IWUSR)
        shutil.rmtree(base)


# ---------------------------------------------------------------- nvml


def test_nvml_absent_gives_the_install_or_driver_hint() -> None:
    if shutil.which("nvidia-smi"):
        pytest.skip("this machine has an NVIDIA driver")
    with pytest.raises(PowerSourceUnavailable) as info:
        open_nvml()
    if importlib.util.find_spec("pynvml") is None:
        assert "pip install nvidia-ml-py" in str(info.value)
    else:
        assert "NVIDIA driver" in str(info.value)


# ---------------------------------------------------------------- estimate


def test_profile_estimate_is_labelled_estimated() -> None:
    reader = ProfileEstimateReader("l4")
    assert (reader.name, reader.kind, reader.boundary) == ("estimate:l4", "estimated", "estimate (profile)")
    assert reader.read_power_w() == 70.0
    m = reader.measure(1000.0, 1010.0, name="steady")
    assert (m.energy_j, m.mean_power_w, m.kind, m.measured, m.samples) == (700.0, 70.0, "estimated", False, 0)
    assert ProfileEstimateReader("pi5").power_w == 8.0
    assert ProfileEstimateReader("h100").power_w == 350.0
    assert ProfileEstimateReader("a10g").power_w == 150.0
    assert ProfileEstimateReader("my-box", power_w=42.0, basis="nameplate").describe()["basis"] == "nameplate"
    with pytest.raises(ParameterError, match="no power figure for profile 'tpu'"):
        ProfileEstimateReader("tpu")


def test_every_reader_satisfies_the_protocol(rapl_root: Path) -> None:
    readers: list[PowerReader] = [
        Pi5PmicReader(runner=recorded(PMIC_TEXT)),
        Ina2xxReader(root=FIXTURES / "sysfs" / "pi5_ina226"),
        RaplReader(root=rapl_root),
        ProfileEstimateReader("pi5"),
    ]
    for reader in readers:
        assert isinstance(reader, PowerReader)
        described = reader.describe()
        assert {"name", "boundary", "kind", "quantity"} <= set(described)
        reader.close()
