"""The source registry, the doctor, auto selection, idle baseline and energy per token."""

from __future__ import annotations

import importlib.util
import math
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest


from benchlib.errors import ParameterError
from benchlib.paths import sensors_dir
from benchlib.power import (
    AUTO_PREFERENCE,
    READERS,
    Ina2xxReader,
    Measurement,
    Pi5PmicReader,
    PowerError,
    PowerSampler,
    ProfileEstimateReader,
    RaplReader,
    auto_reader,
    available_sources,
    doctor,
    format_doctor,
    measure_idle,
    open_reader,
)
from benchlib.power import window_energy_per_token as energy_per_token_j  # the power module's name

FIXTURES = sensors_dir()
PMIC_TEXT = (FIXTURES / "pmic_read_adc.txt").read_text()


def recorded_pmic(argv: Sequence[str]) -> str:
    assert tuple(argv) == ("vcgencmd", "pmic_read_adc")
    return PMIC_TEXT


def test_registry_names_every_source() -> None:
    assert set(READERS) == {"pi5-pmic", "ina2xx", "rapl", "nvml", "meter-log", "prometheus", "estimate"}
    assert isinstance(open_reader("estimate", profile="h100"), ProfileEstimateReader)
    assert isinstance(open_reader("pi5-pmic", runner=recorded_pmic), Pi5PmicReader)
    with pytest.raises(ParameterError, match="unknown power source 'wattmeter'; known: pi5-pmic"):
        open_reader("wattmeter")


def test_doctor_on_this_machine_gives_a_reason_for_each_missing_source(reserved_port) -> None:
    nobody = f"http://127.0.0.1:{reserved_port}/metrics"
    statuses = {s.name: s for s in doctor(prometheus_url=nobody)}
    assert list(statuses) == [*AUTO_PREFERENCE, "meter-log", "prometheus", "estimate"]
    for name in AUTO_PREFERENCE:
        assert statuses[name].status in ("available", "missing")
        assert statuses[name].detail
    # What this machine lacks, each with its own reason.
    if not Path("/sys/class/powercap").exists():
        assert statuses["rapl"].status == "missing" and "/sys/class/powercap" in statuses["rapl"].detail
    if not Path("/sys/class/hwmon").exists():
        assert statuses["ina2xx"].status == "missing" and "/sys/class/hwmon" in statuses["ina2xx"].detail
    if shutil.which("vcgencmd") is None:
        assert statuses["pi5-pmic"].status == "missing" and "vcgencmd not found" in statuses["pi5-pmic"].detail
    if importlib.util.find_spec("pynvml") is None:
        assert statuses["nvml"].status == "missing" and "pip install nvidia-ml-py" in statuses["nvml"].detail
    assert statuses["meter-log"].status == "offline"
    assert statuses["prometheus"].status == "missing"
    assert f"cannot reach {nobody}" in statuses["prometheus"].detail and "benchlib exporter" in statuses["prometheus"].detail
    estimate = statuses["estimate"]
    assert estimate.available and estimate.kind == "estimated" and "l4 70 W" in estimate.detail
    text = format_doctor(list(statuses.values()))
    assert len(text.splitlines()) == 7
    assert any(line.split()[1] == "rapl" for line in text.splitlines())


def test_auto_on_this_machine_without_sensors_is_none() -> None:
    if available_sources():
        pytest.skip(f"this machine has power sensors: {available_sources()}")
    assert auto_reader() is None


def test_doctor_and_auto_on_a_pi5_with_an_ina226() -> None:
    root = FIXTURES / "sysfs" / "pi5_ina226"
    statuses = {s.name: s for s in doctor(root=root, runner=recorded_pmic)}
    assert statuses["ina2xx"].available and statuses["ina2xx"].detail == "6.125 W now"
    assert statuses["pi5-pmic"].available and statuses["pi5-pmic"].boundary.startswith("SoC/PMIC rails")
    assert statuses["rapl"].status == "missing"
    assert available_sources(root=root, runner=recorded_pmic) == ["ina2xx", "pi5-pmic"]
    reader = auto_reader(root=root, runner=recorded_pmic)
    assert isinstance(reader, Ina2xxReader)  # board input beats the SoC rails


