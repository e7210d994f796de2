"""The measured window's thermal summary, the report's flag text, the monitor thread and the sweep's recorder."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from benchlib.clock import ScriptedClock
from benchlib.paths import sensors_dir
from benchlib.records import RunDirectory
from benchlib.sweep.driver import Window
from benchlib.sweep.thermal_record import ThermalRecorder
from benchlib.thermal import (
    ThermalMonitor,
    ThermalReading,
    ThermalSnapshot,
    ThermalSources,
    detect_thermal_sources,
    flag_text,
    merge_readings,
    summarize_window,
)
from benchlib.thermal.replay import NvmlReplay

NAN = math.nan


def frame(rows):
    """thermal.parquet rows from (unix_s, cpu MHz, max temp C, throttled, reasons)."""
    return pd.DataFrame(
        [
            {"unix_s": t, "cpu_clock_mhz": mhz, "max_temp_c": temp, "gpu_clock_mhz": NAN, "throttled": thr,
             "throttle_reasons": reasons}
            for t, mhz, temp, thr, reasons in rows
        ]
    )  # fmt: skip


PI_RUN = frame(
    [
        (100.0, 2400.0, 50.0, False, ""),  # before the window: ignored
        (101.0, 2400.0, 62.0, False, ""),  # window starts at 101
        (102.0, 2400.0, 79.5, False, ""),
        (103.0, 2112.0, 80.4, True, "soft temperature limit"),
        (104.0, 2160.0, 80.1, True, "soft temperature limit"),
        (105.0, 600.0, 45.0, False, ""),  # after the window: ignored
    ]
)


def test_window_summary_with_a_clock_drop_by_hand():
    summary = summarize_window(PI_RUN, 101.0, 104.0)
    assert summary["samples"] == 4 and summary["basis"] == "samples inside the measured window"
    assert summary["max_temp_c"] == 80.4
    assert summary["clock_start_mhz"] == 2400.0 and summary["clock_min_mhz"] == 2112.0
    assert summary["clock_drop_pct"] == pytest.approx(12.0)  # (2400 - 2112) / 2400 = 12 %
    assert summary["throttled"] is True and summary["throttle_reasons"] == ["soft temperature limit"]
    assert flag_text(summary, has_temperature=True) == (
        "throttled (soft temperature limit); clock dropped 12% during the measured window"
    )


def test_a_steady_window_is_ok_and_a_drop_alone_is_flagged():
    steady = summarize_window(PI_RUN, 101.0, 102.0)
    assert steady["clock_drop_pct"] == 0.0 and steady["throttled"] is False
    assert flag_text(steady, has_temperature=True) == "ok"
    dropped = frame([(0.0, 3000.0, NAN, None, ""), (1.0, 2640.0, NAN, None, ""), (2.0, 2700.0, NAN, None, "")])
    summary = summarize_window(dropped, 0.0, 2.0)
    assert summary["throttled"] is None and summary["clock_drop_pct"] == pytest.approx(12.0)
    assert flag_text(summary, has_temperature=False) == (
        "clock dropped 12% during the measured window; no thermal sensor: clock only"
    )


def test_a_drop_under_the_threshold_and_no_sensor_reads_clock_only():
    summary = summarize_window(frame([(0.0, 2445.4, NAN, None, ""), (1.0, 2300.0, NAN, None, "")]), 0.0, 1.0)
    assert summary["clock_drop_pct"] == pytest.approx((2445.4 - 2300.0) / 2445.4 * 100)  # 5.9 %, under 10 %
    assert flag_text(summary, has_temperature=False) == "no thermal sensor: clock only"


def test_a_window_shorter_than_the_period_uses_the_samples_around_it():
    summary = summarize_window(PI_RUN, 102.2, 102.6)
    assert summary["samples"] == 2 and "before and after" in summary["basis"]
    assert summary["clock_start_mhz"] == 2400.0 and summary["clock_min_mhz"] == 2112.0


def test_nothing_recorded_and_no_source_at_all():
    empty = summarize_window(pd.DataFrame(), 0.0, 1.0)
    assert empty["samples"] == 0 and empty["basis"] == "no thermal samples" and empty["clock_start_mhz"] is None
    assert flag_text(empty, has_temperature=False) == "no thermal or clock source"
    assert flag_text(None, has_temperature=False).startswith("no thermal record")


def test_pi_since_boot_bits_set_during_the_attempt_are_flagged_even_between_samples():
    start = {"throttle_history": []}
    end = {"throttle_history": ["soft temperature limit has occurred"]}
    summary = summarize_window(PI_RUN, 101.0, 102.0, start, end)
    assert summary["throttled"] is False and summary["throttle_history_new"] == ["soft temperature limit has occurred"]
    assert flag_text(summary, True) == "throttled during the run (soft temperature limit has occurred)"
    assert summarize_window(PI_RUN, 101.0, 102.0, end, end)["throttle_history_new"] == []


def test_gpu_idle_is_not_throttling_and_an_idle_gpus_low_clock_is_not_a_drop():
    rows = pd.DataFrame(
        [
            {"unix_s": 0.0, "cpu_clock_mhz": NAN, "max_temp_c": 34.0, "gpu_clock_mhz": 210.0, "throttled": False,
             "throttle_reasons": "gpu0: gpu_idle"},
            {"unix_s": 1.0, "cpu_clock_mhz": NAN, "max_temp_c": 71.0, "gpu_clock_mhz": 2040.0, "throttled": False,
             "throttle_reasons": ""},
            {"unix_s": 2.0, "cpu_clock_mhz": NAN, "max_temp_c": 87.0, "gpu_clock_mhz": 1530.0, "throttled": True,
             "throttle_reasons": "gpu0: sw_power_cap; gpu0: sw_thermal_slowdown"},
        ]
    )  # fmt: skip
    summary = summarize_window(rows, 0.0, 2.0)
    assert summary["gpu_clock_start_mhz"] == 2040.0 and summary["gpu_clock_min_mhz"] == 1530.0
    assert summary["gpu_clock_drop_pct"] == pytest.approx(25.0)
    assert summary["other_clock_reasons"] == ["gpu0: gpu_idle"]
    assert flag_text(summary, True) == (
        "throttled (gpu0: sw_power_cap, gpu0: sw_thermal_slowdown); GPU clock dropped 25% during the measured window"
    )


def test_merge_prefers_the_first_clock_and_says_throttled_only_when_a_source_can_tell():
    clock_only = merge_readings(1.0, [("cpu-clock", ThermalReading(cpu_clock_mhz=2445.0))])
    assert clock_only.throttled is None and clock_only.max_temp_c is None
    merged = merge_readings(
        2.0,
        [("vcgencmd", ThermalReading({"soc": 60.0}, cpu_clock_mhz=1800.0, throttled=False)),
         ("cpu-clock", ThermalReading(cpu_clock_mhz=2400.0, cpu_max_clock_mhz=2400.0))],
    )  # fmt: skip
    assert merged.cpu_clock_mhz == 1800.0 and merged.cpu_max_clock_mhz == 2400.0 and merged.throttled is False
    record = merged.record()
    assert record["max_temp_c"] == 60.0 and record["sources"] == ["vcgencmd", "cpu-clock"]


def test_monitor_snapshots_this_machine_at_its_rate():
    sources = detect_thermal_sources()
    clock = ScriptedClock()
    monitor = ThermalMonitor(sources, rate_hz=16.0, clock=clock).start()
    clock.advance(0.5)
    monitor.stop()
    samples = monitor.to_frame()
    assert len(samples) == 9  # the first at once, then one every 1/16 s
    assert (samples["unix_s"].diff().dropna() == 0.0625).all()
    assert (samples["cpu_clock_mhz"] > 0).all()
    sources.close()


def test_monitor_keeps_going_when_a_source_fails():
    class Broken:
        name = "broken"

        def read(self):
            raise OSError("sensor gone")

        def describe(self):
            return {"name": self.name}

        def close(self):
            pass

    clock = ScriptedClock()
    monitor = ThermalMonitor(ThermalSources((Broken(),)), rate_hz=32.0, clock=clock).start()
    clock.advance(0.125)
    monitor.stop()
    snapshots = monitor.snapshots
    assert len(snapshots) == 5 and all("sensor gone" in s.errors["broken"] for s in snapshots) and monitor.problem is None


def test_monitor_rejects_a_rate_that_is_not_positive():
    with pytest.raises(ValueError, match="positive"):
        ThermalMonitor(ThermalSources(), rate_hz=0)


def test_recorder_writes_thermal_parquet_per_attempt_and_a_run_json_entry(tmp_path):
    store = RunDirectory(tmp_path / "run")
    replays = []

    def detect():
        replay = NvmlReplay.load(sensors_dir() / "nvml" / "l4_thermal.json")
        replays.append(replay)
        return detect_thermal_sources(tmp_path / "no-sysfs", runner=lambda argv: "", nvml=replay, cpu_freq=None)

    for attempt in (0, 1, 1):  # attempt 1 twice: its rows are replaced, not doubled
        clock = ScriptedClock()
        recorder = ThermalRecorder(detect, rate_hz=32.0, clock=clock)
        recorder.start()
        started = clock.perf_s()
        clock.advance(0.09375)
        replays[-1].step()
        clock.advance(0.09375)
        recorder.stop()
        recorder.save(store, attempt)
        entry = recorder.record(Window(started, clock.perf_s(), clock.unix_s() - clock.perf_s()), attempt)
    samples = pd.read_parquet(store.path / "thermal.parquet")
    assert set(samples["attempt"]) == {0, 1}
    assert len(samples[samples["attempt"] == 1]) == len(recorder.samples) == 8  # the first at once, 6 more, the end one
    assert entry["sources"] == ["nvml"] and "vcgencmd" in entry["unavailable"] and entry["has_temperature"]
    assert entry["start"]["gpu_clock_mhz"] == {"gpu0": 210.0} and entry["end"]["gpu_clock_mhz"] == {"gpu0": 2040.0}
    assert entry["window"]["max_temp_c"] == 71.0 and entry["window"]["throttled"] is False
    assert entry["flag"] == "ok" and entry["problem"] is None
    assert "temp_c:gpu0" in samples.columns


def test_recorder_never_raises_when_detection_itself_breaks(tmp_path):
    def detect():
        raise RuntimeError("broken driver")

    recorder = ThermalRecorder(detect)
    recorder.start()
    recorder.stop()
    recorder.save(RunDirectory(tmp_path), 0)
    entry = recorder.record(None, 0)
    assert "broken driver" in entry["problem"] and entry["sources"] == [] and entry["window"] is None
    assert not (tmp_path / "thermal.parquet").exists()


def test_snapshot_is_a_frozen_value():
    snapshot = ThermalSnapshot(unix_s=1.0, cpu_clock_mhz=2400.0)
    with pytest.raises(AttributeError):
        snapshot.cpu_clock_mhz = 1.0  # type: ignore[misc]
