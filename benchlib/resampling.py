"""Resampling that follows the data's structure: clusters within strata within runs, blocks in time order.

benchlib's data are nested. A run sends prompts (strata), each several times;
a request (a cluster) yields one TTFT, one TPOT, one end-to-end time, and many
inter-token gaps that correlate with each other; independent repeats of a
sweep are runs. Resampling the gaps, or the requests of several runs, as if
independent gives intervals several times too narrow (issue 24). So:

* :func:`clustered_quantiles`: a bootstrap of quantiles of the
  pooled values, drawing whole clusters (requests) with replacement within each
  stratum (prompt); with several runs, a hierarchical bootstrap: runs first,
  then requests within each drawn run. A quantile of a replicate is numpy's
  linear quantile of the values the replicate holds, the same definition as the
  point estimate. (:func:`scipy.stats.bootstrap` resamples the observations of
  one or more independent samples; it cannot nest runs, requests and gaps, so
  the draws are made here, seeded, with :class:`numpy.random.Generator`.) Its
  intervals are expanded percentile intervals (:meth:`ClusteredQuantiles.interval`):
  a plain percentile interval over 3 runs is far too narrow. With several runs
  the interval is also at least as wide as :func:`run_t_interval`, Student's t
  over the runs' own quantiles (the bootstrap cannot reach beyond the few runs
  it has).
* :func:`quantile_interval`: the distribution-free interval of a quantile from
  order statistics (ranks from :data:`scipy.stats.binom`), with
  :func:`min_values_for_quantile_interval` saying how many values it needs.
* :func:`moving_block_indices`: a moving-block bootstrap of a series in time
  order (Künsch 1989), blocks of ``ceil(n ** (1/3))``, so drift and
  autocorrelation within a run stay inside each block.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as scipy_stats

from benchlib.errors import ParameterError
from benchlib.stats import BATCH_VALUES

__all__ = [
    "ClusteredQuantiles",
    "at_least",
    "clustered_quantiles",
    "expanded_interval",
    "expanded_tail",
    "min_values_for_quantile_interval",
    "moving_block_indices",
    "quantile_interval",
    "run_t_interval",
    "t_half_width",
]

RESAMPLE_BUDGET = 50_000_000
"""Resamples times pooled values above which fewer resamples are drawn (never fewer than ``MIN_RESAMPLES``)."""
MIN_RESAMPLES = 400
THIN_ABOVE = 100_000
"""Pooled values above which each cluster's values are thinned, for the replicates only, to evenly spaced
quantiles of its own (about ``THIN_ABOVE`` in all, at least one a cluster): a long load step pools
millions of inter-token gaps, and the interval's width comes from drawing whole requests."""


def _confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence must be in (0, 1), e.g. 0.95, got {confidence}.")
    return float(confidence)


def min_values_for_quantile_interval(q: float, confidence: float = 0.95) -> int:
    """Fewest values for which order statistics bound quantile ``q`` at ``confidence`` (6 for the median, 72 for
    p95, 368 for p99 at 95%).

    The largest value bounds ``q`` from above with probability ``1 - q ** n``; that must reach
    ``1 - alpha / 2`` (and likewise the smallest from below: ``(1 - q) ** n <= alpha / 2``).
    """
    alpha = 1.0 - _confidence(confidence)
    p = max(q, 1.0 - q)
    return math.ceil(math.log(alpha / 2) / math.log(p))


