"""A rate search's level: the fleet is ceil(rate / sustainable rate), its latencies as measured, nothing simulated."""

from __future__ import annotations

import numpy as np

from benchlib.decision.load_capacity import best_sizing, size_level
from benchlib.decision.serving import LoadLevel


def _level(rate_rps: float | None, ttft_s: float = 0.2, slots: int = 3) -> LoadLevel:
    ttft = np.full(100, ttft_s)
    ttft[-3:] = 2.0  # 3% of the requests waited long: the p95 is still ttft_s
    tpot = np.full(100, 0.01)
    return LoadLevel(slots, "r12", ttft, tpot, ttft + tpot * 63, measured_rate_rps=rate_rps)


def test_the_fleet_is_the_rate_over_the_sustained_rate_rounded_up():
    level = _level(10.0)
    targets = {"ttft_s": 0.5}
    assert size_level(level, 25.0, targets, 0.95).devices == 3
    assert size_level(level, 30.0, targets, 0.95).devices == 3  # exactly three devices' worth
    assert size_level(level, 30.5, targets, 0.95).devices == 4
    assert size_level(level, 0.5, targets, 0.95).devices == 1


def test_its_latencies_are_the_measured_ones_checked_at_the_targets_quantile():
    sizing = size_level(_level(10.0), 25.0, {"ttft_s": 0.5}, 0.95)
    assert sizing.stats is None  # nothing simulated
    assert sizing.achieved_s["ttft_s"] == 0.2
    assert sizing.meets
    assert sizing.attainment == 0.97
    stricter = size_level(_level(10.0), 25.0, {"ttft_s": 0.5}, 0.99)
    assert stricter.achieved_s["ttft_s"] == 2.0 and not stricter.meets


def test_the_capacity_is_the_sustained_rate_and_scales_with_speed():
    level = _level(10.0)
    assert level.requests_per_s == 10.0
    faster = level.scaled(2.0)
    assert faster.requests_per_s == 20.0
    assert size_level(faster, 25.0, {"ttft_s": 0.5}, 0.95).devices == 2
    assert _level(None).requests_per_s == 3 / float(np.mean(_level(None).service_s))


def test_among_levels_the_fewest_devices_wins():
    measured = _level(10.0)
    one_stream = LoadLevel(1, "c1", np.full(50, 0.2), np.full(50, 0.01), np.full(50, 0.2 + 0.63))
    best = best_sizing([one_stream, measured], 25.0, {"ttft_s": 0.5}, 0.95)
    assert best.level is measured and best.devices == 3
