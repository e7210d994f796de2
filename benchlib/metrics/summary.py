"""Distribution summary of one metric: median, p95, p99, mean, and intervals resampled the way the data were made.

How each interval is made (the one place it is written down; docs/measured.md,
"What is measured, exactly" repeats it):

* **Per-request metrics** (TTFT, TPOT, end-to-end, decode rate): the median's
  95% interval is a percentile bootstrap drawing requests with replacement
  *within each prompt* (:data:`METHOD_REQUESTS`); p95 and p99 get
  distribution-free intervals from order statistics
  (:func:`benchlib.resampling.quantile_interval`), which need at least 72 and
  368 requests; below that the summary says so (:attr:`Summary.tail_note`).
* **Inter-token gaps**: a cluster bootstrap drawing whole requests, their gaps
  pooled (:data:`METHOD_GAPS`), for the median, p95 and p99 alike; gaps within
  a request correlate, and resampling pooled gaps would be several times too
  narrow.
* **Several runs of one condition** (repeats): a hierarchical bootstrap, runs
  first and then requests within each drawn run (:data:`METHOD_RUNS`), for every
  quantile, widened where needed to Student's t interval over the runs' own
  quantiles (:func:`benchlib.resampling.run_t_interval`: with 3 runs the
  bootstrap cannot reach beyond their range); the interval then covers the
  run-to-run variation too.
* A single run's interval covers within-run variation only, and says so
  (:data:`SCOPE_ONE_RUN`).

System throughput's interval is in :mod:`benchlib.metrics.throughput` (a
moving-block bootstrap in time order).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from benchlib.resampling import (
    ClusteredQuantiles,
    at_least,
    clustered_quantiles,
    min_values_for_quantile_interval,
    quantile_interval,
    run_t_interval,
)
from benchlib.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES

__all__ = [
    "METHOD_GAPS",
    "METHOD_REQUESTS",
    "METHOD_RUNS",
    "METHOD_TAILS",
    "SCOPE_ONE_RUN",
    "Summary",
    "summarize",
    "summarize_clusters",
]

METHOD_REQUESTS = "bootstrap of requests within prompt"
METHOD_GAPS = "cluster bootstrap of requests (their gaps pooled)"
METHOD_RUNS = "hierarchical bootstrap (runs, then requests within run), at least the t interval over runs"
METHOD_TAILS = "order statistics (distribution-free)"
SCOPE_ONE_RUN = "one run: interval covers within-run variation only"
TAILS = (0.95, 0.99)


def scope_words(runs: int, requests: int) -> str:
    """What an interval covers: ``one run: ...`` or ``3 runs, 60 requests: ...``."""
    if runs <= 1:
        return SCOPE_ONE_RUN
    return f"{runs} runs, {requests} requests: interval covers between-run and within-run variation"


@dataclass(frozen=True)
class Summary:
    """Distribution summary of one metric.

    Attributes:
        n: Number of values.
        median: Median (p50).
        p95: 95th percentile.
        p99: 99th percentile.
        mean: Arithmetic mean.
        ci_low: Lower end of the median's confidence interval.
        ci_high: Upper end of that interval.
        confidence: Confidence level of the intervals (0.95).
        p95_ci_low: Lower end of p95's interval (NaN when ``n`` is too small, see ``tail_note``).
        p95_ci_high: Upper end of p95's interval.
        p99_ci_low: Lower end of p99's interval.
        p99_ci_high: Upper end of p99's interval.
        method: How the median's interval was made.
        tail_method: How the p95 and p99 intervals were made.
        clusters: Requests the values came from.
        runs: Runs the values came from.
        scope: What the intervals cover (:data:`SCOPE_ONE_RUN` for one run).
        tail_note: ``n too small for a p99 interval (need >= 368)``, or "".
    """

    n: int
    median: float
    p95: float
    p99: float
    mean: float
    ci_low: float
    ci_high: float
    confidence: float
    p95_ci_low: float = float("nan")
    p95_ci_high: float = float("nan")
    p99_ci_low: float = float("nan")
    p99_ci_high: float = float("nan")
    method: str = ""
    tail_method: str = ""
    clusters: int = 0
    runs: int = 0
    scope: str = ""
    tail_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (for JSON)."""
        return asdict(self)


def _empty(confidence: float) -> Summary:
    nan = float("nan")
    return Summary(0, nan, nan, nan, nan, nan, nan, confidence)


def _tail_note(values: int, intervals: dict[float, tuple[float, float]], confidence: float) -> str:
    missing = [q for q in TAILS if not np.isfinite(intervals[q][0])]
    if not missing:
        return ""
    q = missing[0]  # p95 missing implies p99 missing
    label = " and ".join(f"p{round(m * 100)}" for m in missing)
    return (f"n too small for a {label} interval (have {values}, need >= "
            f"{min_values_for_quantile_interval(q, confidence)})")  # fmt: skip


