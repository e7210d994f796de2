"""The hybrid what-if for a decision: which edge and cloud candidates, their two sides, and their daily costs.

:mod:`~benchlib.decision.hybrid` simulates primitives; this module turns the
decision's candidates into them and prices each side with the same
:mod:`benchlib.cost` functions the decision's sizing uses (no second formula):

- the edge side (an owned box): ``N × Σ_h hourly_cost_usd(profile, u_h)`` over
  the day, with its idle power in the hours it serves nothing;
- the cloud side, rented: each hour the instances its mean overflow needs
  (the decision's on-demand sizing, :func:`~benchlib.decision.sizing.size_hours`)
  at the hourly price; hosted: the overflow's input and output tokens times
  their prices (:func:`benchlib.cost.hosted_cost_usd`).

By default the edge side is the cheapest edge candidate that can be sized and
the cloud side the recommended candidate when it is cloud or hosted, else the
cheapest qualifying (else cheapest) cloud or hosted candidate.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from benchlib.cost import hosted_cost_usd
from benchlib.cost.pricing import unchecked_hourly_cost_usd
from benchlib.decision.candidates import Candidate
from benchlib.decision.hybrid import Side, hybrid_sweep
from benchlib.decision.hybrid_scoring import side_attainment
from benchlib.decision.inputs import DecisionInputs
from benchlib.decision.recommend import DecisionResult, Verdict
from benchlib.decision.sizing import queue_devices, size_hours
from benchlib.errors import ParameterError
from benchlib.units import SECONDS_PER_HOUR

__all__ = ["choose_sides", "cloud_cost_function", "decision_hybrid", "edge_cost_function", "side_of"]

_CLOUD_CLASSES = ("cloud", "hosted")
HOPELESS_EDGE_SIZES = 20
"""Edge sizes swept when the edge side misses the targets on its own (no split with N > 0 can qualify)."""


def _pick(verdicts: list[Verdict], name: str | None, classes: tuple[str, ...], role: str) -> Verdict | None:
    """The verdict named ``name`` (it must be of ``classes``), or the first of ``classes`` that can be priced."""
    if name is not None:
        chosen = next((v for v in verdicts if v.candidate.matches(name)), None)
        if chosen is None or chosen.candidate.platform_class not in classes:
            valid = [v.candidate.name for v in verdicts if v.candidate.platform_class in classes]
            raise ParameterError(
                f"hybrid_{role} '{name}' is not a{'n' if role == 'edge' else ''} {role} candidate; "
                f"{role} candidates: {', '.join(valid) or 'none'}."
            )
        return chosen
    priced = [v for v in verdicts if v.candidate.platform_class in classes
              and (v.costings or (v.candidate.price_profile is not None and v.candidate.levels))]  # fmt: skip
    return next((v for v in priced if v.qualifies), priced[0] if priced else None)


def choose_sides(
    result: DecisionResult, edge: str | None = None, cloud: str | None = None
) -> tuple[Candidate, Candidate] | str:
    """The edge and cloud candidates of the what-if, or why there is no pair.

    Args:
        result: The decision.
        edge: A candidate name for the edge side (default: the cheapest edge candidate).
        cloud: A candidate name for the cloud side (default: the recommendation if it is cloud or
            hosted, else the cheapest qualifying, else cheapest, cloud or hosted candidate).
    """
    verdicts = list(result.verdicts)  # qualifying first, each part by cost
    edge_verdict = _pick(sorted(verdicts, key=lambda v: v.cost_per_day_usd), edge, ("edge",), "edge")
    recommended = result.recommended
    if cloud is None and recommended is not None and recommended.candidate.platform_class in _CLOUD_CLASSES:
        cloud_verdict = recommended
    else:
        cloud_verdict = _pick(verdicts, cloud, _CLOUD_CLASSES, "cloud")
    if edge_verdict is None or cloud_verdict is None:
        missing = "edge" if edge_verdict is None else "cloud or hosted"
        return f"no {missing} candidate with a price profile and a capacity: the what-if needs one of each"
    return edge_verdict.candidate, cloud_verdict.candidate


def side_of(candidate: Candidate) -> Side:
    """A candidate as one side of the split, with its own queue.

    Its capacity per device is the rate its peak fleet serves per device with the
    targets met, queue included (``peak rate / devices``, so admitted traffic never
    pushes a device past the utilization its queue was sized at); a candidate no
    fleet qualifies takes at most what its slots complete (utilization 1). Its
    latency samples are those of its peak fleet's simulated requests, the queue
    wait added to TTFT and end-to-end; a hosted API's are not known.
    """
    sizing = candidate.sizing
    name = f"{candidate.name} ({candidate.source})"
    if sizing is None:
        return Side(name, float("inf"), {}, 1)
    level = sizing.level
    if sizing.stats is not None and sizing.stats.waits_s.size:
        index, waits = sizing.stats.sample_index, sizing.stats.waits_s
        samples = {"ttft_s": waits + level.ttft_s[index], "tpot_s": level.tpot_s[index],
                   "e2e_s": waits + level.service_s[index]}  # fmt: skip
        capacity = sizing.rate_per_s / sizing.devices
    else:
        samples = {"ttft_s": level.ttft_s, "tpot_s": level.tpot_s, "e2e_s": level.service_s}
        capacity = level.requests_per_s
    return Side(name, float(capacity), samples, max(int(level.slots), 1))


def edge_cost_function(candidate: Candidate) -> Callable[[int, np.ndarray], float]:
    """``(n_edge, utilization_by_hour[24]) -> USD per day`` of N owned edge devices."""
    profile = candidate.price_profile

    def cost(n_edge: int, utilization: np.ndarray) -> float:
        if n_edge == 0:
            return 0.0
        u = np.clip(np.asarray(utilization, dtype=float), 0.0, 1.0)  # a burst can push a second's share past 1
        return float(n_edge * np.sum(unchecked_hourly_cost_usd(profile, u, candidate.billed_power_w)))

    return cost


def cloud_cost_function(candidate: Candidate, inputs: DecisionInputs) -> Callable[[np.ndarray, np.ndarray], float]:
    """``(overflow_rps_mean[24], overflow_rps_peak[24]) -> USD per day`` of the cloud side.

    Rented: each hour's instances for its mean overflow (on-demand), at the
    hourly price. Hosted: the overflow's tokens times their prices.
    """
    profile, workload = candidate.price_profile, inputs.workload
    devices_at = queue_devices(candidate, inputs) if profile.kind != "hosted" else None

    def cost(mean_rps: np.ndarray, peak_rps: np.ndarray) -> float:
        mean_rps = np.asarray(mean_rps, dtype=float)
        if profile.kind == "hosted":
            requests = float(mean_rps.sum() * SECONDS_PER_HOUR)
            return float(hosted_cost_usd(profile, requests * workload.prompt_tokens, requests * workload.output_tokens))
        devices, utilization = size_hours(mean_rps, candidate.capacity.requests_per_s, "on-demand", devices_at)
        per_device = np.asarray(unchecked_hourly_cost_usd(profile, utilization, candidate.billed_power_w), dtype=float)
        return float(np.sum(devices * per_device))

    return cost


def decision_hybrid(
    result: DecisionResult, edge: str | None = None, cloud: str | None = None, *, seed: int = 0, n_max: int | None = None
) -> pd.DataFrame | str:
    """The hybrid sweep (N edge devices, overflow to the cloud) for a decision, or why there is none.

    Returns:
        :func:`~benchlib.decision.hybrid.hybrid_sweep`'s frame, or a sentence saying why no
        what-if can be drawn (no edge or no cloud candidate).
    """
    sides = choose_sides(result, edge, cloud)
    if isinstance(sides, str):
        return sides
    edge_candidate, cloud_candidate = sides
    inputs = result.inputs
    edge_side, targets = side_of(edge_candidate), inputs.targets.set_targets()
    if n_max is None and side_attainment(edge_side, targets) < inputs.targets.quantile:
        n_max = HOPELESS_EDGE_SIZES  # no N > 0 can qualify: a few sizes show the cost, not thousands
    return hybrid_sweep(
        inputs.workload.hourly_rates_per_s,
        edge_side,
        side_of(cloud_candidate),
        edge_cost_per_day=edge_cost_function(edge_candidate),
        cloud_cost_per_day=cloud_cost_function(cloud_candidate, inputs),
        targets=targets,
        n_max=n_max,
        seed=seed,
        required_share=inputs.targets.quantile,
    )
