"""How a hybrid split is scored: per request on each side, and the pooled p95 of the mix shown for reading.

Both take a side's per-request latency samples (:class:`benchlib.decision.hybrid.Side`),
aligned by request: sample ``i`` of every metric is one request.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from benchlib.errors import ParameterError

__all__ = ["PERCENTILE", "mix_p95", "side_attainment"]

PERCENTILE = 0.95
"""The share of requests a p95 target asks to be within it."""


def side_attainment(side: Any, targets: Mapping[str, float]) -> float:
    """Share of a side's requests within every target at once (its samples aligned by request).

    A metric with one value stands for every request; a target on a metric the side lacks is missed.
    """
    sizes = {values.size for values in side.latency_samples.values()} - {1}
    size = max(sizes, default=1)
    within = np.ones(size, dtype=bool)
    for metric, limit in targets.items():
        values = side.latency_samples.get(metric)
        if values is None:
            return 0.0
        if values.size not in (1, size):
            raise ParameterError(f"Side {side.name!r}: latency samples of different lengths cannot be scored per "
                                 f"request ({metric}: {values.size}, others: {size}).")  # fmt: skip
        within &= values <= limit
    return float(within.mean())


def mix_p95(edge: Any, cloud: Any, edge_requests: float, cloud_requests: float) -> dict[str, float]:
    """p95 of each metric over the mixture of the sides' distributions, weighted by their requests."""
    result = {}
    for metric in sorted(set(edge.latency_samples) | set(cloud.latency_samples)):
        values, weights, complete = [], [], True
        for side, requests in ((edge, edge_requests), (cloud, cloud_requests)):
            if requests <= 0:
                continue
            if metric not in side.latency_samples:
                complete = False
                break
            samples = side.latency_samples[metric]
            values.append(samples)
            weights.append(np.full(samples.size, requests / samples.size))
        if not complete or not values:
            result[metric] = float("nan")
            continue
        result[metric] = float(np.quantile(np.concatenate(values), PERCENTILE, weights=np.concatenate(weights),
                                           method="inverted_cdf"))  # fmt: skip
    return result