def quantile_interval(values: np.ndarray, q: float, confidence: float = 0.95) -> tuple[float, float]:
    """Distribution-free interval of quantile ``q`` from order statistics; ``(nan, nan)`` when ``n`` is too small.

    With ``X ~ Binomial(n, q)`` the count of values below the true quantile, the
    interval is ``[x_(l), x_(u)]`` (1-based ranks), ``l`` the largest rank with
    ``P(X < l) <= alpha / 2`` and ``u`` the smallest with ``P(X >= u) <= alpha / 2``;
    it covers the quantile with probability at least ``confidence`` for any
    continuous distribution.

    Args:
        values: A 1-D sample (NaN dropped).
        q: The quantile, in (0, 1).
        confidence: Coverage in (0, 1).
    """
    alpha = 1.0 - _confidence(confidence)
    if not 0 < q < 1:
        raise ParameterError(f"q must be in (0, 1), e.g. 0.95, got {q}.")
    array = np.asarray(values, dtype=float).ravel()
    array = array[~np.isnan(array)]
    n = int(array.size)
    if n < min_values_for_quantile_interval(q, confidence):
        return float("nan"), float("nan")
    low_rank = int(scipy_stats.binom.ppf(alpha / 2, n, q))  # smallest k with P(X <= k) >= alpha/2: P(X < k) <= alpha/2
    high_rank = int(scipy_stats.binom.isf(alpha / 2, n, q)) + 1  # P(X >= u) <= alpha / 2
    low_rank, high_rank = max(low_rank, 1), min(high_rank, n)
    ordered = np.partition(array, [low_rank - 1, high_rank - 1])
    return float(ordered[low_rank - 1]), float(ordered[high_rank - 1])


def moving_block_indices(n: int, resamples: int, rng: np.random.Generator, block: int | None = None) -> np.ndarray:
    """Indices of ``resamples`` moving-block resamples of a series of ``n`` (blocks of ``ceil(n ** (1/3))``).

    Each resample joins blocks of consecutive indices starting at uniform random
    points (blocks wrap around the end), truncated to ``n``.
    """
    if n < 1:
        return np.zeros((resamples, 0), dtype=int)
    block = block or max(1, math.ceil(n ** (1 / 3)))
    blocks = math.ceil(n / block)
    starts = rng.integers(0, n, size=(resamples, blocks))
    indices = (starts[:, :, np.newaxis] + np.arange(block)) % n
    return indices.reshape(resamples, blocks * block)[:, :n]


@dataclass(frozen=True)
class ClusteredQuantiles:
    """Bootstrap replicates of quantiles of pooled cluster values.

    Attributes:
        qs: The quantiles.
        replicates: ``(resamples, len(qs))``.
        clusters: Clusters (requests) resampled.
        runs: Runs resampled (1: within-run variation only).
        values: Values pooled (before any thinning, :data:`THIN_ABOVE`).
    """

    qs: tuple[float, ...]
    replicates: np.ndarray
    clusters: int
    runs: int
    values: int

    @property
    def units(self) -> int:
        """The top-level units drawn: runs when there are several, else clusters."""
        return self.runs if self.runs > 1 else self.clusters

    def interval(self, q: float, confidence: float = 0.95) -> tuple[float, float]:
        """The expanded percentile interval of quantile ``q``'s replicates (NaN without replicates).

        A percentile bootstrap over ``n`` top-level units is too narrow for small
        ``n`` (its variance is ``(n - 1) / n`` of the truth, and it uses normal
        rather than t quantiles): with 3 runs, a 95% percentile interval covers
        the condition's median far less than 95% of the time. The expanded
        percentile interval (Hesterberg 2015, "What teachers should know about the
        bootstrap", section 4.3) takes the replicates' quantiles at
        ``Phi(-sqrt(n / (n - 1)) * t_{n-1, 1-alpha/2})`` instead of ``alpha / 2``;
        for 20 requests that is the 1.6th percentile instead of the 2.5th, for 3
        runs the replicates' extremes.
        """
        return expanded_interval(self.replicates[:, self.qs.index(q)], self.units, confidence)


def expanded_tail(units: int, confidence: float = 0.95) -> float:
    """The tail share of the expanded percentile interval over ``units`` resampled units (``alpha / 2`` for many)."""
    alpha = 1.0 - _confidence(confidence)
    if units < 2:
        return alpha / 2
    z = math.sqrt(units / (units - 1)) * scipy_stats.t.ppf(1 - alpha / 2, units - 1)
    return float(scipy_stats.norm.sf(z))


