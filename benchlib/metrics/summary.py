"""Distribution summary of one metric: median, p95, p99, mean and a bootstrap CI of the median."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from benchlib.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, LARGE_SAMPLE, bootstrap_ci, median_interval

__all__ = ["Summary", "summarize"]


@dataclass(frozen=True)
class Summary:
    """Distribution summary of one metric.

    Attributes:
        n: Number of values.
        median: Median (p50).
        p95: 95th percentile.
        p99: 99th percentile.
        mean: Arithmetic mean.
        ci_low: Lower end of the bootstrap confidence interval of the median.
        ci_high: Upper end of that interval.
        confidence: Confidence level of the interval (0.95).
    """

    n: int
    median: float
    p95: float
    p99: float
    mean: float
    ci_low: float
    ci_high: float
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (for JSON)."""
        return asdict(self)


def summarize(
    values: Any, confidence: float = DEFAULT_CONFIDENCE, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> Summary:
    """Median, p95, p99, mean and a confidence interval of the median of ``values``.

    NaN values (undefined metrics) are dropped first. The interval is a
    percentile bootstrap, or above :data:`~benchlib.stats.LARGE_SAMPLE` values
    the order-statistic interval (:func:`~benchlib.stats.median_interval`).
    """
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        nan = float("nan")
        return Summary(0, nan, nan, nan, nan, nan, nan, confidence)
    if array.size > LARGE_SAMPLE:
        low, high = median_interval(array, confidence)
    else:
        low, high = bootstrap_ci(array, np.median, confidence, resamples, seed)
    p50, p95, p99 = np.percentile(array, [50, 95, 99])
    return Summary(
        n=int(array.size),
        median=float(p50),
        p95=float(p95),
        p99=float(p99),
        mean=float(array.mean()),
        ci_low=low,
        ci_high=high,
        confidence=confidence,
    )
