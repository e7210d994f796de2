"""Capacity under load: the fleet of one candidate that meets the targets at an arrival rate, with queueing.

For each load level of the candidate's serving curve (:mod:`benchlib.decision.serving`):

1. The TPOT target is checked at the level's quantile of per-request TPOT:
   queueing does not change it, so a level that misses it is out, whatever the fleet.
2. The fleet is the fewest devices whose M/G/c queue (``devices * slots``
   servers, service times drawn from the level's requests, seeded,
   :func:`benchlib.decision.queueing.size_fleet`) keeps the quantile of
   *wait + first token* within the TTFT target, and of *wait + service time*
   within the end-to-end target. With an SLO attainment, the share of requests
   within every limit at once must reach it instead.
3. Of the levels that can meet the targets, the one needing the fewest devices
   wins (ties: the lower TTFT with the wait, then the fewer slots).

The capacity a candidate is priced at is then its fleet at the peak hour's
arrival rate; utilization, and the wait at p50/p95, come from the same
simulation. Erlang C (M/M/c with the same mean) is reported as a check.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchlib.decision.capacity import TargetCheck, check_targets
from benchlib.decision.queueing import QueueStats, simulate_mgc, size_fleet
from benchlib.decision.serving import LoadLevel

__all__ = ["LoadSizing", "best_sizing", "size_level"]


@dataclass(frozen=True)
class LoadSizing:
    """A candidate's fleet at one arrival rate.

    Attributes:
        level: The load level each device runs at.
        rate_per_s: The arrival rate it is sized for, requests/s.
        devices: Devices or instances; ``None`` when no fleet meets the targets at this level.
        stats: The simulated queue at that fleet (``None`` without a fleet).
        achieved_s: At the targets' quantile: ``ttft_s`` (wait included), ``tpot_s``, ``e2e_s`` (wait included).
        checks: Each set target against them.
        attainment: Share of simulated requests within every set limit (NaN without a fleet).
    """

    level: LoadLevel
    rate_per_s: float
    devices: int | None
    stats: QueueStats | None
    achieved_s: dict[str, float]
    checks: tuple[TargetCheck, ...]
    attainment: float

    @property
    def meets(self) -> bool:
        """True when a fleet exists and every set target is met."""
        return self.devices is not None and all(check.status == "meets" for check in self.checks)

    @property
    def utilization(self) -> float:
        """Busy share of the fleet's slots at this rate (NaN without a fleet)."""
        return self.stats.utilization if self.stats is not None else float("nan")

    @property
    def wait_p50_s(self) -> float:
        """Median queue wait, s (NaN without a fleet)."""
        return self.stats.wait_p50_s if self.stats is not None else float("nan")

    @property
    def wait_p95_s(self) -> float:
        """95th-percentile queue wait, s (NaN without a fleet)."""
        return self.stats.wait_p95_s if self.stats is not None else float("nan")


def _without_queue(level: LoadLevel, rate: float, targets: dict[str, float], quantile: float) -> LoadSizing:
    achieved = {"ttft_s": level.quantile_s("ttft_s", quantile), "tpot_s": level.quantile_s("tpot_s", quantile),
                "e2e_s": level.quantile_s("service_s", quantile)}  # fmt: skip
    return LoadSizing(level, rate, None, None, achieved, check_targets(achieved, targets, _at(quantile)), float("nan"))