def test_auto_on_a_pi5_without_a_meter_picks_the_pmic() -> None:
    root = FIXTURES / "sysfs" / "ina219_legacy" / "sys"  # no sys/class/hwmon below this root
    assert isinstance(auto_reader(root=root, runner=recorded_pmic), Pi5PmicReader)


def test_auto_on_an_x86_box_picks_rapl(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "sysfs" / "x86_rapl", tmp_path, dirs_exist_ok=True)

    def no_vcgencmd(argv: Sequence[str]) -> str:
        from benchlib.power import run_command

        return run_command(["benchlib-no-such-vcgencmd", *argv[1:]])

    reader = auto_reader(root=tmp_path, runner=no_vcgencmd)
    assert isinstance(reader, RaplReader)
    statuses = {s.name: s for s in doctor(root=tmp_path, runner=no_vcgencmd)}
    assert statuses["rapl"].detail.startswith("2 counter(s): intel-rapl:0=262142.329 J")
    assert "not found on PATH" in statuses["pi5-pmic"].detail
    assert "no INA2xx monitor" in statuses["ina2xx"].detail


def _measurement(**changes) -> Measurement:
    fields = dict(
        name="steady",
        energy_j=96.0,
        duration_s=12.0,
        mean_power_w=8.0,
        samples=120,
        source="pi5-pmic",
        boundary="SoC/PMIC rails (excludes 5 V peripherals and HATs)",
        kind="measured",
        start_unix_s=1000.0,
        end_unix_s=1012.0,
        method="trapezoid over power samples, edges interpolated",
    )
    fields.update(changes)
    return Measurement(**fields)


def test_energy_per_token_gross_and_idle_subtracted() -> None:
    # The article's Pi figure: 8 W at 8.3 tok/s -> ~0.96 J/token; here 100 tokens in 12 s at 8 W.
    result = energy_per_token_j(_measurement(), output_tokens=100, idle_power_w=3.0)
    assert result.gross_j_per_token == pytest.approx(0.96)
    assert result.idle_energy_j == pytest.approx(36.0)
    assert result.idle_subtracted_j_per_token == pytest.approx((96.0 - 36.0) / 100)
    assert (result.source, result.kind) == ("pi5-pmic", "measured")
    gross_only = energy_per_token_j(_measurement(), output_tokens=100)
    assert gross_only.idle_subtracted_j_per_token is None and gross_only.idle_power_w is None
    with pytest.raises(ParameterError, match="output_tokens must be positive"):
        energy_per_token_j(_measurement(), output_tokens=0)


def test_energy_per_token_refuses_an_invalid_measurement() -> None:
    bad = Measurement.invalid(
        name="steady",
        problem="power source pi5-pmic failed: timeout",
        duration_s=12.0,
        samples=3,
        source="pi5-pmic",
        boundary="SoC/PMIC rails",
        kind="measured",
        start_unix_s=0.0,
        end_unix_s=12.0,
        method="trapezoid",
    )
    assert math.isnan(bad.energy_j)
    with pytest.raises(PowerError, match="invalid: power source pi5-pmic failed: timeout"):
        energy_per_token_j(bad, output_tokens=100)
    with pytest.raises(ValueError, match="needs a problem"):
        _measurement(valid=False)


def test_idle_baseline_then_net_energy_per_token() -> None:
    reader = Pi5PmicReader(runner=recorded_pmic)
    with PowerSampler(reader, rate_hz=20) as sampler:
        idle = measure_idle(sampler, duration_s=0.3)
        sampler.begin_window("steady")
        assert sampler.end_window("steady").valid  # a window of a few microseconds is fine
    assert idle.power_w == pytest.approx(7.23981879801581)
    assert idle.measurement.name == "idle" and idle.measurement.duration_s >= 0.3
    with pytest.raises(ParameterError, match="idle duration_s must be positive"):
        measure_idle(sampler, duration_s=0)
