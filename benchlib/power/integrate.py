"""Turning samples into joules: trapezoids over power, differences of counters.

Pure functions and one small state machine (:class:`CounterUnwrapper`); no
threads and no sensors, so the arithmetic is tested on its own.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from benchlib.power.errors import CounterError, PowerError

__all__ = [
    "CounterUnwrapper",
    "counter_delta_j",
    "interpolate_at",
    "trapezoid_window_j",
]


def interpolate_at(times_s: np.ndarray, values: np.ndarray, t_s: float) -> float:
    """Linear interpolation of ``values`` (sampled at increasing ``times_s``) at ``t_s``.

    Raises:
        PowerError: ``t_s`` lies outside the sampled span (no extrapolation).
    """
    if len(times_s) == 0 or t_s < times_s[0] or t_s > times_s[-1]:
        span = "no samples" if len(times_s) == 0 else f"{times_s[0]:.3f}..{times_s[-1]:.3f} s"
        raise PowerError(f"time {t_s:.3f} s is outside the sampled span ({span}); cannot interpolate")
    return float(np.interp(t_s, times_s, values))


def trapezoid_window_j(
    times_s: np.ndarray, power_w: np.ndarray, start_s: float, end_s: float
) -> tuple[float, int]:
    """Energy over ``[start_s, end_s]`` from power samples: trapezoid rule, edges interpolated.

    The power at each window edge is interpolated linearly between the two
    samples around it; the samples strictly inside the window and the two
    edge points are then integrated with the trapezoid rule.

    Args:
        times_s: Sample times, seconds, increasing (one clock, e.g. ``perf_counter``).
        power_w: Power at each sample time, watts.
        start_s: Window start on the same clock, seconds.
        end_s: Window end on the same clock, seconds; ``>= start_s``.

    Returns:
        ``(energy_j, samples_inside)``: joules, and the number of samples with
        ``start_s <= t <= end_s``.

    Raises:
        PowerError: The samples do not cover the window, or ``end_s < start_s``.
    """
    if end_s < start_s:
        raise PowerError(f"window ends ({end_s:.6f} s) before it starts ({start_s:.6f} s)")
    times_s = np.asarray(times_s, dtype=float)
    power_w = np.asarray(power_w, dtype=float)
    p_start = interpolate_at(times_s, power_w, start_s)
    p_end = interpolate_at(times_s, power_w, end_s)
    inside = (times_s > start_s) & (times_s < end_s)
    t = np.concatenate(([start_s], times_s[inside], [end_s]))
    p = np.concatenate(([p_start], power_w[inside], [p_end]))
    energy_j = float(np.sum((p[1:] + p[:-1]) * np.diff(t)) / 2.0)
    samples_inside = int(np.count_nonzero((times_s >= start_s) & (times_s <= end_s)))
    return energy_j, samples_inside


def counter_delta_j(
    previous_j: float,
    current_j: float,
    *,
    range_j: float | None,
    interval_s: float,
    max_plausible_power_w: float,
    counter: str = "counter",
) -> float:
    """Energy between two readings of a cumulative counter, handling one wrap-around.

    A counter that steps backwards has wrapped when the reader knows its range
    and the energy the wrap implies (``current + range - previous``) is
    plausible: its mean power over the interval is at most
    ``max_plausible_power_w``. Otherwise the step is an error, never zero.

    Args:
        previous_j: Earlier raw reading, joules.
        current_j: Later raw reading, joules.
        range_j: Counter value at which it wraps to zero, joules; ``None`` if unknown.
        interval_s: Time between the readings, seconds.
        max_plausible_power_w: Largest believable mean power, watts.
        counter: Counter name for the error message.

    Returns:
        Joules consumed between the readings (``>= 0``).

    Raises:
        CounterError: The counter went backwards without a plausible wrap.
    """
    delta = current_j - previous_j
    if delta >= 0:
        return delta
    back = f"{counter} went backwards from {previous_j:.6f} J to {current_j:.6f} J"
    if range_j is None:
        raise CounterError(
            f"{back} and its wrap-around range is unknown; the sensor was reset or is "
            "misbehaving, so this interval's energy cannot be known. Re-run the measurement."
        )
    wrapped = delta + range_j
    implied_w = wrapped / interval_s if interval_s > 0 else math.inf
    if wrapped < 0 or implied_w > max_plausible_power_w:
        raise CounterError(
            f"{back}; a wrap at its range of {range_j:.6f} J would mean {wrapped:.3f} J in "
            f"{interval_s:.3f} s ({implied_w:.3g} W, above the plausible {max_plausible_power_w:g} W), "
            "so it is not a wrap: the counter was reset or is misbehaving. Re-run the measurement."
        )
    return wrapped


class CounterUnwrapper:
    """Turns successive raw readings of several counters into one cumulative energy.

    Args:
        range_j: Per counter, wrap range in joules (``None``: no wrap expected).
        max_plausible_power_w: Per counter, largest believable mean power, watts.
    """

    def __init__(self, range_j: Mapping[str, float | None], max_plausible_power_w: float) -> None:
        self._range_j = dict(range_j)
        self._max_power_w = max_plausible_power_w
        self._previous: dict[str, float] | None = None
        self._previous_s = 0.0
        self.total_j = 0.0
        """Cumulative energy since the first reading, joules."""

    def update(self, raw_j: Mapping[str, float], t_s: float) -> float:
        """Add one reading taken at ``t_s`` (seconds); return the cumulative energy in joules.

        Raises:
            CounterError: A counter went backwards implausibly, or the set of
                counters changed between readings.
        """
        if self._previous is None:
            self._previous = dict(raw_j)
            self._previous_s = t_s
            return self.total_j
        if set(raw_j) != set(self._previous):
            raise CounterError(
                f"the counters changed between readings ({sorted(self._previous)} -> "
                f"{sorted(raw_j)}); a device disappeared. Re-run the measurement."
            )
        interval_s = t_s - self._previous_s
        step = 0.0
        for name, value in raw_j.items():
            step += counter_delta_j(
                self._previous[name],
                value,
                range_j=self._range_j.get(name),
                interval_s=interval_s,
                max_plausible_power_w=self._max_power_w,
                counter=name,
            )
        self._previous = dict(raw_j)
        self._previous_s = t_s
        self.total_j += step
        return self.total_j
