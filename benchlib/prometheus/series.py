"""Energy over a window from Prometheus time series: counters (resets bridged) and gauges (gaps refused).

Pure functions over arrays, no HTTP, so the arithmetic is tested on its own.

A Prometheus counter restarts from zero when its exporter restarts or its
sensor counter wraps. In the interval where that happens, the energy is at
least what the counter holds after the reset (it counted from zero since),
and on a steady machine about the power of the neighbouring intervals times
the interval; :func:`bridge_reset_j` takes the larger. A reset inside an
interval longer than ``max_gap_s`` is not bridged: the energy there is
unknown, and the window is invalid (never zero).

A gauge (power in watts) is integrated with the trapezoid rule, edges
interpolated; a gap between samples longer than ``max_gap_s`` inside the
window makes it invalid.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from benchlib.power.errors import PowerError
from benchlib.power.integrate import trapezoid_window_j

__all__ = ["SeriesSamples", "WindowEnergy", "bridge_reset_j", "series_key", "series_window_energy", "unreset_counter"]


@dataclass(frozen=True)
class SeriesSamples:
    """One time series: its labels, sample times and values in SI units.

    Attributes:
        labels: The series' labels (``__name__`` included when known).
        times_s: Sample times, Unix seconds on the clock that stamped them, increasing.
        values: Joules for a counter, watts for a gauge.
    """

    labels: dict[str, str]
    times_s: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        times = np.asarray(self.times_s, dtype=float)
        values = np.asarray(self.values, dtype=float)
        if times.shape != values.shape:
            raise ValueError(f"times ({times.shape}) and values ({values.shape}) differ in shape")
        object.__setattr__(self, "times_s", times)
        object.__setattr__(self, "values", values)

    @property
    def key(self) -> str:
        """The series as PromQL writes it: ``name{label="value",...}``."""
        return series_key(self.labels.get("__name__", ""), {k: v for k, v in self.labels.items() if k != "__name__"})


def series_key(name: str, labels: dict[str, str]) -> str:
    """One series as PromQL writes it, labels sorted: ``name{label="value",...}``."""
    return name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


@dataclass(frozen=True)
class WindowEnergy:
    """Energy over one window, summed over series.

    Attributes:
        energy_j: Joules.
        samples: Samples inside the window, over all series.
        counter_resets: Counter resets inside the window (bridged).
        bridged_s: Seconds of the window whose energy was bridged across a reset.
        series: The keys of the series summed.
    """

    energy_j: float
    samples: int
    counter_resets: int = 0
    bridged_s: float = 0.0
    series: tuple[str, ...] = field(default_factory=tuple)


def bridge_reset_j(after_reset_j: float, interval_s: float, neighbour_power_w: float | None) -> float:
    """Energy over an interval in which a counter reset, joules.

    Args:
        after_reset_j: What the counter holds after the reset (it counted from zero since).
        interval_s: The interval between the samples before and after the reset, seconds.
        neighbour_power_w: Mean power of the neighbouring intervals without a reset, watts
            (``None`` when there is none).

    Returns:
        The larger of ``after_reset_j`` and ``neighbour_power_w * interval_s``.
    """
    estimate_j = neighbour_power_w * interval_s if neighbour_power_w is not None and math.isfinite(neighbour_power_w) else 0.0
    return max(after_reset_j, estimate_j)


def unreset_counter(times_s: np.ndarray, values_j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative energy of a counter with its resets bridged.

    Args:
        times_s: Sample times, seconds, increasing.
        values_j: Raw counter values, joules.

    Returns:
        ``(cumulative_j, reset_after)``: joules since the first sample at each
        sample (never decreasing), and for each interval whether it held a reset.
    """
    times_s = np.asarray(times_s, dtype=float)
    values_j = np.asarray(values_j, dtype=float)
    if len(times_s) < 2:
        return np.zeros(len(times_s)), np.zeros(max(len(times_s) - 1, 0), dtype=bool)
    steps_j = np.diff(values_j)
    intervals_s = np.diff(times_s)
    resets = steps_j < 0
    with np.errstate(divide="ignore", invalid="ignore"):
        rates_w = np.where(~resets & (intervals_s > 0), steps_j / intervals_s, np.nan)
    for i in np.flatnonzero(resets):
        prior = rates_w[:i][~np.isnan(rates_w[:i])]
        later = rates_w[i + 1 :][~np.isnan(rates_w[i + 1 :])]
        neighbours = ([prior[-1]] if len(prior) else []) + ([later[0]] if len(later) else [])
        neighbour_w = float(np.mean(neighbours)) if neighbours else None
        steps_j[i] = bridge_reset_j(values_j[i + 1], intervals_s[i], neighbour_w)
    return np.concatenate(([0.0], np.cumsum(steps_j))), resets


