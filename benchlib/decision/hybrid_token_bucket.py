"""Edge admission of the hybrid what-if: seeded Poisson arrivals per second and the fleet's token bucket.

The fleet of N devices serves ``C = N × capacity_rps`` requests per second on
average, and holds ``S = N × concurrency`` requests at once (its slots; a
device at its capacity under the targets runs ``concurrency`` requests, each
for ``concurrency ÷ capacity_rps`` seconds by Little's law). A token bucket
stands for the free slots: ``C`` tokens accrue every second, up to a depth of
``max(S, ceil(C), 1)`` (0 for N = 0); a second with ``a`` arrivals admits
``min(a, floor(tokens))`` of them to the edge and sends the rest to the cloud
at once (nobody waits in a queue: a loss system, like Erlang's).

* The long-run rate never exceeds ``C``; an idle fleet absorbs a burst of up
  to its ``S`` slots, which come back at ``C`` per second.
* With requests shorter than a second (``S <= C``) and an integer ``C``, it is
  exactly ``min(a, C)`` in every second.
* A fleet slower than one request per second still serves (``C = 0.25``: one
  request every four seconds), where a plain ``floor(C)`` per second would
  serve nothing; the depth that grows with N keeps the edge share smooth in N.
* The fleet starts the day idle (bucket full), so an hour's utilization can
  exceed 1 by at most one bucket, ``depth ÷ (C × 3600)``.
"""

from __future__ import annotations

import math

import numpy as np

from benchlib.errors import ParameterError
from benchlib.units import HOURS_PER_DAY, SECONDS_PER_HOUR

__all__ = [
    "admitted_per_second",
    "all_edge_size",
    "poisson_arrivals",
    "simulate_fleets",
]

_EPS = 1e-9  # tokens of 0.1 × 10 sum to 0.9999999999999999: one whole token, not none


def poisson_arrivals(hourly_rps: np.ndarray, seed: int) -> np.ndarray:
    """Requests arriving in each second, shape (24, 3600): Poisson with mean ``hourly_rps[h]`` in hour h, seeded.

    Args:
        hourly_rps: 24 mean rates, requests/s (checked by the caller).
        seed: Seed of ``numpy.random.default_rng``.
    """
    rng = np.random.default_rng(seed)
    return rng.poisson(hourly_rps[:, None], size=(HOURS_PER_DAY, SECONDS_PER_HOUR))


def _bucket_depth(capacity_rps: np.ndarray, slots: np.ndarray) -> np.ndarray:
    deepest = np.maximum(np.maximum(1.0, np.ceil(capacity_rps - _EPS)), slots)
    return np.where(capacity_rps > 0, deepest, 0.0)


def _admit(arrivals: np.ndarray, capacity: np.ndarray, depth: np.ndarray, tokens: np.ndarray,
           budget: np.ndarray | None = None):  # fmt: skip
    """Token-bucket admission of fleets ``capacity`` (K,) over per-second ``arrivals`` (T,).

    ``budget`` (K,), when given, caps what each fleet admits over the T seconds (an
    hour's work at full utilization), so tokens saved in a quiet hour never push
    the next hour's utilization past 1.

    Returns:
        (served, tokens): requests admitted per fleet and second, shape (K, T),
        and each fleet's tokens after the last second.
    """
    served = np.zeros((capacity.size, arrivals.size))
    tokens = tokens.copy()
    left = np.full(capacity.size, np.inf) if budget is None else budget.astype(float).copy()
    refilled_to = 0  # tokens hold the state at the start of this second
    for second in np.flatnonzero(arrivals):
        if second > refilled_to:  # idle seconds: the bucket refills, never past its depth
            tokens = np.minimum(depth, tokens + capacity * (second - refilled_to))
        admitted = np.minimum(np.minimum(arrivals[second], np.floor(tokens + _EPS)), left)
        left -= admitted
        served[:, second] = admitted
        tokens = np.minimum(depth, tokens - admitted + capacity)
        refilled_to = second + 1
    if arrivals.size > refilled_to:
        tokens = np.minimum(depth, tokens + capacity * (arrivals.size - refilled_to))
    return served, tokens


def admitted_per_second(arrivals_per_second, fleet_capacity_rps: float, fleet_slots: int = 1) -> np.ndarray:
    """Requests the edge fleet admits in each second (the rest overflow), from an idle start.

    Args:
        arrivals_per_second: Requests arriving in each second (integers >= 0).
        fleet_capacity_rps: ``N × capacity_rps`` of the fleet (>= 0).
        fleet_slots: ``N × concurrency``, requests the fleet holds at once.

    Returns:
        Admitted requests per second (float array of whole numbers), the
        token bucket of the module docstring.
    """
    arrivals = np.asarray(arrivals_per_second, dtype=float).ravel()
    if np.any(arrivals < 0) or np.any(arrivals != np.round(arrivals)):
        raise ParameterError("arrivals_per_second must be whole numbers of requests >= 0.")
    if not (math.isfinite(fleet_capacity_rps) and fleet_capacity_rps >= 0):
        raise ParameterError(f"fleet_capacity_rps must be finite and >= 0 requests/s, got {fleet_capacity_rps!r}.")
    if isinstance(fleet_slots, bool) or not isinstance(fleet_slots, int | np.integer) or fleet_slots < 0:
        raise ParameterError(f"fleet_slots must be a whole number >= 0, got {fleet_slots!r}.")
    capacity = np.array([float(fleet_capacity_rps)])
    depth = _bucket_depth(capacity, np.array([float(fleet_slots)]))
    return _admit(arrivals, capacity, depth, depth)[0][0]


def simulate_fleets(
    arrivals: np.ndarray, fleet_capacity_rps: np.ndarray, fleet_slots: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Run the token bucket of K fleets over one day of :func:`poisson_arrivals`, all in one pass.

    Args:
        arrivals: Requests per second, shape (24, 3600).
        fleet_capacity_rps: ``N × capacity_rps`` of each fleet, shape (K,), requests/s.
        fleet_slots: ``N × concurrency`` of each fleet, shape (K,).

    Returns:
        (served, peak_overflow): requests the edge served per fleet and hour, and the
        overflow of each hour's busiest second (requests/s), both shape (K, 24).
    """
    fleet_capacity = np.asarray(fleet_capacity_rps, dtype=float)
    depth = _bucket_depth(fleet_capacity, np.asarray(fleet_slots, dtype=float))
    tokens = depth.copy()
    served = np.zeros((fleet_capacity.size, HOURS_PER_DAY))
    peak = np.zeros((fleet_capacity.size, HOURS_PER_DAY))
    hourly_budget = np.floor(fleet_capacity * SECONDS_PER_HOUR + _EPS)  # utilization never past 1 in an hour
    for hour in range(HOURS_PER_DAY):
        admitted, tokens = _admit(arrivals[hour], fleet_capacity, depth, tokens, hourly_budget)
        served[:, hour] = admitted.sum(axis=1)
        peak[:, hour] = (arrivals[hour][None, :] - admitted).max(axis=1)
    return served, peak


def all_edge_size(peak_arrivals_per_second: int, capacity_rps: float) -> int:
    """The smallest N whose fleet capacity ``N × capacity_rps`` covers the busiest second (edge share 1 exactly)."""
    return max(0, math.ceil(peak_arrivals_per_second / capacity_rps - _EPS))
