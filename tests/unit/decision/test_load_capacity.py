"""Capacity under load: the fleet meeting the targets with its queue, checked against Erlang C and by hand."""

import numpy as np
import pytest

from benchlib.decision.capacity import check_targets
from benchlib.decision.load_capacity import best_sizing, size_level
from benchlib.decision.queueing import mmc_wait
from benchlib.decision.serving import LoadLevel, level_from_values

RATE_PER_S = 8.0


@pytest.fixture(scope="module")
def exponential_level() -> LoadLevel:
    """One slot, exponential service times of mean 1 s, first token at once: an M/M/c queue per device."""
    service_s = np.random.default_rng(1).exponential(1.0, 20_000)
    zeros = np.zeros(service_s.size)
    return LoadLevel(1, "c1", zeros, zeros, service_s)


def _erlang_fleet(limit_s: float) -> int:
    """The fewest M/M/c servers (mean service 1 s, 8 arrivals/s) whose p95 wait is within ``limit_s``, by Erlang C."""
    return next(c for c in range(9, 100) if mmc_wait(c, RATE_PER_S, 1.0).wait_quantile_s(0.95) <= limit_s)


@pytest.mark.parametrize(("limit_s", "expected"), [(1.6, 10), (0.37, 12)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_simulated_fleet_is_erlang_cs_for_exponential_service(exponential_level, limit_s, expected, seed):
    # Erlang C, 8 erlangs: p95 wait 2.57 s at 9 servers, 1.05 s at 10, 0.53 s at 11, 0.26 s at 12. Each limit
    # lies between two fleets, far enough from both that the seeded simulation agrees with the formula.
    assert _erlang_fleet(limit_s) == expected
    sizing = size_level(exponential_level, RATE_PER_S, {"ttft_s": limit_s}, 0.95, seed=seed)
    assert sizing.devices == expected and sizing.meets
    assert sizing.utilization == pytest.approx(RATE_PER_S / expected, rel=0.03)
    assert sizing.achieved_s["ttft_s"] <= limit_s  # TTFT includes the wait


def test_without_a_ttft_target_the_fleet_is_the_smallest_stable_one():
    # 10 requests/s of 0.4 s on one slot: 4 erlangs; 4 devices would be 100% busy and the queue would grow forever
    level = level_from_values(1, 0.4, 0.0, 1)
    sizing = size_level(level, 10.0, {}, 0.95)
    assert sizing.devices == 5 and sizing.utilization == pytest.approx(0.8, rel=0.02)


def test_a_level_missing_the_per_token_target_has_no_fleet_whatever_its_size():
    level = level_from_values(4, 0.05, 0.150, 10)
    sizing = size_level(level, 1.0, {"tpot_s": 0.1}, 0.95)
    assert sizing.devices is None and not sizing.meets
    (check,) = sizing.checks
    assert check.words == "misses p95 per-token latency: 150 ms > 100 ms (1.5x the limit)"


def test_the_level_needing_fewest_devices_wins_and_none_meeting_gives_the_closest():
    # per device: c1 20 ms/token 0.23 s a request (4.3/s); c4 90 ms 0.86 s (4.7/s); c8 200 ms misses 100 ms
    levels = [level_from_values(c, 0.05, tpot, 10, f"c{c}") for c, tpot in ((1, 0.020), (4, 0.090), (8, 0.200))]
    # both need 5 devices (c4: 17.2 erlangs on 20 slots; c1: 4.6 erlangs on 5): the tie goes to the lower TTFT
    # with the wait, and 20 slots at 86% busy queue less than 5 at 92%
    best = best_sizing(levels, 20.0, {"tpot_s": 0.1}, 0.95)
    assert (best.level.step, best.devices) == ("c4", 5)
    assert size_level(levels[0], 20.0, {"tpot_s": 0.1}, 0.95).devices == 5
    assert best.achieved_s["ttft_s"] < size_level(levels[0], 20.0, {"tpot_s": 0.1}, 0.95).achieved_s["ttft_s"]
    # a 4-slot device of c4's speed (4.65/s) beats c1's (4.35/s) outright at 60 requests/s
    assert best_sizing(levels, 60.0, {"tpot_s": 0.1}, 0.95).level.step == "c4"
    assert best_sizing(levels, 20.0, {"tpot_s": 0.01}, 0.95).level.step == "c1"  # misses least (2x)
    assert best_sizing([], 20.0, {}, 0.95) is None


def test_a_target_that_cannot_be_checked_is_not_known_and_a_miss_says_by_how_much():
    checks = check_targets({"ttft_s": float("nan"), "tpot_s": 0.4055}, {"ttft_s": 0.5, "tpot_s": 0.1})
    assert [c.status for c in checks] == ["not known", "misses"]
    assert checks[0].words == "p95 time to first token not known (target 500 ms)"
    assert checks[1].words == "misses p95 per-token latency: 405.5 ms > 100 ms (4.05x the limit)"
    (end_to_end,) = check_targets({"e2e_s": 1.85}, {"e2e_s": 1.8}, at="p99")
    assert end_to_end.words == "misses p99 end-to-end: 1.85 s > 1.8 s (1.03x the limit)"


def test_a_level_twice_as_fast_halves_its_latencies_and_their_predicted_intervals():
    level = level_from_values(4, 0.2, 0.05, 10, "c4", tpot_interval_s=(0.04, 0.08), ttft_interval_s=(0.1, 0.4))
    assert level.interval_s("ttft_s") == (0.1, 0.4) and level.interval_s("tpot_s") == (0.04, 0.08)
    assert all(np.isnan(level.interval_s("e2e_s")))  # no interval is predicted for it
    fast = level.scaled(2.0)
    assert (fast.ttft_s[0], fast.tpot_s[0]) == (0.1, 0.025)
    assert fast.interval_s("ttft_s") == (0.05, 0.2) and fast.interval_s("tpot_s") == (0.02, 0.04)
