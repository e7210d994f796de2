"""The background sampler: integration accuracy, windows, failures, counters, export.

The test readers below are real reader implementations with known power
curves (computed from the clock's time), not stand-ins for a device. Every
sampler runs on a :class:`~benchlib.clock.ScriptedClock`: the tests move time
and assert exact sample counts and energies, with no real sleep.
"""

from __future__ import annotations

import math
import shutil
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from benchlib.clock import REAL_CLOCK, Clock, ScriptedClock
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
    """Power as a function of the clock's time; optionally fails or hangs on demand."""

    name = "test-curve"
    boundary = "test curve"
    kind = "measured"
    quantity = "power"

    def __init__(self, curve, clock: Clock = REAL_CLOCK) -> None:
        self.curve = curve
        self.clock = clock
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
        return self.curve(self.clock.perf_s())

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "boundary": self.boundary, "kind": self.kind, "quantity": self.quantity}

    def close(self) -> None:
        pass


def sine_w(t: float) -> float:
    return 5.0 + 2.0 * math.sin(t)


def sine_energy_j(a: float, b: float) -> float:
    """Integral of 5 + 2 sin(t) from a to b, joules."""
    return 5.0 * (b - a) - 2.0 * (math.cos(b) - math.cos(a))


# Periods are powers of two (1/8 s, 1/16 s, 1/32 s), so scripted deadlines fall exactly where the time is moved.


def test_sine_curve_integrates_as_the_trapezoids_of_its_samples() -> None:
    clock = ScriptedClock()
    with PowerSampler(CurveReader(sine_w, clock), rate_hz=8, clock=clock) as sampler:
        sampler.begin_window("steady")
        clock.advance(1.5)
        m = sampler.end_window("steady")
    times = 1000.0 + 0.125 * np.arange(13)  # the first sample at start, then one every 1/8 s
    assert m.valid and m.problem is None and m.samples == 13
    assert (m.start_perf_s, m.end_perf_s) == (1000.0, 1001.5)
    assert m.energy_j == pytest.approx(np.trapezoid(5.0 + 2.0 * np.sin(times), times), rel=1e-12)
    assert m.energy_j == pytest.approx(sine_energy_j(1000.0, 1001.5), rel=1e-3)  # and the curve's integral
    assert m.duration_s == 1.5 and m.mean_power_w == pytest.approx(m.energy_j / 1.5)
    assert (m.source, m.boundary, m.kind) == ("test-curve", "test curve", "measured")
    assert (m.start_unix_s, m.end_unix_s) == (1000.0 + 1.7e9, 1001.5 + 1.7e9)


def test_window_after_warm_up_counts_only_the_window() -> None:
    clock = ScriptedClock()
    level = {"w": 20.0}
    with PowerSampler(CurveReader(lambda t: level["w"], clock), rate_hz=16, clock=clock) as sampler:
        sampler.begin_window("whole")
        clock.advance(0.375)  # warm-up at 20 W
        level["w"] = 5.0
        clock.advance(0.0625)  # a 5 W sample opens the window
        sampler.begin_window("steady")
        clock.advance(0.625)
        steady = sampler.end_window("steady")
        whole = sampler.end_window("whole")
    assert steady.valid and whole.valid
    assert steady.energy_j == 5.0 * 0.625 and steady.mean_power_w == 5.0
    assert whole.energy_j == 20.0 * 0.375 + 12.5 * 0.0625 + 5.0 * 0.625  # the ramp between the samples


def test_measure_between_times_after_the_fact() -> None:
    clock = ScriptedClock()
    with PowerSampler(CurveReader(sine_w, clock), rate_hz=16, clock=clock) as sampler:
        clock.advance(0.25)
        a = clock.perf_s()
        clock.advance(0.75)
        b = clock.perf_s()
        m = sampler.measure("requests", a, b)
    assert m.valid and m.samples == 13
    assert m.energy_j == pytest.approx(sine_energy_j(a, b), rel=1e-3)


def test_sensor_raising_mid_run_marks_the_window_invalid() -> None:
    clock = ScriptedClock()
    reader = CurveReader(lambda t: 7.0, clock)
    sampler = PowerSampler(reader, rate_hz=16, clock=clock).start()
    try:
        sampler.begin_window("done-before")
        clock.advance(0.25)
        before = sampler.end_window("done-before")
        sampler.begin_window("steady")
        clock.advance(0.25)
        reader.fail_with = OSError("I2C bus timeout")
        clock.advance(0.0625)  # the next read raises; the thread ends
        m = sampler.end_window("steady")
    finally:
        sampler.stop()
    assert before.valid and before.energy_j == 7.0 * 0.25
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
    assert len(frame) == 9 and frame["power_w"].eq(7.0).all()  # the good samples are kept: start + 8
    assert sampler.describe()["state"] == "failed"