def size_level(level: LoadLevel, rate_per_s: float, targets: dict[str, float], quantile: float, *,
               attainment: float | None = None, seed: int = 0, devices: int | None = None) -> LoadSizing:  # fmt: skip
    """The fleet of ``level`` devices meeting ``targets`` at ``rate_per_s`` (or the given ``devices``, simulated).

    Args:
        level: The load level.
        rate_per_s: Poisson arrival rate, requests/s.
        targets: Set limits by ``ttft_s``, ``tpot_s``, ``e2e_s``, seconds.
        quantile: The quantile each limit is checked at (an attainment's share when ``attainment`` is set).
        attainment: Least share of requests within every limit at once, or ``None``.
        seed: Of the simulation.
        devices: Simulate this fleet instead of searching for the smallest.
    """
    tpot_limit = targets.get("tpot_s")
    if tpot_limit is not None and level.quantile_s("tpot_s", quantile) > tpot_limit:
        return _without_queue(level, rate_per_s, targets, quantile)  # no fleet lowers a per-token time
    if level.measured_rate_rps is not None:
        return _measured_fleet(level, rate_per_s, targets, quantile, devices)
    if devices is None:
        needed = []
        for metric, first_s in (("ttft_s", level.ttft_s), ("e2e_s", level.service_s)):
            if metric == "ttft_s" or metric in targets:
                fleet = size_fleet(rate_per_s, level.slots, level.service_s, first_s, ttft_limit_s=targets.get(metric),
                                   quantile=quantile, tpot_s=level.tpot_s, tpot_limit_s=tpot_limit,
                                   min_attainment=attainment, seed=seed)  # fmt: skip
                if fleet is None:
                    return _without_queue(level, rate_per_s, targets, quantile)
                needed.append(fleet.devices)
        devices = max(needed)
    stats = simulate_mgc(rate_per_s, devices * level.slots, level.service_s, seed=seed)
    achieved = {"ttft_s": stats.first_token_quantile_s(level.ttft_s, quantile),
                "tpot_s": level.quantile_s("tpot_s", quantile),
                "e2e_s": stats.first_token_quantile_s(level.service_s, quantile)}  # fmt: skip
    share = stats.attainment(level.ttft_s, targets.get("ttft_s"), level.tpot_s, tpot_limit)
    return LoadSizing(level, rate_per_s, devices, stats, achieved, check_targets(achieved, targets, _at(quantile)), share)


def _measured_fleet(level: LoadLevel, rate_per_s: float, targets: dict[str, float], quantile: float,
                    devices: int | None) -> LoadSizing:  # fmt: skip
    """A rate search's level: ``ceil(rate / sustainable rate)`` devices, each at most at the rate it was measured at.

    Its latencies are those measured at the sustainable rate, queue included: a device of the fleet
    sees that rate or less, so they bound what it gives from above. Nothing is simulated.
    """
    capacity = float(level.measured_rate_rps)
    fleet = devices if devices is not None else max(1, math.ceil(rate_per_s / capacity - 1e-9))
    achieved = {"ttft_s": level.quantile_s("ttft_s", quantile), "tpot_s": level.quantile_s("tpot_s", quantile),
                "e2e_s": level.quantile_s("service_s", quantile)}  # fmt: skip
    limits = {"ttft_s": level.ttft_s, "tpot_s": level.tpot_s, "e2e_s": level.service_s}
    within = np.ones(level.ttft_s.shape, dtype=bool)
    for metric, limit in targets.items():
        within &= limits[metric] <= limit
    checks = check_targets(achieved, targets, _at(quantile))
    return LoadSizing(level, rate_per_s, fleet, None, achieved, checks, float(np.mean(within)) if within.size else float("nan"))


def best_sizing(levels: list[LoadLevel], rate_per_s: float, targets: dict[str, float], quantile: float, *,
                attainment: float | None = None, seed: int = 0) -> LoadSizing | None:  # fmt: skip
    """The level needing the fewest devices to meet the targets at ``rate_per_s``; else the one missing least.

    Returns:
        ``None`` without levels. When no level can meet the targets, the sizing of the
        level whose TPOT comes closest (its checks say what it misses).
    """
    if not levels:
        return None
    sized = [size_level(level, rate_per_s, targets, quantile, attainment=attainment, seed=seed) for level in levels]
    meeting = [s for s in sized if s.meets]
    if meeting:
        return min(meeting, key=lambda s: (s.devices, s.achieved_s["ttft_s"], s.level.slots))
    return min(sized, key=lambda s: (_worst_ratio(s), s.level.slots))


def _at(quantile: float) -> str:
    return f"p{quantile * 100:g}"


def _worst_ratio(sizing: LoadSizing) -> float:
    ratios = [c.achieved_s / c.target_s for c in sizing.checks if np.isfinite(c.achieved_s)]
    return max(ratios, default=math.inf)
