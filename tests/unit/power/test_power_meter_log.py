"""An external meter's CSV log, aligned to windows by wall-clock time.

The two fixture logs have power linear in time (see data/sensors/README.md),
so the energy over any window has a closed form to check against.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from benchlib.paths import sensors_dir
from benchlib.power import SAMPLE_COLUMNS, MeterLogError, MeterLogReader

FIXTURES = sensors_dir()
T0 = 1768471200.0  # 2026-01-15T10:00:00Z, the first row of both logs


def linear_energy_j(p0_w: float, slope_w_per_s: float, a_s: float, b_s: float) -> float:
    """Integral of p0 + slope * t over [a, b] (t in seconds since the log's first row), joules."""
    return p0_w * (b_s - a_s) + slope_w_per_s / 2.0 * (b_s**2 - a_s**2)


def test_watts_log_with_iso_local_time_and_clock_offset() -> None:
    reader = MeterLogReader(FIXTURES / "meter_watts_iso.csv", tz="Europe/Berlin", clock_offset_s=2.0)
    assert reader.columns == {"time": "Time", "power": "Power (W)"}
    assert reader.span_unix_s == (T0 + 2.0, T0 + 62.0)
    # Machine-clock window [T0+12.25, T0+42.5] is meter time [10.25, 40.5] s into the log.
    m = reader.measure(T0 + 12.25, T0 + 42.5, name="steady")
    assert m.valid and (m.source, m.kind, m.boundary) == ("meter-log", "measured", "board input (inline meter)")
    assert m.energy_j == pytest.approx(linear_energy_j(6.0, 0.05, 10.25, 40.5), rel=1e-9)
    assert m.duration_s == pytest.approx(30.25)
    assert m.mean_power_w == pytest.approx(m.energy_j / 30.25)
    assert m.samples == 30  # rows at meter seconds 11..40
    assert m.start_perf_s is None and m.start_unix_s == T0 + 12.25


def test_without_offset_the_same_window_reads_other_rows() -> None:
    reader = MeterLogReader(FIXTURES / "meter_watts_iso.csv", tz="Europe/Berlin")
    m = reader.measure(T0 + 12.25, T0 + 42.5)
    assert m.energy_j == pytest.approx(linear_energy_j(6.0, 0.05, 12.25, 42.5), rel=1e-9)


def test_volts_and_milliamps_log_with_unix_seconds() -> None:
    reader = MeterLogReader(FIXTURES / "meter_volts_amps_unix.csv", clock_offset_s=-1.5)
    assert reader.columns == {"time": "unix_s", "volt": "Voltage (V)", "current": "Current (mA)"}
    # 5.100 V x (800 + 10 k) mA = 4.08 + 0.051 k W; machine window [T0+5, T0+20] is meter [6.5, 21.5] s.
    m = reader.measure(T0 + 5.0, T0 + 20.0)
    assert m.energy_j == pytest.approx(linear_energy_j(4.08, 0.051, 6.5, 21.5), rel=1e-9)
    frame = reader.to_frame()
    assert tuple(frame.columns) == SAMPLE_COLUMNS
    assert frame["power_w"].iloc[0] == pytest.approx(4.08)
    assert frame["energy_j"].iloc[-1] == pytest.approx(linear_energy_j(4.08, 0.051, 0.0, 60.0), rel=1e-9)


def test_window_not_covered_by_the_log_is_an_error() -> None:
    reader = MeterLogReader(FIXTURES / "meter_volts_amps_unix.csv")
    with pytest.raises(MeterLogError, match=r"covers 2026-01-15T10:00:00.000\+00:00 to 2026-01-15T10:01:00.000\+00:00"):
        reader.measure(T0 + 50.0, T0 + 70.0, name="steady")
    with pytest.raises(MeterLogError, match="window 'early'"):
        reader.measure(T0 - 1.0, T0 + 10.0, name="early")
    # Forgetting the time zone would shift every window by an hour: refused.
    with pytest.raises(MeterLogError, match="carry no UTC offset .*pass tz="):
        MeterLogReader(FIXTURES / "meter_watts_iso.csv")
    # Off by the UTC+1 hour, the log does not cover the window: an error, not a wrong number.
    utc_misread = MeterLogReader(FIXTURES / "meter_watts_iso.csv", tz="UTC")
    with pytest.raises(MeterLogError, match="fix clock_offset_s / tz"):
        utc_misread.measure(T0 + 10.0, T0 + 20.0)


def test_gaps_and_bad_logs_are_errors(tmp_path: Path) -> None:
    gappy = tmp_path / "gappy.csv"
    gappy.write_text("timestamp,watts\n0,5\n1,5\n30,5\n31,5\n")
    reader = MeterLogReader(gappy, max_gap_s=5.0)
    assert reader.measure(0.0, 1.0).energy_j == pytest.approx(5.0)
    with pytest.raises(MeterLogError, match="29.0 s gap .*the meter dropped out"):
        reader.measure(0.5, 30.5)
    nothing = tmp_path / "nothing.csv"
    nothing.write_text("timestamp,temperature\n0,20\n1,21\n")
    with pytest.raises(MeterLogError, match="neither a power column nor voltage and current"):
        MeterLogReader(nothing)
    with pytest.raises(MeterLogError, match="cannot read meter log"):
        MeterLogReader(tmp_path / "missing.csv")
    with pytest.raises(MeterLogError, match="no column 'Watt'"):
        MeterLogReader(gappy, power_column="Watt")


def test_explicit_columns_and_millisecond_timestamps(tmp_path: Path) -> None:
    log = tmp_path / "plug.csv"
    log.write_text("when,apower_mw\n1768471200000,5000\n1768471201000,7000\n")
    reader = MeterLogReader(log, time_column="when", power_column="apower_mw", boundary="wall socket (smart plug)")
    m = reader.measure(T0, T0 + 1.0)
    assert m.energy_j == pytest.approx(6.0) and m.boundary == "wall socket (smart plug)"