def test_a_tolerated_transient_error_is_counted_not_hidden() -> None:
    clock = ScriptedClock()
    reader = CurveReader(lambda t: 4.0, clock)
    with PowerSampler(reader, rate_hz=16, tolerate_errors=1, clock=clock) as sampler:
        sampler.begin_window("steady")
        reader.fail_once = PowerReadError("`vcgencmd pmic_read_adc` did not answer within 5 s")
        clock.advance(0.3125)
        m = sampler.end_window("steady")
    assert m.valid and m.energy_j == 4.0 * 0.3125 and m.samples == 5  # start + 5 ticks, the first failed
    assert sampler.read_errors == 1 and sampler.describe()["read_errors"] == 1
    assert sampler.state == "stopped"


def test_sensor_that_stops_answering_gives_an_invalid_window() -> None:
    clock = ScriptedClock()
    reader = CurveReader(lambda t: 3.0, clock)
    sampler = PowerSampler(reader, rate_hz=16, end_timeout_s=0.3, clock=clock).start()
    try:
        sampler.begin_window("steady")
        clock.advance(0.125)
        reader.hang.set()
        clock.advance(0.0625, settle=False)  # the next read hangs
        m = sampler.end_window("steady")  # waits end_timeout_s of real time for a sample that never comes
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


def test_sampler_takes_one_sample_per_deadline_from_its_first() -> None:
    clock = ScriptedClock()
    reader = CurveReader(lambda t: 2.0, clock)
    with PowerSampler(reader, rate_hz=8, clock=clock) as sampler:
        clock.advance(1.0)
    assert sampler.sample_count == 9 == reader.reads  # the first at start, then one every 1/8 s
    assert sampler.state == "stopped" and sampler.missed_deadlines == 0
    perf = sampler.to_frame()["perf_s"].to_numpy()
    assert (np.diff(perf) == 0.125).all()


def test_rapl_counter_wrap_through_the_sampler(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "sysfs" / "x86_rapl", tmp_path, dirs_exist_ok=True)
    zone = tmp_path / "sys/class/powercap"
    clock = ScriptedClock()
    with PowerSampler(RaplReader(root=tmp_path), rate_hz=32, clock=clock) as sampler:
        sampler.begin_window("steady")
        clock.advance(0.0625)
        # package wraps: 262142.328850 J -> (range 262143.328850 J) -> 2.000000 J, i.e. +3 J
        (zone / "intel-rapl:0" / "energy_uj").write_text("2000000\n")
        clock.advance(0.03125)
        m = sampler.end_window("steady")
        frame = sampler.to_frame()
    assert m.valid, m.problem
    assert m.energy_j == pytest.approx(3.0, abs=1e-9)
    assert m.boundary == "CPU package + DRAM" and m.method.startswith("energy counter difference")
    assert frame["energy_j"].iloc[-1] == pytest.approx(3.0, abs=1e-9)


def test_rapl_counter_going_backwards_invalidates_the_window(tmp_path: Path) -> None:
    shutil.copytree(FIXTURES / "sysfs" / "x86_rapl", tmp_path, dirs_exist_ok=True)
    clock = ScriptedClock()
    sampler = PowerSampler(RaplReader(root=tmp_path), rate_hz=32, clock=clock).start()
    try:
        sampler.begin_window("steady")
        clock.advance(0.0625)
        (tmp_path / "sys/class/powercap/intel-rapl:0:2/energy_uj").write_text("12000000000\n")
        clock.advance(0.03125)
        m = sampler.end_window("steady")
    finally:
        sampler.stop()
    assert sampler.state == "failed" and not m.valid
    assert "intel-rapl:0:2 went backwards" in m.problem and "not a wrap" in m.problem
    assert math.isnan(m.energy_j)


def test_pmic_through_the_sampler_and_frame_export() -> None:
    text = (FIXTURES / "pmic_read_adc.txt").read_text()
    clock = ScriptedClock()
    with PowerSampler(Pi5PmicReader(runner=lambda argv: text), rate_hz=16, clock=clock) as sampler:
        sampler.begin_window("steady")
        clock.advance(0.3125)
        m = sampler.end_window("steady")
        frame = sampler.to_frame()
    assert m.valid and m.samples == 6
    assert m.mean_power_w == pytest.approx(7.23981879801581)
    assert m.energy_j == pytest.approx(7.23981879801581 * 0.3125)
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
