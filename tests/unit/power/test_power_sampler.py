"""The background sampler: integration accuracy, windows, failures, counters, export.

The test readers below are real reader implementations with known power
curves (computed from ``perf_counter``), not stand-ins for a device.
"""

from __future__ import annotations

import math
import shutil
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchlib.paths import sensors_dir
from benchlib.power import (
    SAMPLE_COLUMNS,
    Measurement,
    Pi5PmicReader,
    PowerError,
    PowerReadError,
    PowerSampler,
    RaplReader,
    measurements_frame,
    trapezoid_window_j,
)

FIXTURES = sensors_dir()


class CurveReader:
    """Power as a function of ``perf_counter`` time; optionally fails or hangs on demand."""

    name = "test-curve"
    boundary = "test curve"
    kind = "measured"
    quantity = "power"

    def __init__(self, curve) -> None:
        self.curve = curve
        self.fail_with: BaseException | None = None
        self.fail_once: BaseException | None = None
        self.hang = threading.Event()
        self.release = threading.Event()
        self.reads = 0

    def read_power_w(self) -> float:
        if self.hang.is_set():
            self.release.wait(10)
        if self.fail_with is not None:
            raise self.fail_with
        if self.fail_once is not None:
            exc, self.fail_once = self.fail_once, None
            raise exc
        self.reads += 1
        return self.curve(time.perf_counter())

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "boundary": self.boundary, "kind": self.kind, "quantity": self.quantity}

    def close(self) -> None:
        pass


def sine_w(t: float) -> float:
    return 5.0 + 2.0 * math.sin(t)


def sine_energy_j(a: float, b: float) -> float:
    """Integral of 5 + 2 sin(t) from a to b, joules."""
    return 5.0 * (b - a) - 2.0 * (math.cos(b) - math.cos(a))