def run_t_interval(clusters: Sequence[Sequence[float]], runs: Sequence, q: float,
                   confidence: float = 0.95) -> tuple[float, float]:  # fmt: skip
    """The t interval of quantile ``q`` from the runs as units: the pooled quantile ± ``t * sd(run quantiles) / sqrt(n)``.

    With a handful of runs the bootstrap over runs cannot reach beyond the runs
    it has (3 runs: at most the range of their medians); the run is the
    experimental unit, and Student's t over the runs' own quantiles is the
    textbook interval for n runs (NaN, NaN below two runs).
    """
    labels = np.asarray(runs).astype(str)
    arrays = [np.asarray(c, dtype=float).ravel() for c in clusters]
    by_run: dict[str, list[np.ndarray]] = {}
    for label, values in zip(labels, arrays, strict=True):
        by_run.setdefault(label, []).append(values[~np.isnan(values)])
    per_run = [np.quantile(np.concatenate(parts), q) for parts in by_run.values() if sum(p.size for p in parts)]
    if len(per_run) < 2:
        return float("nan"), float("nan")
    pooled = np.concatenate([v[~np.isnan(v)] for v in arrays])
    half = t_half_width(per_run, confidence)
    center = float(np.quantile(pooled, q))
    return center - half, center + half


def t_half_width(unit_values: Sequence[float], confidence: float = 0.95) -> float:
    """Student's t half-width of the mean of ``n`` units' values: ``t_{n-1} * sd / sqrt(n)`` (NaN below two)."""
    n = len(unit_values)
    if n < 2:
        return float("nan")
    t = scipy_stats.t.ppf(0.5 + _confidence(confidence) / 2, n - 1)
    return float(t * np.std(unit_values, ddof=1) / math.sqrt(n))