def _over_runs(boot: ClusteredQuantiles, clusters: Sequence, runs: Sequence, q: float,
               confidence: float) -> tuple[float, float]:  # fmt: skip
    """The hierarchical bootstrap's interval of ``q``, widened to the t interval over runs."""
    return at_least(boot.interval(q, confidence), run_t_interval(clusters, runs, q, confidence))


def _labels_kept(labels: Sequence | None, keep: np.ndarray) -> np.ndarray | None:
    return None if labels is None else np.asarray(labels)[keep]


def summarize(
    values: Any,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    *,
    strata: Sequence | None = None,
    runs: Sequence | None = None,
) -> Summary:
    """Summary of a per-request metric, one value per request (NaN values, undefined metrics, dropped).

    Args:
        values: One value per request.
        confidence: Coverage of the intervals.
        resamples: Bootstrap resamples.
        seed: Seed of the bootstrap.
        strata: The prompt of each request: requests are drawn within their prompt.
        runs: The run of each request: with two or more runs, a hierarchical bootstrap.
    """
    array = np.asarray(values, dtype=float).ravel()
    keep = ~np.isnan(array)
    array = array[keep]
    if array.size == 0:
        return _empty(confidence)
    strata, runs = _labels_kept(strata, keep), _labels_kept(runs, keep)
    several = runs is not None and np.unique(np.asarray(runs).astype(str)).size > 1
    qs = (0.5, *TAILS) if several else (0.5,)
    clusters = array[:, np.newaxis]  # one value per request
    boot = clustered_quantiles(clusters, qs, strata=strata, runs=runs, resamples=resamples, seed=seed)
    if several:
        tails = {q: _over_runs(boot, clusters, runs, q, confidence)
                 if array.size >= min_values_for_quantile_interval(q, confidence) else (np.nan, np.nan)
                 for q in TAILS}  # fmt: skip
        median_ci = _over_runs(boot, clusters, runs, 0.5, confidence)
    else:
        tails = {q: quantile_interval(array, q, confidence) for q in TAILS}
        median_ci = boot.interval(0.5, confidence)
    return _summary(array, median_ci, tails, confidence,
                    METHOD_RUNS if several else METHOD_REQUESTS, METHOD_RUNS if several else METHOD_TAILS,
                    int(array.size), boot.runs)  # fmt: skip


def summarize_clusters(
    clusters: Sequence[Sequence[float]],
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    *,
    strata: Sequence | None = None,
    runs: Sequence | None = None,
) -> Summary:
    """Summary of values that come in clusters (each request's inter-token gaps), pooled, resampled by cluster.

    Args:
        clusters: The values of each request.
        confidence: Coverage of the intervals, as :func:`summarize`.
        resamples: Bootstrap resamples, as :func:`summarize`.
        seed: Seed of the resampling, as :func:`summarize`.
        strata: The prompt of each request.
        runs: The run of each request (two or more: hierarchical).
    """
    arrays = [np.asarray(c, dtype=float).ravel() for c in clusters]
    pooled = np.concatenate(arrays) if arrays else np.zeros(0)
    pooled = pooled[~np.isnan(pooled)]
    if pooled.size == 0:
        return _empty(confidence)
    boot = clustered_quantiles(arrays, (0.5, *TAILS), strata=strata, runs=runs, resamples=resamples, seed=seed)

    def interval(q: float) -> tuple[float, float]:
        return _over_runs(boot, arrays, runs, q, confidence) if boot.runs > 1 else boot.interval(q, confidence)

    tails = {q: interval(q) if pooled.size >= min_values_for_quantile_interval(q, confidence) else (np.nan, np.nan)
             for q in TAILS}  # fmt: skip
    method = METHOD_RUNS if boot.runs > 1 else METHOD_GAPS
    return _summary(pooled, interval(0.5), tails, confidence, method, method, boot.clusters, boot.runs)


def _summary(array: np.ndarray, median_ci: tuple[float, float], tails: dict[float, tuple[float, float]],
             confidence: float, method: str, tail_method: str, clusters: int, runs: int) -> Summary:  # fmt: skip
    p50, p95, p99 = np.percentile(array, [50, 95, 99])
    return Summary(
        n=int(array.size), median=float(p50), p95=float(p95), p99=float(p99), mean=float(array.mean()),
        ci_low=median_ci[0], ci_high=median_ci[1], confidence=confidence,
        p95_ci_low=float(tails[0.95][0]), p95_ci_high=float(tails[0.95][1]),
        p99_ci_low=float(tails[0.99][0]), p99_ci_high=float(tails[0.99][1]),
        method=method, tail_method=tail_method, clusters=clusters, runs=max(runs, 1),
        scope=scope_words(runs, clusters), tail_note=_tail_note(int(array.size), tails, confidence),
    )  # fmt: skip
