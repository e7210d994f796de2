"""The thermal state over a run's measured window, and the one-line flag the report shows.

:func:`summarize_window` reduces the monitor's samples inside the measured
window (first request sent to last token received, the window the energy per
token uses) to: the hottest temperature, the CPU clock at the window's start
and its minimum, the drop between them in percent, the same for the GPU SM
clock, whether anything throttled and why. :func:`flag_text` turns that into
``"ok"``, ``"throttled (soft temperature limit)"``, ``"clock dropped 12% during
the measured window"`` or ``"no thermal sensor: clock only"``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from benchlib.thermal.nvml import CLOCK_EVENT_REASONS, THROTTLING_REASONS

__all__ = ["CLOCK_DROP_FLAG_PCT", "flag_text", "is_throttling_reason", "summarize_window"]

CLOCK_DROP_FLAG_PCT = 10.0
"""A clock that falls by at least this many percent inside the measured window is flagged."""

_NVML_NAMES = frozenset(CLOCK_EVENT_REASONS.values())


def is_throttling_reason(reason: str) -> bool:
    """True for a reason that holds clocks down (Raspberry Pi bits 0-3, NVML power/thermal slowdowns).

    NVML's ``gpu_idle``, ``applications_clocks_setting``, ``sync_boost`` and
    ``display_clock_setting`` explain a low clock without being throttling.
    """
    name = reason.split(": ", 1)[-1]
    return name in THROTTLING_REASONS or name not in _NVML_NAMES


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _clock(frame: pd.DataFrame, column: str) -> tuple[float | None, float | None, float | None]:
    """Start, minimum and drop (percent) of a clock column over the rows."""
    values = frame[column].dropna() if column in frame else pd.Series(dtype=float)
    if values.empty:
        return None, None, None
    start, low = float(values.iloc[0]), float(values.min())
    return start, low, (max(0.0, (start - low) / start * 100.0) if start > 0 else None)


def _split(cell: Any) -> list[str]:
    return [part for part in str(cell or "").split("; ") if part]


def summarize_window(
    samples: pd.DataFrame,
    start_unix_s: float,
    end_unix_s: float,
    start: Mapping[str, Any] | None = None,
    end: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The thermal state over a window, from the samples of ``thermal.parquet`` (one attempt's).

    Samples inside ``[start_unix_s, end_unix_s]`` are used; when the window is
    shorter than the sampling period and holds none, the last sample before
    and the first after it stand in (``basis`` says so).

    Args:
        samples: Rows of ``thermal.parquet`` (``unix_s``, ``cpu_clock_mhz``, ``max_temp_c`` ...).
        start_unix_s: Window start, Unix seconds.
        end_unix_s: Window end, Unix seconds.
        start: The attempt's start snapshot (:meth:`ThermalSnapshot.record`), for the since-boot bits.
        end: The attempt's end snapshot, likewise.

    Returns:
        ``start_unix_s``, ``end_unix_s``, ``samples``, ``basis``, ``max_temp_c``,
        ``clock_start_mhz``, ``clock_min_mhz``, ``clock_drop_pct`` (CPU),
        ``gpu_clock_start_mhz``, ``gpu_clock_min_mhz``, ``gpu_clock_drop_pct``,
        ``throttled`` (``None`` when no source can tell), ``throttle_reasons``
        (throttling ones seen), ``other_clock_reasons`` (NVML idle and the like),
        ``throttle_history_new`` (Raspberry Pi since-boot bits set during the attempt).
    """
    frame = samples.sort_values("unix_s") if not samples.empty else samples
    basis = "samples inside the measured window"
    inside = frame[(frame["unix_s"] >= start_unix_s) & (frame["unix_s"] <= end_unix_s)] if not frame.empty else frame
    if inside.empty and not frame.empty:
        before = frame[frame["unix_s"] < start_unix_s].tail(1)
        after = frame[frame["unix_s"] > end_unix_s].head(1)
        inside = pd.concat([before, after])
        basis = "the samples just before and after the measured window (it is shorter than the sampling period)"
    if inside.empty:
        basis = "no thermal samples"
    temps = inside["max_temp_c"].dropna() if "max_temp_c" in inside else pd.Series(dtype=float)
    clock_start, clock_min, drop = _clock(inside, "cpu_clock_mhz")
    gpu_rows = inside
    if "throttle_reasons" in inside and not inside.empty:  # an idle GPU's low clock is not a drop
        gpu_rows = inside[~inside["throttle_reasons"].astype(str).str.contains("gpu_idle")]
    gpu_start, gpu_min, gpu_drop = _clock(gpu_rows, "gpu_clock_mhz")
    verdicts = [bool(v) for v in inside.get("throttled", pd.Series(dtype=object)) if v is not None and v == v]
    reasons: list[str] = []
    for cell in inside.get("throttle_reasons", []):
        reasons += [r for r in _split(cell) if r not in reasons]
    history_before = set((start or {}).get("throttle_history") or [])
    history_new = [h for h in (end or {}).get("throttle_history") or [] if h not in history_before]
    return {
        "start_unix_s": float(start_unix_s),
        "end_unix_s": float(end_unix_s),
        "samples": int(len(inside)),
        "basis": basis,
        "max_temp_c": float(temps.max()) if not temps.empty else None,
        "clock_start_mhz": clock_start,
        "clock_min_mhz": clock_min,
        "clock_drop_pct": drop,
        "gpu_clock_start_mhz": gpu_start,
        "gpu_clock_min_mhz": gpu_min,
        "gpu_clock_drop_pct": gpu_drop,
        "throttled": any(verdicts) if verdicts else None,
        "throttle_reasons": [r for r in reasons if is_throttling_reason(r)],
        "other_clock_reasons": [r for r in reasons if not is_throttling_reason(r)],
        "throttle_history_new": history_new,
    }


def flag_text(window: Mapping[str, Any] | None, has_temperature: bool, has_clock: bool | None = None) -> str:
    """The report's one-line thermal verdict for a run.

    Args:
        window: :func:`summarize_window`'s result (``None``: nothing was recorded).
        has_temperature: Whether any temperature sensor was available.
        has_clock: Whether a clock was read; default: whether the window has one.

    Returns:
        ``"throttled (<reasons>)"`` and/or ``"clock dropped N% during the measured
        window"`` (joined by ``"; "``), else ``"ok"``; ``"no thermal sensor: clock
        only"`` is added when there was a clock and no temperature, and a run
        with neither reads ``"no thermal or clock source"``.
    """
    if window is None:
        return "no thermal record (run made before thermal recording, or no measured window)"
    if has_clock is None:
        has_clock = window.get("clock_start_mhz") is not None or window.get("gpu_clock_start_mhz") is not None
    if not has_temperature and not has_clock:
        return "no thermal or clock source"
    parts = []
    reasons = list(window.get("throttle_reasons") or [])
    if window.get("throttled") and reasons:
        parts.append(f"throttled ({', '.join(reasons)})")
    elif window.get("throttled"):
        parts.append("throttled")
    elif window.get("throttle_history_new"):
        parts.append(f"throttled during the run ({', '.join(window['throttle_history_new'])})")
    for label, key in (("clock", "clock_drop_pct"), ("GPU clock", "gpu_clock_drop_pct")):
        drop = window.get(key)
        if drop is not None and drop >= CLOCK_DROP_FLAG_PCT:
            parts.append(f"{label} dropped {drop:.0f}% during the measured window")
    if not has_temperature:
        parts.append("no thermal sensor: clock only")
    return "; ".join(parts) if parts else "ok"