def expanded_interval(replicates: np.ndarray, units: int, confidence: float = 0.95) -> tuple[float, float]:
    """The expanded percentile interval of bootstrap replicates over ``units`` top-level units (NaN without any)."""
    finite = np.asarray(replicates, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return float("nan"), float("nan")
    tail = expanded_tail(units, confidence)
    low, high = np.quantile(finite, [tail, 1 - tail])
    return float(low), float(high)


def at_least(interval: tuple[float, float], other: tuple[float, float]) -> tuple[float, float]:
    """``interval`` widened to cover ``other`` (unchanged when ``other`` is NaN)."""
    if not np.isfinite(other[0]):
        return interval
    return min(interval[0], other[0]), max(interval[1], other[1])


def _labels(values: Sequence | None, size: int, name: str) -> np.ndarray:
    if values is None:
        return np.zeros(size, dtype=int)
    labels = np.asarray(values)
    if labels.shape != (size,):
        raise ParameterError(f"{name} must give one label per cluster ({size}), got {labels.shape}.")
    return np.unique(labels.astype(str), return_inverse=True)[1]


def _draw_counts(runs: np.ndarray, strata: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """How often each cluster is drawn in each replicate: runs with replacement, then clusters within stratum."""
    n_clusters = runs.size
    counts = np.zeros((resamples, n_clusters), dtype=np.int64)
    run_ids = np.unique(runs)
    members = {run: [np.flatnonzero((runs == run) & (strata == s)) for s in np.unique(strata[runs == run])]
               for run in run_ids}  # fmt: skip
    if run_ids.size == 1:
        chosen = np.zeros((resamples, 1), dtype=int)
    else:
        chosen = rng.integers(0, run_ids.size, size=(resamples, run_ids.size))
    rows = np.arange(resamples)
    for slot in range(chosen.shape[1]):
        for index, run in enumerate(run_ids):
            picked = rows[chosen[:, slot] == index]
            for cell in members[run]:
                draws = cell[rng.integers(0, cell.size, size=(picked.size, cell.size))]
                np.add.at(counts, (picked[:, np.newaxis], draws), 1)
    return counts


def _replicate_quantiles(order_cluster: np.ndarray, sorted_values: np.ndarray, counts: np.ndarray,
                         qs: np.ndarray) -> np.ndarray:  # fmt: skip
    """numpy's linear quantiles of each replicate's pooled values (each value repeated as often as its cluster)."""
    cumulative = np.cumsum(counts[:, order_cluster], axis=1)  # (batch, values), in sorted order
    last = sorted_values.size - 1
    result = np.full((counts.shape[0], qs.size), np.nan)
    for row, running in enumerate(cumulative):
        total = running[-1]
        if total == 0:
            continue
        positions = qs * (total - 1)  # 0-based ranks in the expanded sample
        below = np.floor(positions)
        # the value at expanded rank r is the first sorted value whose running count exceeds r
        low = sorted_values[np.minimum(np.searchsorted(running, below, side="right"), last)]
        high = sorted_values[np.minimum(np.searchsorted(running, below + 1, side="right"), last)]
        result[row] = low + (positions - below) * (high - low)
    return result


def clustered_quantiles(
    clusters: Sequence[Sequence[float]],
    qs: Sequence[float] = (0.5,),
    *,
    strata: Sequence | None = None,
    runs: Sequence | None = None,
    resamples: int = 2000,
    seed: int = 0,
) -> ClusteredQuantiles:
    """Bootstrap replicates of quantiles of the pooled values, resampling whole clusters (see the module).

    Args:
        clusters: The values of each cluster: one value per request (its TTFT), or its inter-token gaps.
            NaN values are dropped; a cluster left empty counts as a request with no value.
        qs: Quantiles in (0, 1).
        strata: A label per cluster (its prompt): clusters are drawn within their stratum.
        runs: A label per cluster (its run): with two or more runs, runs are drawn first (hierarchical).
        resamples: Replicates (fewer when the pooled values are many, see :data:`RESAMPLE_BUDGET`).
        seed: Seed of the draws.

    Raises:
        ParameterError: a quantile outside (0, 1) or labels of the wrong length.
    """
    quantiles = np.asarray(qs, dtype=float)
    if np.any((quantiles <= 0) | (quantiles >= 1)):
        raise ParameterError(f"qs must be in (0, 1), got {list(qs)}.")
    arrays = [np.asarray(c, dtype=float).ravel() for c in clusters]
    arrays = [a[~np.isnan(a)] for a in arrays]
    pooled = sum(a.size for a in arrays)
    if pooled > THIN_ABOVE:
        arrays = [_thinned(a, pooled / THIN_ABOVE) for a in arrays]
    n_clusters = len(arrays)
    run_labels, stratum_labels = _labels(runs, n_clusters, "runs"), _labels(strata, n_clusters, "strata")
    n_runs = int(np.unique(run_labels).size) if n_clusters else 0
    values = np.concatenate(arrays) if arrays else np.zeros(0)
    if values.size == 0:
        return ClusteredQuantiles(tuple(qs), np.full((0, quantiles.size), np.nan), n_clusters, n_runs, 0)
    cluster_of_value = np.repeat(np.arange(n_clusters), [a.size for a in arrays])
    order = np.argsort(values, kind="stable")
    sorted_values, order_cluster = values[order], cluster_of_value[order]
    resamples = int(min(resamples, max(MIN_RESAMPLES, RESAMPLE_BUDGET // values.size)))
    rng = np.random.default_rng(seed)
    counts = _draw_counts(run_labels, stratum_labels, resamples, rng)
    batch = max(1, BATCH_VALUES // values.size)
    parts = [_replicate_quantiles(order_cluster, sorted_values, counts[start : start + batch], quantiles)
             for start in range(0, resamples, batch)]  # fmt: skip
    return ClusteredQuantiles(tuple(float(q) for q in qs), np.concatenate(parts), n_clusters, n_runs, int(pooled))


def _thinned(values: np.ndarray, factor: float) -> np.ndarray:
    """About ``values.size / factor`` (at least one) evenly spaced quantiles of ``values``."""
    if values.size == 0:
        return values
    keep = max(1, round(values.size / factor))
    return np.quantile(values, (np.arange(keep) + 0.5) / keep)