def _check_covers(series: SeriesSamples, start_s: float, end_s: float) -> None:
    times = series.times_s
    if len(times) == 0:
        raise PowerError(f"the series {series.key} has no samples around the window")
    if times[0] > start_s or times[-1] < end_s:
        raise PowerError(
            f"the series {series.key} does not cover the window: it has samples from {times[0]:.3f} to "
            f"{times[-1]:.3f} (Unix s), the window is {start_s:.3f} to {end_s:.3f}; "
            "the exporter was not scraped for the whole window (or the clock offset is wrong)"
        )


def _covering(series: SeriesSamples, start_s: float, end_s: float) -> slice:
    """The samples from the last one at or before ``start_s`` to the first one at or after ``end_s``."""
    first = int(np.searchsorted(series.times_s, start_s, side="right")) - 1
    last = int(np.searchsorted(series.times_s, end_s, side="left"))
    return slice(max(first, 0), last + 1)


def _check_gaps(times_s: np.ndarray, max_gap_s: float, key: str, what: str) -> None:
    if len(times_s) < 2:
        return
    gaps = np.diff(times_s)
    worst = int(np.argmax(gaps))
    if gaps[worst] > max_gap_s:
        raise PowerError(
            f"the series {key} has a gap of {gaps[worst]:.1f} s (from {times_s[worst]:.3f} Unix s) inside the window, "
            f"longer than max_gap_s = {max_gap_s:g} s: {what} there is unknown"
        )


def _counter_energy(series: SeriesSamples, start_s: float, end_s: float, max_gap_s: float) -> WindowEnergy:
    part = _covering(series, start_s, end_s)
    times, values = series.times_s[part], series.values[part]
    cumulative_j, resets = unreset_counter(times, values)
    if resets.any():
        reset_times = times[:-1][resets]
        reset_gaps = np.diff(times)[resets]
        if reset_gaps.max() > max_gap_s:
            raise PowerError(
                f"the counter {series.key} was reset (at about {reset_times[0]:.3f} Unix s) across a gap of "
                f"{reset_gaps.max():.1f} s, longer than max_gap_s = {max_gap_s:g} s: the energy there is unknown"
            )
    energy_j = float(np.interp(end_s, times, cumulative_j) - np.interp(start_s, times, cumulative_j))
    starts, ends = times[:-1][resets], times[1:][resets]
    bridged_s = float(np.sum(np.clip(np.minimum(ends, end_s) - np.maximum(starts, start_s), 0.0, None)))
    inside = int(np.count_nonzero((times >= start_s) & (times <= end_s)))
    return WindowEnergy(energy_j, inside, int(resets.sum()), bridged_s, (series.key,))


def _gauge_energy(series: SeriesSamples, start_s: float, end_s: float, max_gap_s: float) -> WindowEnergy:
    part = _covering(series, start_s, end_s)
    _check_gaps(series.times_s[part], max_gap_s, series.key, "the power")
    energy_j, inside = trapezoid_window_j(series.times_s, series.values, start_s, end_s)
    return WindowEnergy(energy_j, inside, series=(series.key,))


def series_window_energy(
    series: list[SeriesSamples], quantity: str, start_s: float, end_s: float, max_gap_s: float
) -> WindowEnergy:
    """Energy over ``[start_s, end_s]`` summed over ``series``.

    Args:
        series: The series (joules for ``energy``, watts for ``power``), on the window's clock.
        quantity: ``"energy"`` (counters) or ``"power"`` (gauges).
        start_s: Window start, seconds on the series' clock.
        end_s: Window end, seconds on the series' clock.
        max_gap_s: Longest gap between samples a gauge may have inside the window,
            and the longest interval across which a counter reset is bridged, seconds.

    Raises:
        PowerError: No series, a series that does not cover the window, a gap or
            an unbridgeable reset (the message says which series and when).
    """
    if quantity not in ("energy", "power"):
        raise PowerError(f"quantity must be 'energy' or 'power', got {quantity!r}")
    if not series:
        raise PowerError("no series to measure the window with")
    if end_s < start_s:
        raise PowerError(f"window ends ({end_s:.3f}) before it starts ({start_s:.3f})")
    measure = _counter_energy if quantity == "energy" else _gauge_energy
    parts = []
    for one in series:
        _check_covers(one, start_s, end_s)
        parts.append(measure(one, start_s, end_s, max_gap_s))
    return WindowEnergy(
        energy_j=sum(p.energy_j for p in parts),
        samples=sum(p.samples for p in parts),
        counter_resets=sum(p.counter_resets for p in parts),
        bridged_s=max(p.bridged_s for p in parts),
        series=tuple(k for p in parts for k in p.series),
    )
