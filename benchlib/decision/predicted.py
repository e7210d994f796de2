"""A platform nothing measured, sized from the performance model's serving curve instead of the article's claims.

The capacity is the predicted serving point of
:func:`benchlib.predict.platforms.serving_estimate`: the highest concurrency
whose predicted TTFT, TPOT and end-to-end time meet the set targets (the model's
typical values against the p95 targets), with the throughput's 95% interval.
Queueing beyond a closed loop of that many clients is not modelled here.
"""

from __future__ import annotations

import numpy as np

from benchlib.decision.capacity import Capacity, LatencySamples, Measured, check_targets
from benchlib.predict.platforms import PlatformEstimate, point_latencies

__all__ = ["BASIS_PREDICTED", "predicted_capacity"]

BASIS_PREDICTED = "predicted serving point (benchlib.predict, calibrated on published measurements)"


def predicted_capacity(estimate: PlatformEstimate, targets: dict[str, float], output_tokens: int,
                       e2e_tokens: int) -> Measured:  # fmt: skip
    """What one device serves at its predicted serving point, with the targets checked there.

    Args:
        estimate: The platform's predicted serving curve and chosen point.
        targets: The set targets, seconds.
        output_tokens: The workload's output tokens per request.
        e2e_tokens: Output length the end-to-end target is for.
    """
    point = estimate.point
    latencies = point_latencies(point, e2e_tokens)
    low, high = point.intervals["output_tps"]
    note = (f"{estimate.basis}; the model's typical latencies are compared with the p95 targets; queueing beyond "
            f"{point.point.concurrency} concurrent clients is not modelled")  # fmt: skip
    tps = point.point.output_tps
    capacity = Capacity(point.point.concurrency, tps, low, high, tps / output_tokens, BASIS_PREDICTED,
                        f"c{point.point.concurrency}", note)  # fmt: skip
    samples = LatencySamples(*(np.array([latencies[k]]) for k in ("ttft_s", "tpot_s", "e2e_s")), e2e_tokens)
    return Measured(capacity, latencies, check_targets(latencies, targets), samples)
