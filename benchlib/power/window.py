"""The energy of one window from the samples around it: a :class:`~benchlib.power.measurement.Measurement`.

A pure computation, no thread and no clock: :class:`~benchlib.power.sampler.PowerSampler`
copies the samples around a window (:class:`WindowSamples`) and hands them here.

Power samples are integrated with the trapezoid rule, the power at each edge
interpolated between the samples around it; a gap between samples longer than
``max_gap_s`` makes the window invalid (the power in it is unknown). Cumulative
energy (an unwrapped counter) is differenced, interpolated at the edges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchlib.power.base import PowerReader
from benchlib.power.integrate import interpolate_at, trapezoid_window_j
from benchlib.power.measurement import METHOD_COUNTER, METHOD_TRAPEZOID, Measurement

__all__ = ["WindowSamples", "uncovered_problem", "window_measurement"]


@dataclass(frozen=True)
class WindowSamples:
    """The samples around one window, copied from a sampler.

    Attributes:
        perf_s: ``perf_counter`` time of each sample, seconds, increasing: the
            last sample at or before the window's start through the first at or
            after its end (when they exist).
        unix_s: Wall-clock time of the same samples, Unix seconds.
        values: Power, watts (a power reader), or cumulative energy, joules (a counter).
        is_counter: ``values`` are cumulative energy.
        first_perf_s: The sampler's first sample overall, ``perf_counter`` seconds
            (``nan`` before the first).
    """

    perf_s: np.ndarray
    unix_s: np.ndarray
    values: np.ndarray
    is_counter: bool
    first_perf_s: float


def uncovered_problem(state: str, problem: str | None, reader_name: str, end_timeout_s: float) -> str:
    """Why no sample covers a window's end, from the sampler's state.

    Args:
        state: The sampler's state (``"new"``, ``"running"``, ``"stopped"``, ``"failed"``).
        problem: Why it failed, if it did.
        reader_name: The reader's name.
        end_timeout_s: How long the sampler waited for a sample after the end, seconds.
    """
    if state == "new":
        return "the sampler was never started; call start() before measuring"
    if state == "failed":
        return f"{problem}; no good sample covers the end of the window"
    if state == "stopped":
        return "the sampler was stopped before the window ended; end windows before stop()"
    return (
        f"no reading from {reader_name} within {end_timeout_s:g} s after the window "
        "ended: the sensor stopped responding"
    )


def _to_unix(perf_s: float, samples: WindowSamples, fallback_unix_minus_perf_s: float) -> float:
    """Wall-clock time for a ``perf_counter`` time, from the nearest samples' clock pairs."""
    if len(samples.perf_s) == 0:
        return perf_s + fallback_unix_minus_perf_s
    offsets = samples.unix_s - samples.perf_s
    return perf_s + float(np.interp(perf_s, samples.perf_s, offsets))


def window_measurement(
    name: str,
    reader: PowerReader,
    samples: WindowSamples,
    start_perf_s: float,
    end_perf_s: float,
    *,
    start_unix_s: float | None,
    end_unix_s: float | None,
    uncovered_problem: str | None,
    max_gap_s: float,
    fallback_unix_minus_perf_s: float,
) -> Measurement:
    """The energy between two ``perf_counter`` times from the samples around them.

    Args:
        name: Name for the measurement.
        reader: The reader that took the samples (its name, boundary and kind are recorded).
        samples: The samples around the window.
        start_perf_s: Window start, ``time.perf_counter()`` seconds.
        end_perf_s: Window end, same clock; not before the start.
        start_unix_s: The start's wall-clock time, Unix seconds; ``None``
            converts ``start_perf_s`` through the samples' clock pairs.
        end_unix_s: The end's wall-clock time, likewise.
        uncovered_problem: Why no sample covers the window's end, or ``None``
            when one does (the sampler knows: stopped, failed, timed out).
        max_gap_s: For power samples, the largest gap allowed inside the window, seconds.
        fallback_unix_minus_perf_s: Wall clock minus ``perf_counter``, seconds,
            for converting times when there is no sample.

    Returns:
        The window's :class:`Measurement`; ``valid=False`` with the reason when
        the samples do not cover the window.
    """
    perf, values = samples.perf_s, samples.values
    is_counter = samples.is_counter
    duration_s = end_perf_s - start_perf_s
    inside = int(np.count_nonzero((perf >= start_perf_s) & (perf <= end_perf_s)))
    common: dict[str, Any] = {
        "name": name,
        "duration_s": duration_s,
        "source": reader.name,
        "boundary": reader.boundary,
        "kind": reader.kind,
        "start_unix_s": _to_unix(start_perf_s, samples, fallback_unix_minus_perf_s) if start_unix_s is None else start_unix_s,
        "end_unix_s": _to_unix(end_perf_s, samples, fallback_unix_minus_perf_s) if end_unix_s is None else end_unix_s,
        "start_perf_s": start_perf_s,
        "end_perf_s": end_perf_s,
        "method": METHOD_COUNTER if is_counter else METHOD_TRAPEZOID,
    }

    def invalid(why: str) -> Measurement:
        return Measurement.invalid(problem=why, samples=inside, **common)

    if uncovered_problem is not None:
        return invalid(uncovered_problem)
    if len(perf) == 0 or perf[0] > start_perf_s:
        return invalid(
            f"the window starts before the first sample (at perf {samples.first_perf_s:.3f} s); "
            "begin windows after start()"
        )
    if not is_counter and len(perf) > 1:
        gap = float(np.max(np.diff(perf)))
        if gap > max_gap_s:
            return invalid(
                f"{reader.name} gave no reading for {gap:.2f} s inside the window "
                f"(limit {max_gap_s:g} s): the power in that gap is unknown"
            )
    if is_counter:
        energy_j = interpolate_at(perf, values, end_perf_s) - interpolate_at(perf, values, start_perf_s)
    else:
        energy_j, _ = trapezoid_window_j(perf, values, start_perf_s, end_perf_s)
    if duration_s > 0:
        mean_power_w = energy_j / duration_s
    elif is_counter:
        mean_power_w = math.nan
    else:
        mean_power_w = interpolate_at(perf, values, start_perf_s)
    return Measurement(energy_j=energy_j, mean_power_w=mean_power_w, samples=inside, **common)
