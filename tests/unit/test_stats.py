"""benchlib.stats: scipy's percentile bootstrap, seeded, and the percentile interval, on hand-checked data."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from benchlib.errors import ParameterError
from benchlib.stats import Interval, bootstrap, bootstrap_ci, bootstrap_replicates, percentile_interval


def test_percentile_interval_is_numpy_quantiles_of_the_finite_values():
    values = np.arange(1.0, 101.0)
    assert percentile_interval(values) == pytest.approx((50.5, 3.475, 97.525))
    with_bad = np.concatenate([values, [np.nan, np.inf, -np.inf]])
    assert percentile_interval(with_bad) == percentile_interval(values)
    assert percentile_interval(values, 0.5) == pytest.approx((50.5, 25.75, 75.25))
    assert isinstance(percentile_interval(values), Interval)
    assert all(math.isnan(v) for v in percentile_interval([np.nan]))
    with pytest.raises(ParameterError, match="confidence"):
        percentile_interval(values, confidence=95)


def test_bootstrap_is_scipys_percentile_bootstrap_with_the_same_seed():
    values = np.random.default_rng(4).lognormal(size=150)
    ours = bootstrap([values], np.median, resamples=500, seed=9)
    theirs = scipy_stats.bootstrap(
        (values,), np.median, n_resamples=500, method="percentile", rng=np.random.default_rng(9), paired=True
    )
    assert np.array_equal(ours.replicates, theirs.bootstrap_distribution)
    assert (ours.ci_low, ours.ci_high) == pytest.approx(tuple(theirs.confidence_interval))
    # the interval is the percentile interval of the replicates
    assert (ours.ci_low, ours.ci_high) == pytest.approx(percentile_interval(ours.replicates)[1:])
    assert bootstrap_ci(values, resamples=500, seed=9) == pytest.approx((ours.ci_low, ours.ci_high))


def test_paired_samples_are_resampled_together():
    tokens = np.array([10.0, 20.0, 30.0, 40.0])
    seconds = tokens / 5.0  # every observation runs at 5 tokens/s
    result = bootstrap([tokens, seconds], lambda t, s, axis: t.sum(axis=axis) / s.sum(axis=axis), resamples=200)
    assert np.allclose(result.replicates, 5.0)
    # the 2-D form of bootstrap_replicates resamples rows whole
    rows = bootstrap_replicates(np.column_stack([tokens, seconds]), lambda x, axis: x.sum(axis=axis)[..., 0] / x.sum(axis=axis)[..., 1])
    assert np.allclose(rows, 5.0) and rows.shape == (2000,)


def test_single_and_empty_samples():
    single = bootstrap([[3.5]], np.median, resamples=10)
    assert single.replicates.tolist() == [3.5] * 10 and (single.ci_low, single.ci_high) == (3.5, 3.5)
    empty = bootstrap([[]], np.median)
    assert empty.replicates.size == 0 and math.isnan(empty.ci_low) and math.isnan(empty.ci_high)


def test_seeded_results_repeat_and_seeds_differ():
    values = np.random.default_rng(1).normal(size=80)
    assert np.array_equal(bootstrap_replicates(values, seed=2), bootstrap_replicates(values, seed=2))
    assert not np.array_equal(bootstrap_replicates(values, seed=2), bootstrap_replicates(values, seed=3))
