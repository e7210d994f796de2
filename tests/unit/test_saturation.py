"""The over-saturation detector on scripted arrivals and completions (no server, no clock)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import linregress

from benchlib.errors import ParameterError
from benchlib.sweep.saturation import OverSaturationDetector


def _feed(detector: OverSaturationDetector, arrivals_s: list[float], completions_s: list[float],
          until_s: float) -> list[tuple[float, int]]:  # fmt: skip
    """Observe every arrival and completion up to ``until_s``, in time order, with the counts after it.

    Returns:
        (elapsed seconds, requests in flight) of every observation.
    """
    events = sorted([(t, 1, 0) for t in arrivals_s if t <= until_s]
                    + [(t, 0, 1) for t in completions_s if t <= until_s])  # fmt: skip
    issued = completed = 0
    observed = []
    for elapsed_s, arrived, finished in events:
        issued, completed = issued + arrived, completed + finished
        detector.observe(elapsed_s, issued, completed)
        observed.append((elapsed_s, issued - completed))
    return observed


def _arrivals(rate_rps: float, duration_s: float) -> list[float]:
    """Evenly spaced arrivals at ``rate_rps``."""
    return [(k + 1) / rate_rps for k in range(int(duration_s * rate_rps))]


def _fifo_server(arrivals_s: list[float], capacity_rps: float) -> list[float]:
    """Completion times of one queue served one request at a time, each taking 1 / capacity seconds."""
    completions, free_s = [], 0.0
    for arrival_s in arrivals_s:
        free_s = max(arrival_s, free_s) + 1 / capacity_rps
        completions.append(free_s)
    return completions


def test_a_server_that_keeps_up_holds_a_stable_queue():
    arrivals = _arrivals(8.0, 12.0)
    latencies = itertools.cycle([0.15, 0.35, 0.25, 0.2, 0.3])  # 0.25 s on average: about 2 in flight
    completions = [a + latency for a, latency in zip(arrivals, latencies)]
    detector = OverSaturationDetector(8.0)
    _feed(detector, arrivals, completions, until_s=12.0)
    verdict = detector.verdict()
    assert not verdict.saturated and verdict.reason is None
    assert verdict.in_flight_slope_per_s == pytest.approx(0.0, abs=0.1)
    assert verdict.achieved_over_offered == pytest.approx(1.0, abs=0.05)


def test_a_queue_that_grows_linearly_is_saturated():
    arrivals = _arrivals(8.0, 12.0)
    detector = OverSaturationDetector(8.0)
    _feed(detector, arrivals, _fifo_server(arrivals, capacity_rps=5.0), until_s=12.0)
    verdict = detector.verdict()
    assert verdict.saturated
    assert verdict.in_flight_slope_per_s == pytest.approx(3.0, rel=0.05)  # 8 arrive, 5 leave each second
    assert verdict.reason.startswith("requests in flight grew by 3/s (p=")
    assert verdict.reason.endswith("over 6.0 s: the server falls further behind the offered 8 req/s")


def test_a_fluctuation_of_many_requests_in_flight_is_not_a_trend():
    # Poisson arrivals at 8 req/s, each served in about 2 s on its own (no queue): about 16 in flight, and the
    # count drifts for seconds at a time. A plain least-squares test calls this drift a trend.
    rng = np.random.default_rng(4)
    arrivals = [float(t) for t in np.cumsum(rng.exponential(1 / 8, 200)) if t <= 12.0]
    completions = [a + float(rng.lognormal(np.log(2) - 0.125, 0.5)) for a in arrivals]
    detector = OverSaturationDetector(8.0)
    observed = _feed(detector, arrivals, completions, until_s=12.0)
    window = [(t, in_flight) for t, in_flight in observed if t >= observed[-1][0] / 2]  # the detector's window
    plain = linregress(*zip(*window), alternative="greater")
    assert plain.pvalue < 1e-10 and plain.slope * 6.0 > 4  # what the plain test would call saturated
    verdict = detector.verdict()
    assert not verdict.saturated and verdict.reason is None
    assert verdict.in_flight_slope_per_s == pytest.approx(plain.slope)


def test_a_short_step_is_not_judged():
    arrivals = _arrivals(8.0, 12.0)
    detector = OverSaturationDetector(8.0)
    _feed(detector, arrivals, _fifo_server(arrivals, capacity_rps=5.0), until_s=2.5)
    verdict = detector.verdict()
    assert not verdict.saturated and verdict.in_flight_slope_per_s is None and verdict.achieved_over_offered is None
    assert verdict.reason == "not judged yet: the step has run 2.5 s of the 3 s needed"


def test_too_few_observations_are_not_judged():
    arrivals = _arrivals(1.0, 12.0)  # a request a second; from 6 s to 12 s: 7 arrivals, 6 completions
    detector = OverSaturationDetector(1.0)
    _feed(detector, arrivals, [a + 0.5 for a in arrivals], until_s=12.0)
    verdict = detector.verdict()
    assert not verdict.saturated
    assert verdict.reason.startswith("not judged yet: 13 arrivals and completions in the last 6.0 s, 20 needed")


def test_nothing_is_judged_before_a_request_completed():
    arrivals = _arrivals(8.0, 12.0)  # requests of 30 s: in flight only rises within this step, whatever the server
    detector = OverSaturationDetector(8.0)
    _feed(detector, arrivals, [a + 30.0 for a in arrivals], until_s=12.0)
    verdict = detector.verdict()
    assert not verdict.saturated
    assert verdict.reason.startswith("not judged yet: no request completed in the first 6.0 s")


def test_a_queued_server_completing_too_few_is_saturated_by_its_rate():
    arrivals = _arrivals(8.0, 12.0)
    detector = OverSaturationDetector(8.0, min_growth_requests=1e9, slope_p_value=0.01)  # only the rate branch can fire
    _feed(detector, arrivals, _fifo_server(arrivals, capacity_rps=5.0), until_s=12.0)
    verdict = detector.verdict()
    assert verdict.saturated
    assert verdict.achieved_over_offered == pytest.approx(5 / 8, abs=0.03)
    assert verdict.reason == (
        "the server completed 5 req/s over the last 6.0 s (p=0.004), 62% of the offered 8 req/s, "
        "with requests queued throughout: it cannot keep up"
    )


def test_fewer_arrivals_than_offered_is_not_a_slow_server():
    arrivals = _arrivals(4.0, 12.0)  # half the offered 8 req/s arrived, each served in 0.1 s: the queue empties
    detector = OverSaturationDetector(8.0)
    _feed(detector, arrivals, [a + 0.1 for a in arrivals], until_s=12.0)
    verdict = detector.verdict()
    assert not verdict.saturated and verdict.reason is None
    assert verdict.achieved_over_offered == pytest.approx(0.5, abs=0.03)


def test_observations_out_of_order_are_refused():
    detector = OverSaturationDetector(2.0)
    detector.observe(1.0, 1, 0)
    with pytest.raises(ParameterError, match="time order"):
        detector.observe(0.5, 2, 0)
    with pytest.raises(ParameterError, match="between 0 and those issued"):
        detector.observe(1.5, 1, 2)
    with pytest.raises(ParameterError, match="positive number"):
        OverSaturationDetector(0.0)
