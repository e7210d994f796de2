"""Statistics on ``scipy.stats``, one copy: bootstrap replicates and intervals, percentile intervals.

Every confidence interval of benchlib is a percentile interval: the central
``confidence`` share of a sample of replicates (the 2.5th to 97.5th
percentiles at 0.95, numpy's linear interpolation). Bootstrap replicates come
from :func:`scipy.stats.bootstrap` (``method="percentile"``), seeded, so a
summary computed twice is the same to the last digit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from scipy import stats as scipy_stats

from benchlib.errors import ParameterError

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "BATCH_VALUES",
    "Bootstrap",
    "Interval",
    "bootstrap",
    "bootstrap_ci",
    "bootstrap_replicates",
    "bootstrap_two_samples",
    "percentile_interval",
]

DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95
BATCH_VALUES = 4_000_000
"""Resampled values held at once (scipy's ``batch``): a long load step pools millions of inter-token
gaps, and 2000 resamples of them at once would need tens of GB. Batching draws the same indices in
the same order, so the replicates do not change."""


def _check_confidence(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence must be in (0, 1), e.g. 0.95, got {confidence}.")
    return float(confidence)


class Interval(NamedTuple):
    """Median and percentile interval of a sample."""

    median: float
    ci_low: float
    ci_high: float


def percentile_interval(samples: Any, confidence: float = DEFAULT_CONFIDENCE) -> Interval:
    """Median and central percentile interval of samples (e.g. bootstrap replicates or values derived from them).

    Args:
        samples: Values of any shape (flattened); NaN and infinite values are dropped.
        confidence: Interval coverage in (0, 1), e.g. 0.95 for the 2.5th-97.5th percentiles.

    Raises:
        ParameterError: ``confidence`` is outside (0, 1).
    """
    alpha = (1.0 - _check_confidence(confidence)) / 2.0
    values = np.asarray(samples, dtype=float).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    median, low, high = np.quantile(values, [0.5, alpha, 1.0 - alpha])
    return Interval(float(median), float(low), float(high))


@dataclass(frozen=True)
class Bootstrap:
    """A percentile bootstrap of one statistic.

    Attributes:
        replicates: The statistic of each resample (empty for an empty sample).
        ci_low: Lower end of the percentile interval (NaN for an empty sample).
        ci_high: Upper end of that interval.
        confidence: Coverage of the interval.
    """

    replicates: np.ndarray
    ci_low: float
    ci_high: float
    confidence: float


def bootstrap(
    samples: Sequence[Any],
    statistic: Callable[..., Any],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Bootstrap:
    """Percentile bootstrap of a statistic of one or more paired samples, by :func:`scipy.stats.bootstrap`.

    Observations are resampled with replacement; observation ``i`` of every
    sample stays together (scipy's ``paired=True``). A single observation has
    nothing to resample: every replicate is the statistic itself.

    Args:
        samples: 1-D arrays of equal length (one per quantity, e.g. tokens and seconds).
        statistic: ``statistic(*resampled, axis=-1)`` gives one value per resample
            (scipy's vectorized convention).
        confidence: Coverage of the interval, in (0, 1).
        resamples: Number of bootstrap resamples.
        seed: Seed of the resampling, so results are reproducible.

    Raises:
        ParameterError: ``confidence`` is outside (0, 1).
    """
    confidence = _check_confidence(confidence)
    arrays = tuple(np.asarray(sample, dtype=float) for sample in samples)
    n = arrays[0].shape[0]
    if n == 0:
        return Bootstrap(np.zeros(0), float("nan"), float("nan"), confidence)
    if n == 1:  # scipy needs two observations; every resample repeats the one there is
        value = float(np.asarray(statistic(*(a[np.newaxis, :] for a in arrays), axis=-1)).ravel()[0])
        return Bootstrap(np.full(resamples, value), value, value, confidence)
    result = scipy_stats.bootstrap(
        arrays,
        statistic,
        n_resamples=resamples,
        vectorized=True,
        paired=True,
        confidence_level=confidence,
        method="percentile",
        batch=max(1, BATCH_VALUES // n),
        rng=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return Bootstrap(
        np.asarray(result.bootstrap_distribution, dtype=float), float(interval.low), float(interval.high), confidence
    )


def _as_samples(values: Any, statistic: Callable[..., Any]) -> tuple[tuple[np.ndarray, ...], Callable[..., Any]]:
    """A 1-D sample as it is; a 2-D array's columns as paired samples, rows given whole to ``statistic``."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        return (array,), statistic

    def by_rows(*columns: np.ndarray, axis: int = -1) -> Any:
        return statistic(np.stack(columns, axis=-1), axis=1)  # (resamples, n, k), rows along axis 1

    return tuple(array.T), by_rows


def bootstrap_replicates(
    values: Any,
    statistic: Callable[..., Any] = np.median,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> np.ndarray:
    """Bootstrap replicates of a statistic (resampling with replacement).

    Args:
        values: 1-D sample, or 2-D array whose rows are resampled together.
        statistic: Function applied along axis 1 of a (resamples, n) array
            (or to a (resamples, n, k) array for 2-D input) returning one value
            per resample.
        resamples: Number of bootstrap resamples.
        seed: Seed of the resampling, so results are reproducible.

    Returns:
        One value of the statistic per resample (empty for an empty sample).
    """
    samples, wrapped = _as_samples(values, statistic)
    return bootstrap(samples, wrapped, resamples=resamples, seed=seed).replicates


def bootstrap_ci(
    values: Any,
    statistic: Callable[..., Any] = np.median,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of a statistic.

    Args:
        values: 1-D sample, or 2-D array whose rows are resampled together.
        statistic: See :func:`bootstrap_replicates`.
        confidence: Confidence level, e.g. 0.95.
        resamples: Number of bootstrap resamples.
        seed: Seed of the resampling, so intervals are reproducible.

    Returns:
        ``(low, high)``; both equal the value itself for a single observation,
        NaN for an empty sample.
    """
    samples, wrapped = _as_samples(values, statistic)
    result = bootstrap(samples, wrapped, confidence=confidence, resamples=resamples, seed=seed)
    return (result.ci_low, result.ci_high)


def bootstrap_two_samples(
    sample_a: Any,
    sample_b: Any,
    statistic: Callable[..., Any],
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Bootstrap:
    """Percentile bootstrap of a statistic of two independent samples, by :func:`scipy.stats.bootstrap`.

    Each sample is resampled with replacement on its own (scipy's
    ``paired=False``), so the samples may differ in length, e.g. the requests
    of two runs.

    Args:
        sample_a: First 1-D sample (NaN-free).
        sample_b: Second 1-D sample (NaN-free).
        statistic: ``statistic(a, b, axis=-1)`` gives one value per resample
            (scipy's vectorized convention), e.g. a ratio of medians.
        confidence: Coverage of the interval, in (0, 1).
        resamples: Number of bootstrap resamples.
        seed: Seed of the resampling, so results are reproducible.

    Raises:
        ParameterError: ``confidence`` is outside (0, 1) or a sample has fewer than two values.
    """
    confidence = _check_confidence(confidence)
    a, b = np.asarray(sample_a, dtype=float).ravel(), np.asarray(sample_b, dtype=float).ravel()
    if a.size < 2 or b.size < 2:
        raise ParameterError(f"Each sample needs at least two values to resample, got {a.size} and {b.size}.")
    result = scipy_stats.bootstrap(
        (a, b),
        statistic,
        n_resamples=resamples,
        vectorized=True,
        paired=False,
        confidence_level=confidence,
        method="percentile",
        batch=max(1, BATCH_VALUES // (a.size + b.size)),
        rng=np.random.default_rng(seed),
    )
    interval = result.confidence_interval
    return Bootstrap(
        np.asarray(result.bootstrap_distribution, dtype=float), float(interval.low), float(interval.high), confidence
    )
