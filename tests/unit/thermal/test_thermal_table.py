"""thermal_table: one row per run with the report's flag, for runs with and without thermal records."""

from __future__ import annotations

import pandas as pd
import pytest

from benchlib.analysis.thermal import THERMAL_COLUMNS, thermal_table, thermal_trace
from benchlib.records import StoredRun


def run(tmp_path, run_id: str, thermal: dict | None) -> StoredRun:
    meta = {"schema_version": 1, "run_id": run_id, "status": "complete"}
    if thermal is not None:
        meta["thermal"] = thermal
    return StoredRun(tmp_path / run_id, meta, "complete", pd.DataFrame())


PI_THROTTLED = {
    "sources": ["vcgencmd", "sysfs-temp", "cpu-clock"],
    "unavailable": {"nvml": "the NVML bindings are not installed"},
    "has_temperature": True,
    "start": {"temperatures_c": {"soc (vcgencmd)": 52.1, "cpu-thermal": 51.9}, "cpu_clock_mhz": 2400.0},
    "end": {"temperatures_c": {"soc (vcgencmd)": 80.9, "cpu-thermal": 80.6}, "cpu_clock_mhz": 2112.0},
    "window": {"max_temp_c": 81.4, "clock_start_mhz": 2400.0, "clock_min_mhz": 2112.0, "clock_drop_pct": 12.0,
               "throttled": True, "throttle_reasons": ["soft temperature limit"]},
}  # fmt: skip

CLOCK_ONLY = {
    "sources": ["cpu-clock"],
    "unavailable": {"sysfs-temp": "no readable temperature sensor", "vcgencmd": "not found", "nvml": "not installed"},
    "has_temperature": False,
    "start": {"temperatures_c": {}, "cpu_clock_mhz": 2445.4},
    "end": {"temperatures_c": {}, "cpu_clock_mhz": 2445.4},
    "window": {"max_temp_c": None, "clock_start_mhz": 2445.4, "clock_min_mhz": 2445.4, "clock_drop_pct": 0.0,
               "throttled": None, "throttle_reasons": []},
}  # fmt: skip


def test_one_row_per_run_with_its_flag(tmp_path):
    cool = {**PI_THROTTLED, "window": {**PI_THROTTLED["window"], "throttled": False, "throttle_reasons": [],
                                       "clock_min_mhz": 2400.0, "clock_drop_pct": 0.0, "max_temp_c": 61.0}}  # fmt: skip
    table = thermal_table([run(tmp_path, "pi-hot", PI_THROTTLED), run(tmp_path, "pi-cool", cool),
                           run(tmp_path, "vm", CLOCK_ONLY), run(tmp_path, "old", None)])  # fmt: skip
    assert list(table.columns) == list(THERMAL_COLUMNS)
    flags = dict(zip(table["run_id"], table["flag"]))
    assert flags == {
        "pi-hot": "throttled (soft temperature limit); clock dropped 12% during the measured window",
        "pi-cool": "ok",
        "vm": "no thermal sensor: clock only",
        "old": "no thermal record (run made before thermal recording, or no measured window)",
    }
    hot = table.iloc[0]
    assert hot["temp_start_c"] == 52.1 and hot["temp_end_c"] == 80.9 and hot["temp_max_c"] == 81.4
    assert hot["clock_drop_pct"] == pytest.approx(12.0) and bool(hot["throttled"])
    assert hot["sources"] == "vcgencmd, sysfs-temp, cpu-clock" and hot["unavailable"].startswith("nvml: ")
    assert pd.isna(table.iloc[2]["temp_start_c"]) and table.iloc[3]["sources"] == ""


def test_the_timeline_draws_temperature_when_there_is_one_else_the_clock():
    both = pd.DataFrame({"unix_s": [1.0, 2.0], "max_temp_c": [50.0, 55.0], "cpu_clock_mhz": [2400.0, 2400.0]})
    trace = thermal_trace(both)
    assert trace.unit == "°C" and list(trace.values) == [50.0, 55.0]
    clock = thermal_trace(both.assign(max_temp_c=float("nan")))
    assert clock.unit == "MHz" and "no temperature sensor" in clock.label
    assert thermal_trace(pd.DataFrame()) is None
