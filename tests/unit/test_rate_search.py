"""The adaptive rate search against scripted servers of known capacity (no I/O, no clock)."""

from __future__ import annotations

import json

import pytest

from benchlib.errors import ParameterError
from benchlib.sweep.rate_search import RateSearch, StepResult, start_rate_rps, time_budget_spent


def _run(search: RateSearch, capacity_rps: float) -> list[tuple[float, str]]:
    """Run the search against a server that passes a step iff its rate is at most ``capacity_rps``.

    Returns:
        (rate, phase) of every step, in order.
    """
    planned = []
    while (step := search.next_step()) is not None:
        planned.append((step.rate_rps, step.phase))
        passes = step.rate_rps <= capacity_rps
        reason = None if passes else f"{step.rate_rps:g} req/s is above the capacity"
        search.record(StepResult(step.rate_rps, passes, False, min(step.rate_rps, capacity_rps), reason))
    return planned


def test_the_start_rate_is_half_of_one_stream():
    assert start_rate_rps(0.2) == 2.5  # one stream: 5 req/s
    assert start_rate_rps(4.0) == 0.125
    with pytest.raises(ParameterError, match="positive number of seconds"):
        start_rate_rps(0.0)


def test_a_capacity_of_20_is_found_within_10_percent_from_2_5():
    search = RateSearch(2.5)
    planned = _run(search, capacity_rps=20.0)
    # ramp x2 to the first failure (40), then geometric means of the bracket, to 3 significant figures:
    # sqrt(20 * 40) = 28.3, sqrt(20 * 28.3) = 23.8, sqrt(20 * 23.8) = 21.8; (21.8 - 20) / 20 = 9% <= 10%
    assert planned == [(2.5, "ramp"), (5.0, "ramp"), (10.0, "ramp"), (20.0, "ramp"), (40.0, "ramp"),
                       (28.3, "bisect"), (23.8, "bisect"), (21.8, "bisect")]  # fmt: skip
    outcome = search.outcome()
    assert outcome.sustainable_rate_rps == 20.0
    assert outcome.interval_rps == (20.0, 21.8)
    assert outcome.stopped_because == "bracket narrower than 10%"
    assert [s.meets_targets for s in outcome.steps] == [True, True, True, True, False, False, False, False]


def test_a_capacity_between_ramp_steps_is_bracketed():
    search = RateSearch(2.5)
    planned = _run(search, capacity_rps=17.0)
    assert [rate for rate, _ in planned] == [2.5, 5.0, 10.0, 20.0, 14.1, 16.8, 18.3]
    low, high = search.outcome().interval_rps
    assert low <= 17.0 < high and (high - low) / low <= 0.1


def test_a_capacity_below_the_start_halves_down_then_bisects():
    search = RateSearch(2.5)
    planned = _run(search, capacity_rps=0.7)
    assert planned == [(2.5, "ramp"), (1.25, "ramp"), (0.625, "ramp"),
                       (0.884, "bisect"), (0.743, "bisect"), (0.681, "bisect")]  # fmt: skip
    outcome = search.outcome()
    assert outcome.sustainable_rate_rps == 0.681 and outcome.interval_rps == (0.681, 0.743)


def test_a_saturated_step_fails_even_when_it_meets_the_targets():
    search = RateSearch(4.0, max_steps=3)
    search.record(StepResult(4.0, True, False, 4.0, None))
    search.record(StepResult(8.0, True, True, 6.1, "requests in flight grew by 1.9/s"))
    assert search.next_step().rate_rps == pytest.approx(5.66)  # between 4 (passed) and 8 (saturated)


def test_the_step_limit_gives_the_bracket_so_far():
    search = RateSearch(2.5, max_steps=5)
    assert len(_run(search, capacity_rps=20.0)) == 5
    outcome = search.outcome()
    assert outcome.interval_rps == (20.0, 40.0) and outcome.sustainable_rate_rps == 20.0
    assert outcome.stopped_because == "the step limit (5) was reached: the threshold lies between 20 and 40 req/s"


def test_no_rate_met_the_targets():
    search = RateSearch(2.5, max_steps=4)
    assert [rate for rate, _ in _run(search, capacity_rps=0.01)] == [2.5, 1.25, 0.625, 0.3125]
    outcome = search.outcome()
    assert outcome.sustainable_rate_rps is None and outcome.interval_rps is None
    assert outcome.stopped_because == "no rate met the targets"


def test_the_highest_rate_still_passing():
    search = RateSearch(2.5, max_rate_rps=30.0)
    assert [rate for rate, _ in _run(search, capacity_rps=100.0)] == [2.5, 5.0, 10.0, 20.0, 30.0]
    outcome = search.outcome()
    assert outcome.sustainable_rate_rps == 30.0 and outcome.interval_rps is None
    assert outcome.stopped_because == "the highest rate tried (30 req/s) still met the targets"
    unbounded = RateSearch(2.5, max_steps=3)
    _run(unbounded, capacity_rps=100.0)
    assert unbounded.outcome().stopped_because == "the highest rate tried (10 req/s) still met the targets"


def test_the_caller_stops_for_time():
    search = RateSearch(2.5)
    search.record(StepResult(2.5, True, False, 2.5, None))
    outcome = search.outcome(time_budget_spent(600))
    assert outcome.stopped_because == "time budget of 600 s spent"
    assert outcome.sustainable_rate_rps == 2.5 and len(outcome.steps) == 1


def test_a_result_must_be_for_the_planned_step():
    search = RateSearch(2.5)
    with pytest.raises(ParameterError, match="expected a result for 2.5 req/s, got one for 3 req/s"):
        search.record(StepResult(3.0, True, False, 3.0, None))


def test_the_outcome_record_is_json():
    search = RateSearch(2.5, max_steps=2)
    search.record(StepResult(2.5, True, False, 2.4, None))
    search.record(StepResult(5.0, False, False, float("nan"), "every request failed"))
    record = search.outcome().to_record()
    assert json.loads(json.dumps(record, allow_nan=False)) == {
        "sustainable_rate_rps": 2.5,
        "interval_rps": [2.5, 5.0],
        "steps": [
            {"rate_rps": 2.5, "meets_targets": True, "saturated": False, "achieved_rps": 2.4, "reason": None},
            {"rate_rps": 5.0, "meets_targets": False, "saturated": False, "achieved_rps": None,
             "reason": "every request failed"},
        ],
        "stopped_because": "the step limit (2) was reached: the threshold lies between 2.5 and 5 req/s",
    }  # fmt: skip
