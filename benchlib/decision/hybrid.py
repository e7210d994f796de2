"""Hybrid what-if: N edge devices take traffic up to their capacity, the overflow goes to the cloud.

A seeded simulation of one day, hour by hour, in one-second bins:

* **Arrivals.** Each second of hour ``h`` receives a Poisson number of
  requests with mean ``hourly_rps[h]`` (24 × 3600 = 86,400 draws from
  ``numpy.random.default_rng(seed)``). Every N of a sweep sees the same
  arrivals (common random numbers), so the curves over N are smooth and a
  row of :func:`hybrid_sweep` equals :func:`simulate_hybrid` for that N.
* **Edge admission.** The fleet of N devices serves ``N × capacity_rps``
  requests per second on average and holds ``N × concurrency`` at once, through
  a token bucket; what it cannot take in a second goes to the cloud at once
  (:mod:`benchlib.decision.hybrid_token_bucket`).
* **Latency of the mix.** Each request served at the edge has the edge's
  latency distribution (its per-request values, queue wait included when the
  caller gives them so; a predicted side has one value), each overflow
  request the cloud's. The p95 of the pooled day is the 95th percentile of
  that mixture, weighted by the requests each side served (numpy's
  ``inverted_cdf`` with weights), shown for reading.
* **Scored per request.** A side's attainment is the share of its requests
  within every target at once; the day's is the two weighted by the requests
  each served. A split qualifies when the day's attainment reaches
  ``required_share`` (0.95 for p95 targets) *and* every side that serves
  traffic reaches it on its own: a side that misses the targets (on every
  request, or on more than the allowed share) cannot hide in the other side's
  error budget.

Costs come from the caller's callables (:func:`hybrid_sweep`), so this module
holds no price formula.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from numbers import Real
from types import MappingProxyType

import numpy as np
import pandas as pd

from benchlib.decision.hybrid_scoring import PERCENTILE, mix_p95, side_attainment
from benchlib.decision.hybrid_token_bucket import (
    all_edge_size,
    poisson_arrivals,
    simulate_fleets,
)
from benchlib.errors import ParameterError
from benchlib.units import HOURS_PER_DAY, SECONDS_PER_HOUR

__all__ = [
    "LATENCY_METRICS",
    "MAX_SWEEP_SIZES",
    "HybridOutcome",
    "Side",
    "hybrid_sweep",
    "simulate_hybrid",
]

LATENCY_METRICS: tuple[str, ...] = ("ttft_s", "tpot_s", "e2e_s")
"""The metrics a side usually carries; any other name works if both sides carry it."""
MAX_SWEEP_SIZES = 5000
"""Most fleet sizes one sweep simulates (0 ... n): beyond it, pass ``n_max``."""


@dataclass(frozen=True, eq=False)
class Side:
    """One side of the split: a device / instance kind with its capacity and latency distributions.

    Attributes:
        name: Label for tables and figures (``"pi5 (measured run ...)"``, ``"l4 (published)"``).
        capacity_rps: Requests per second ONE device or instance serves while
            every target holds at p95 (> 0; ``inf`` allowed for a hosted API
            on the cloud side, whose capacity the simulation does not use).
        latency_samples: Metric (``ttft_s``, ``tpot_s``, ``e2e_s``) -> the
            per-request values in seconds (a published side: one value each).
            Stored as read-only float arrays.
        concurrency: Requests one device runs at once at ``capacity_rps`` (the
            load step's concurrency; 1 for a single-stream run): an idle fleet
            of N absorbs a burst of ``N × concurrency`` requests.
    """

    name: str
    capacity_rps: float
    latency_samples: Mapping[str, np.ndarray] = field(default_factory=dict)
    concurrency: int = 1

    def __post_init__(self) -> None:
        capacity = float(self.capacity_rps)
        if math.isnan(capacity) or capacity <= 0:
            raise ParameterError(
                f"Side {self.name!r}: capacity_rps must be > 0 requests/s (one device's capacity under the "
                f"targets), got {self.capacity_rps!r}."
            )
        concurrency = self.concurrency
        if isinstance(concurrency, bool) or not isinstance(concurrency, int | np.integer) or concurrency < 1:
            raise ParameterError(
                f"Side {self.name!r}: concurrency must be a whole number >= 1 (requests one device runs at once), "
                f"got {concurrency!r}."
            )
        samples = {}
        for metric, values in self.latency_samples.items():
            array = np.array(values, dtype=float).ravel()
            if array.size == 0 or not np.all(np.isfinite(array)) or np.any(array < 0):
                raise ParameterError(
                    f"Side {self.name!r}: latency_samples[{metric!r}] must be one or more finite values >= 0 "
                    f"seconds, got {array.size} value(s) with {int(np.sum(~np.isfinite(array)))} non-finite and "
                    f"{int(np.sum(array < 0))} negative."
                )
            array.flags.writeable = False
            samples[str(metric)] = array
        object.__setattr__(self, "capacity_rps", capacity)
        object.__setattr__(self, "latency_samples", MappingProxyType(samples))


@dataclass(frozen=True, eq=False)
class HybridOutcome:
    """One simulated day of N edge devices with cloud overflow; hourly arrays have 24 entries.

    Attributes:
        n_edge: Edge devices.
        arrivals: Requests that arrived in each hour.
        edge_served: Requests the edge served in each hour.
        overflow: Requests sent to the cloud in each hour.
        edge_utilization: ``edge_served ÷ (n_edge × capacity_rps × 3600)`` per hour (0 when n_edge is 0).
        overflow_rps_mean: Mean overflow rate of each hour, requests/s (``overflow ÷ 3600``).
        overflow_rps_peak: Overflow of the busiest second of each hour, requests/s.
        edge_share: Share of the day's requests served at the edge (NaN if none arrived).
        p95_s: Metric -> p95 of the mix in seconds (NaN if a side with traffic lacks the metric).
        attainment: Share of the day's requests within every target, counted per request.
        side_attainment: ``(edge, cloud)`` share of each side's requests within every target.
        meets_targets: Whether the day and every side with traffic reach the required share.
        seed: The seed of the arrivals.
    """

    n_edge: int
    arrivals: np.ndarray
    edge_served: np.ndarray
    overflow: np.ndarray
    edge_utilization: np.ndarray
    overflow_rps_mean: np.ndarray
    overflow_rps_peak: np.ndarray
    edge_share: float
    p95_s: Mapping[str, float]
    attainment: float
    side_attainment: tuple[float, float]
    meets_targets: bool
    seed: int

    def hourly_table(self) -> pd.DataFrame:
        """One row per hour: ``hour``, the arrays of this outcome (rates in requests/s)."""
        return pd.DataFrame({
            "hour": np.arange(HOURS_PER_DAY), "arrivals": self.arrivals, "edge_served": self.edge_served,
            "overflow": self.overflow, "edge_utilization": self.edge_utilization,
            "overflow_rps_mean": self.overflow_rps_mean, "overflow_rps_peak": self.overflow_rps_peak,
        })  # fmt: skip


def _hourly_rps(hourly_rps) -> np.ndarray:
    array = np.asarray(hourly_rps, dtype=float)
    if array.ndim != 1 or array.size != HOURS_PER_DAY:
        raise ParameterError(
            f"hourly_rps must have {HOURS_PER_DAY} entries, the mean request rate (requests/s) of each hour of "
            f"the day (requests/day × hourly share ÷ 3600), got shape {array.shape}."
        )
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ParameterError(f"hourly_rps must be finite rates >= 0 requests/s, got {array.tolist()}.")
    if array.sum() == 0:
        raise ParameterError("hourly_rps is 0 in every hour: there is no traffic to split.")
    return array


def _edge_capacity(edge: Side) -> float:
    if not math.isfinite(edge.capacity_rps):
        raise ParameterError(f"The edge side {edge.name!r} needs a finite capacity_rps, got {edge.capacity_rps}.")
    return edge.capacity_rps


def _check_targets(targets: Mapping[str, float | None] | None, edge: Side, cloud: Side) -> dict[str, float]:
    """The set targets (metric -> seconds); a target on a metric no side carries is an error."""
    known = sorted(set(edge.latency_samples) | set(cloud.latency_samples))
    chosen = {}
    for metric, limit in (targets or {}).items():
        if limit is None:
            continue
        if metric not in known:
            raise ParameterError(f"Target on {metric!r}, which neither side has latency samples of; valid: {known}.")
        if isinstance(limit, bool) or not (isinstance(limit, Real) and math.isfinite(limit) and limit > 0):
            raise ParameterError(f"Target {metric!r} must be None or a p95 limit > 0 seconds, got {limit!r}.")
        chosen[metric] = float(limit)
    return chosen


def _outcomes(arrivals, ns, edge: Side, cloud: Side, targets: dict[str, float], seed: int,
              required_share: float = PERCENTILE) -> list[HybridOutcome]:  # fmt: skip
    capacity = _edge_capacity(edge)
    fleet = np.asarray(ns, dtype=float) * capacity
    served, peak = simulate_fleets(arrivals, fleet, np.asarray(ns, dtype=float) * edge.concurrency)
    hourly_arrivals = arrivals.sum(axis=1).astype(float)
    edge_share_ok, cloud_share_ok = side_attainment(edge, targets), side_attainment(cloud, targets)
    outcomes = []
    for index, n in enumerate(ns):
        edge_served = served[index]
        overflow = hourly_arrivals - edge_served
        utilization = edge_served / (fleet[index] * SECONDS_PER_HOUR) if n > 0 else np.zeros(HOURS_PER_DAY)
        total = hourly_arrivals.sum()
        share = float(edge_served.sum() / total) if total > 0 else float("nan")
        p95 = mix_p95(edge, cloud, float(edge_served.sum()), float(overflow.sum()))
        at_edge, at_cloud = float(edge_served.sum()), float(overflow.sum())
        day = (at_edge * edge_share_ok + at_cloud * cloud_share_ok) / total if total > 0 else float("nan")
        meets = (day >= required_share and (at_edge == 0 or edge_share_ok >= required_share)
                 and (at_cloud == 0 or cloud_share_ok >= required_share))  # fmt: skip
        outcomes.append(HybridOutcome(
            n_edge=int(n), arrivals=hourly_arrivals.astype(int), edge_served=edge_served, overflow=overflow,
            edge_utilization=utilization, overflow_rps_mean=overflow / SECONDS_PER_HOUR, overflow_rps_peak=peak[index],
            edge_share=share, p95_s=MappingProxyType(p95), attainment=day,
            side_attainment=(edge_share_ok, cloud_share_ok), meets_targets=bool(meets), seed=seed,
        ))  # fmt: skip
    return outcomes


def simulate_hybrid(
    n_edge: int,
    hourly_rps,
    edge: Side,
    cloud: Side,
    *,
    targets: Mapping[str, float | None] | None = None,
    seed: int = 0,
    required_share: float = PERCENTILE,
) -> HybridOutcome:
    """Simulate one day of ``n_edge`` edge devices with the overflow sent to the cloud side.

    Args:
        n_edge: Edge devices (>= 0; 0 sends everything to the cloud).
        hourly_rps: 24 mean request rates, requests/s (requests/day × hourly share ÷ 3600).
        edge: The edge side (finite capacity_rps).
        cloud: The cloud side (or hosted API) taking the overflow.
        targets: Metric -> limit in seconds, or None for unset.
        seed: Seed of the Poisson arrivals.
        required_share: Share of requests that must meet every target (0.95 for p95 targets).

    Returns:
        The :class:`HybridOutcome`.

    Raises:
        ParameterError: ``hourly_rps`` is not 24 finite rates >= 0 with some
            traffic, ``n_edge`` is negative, or a target names a metric neither side has.
    """
    if isinstance(n_edge, bool) or not isinstance(n_edge, int | np.integer) or n_edge < 0:
        raise ParameterError(f"n_edge must be a whole number of edge devices >= 0, got {n_edge!r}.")
    rates = _hourly_rps(hourly_rps)
    chosen = _check_targets(targets, edge, cloud)
    return _outcomes(poisson_arrivals(rates, seed), [int(n_edge)], edge, cloud, chosen, seed, required_share)[0]


def hybrid_sweep(
    hourly_rps,
    edge: Side,
    cloud: Side,
    *,
    edge_cost_per_day: Callable[[int, np.ndarray], float],
    cloud_cost_per_day: Callable[[np.ndarray, np.ndarray], float],
    targets: Mapping[str, float | None],
    n_max: int | None = None,
    seed: int = 0,
    required_share: float = PERCENTILE,
) -> pd.DataFrame:
    """Cost per day, edge share and p95 of the mix for N = 0 (all cloud) to the all-edge size.

    Args:
        hourly_rps: 24 mean request rates, requests/s.
        edge: The edge side.
        cloud: The cloud side (or hosted API).
        edge_cost_per_day: ``(n_edge, hourly_edge_utilization[24]) -> USD/day`` of the edge fleet.
        cloud_cost_per_day: ``(overflow_rps_mean[24], overflow_rps_peak[24]) -> USD/day``: the mean
            overflow rate of each hour and the overflow of its busiest second, both requests/s (size
            instances on whichever the price profile calls for).
        targets: Metric -> p95 limit in seconds, or None for unset.
        n_max: Largest N to simulate; default the all-edge size: the smallest N
            whose simulated day sends nothing to the cloud (searched up to the
            N whose ``N × capacity_rps`` covers the busiest second, which always
            does; an idle fleet's burst slots often let fewer devices do it).
        seed: Seed of the Poisson arrivals (one draw shared by every N).
        required_share: Share of requests that must meet every target, per side and for the day.

    Returns:
        One row per N: ``n_edge``, ``edge_share``, ``requests_per_day``,
        ``edge_requests``, ``cloud_requests``, ``edge_utilization`` (of the day),
        ``peak_overflow_rps``, ``edge_cost_per_day_usd``, ``cloud_cost_per_day_usd``,
        ``total_cost_per_day_usd``, ``<metric>_p95`` of the mix per metric (seconds),
        ``meets_targets`` and ``cheapest`` (True on the cheapest N that meets the targets;
        ties go to the smaller N). ``attrs``: ``cheapest_n`` (None if no N qualifies),
        ``all_edge_n`` (None if no simulated N serves everything, possible with ``n_max``),
        ``busiest_second_requests`` (arrivals of the day's busiest second), ``note``
        (one sentence; says so when no N meets the targets),
        ``seed``, ``edge``, ``cloud``, ``targets``.

    Raises:
        ParameterError: Bad ``hourly_rps``, targets or ``n_max``, or more than
            :data:`MAX_SWEEP_SIZES` sizes without ``n_max``.
    """
    rates = _hourly_rps(hourly_rps)
    chosen = _check_targets(targets, edge, cloud)
    capacity = _edge_capacity(edge)
    arrivals = poisson_arrivals(rates, seed)
    bound = all_edge_size(int(arrivals.max()), capacity)
    if n_max is not None and (isinstance(n_max, bool) or not isinstance(n_max, int | np.integer) or n_max < 0):
        raise ParameterError(f"n_max must be None or a whole number of edge devices >= 0, got {n_max!r}.")
    last = bound if n_max is None else int(n_max)
    if last + 1 > MAX_SWEEP_SIZES:
        raise ParameterError(
            f"The all-edge size is up to {last} devices of {edge.name!r} ({capacity:g} requests/s each); sweeping "
            f"{last + 1} sizes is too many: pass n_max (at most {MAX_SWEEP_SIZES - 1})."
        )
    outcomes = _outcomes(arrivals, list(range(last + 1)), edge, cloud, chosen, seed, required_share)
    all_edge = next((o.n_edge for o in outcomes if o.overflow.sum() == 0), None)
    if n_max is None and all_edge is not None:  # beyond it every N serves everything and only costs more
        outcomes, last = outcomes[: all_edge + 1], all_edge
    metrics = sorted(set(edge.latency_samples) | set(cloud.latency_samples))
    rows = []
    for outcome in outcomes:
        edge_cost = float(edge_cost_per_day(outcome.n_edge, outcome.edge_utilization.copy()))
        cloud_cost = float(cloud_cost_per_day(outcome.overflow_rps_mean.copy(), outcome.overflow_rps_peak.copy()))
        n_capacity = outcome.n_edge * capacity * SECONDS_PER_HOUR * HOURS_PER_DAY
        rows.append({
            "n_edge": outcome.n_edge, "edge_share": outcome.edge_share,
            "requests_per_day": int(outcome.arrivals.sum()), "edge_requests": int(outcome.edge_served.sum()),
            "cloud_requests": int(outcome.overflow.sum()),
            "edge_utilization": float(outcome.edge_served.sum() / n_capacity) if n_capacity else 0.0,
            "peak_overflow_rps": float(outcome.overflow_rps_peak.max()),
            "edge_cost_per_day_usd": edge_cost, "cloud_cost_per_day_usd": cloud_cost,
            "total_cost_per_day_usd": edge_cost + cloud_cost,
            **{f"{metric}_p95": outcome.p95_s[metric] for metric in metrics},
            "slo_attainment": outcome.attainment, "edge_attainment": outcome.side_attainment[0],
            "cloud_attainment": outcome.side_attainment[1], "meets_targets": outcome.meets_targets,
        })  # fmt: skip
    frame = pd.DataFrame(rows)
    eligible = frame[frame["meets_targets"] & np.isfinite(frame["total_cost_per_day_usd"])]
    ranked = eligible.sort_values(["total_cost_per_day_usd", "n_edge"])
    cheapest = None if ranked.empty else int(ranked.iloc[0]["n_edge"])
    frame["cheapest"] = frame["n_edge"] == cheapest if cheapest is not None else False
    frame.attrs.update(cheapest_n=cheapest, all_edge_n=all_edge, busiest_second_requests=int(arrivals.max()),
                       seed=seed, edge=edge.name, cloud=cloud.name, targets=dict(chosen),
                       required_share=required_share,
                       note=_note(frame, cheapest, chosen, last, edge, cloud, required_share))  # fmt: skip
    return frame


def _note(frame: pd.DataFrame, cheapest: int | None, targets: dict[str, float], last: int, edge: Side,
          cloud: Side, required_share: float) -> str:  # fmt: skip
    limits = ", ".join(f"{m} <= {v:g} s" for m, v in targets.items()) or "no latency target"
    wanted = f"{required_share:.3g} of requests within {limits}"
    edge_ok, cloud_ok = side_attainment(edge, targets), side_attainment(cloud, targets)
    if cheapest is None:
        why = (f"the edge side meets every target on {edge_ok:.1%} of its requests, under the required "
               f"{required_share:.3g}, so no share of traffic may go to it" if edge_ok < required_share else
               f"the cloud side meets every target on {cloud_ok:.1%} of its requests" if cloud_ok < required_share
               else "no split's day reaches it")  # fmt: skip
        return (f"No N from 0 to {last} edge devices ({edge.name}) with overflow to {cloud.name} has {wanted}: {why}; "
                "no hybrid split qualifies.")  # fmt: skip
    row = frame[frame["n_edge"] == cheapest].iloc[0]
    if cheapest == 0 and edge_ok < required_share:
        return (f"No split with edge devices qualifies for {wanted}: {edge.name} meets every target on "
                f"{edge_ok:.1%} of its requests, under the required {required_share:.3g}, so no share of traffic "
                f"may go to it; all of it to {cloud.name} costs {row['total_cost_per_day_usd']:.2f} USD/day.")  # fmt: skip
    return (f"Cheapest split with {wanted} (counted per request, on each side and for the day): {cheapest} × "
            f"{edge.name} with overflow to {cloud.name}, {row['edge_share']:.1%} of requests at the edge, "
            f"{row['slo_attainment']:.1%} within every target, {row['total_cost_per_day_usd']:.2f} USD/day.")
