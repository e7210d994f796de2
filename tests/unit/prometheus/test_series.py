"""Energy from Prometheus series: counters with resets bridged, gauges with gaps refused."""

from __future__ import annotations

import numpy as np
import pytest

from benchlib.power.errors import PowerError
from benchlib.prometheus.series import SeriesSamples, bridge_reset_j, series_window_energy, unreset_counter


def counter(times, values, **labels) -> SeriesSamples:
    return SeriesSamples({"__name__": "energy_joules_total", **labels}, np.asarray(times, float), np.asarray(values, float))


def test_counter_difference_interpolates_the_edges():
    times = np.arange(0.0, 11.0)  # a 5 W machine scraped every second
    one = counter(times, 1000 + 5 * times)
    energy = series_window_energy([one], "energy", 2.5, 7.25, max_gap_s=5)
    assert energy.energy_j == pytest.approx(5 * 4.75)
    assert energy.samples == 5 and energy.counter_resets == 0


def test_a_reset_mid_window_is_bridged_from_the_neighbouring_power():
    times = np.arange(0.0, 11.0)
    values = 5 * times
    values[6:] = 5 * (times[6:] - 5.6)  # the exporter restarted at t = 5.6 s and counts from zero
    energy = series_window_energy([counter(times, values)], "energy", 1.0, 9.0, max_gap_s=5)
    assert energy.energy_j == pytest.approx(40.0)  # 8 s at 5 W, as if nothing had happened
    assert energy.counter_resets == 1 and energy.bridged_s == pytest.approx(1.0)


def test_a_bridge_is_never_less_than_what_the_counter_holds_after_the_reset():
    assert bridge_reset_j(after_reset_j=3.0, interval_s=1.0, neighbour_power_w=1.0) == 3.0
    assert bridge_reset_j(after_reset_j=0.5, interval_s=2.0, neighbour_power_w=1.0) == 2.0
    assert bridge_reset_j(after_reset_j=0.5, interval_s=2.0, neighbour_power_w=None) == 0.5


def test_a_reset_across_a_long_gap_is_refused_not_guessed():
    times = np.array([0.0, 1.0, 2.0, 30.0, 31.0])
    values = np.array([0.0, 5.0, 10.0, 2.0, 7.0])
    with pytest.raises(PowerError, match="reset .* gap of 28.0 s"):
        series_window_energy([counter(times, values)], "energy", 0.5, 30.5, max_gap_s=5)


def test_a_counter_gap_without_reset_is_exact():
    times = np.array([0.0, 1.0, 20.0, 21.0])
    energy = series_window_energy([counter(times, 5 * times)], "energy", 0.0, 21.0, max_gap_s=5)
    assert energy.energy_j == pytest.approx(105.0)


def test_series_are_summed_and_each_must_cover_the_window():
    times = np.arange(0.0, 11.0)
    gpu0, gpu1 = counter(times, 70 * times, gpu="0"), counter(times, 30 * times, gpu="1")
    assert series_window_energy([gpu0, gpu1], "energy", 1, 3, max_gap_s=5).energy_j == pytest.approx(200.0)
    late = counter(times + 4, 30 * times, gpu="2")
    with pytest.raises(PowerError, match=r'gpu="2".*does not cover the window'):
        series_window_energy([gpu0, late], "energy", 1, 3, max_gap_s=5)


def test_a_gauge_is_integrated_and_a_gap_makes_it_invalid():
    times = np.arange(0.0, 11.0)
    gauge = SeriesSamples({"__name__": "power_watts"}, times, 4 + times)
    assert series_window_energy([gauge], "power", 0, 10, max_gap_s=2).energy_j == pytest.approx(90.0)
    holed = SeriesSamples({"__name__": "power_watts"}, np.array([0.0, 1.0, 9.0, 10.0]), np.full(4, 5.0))
    with pytest.raises(PowerError, match="gap of 8.0 s"):
        series_window_energy([holed], "power", 0, 10, max_gap_s=2)


def test_unreset_counter_never_decreases():
    times = np.arange(0.0, 8.0)
    raw = np.array([0, 2, 4, 6, 1, 3, 0, 2], dtype=float)
    cumulative, resets = unreset_counter(times, raw)
    assert np.all(np.diff(cumulative) >= 0) and resets.sum() == 2
    assert cumulative[-1] == pytest.approx(14.0)


def test_no_series_and_bad_quantity_are_errors():
    with pytest.raises(PowerError, match="no series"):
        series_window_energy([], "energy", 0, 1, max_gap_s=1)
    with pytest.raises(PowerError, match="quantity must be"):
        series_window_energy([counter([0, 1], [0, 1])], "volts", 0, 1, max_gap_s=1)
