"""Thermal and clock state of every run, for the report: one row per run and the series the power timeline draws.

Each sweep records, in ``run.json``'s ``thermal`` entry, the thermal sources
it had (and why the others were missing), snapshots at the start and end of
its last attempt and a summary of the measured window; ``thermal.parquet``
holds the 1 Hz snapshots (see :mod:`benchlib.thermal`). :func:`thermal_table`
turns that into one row per run with a flag the report shows beside the
run's numbers: ``ok``, ``throttled (soft temperature limit)``, ``clock dropped
12% during the measured window``, ``no thermal sensor: clock only``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchlib.records import StoredRun
from benchlib.records.directory import THERMAL_FILE
from benchlib.thermal import flag_text

__all__ = ["THERMAL_COLUMNS", "ThermalTrace", "thermal_samples", "thermal_table", "thermal_trace"]

THERMAL_COLUMNS: tuple[str, ...] = (
    "run_id",
    "sources",
    "unavailable",
    "temp_start_c",
    "temp_end_c",
    "temp_max_c",
    "clock_start_mhz",
    "clock_min_mhz",
    "clock_drop_pct",
    "gpu_clock_drop_pct",
    "throttled",
    "throttle_reasons",
    "flag",
)
"""Columns of :func:`thermal_table`, in order."""


def _max_temp(snapshot: dict[str, Any] | None) -> float | None:
    temps = (snapshot or {}).get("temperatures_c") or {}
    return max(temps.values()) if temps else None


def _row(run: StoredRun) -> dict[str, Any]:
    thermal = run.meta.get("thermal")
    if not thermal:
        return {"run_id": run.run_id, "sources": "", "unavailable": "", "flag": flag_text(None, False)}
    window = thermal.get("window") or None
    has_temperature = bool(thermal.get("has_temperature"))
    has_clock = any(
        (thermal.get(end) or {}).get("cpu_clock_mhz") is not None or (thermal.get(end) or {}).get("gpu_clock_mhz")
        for end in ("start", "end")
    )
    flag = flag_text(window, has_temperature, has_clock)
    window = window or {}
    return {
        "run_id": run.run_id,
        "sources": ", ".join(thermal.get("sources") or []),
        "unavailable": "; ".join(f"{name}: {why}" for name, why in (thermal.get("unavailable") or {}).items()),
        "temp_start_c": _max_temp(thermal.get("start")),
        "temp_end_c": _max_temp(thermal.get("end")),
        "temp_max_c": window.get("max_temp_c"),
        "clock_start_mhz": window.get("clock_start_mhz"),
        "clock_min_mhz": window.get("clock_min_mhz"),
        "clock_drop_pct": window.get("clock_drop_pct"),
        "gpu_clock_drop_pct": window.get("gpu_clock_drop_pct"),
        "throttled": window.get("throttled"),
        "throttle_reasons": ", ".join(window.get("throttle_reasons") or []),
        "flag": flag,
    }


def thermal_table(runs: list[StoredRun]) -> pd.DataFrame:
    """One row per run: thermal sources, temperatures, clocks, throttling and the report's flag.

    Args:
        runs: Runs read back (:func:`benchlib.records.load_runs`).

    Returns:
        Columns :data:`THERMAL_COLUMNS`: ``run_id``; ``sources`` (those that
        answered) and ``unavailable`` (missing ones, with why); ``temp_start_c``
        and ``temp_end_c`` (hottest sensor at the last attempt's start and end,
        degrees C); ``temp_max_c``, ``clock_start_mhz``, ``clock_min_mhz`` and
        ``clock_drop_pct`` (CPU) and ``gpu_clock_drop_pct`` over the measured
        window; ``throttled`` (``None`` when no source can tell); the
        ``throttle_reasons`` seen; ``flag`` (:func:`benchlib.thermal.flag_text`).
        A run recorded before thermal recording has empty values and a flag saying so.
    """
    return pd.DataFrame([_row(run) for run in runs], columns=list(THERMAL_COLUMNS))


def thermal_samples(run: StoredRun, latest_attempt_only: bool = True) -> pd.DataFrame:
    """The run's ``thermal.parquet`` (its last attempt's rows by default); empty when there is none."""
    path = run.path / THERMAL_FILE
    if not path.exists():
        return pd.DataFrame()
    samples = pd.read_parquet(path)
    if latest_attempt_only and not samples.empty and "attempt" in samples:
        samples = samples[samples["attempt"] == samples["attempt"].max()]
    return samples.sort_values("unix_s").reset_index(drop=True)


@dataclass(frozen=True)
class ThermalTrace:
    """The series a timeline draws for a run: temperature when there is one, else a clock.

    Attributes:
        unix_s: Sample times, Unix seconds.
        values: Values in ``unit``.
        label: Legend label (``hottest sensor`` or ``CPU clock (no temperature sensor)``).
        unit: ``"°C"`` or ``"MHz"``.
    """

    unix_s: np.ndarray
    values: np.ndarray
    label: str
    unit: str


def thermal_trace(samples: pd.DataFrame) -> ThermalTrace | None:
    """Temperature (hottest sensor) from thermal samples, else the CPU clock, else the GPU clock; ``None`` without any."""
    choices = (
        ("max_temp_c", "hottest sensor, °C", "°C"),
        ("cpu_clock_mhz", "CPU clock, MHz (no temperature sensor)", "MHz"),
        ("gpu_clock_mhz", "GPU SM clock, MHz (no temperature sensor)", "MHz"),
    )
    for column, label, unit in choices:
        if column in samples and samples[column].notna().any():
            rows = samples[samples[column].notna()]
            return ThermalTrace(rows["unix_s"].to_numpy(float), rows[column].to_numpy(float), label, unit)
    return None