def wait_until(predicate, timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


@pytest.mark.realtime
def test_sine_curve_integrates_within_one_percent() -> None:
    reader = CurveReader(sine_w)
    with PowerSampler(reader, rate_hz=10) as sampler:
        sampler.begin_window("steady")
        time.sleep(1.5)
        m = sampler.end_window("steady")
    assert m.valid and m.problem is None
    assert m.start_perf_s is not None and m.end_perf_s is not None
    expected = sine_energy_j(m.start_perf_s, m.end_perf_s)
    assert m.energy_j == pytest.approx(expected, rel=0.01)
    assert m.duration_s == pytest.approx(m.end_perf_s - m.start_perf_s)
    assert m.mean_power_w == pytest.approx(m.energy_j / m.duration_s)
    assert 13 <= m.samples <= 17  # 10 Hz for 1.5 s
    assert (m.source, m.boundary, m.kind) == ("test-curve", "test curve", "measured")
    assert m.end_unix_s - m.start_unix_s == pytest.approx(m.duration_s, abs=1e-3)
    assert abs(m.start_unix_s - time.time()) < 10


@pytest.mark.realtime
def test_window_after_warm_up_counts_only_the_window() -> None:
    level = {"w": 20.0}
    reader = CurveReader(lambda t: level["w"])
    with PowerSampler(reader, rate_hz=20) as sampler:
        sampler.begin_window("whole")
        time.sleep(0.4)  # warm-up at 20 W
        level["w"] = 5.0
        assert sampler.wait_for_sample(time.perf_counter())  # a 5 W sample precedes the window
        sampler.begin_window("steady")
        time.sleep(0.6)
        steady = sampler.end_window("steady")
        whole = sampler.end_window("whole")
    assert steady.valid and whole.valid
    assert steady.energy_j == pytest.approx(5.0 * steady.duration_s, rel=1e-9)
    assert steady.mean_power_w == pytest.approx(5.0)
    assert whole.energy_j > steady.energy_j + 0.3 * 15.0  # the warm-up's extra 15 W for >= 0.4 s


@pytest.mark.realtime
def test_measure_between_perf_times_after_the_fact() -> None:
    reader = CurveReader(sine_w)
    with PowerSampler(reader, rate_hz=20) as sampler:
        time.sleep(0.2)
        a = time.perf_counter()
        time.sleep(0.8)
        b = time.perf_counter()
        m = sampler.measure("requests", a, b)
    assert m.valid
    assert m.energy_j == pytest.approx(sine_energy_j(a, b), rel=0.01)


@pytest.mark.realtime
def test_sensor_raising_mid_run_marks_the_window_invalid() -> None:
    reader = CurveReader(lambda t: 7.0)
    sampler = PowerSampler(reader, rate_hz=20).start()
    try:
        sampler.begin_window("done-before")
        time.sleep(0.2)
        before = sampler.end_window("done-before")
        sampler.begin_window("steady")
        time.sleep(0.2)
        reader.fail_with = OSError("I2C bus timeout")
        wait_until(lambda: sampler.state == "failed")
        m = sampler.end_window("steady")
    finally:
        sampler.stop()
    assert before.valid and before.energy_j == pytest.approx(7.0 * before.duration_s)
    assert not m.valid
    assert "test-curve failed" in m.problem and "OSError: I2C bus timeout" in m.problem
    assert math.isnan(m.energy_j) and math.isnan(m.mean_power_w)
    assert sampler.state == "failed" and "I2C bus timeout" in sampler.problem
    with pytest.raises(PowerError, match="is invalid: .*I2C bus timeout"):
        m.check()
    with pytest.raises(PowerReadError, match="I2C bus timeout"):
        sampler.begin_window("next")
    with pytest.raises(PowerReadError, match="I2C bus timeout"):
        sampler.raise_if_failed()
    frame = sampler.to_frame()
    assert len(frame) >= 4 and frame["power_w"].eq(7.0).all()  # the good samples are kept
    assert sampler.describe()["state"] == "failed"


@pytest.mark.realtime
def test_a_tolerated_transient_error_is_counted_not_hidden() -> None:
    reader = CurveReader(lambda t: 4.0)
    with PowerSampler(reader, rate_hz=20, tolerate_errors=1) as sampler:
        sampler.begin_window("steady")
        reader.fail_once = PowerReadError("`vcgencmd pmic_read_adc` did not answer within 5 s")
        time.sleep(0.3)
        m = sampler.end_window("steady")
    assert m.valid and m.energy_j == pytest.approx(4.0 * m.duration_s)
    assert sampler.read_errors == 1 and sampler.describe()["read_errors"] == 1
    assert sampler.state == "stopped"


@pytest.mark.realtime
def test_sensor_that_stops_answering_gives_an_invalid_window() -> None:
    reader = CurveReader(lambda t: 3.0)
    sampler = PowerSampler(reader, rate_hz=20, end_timeout_s=0.3).start()
    try:
        sampler.begin_window("steady")
        time.sleep(0.1)
        reader.hang.set()
        time.sleep(0.1)
        m = sampler.end_window("steady")
        assert not m.valid and "stopped responding" in m.problem
    finally:
        reader.hang.clear()
        reader.release.set()
        sampler.stop()


def test_first_read_failure_is_raised_at_start() -> None:
    reader = CurveReader(lambda t: 1.0)
    reader.fail_with = PermissionError("no access")
    sampler = PowerSampler(reader)
    with pytest.raises(PowerReadError, match="first read of test-curve failed: no access"):
        sampler.start()
    assert sampler.state == "failed"


def test_non_finite_power_is_a_failure_not_a_number() -> None:
    reader = CurveReader(lambda t: math.nan)
    with pytest.raises(PowerReadError, match="non-finite power"):
        PowerSampler(reader).start()


def test_window_misuse_is_a_clear_error() -> None:
    reader = CurveReader(lambda t: 1.0)
    sampler = PowerSampler(reader, rate_hz=20)
    with pytest.raises(PowerError, match="call start"):
        sampler.begin_window("w")
    with sampler:
        sampler.begin_window("w")
        with pytest.raises(PowerError, match="already open"):
            sampler.begin_window("w")
        with pytest.raises(PowerError, match=r"no window named 'x' is open \(open: \['w'\]\)"):
            sampler.end_window("x")
        sampler.cancel_window("w")
    with pytest.raises(PowerError, match="rate_hz must be positive"):
        PowerSampler(reader, rate_hz=0)
    with pytest.raises(PowerError, match="already started"):
        sampler.start()


def test_window_ended_after_stop_is_invalid() -> None:
    sampler = PowerSampler(CurveReader(lambda t: 1.0), rate_hz=20).start()
    sampler.begin_window("late")
    sampler.stop()
    m = sampler.end_window("late")
    assert not m.valid and "stopped before the window ended" in m.problem


@pytest.mark.realtime
def test_sampler_keeps_its_schedule_cheaply() -> None:
    reader = CurveReader(lambda t: 2.0)
    cpu_before = time.process_time()
    with PowerSampler(reader, rate_hz=10) as sampler:
        time.sleep(1.0)
    cpu_s = time.process_time() - cpu_before
    assert 9 <= sampler.sample_count <= 13  # first sample + about 10 per second
    assert cpu_s < 0.15  # sleeps between deadlines, no busy loop
    assert sampler.state == "stopped"
    perf = sampler.to_frame()["perf_s"].to_numpy()
    assert np.allclose(np.diff(perf), 0.1, atol=0.03)


@pytest.mark.realtime
def test_rapl_counter_wrap_through_the_sampler(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "sysfs" / "x86_rapl", tmp_path, dirs_exist_ok=True)
    zone = tmp_path / "sys/class/powercap"
    reader = RaplReader(root=tmp_path)
    with PowerSampler(reader, rate_hz=50) as sampler:
        sampler.begin_window("steady")
        time.sleep(0.05)
        # package wraps: 262142.328850 J -> (range 262143.328850 J) -> 2.000000 J, i.e. +3 J
        (zone / "intel-rapl:0" / "energy_uj").write_text("2000000\n")
        assert sampler.wait_for_sample(time.perf_counter() + 0.01)
        m = sampler.end_window("steady")
        frame = sampler.to_frame()
    assert m.valid, m.problem
    assert m.energy_j == pytest.approx(3.0, abs=1e-9)
    assert m.boundary == "CPU package + DRAM" and m.method.startswith("energy counter difference")
    assert frame["energy_j"].iloc[-1] == pytest.approx(3.0, abs=1e-9)


@pytest.mark.realtime
def test_rapl_counter_going_backwards_invalidates_the_window(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "sysfs" / "x86_rapl", tmp_path, dirs_exist_ok=True)
    reader = RaplReader(root=tmp_path)
    sampler = PowerSampler(reader, rate_hz=50).start()
    try:
        sampler.begin_window("steady")
        time.sleep(0.05)
        (tmp_path / "sys/class/powercap/intel-rapl:0:2/energy_uj").write_text("12000000000\n")
        wait_until(lambda: sampler.state == "failed")
        m = sampler.end_window("steady")
    finally:
        sampler.stop()
    assert not m.valid
    assert "intel-rapl:0:2 went backwards" in m.problem and "not a wrap" in m.problem
    assert math.isnan(m.energy_j)


@pytest.mark.realtime
def test_pmic_through_the_sampler_and_frame_export() -> None:
    text = (FIXTURES / "pmic_read_adc.txt").read_text()
    reader = Pi5PmicReader(runner=lambda argv: text)
    with PowerSampler(reader, rate_hz=20) as sampler:
        sampler.begin_window("steady")
        time.sleep(0.3)
        m = sampler.end_window("steady")
        frame = sampler.to_frame()
    assert m.valid
    assert m.mean_power_w == pytest.approx(7.23981879801581)
    assert m.energy_j == pytest.approx(7.23981879801581 * m.duration_s)
    assert m.boundary == "SoC/PMIC rails (excludes 5 V peripherals and HATs)"
    assert tuple(frame.columns) == SAMPLE_COLUMNS
    assert (frame["source"] == "pi5-pmic").all() and (frame["kind"] == "measured").all()
    assert frame["unix_s"].is_monotonic_increasing and frame["perf_s"].is_monotonic_increasing
    assert frame["energy_j"].iloc[0] == 0.0 and frame["energy_j"].is_monotonic_increasing
    table = measurements_frame([m])
    assert list(table.columns) == list(Measurement.__dataclass_fields__)


def test_offline_sources_are_not_sampled() -> None:
    from benchlib.power import MeterLogReader

    reader = MeterLogReader(FIXTURES / "meter_volts_amps_unix.csv")
    with pytest.raises(PowerError, match="offline sources such as meter-log are not sampled"):
        PowerSampler(reader)  # type: ignore[arg-type]


def test_trapezoid_interpolates_window_edges() -> None:
    t = np.array([0.0, 1.0, 2.0, 3.0])
    p = np.array([0.0, 10.0, 10.0, 0.0])
    energy, inside = trapezoid_window_j(t, p, 0.5, 2.5)
    # 0.5..1: 5->10 = 3.75 J; 1..2: 10 J; 2..2.5: 10->5 = 3.75 J
    assert energy == pytest.approx(17.5) and inside == 2
    with pytest.raises(PowerError, match="outside the sampled span"):
        trapezoid_window_j(t, p, -1.0, 1.0)
