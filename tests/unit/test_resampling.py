"""Resampling that follows the data's structure: order-statistic ranks by hand, clusters, runs, blocks, coverage."""

import math

import numpy as np
import pytest
from scipy import stats

from benchlib.metrics import summarize, summarize_clusters
from benchlib.resampling import (
    clustered_quantiles,
    min_values_for_quantile_interval,
    moving_block_indices,
    quantile_interval,
)
from benchlib.stats import bootstrap_ci


def test_the_fewest_values_for_a_quantile_interval():
    # the largest of n values exceeds the p-quantile with probability 1 - p**n; it must reach 0.975
    assert [min_values_for_quantile_interval(q) for q in (0.5, 0.95, 0.99)] == [6, 72, 368]
    assert 0.95**72 <= 0.025 < 0.95**71 and 0.99**368 <= 0.025 < 0.99**367


def test_order_statistic_intervals_use_the_hand_computed_ranks_for_n_20_and_200():
    values = np.arange(1.0, 201.0)[::-1]  # x_(k) = k
    # n = 20, median: P(X <= 5) = 0.0207 <= 0.025 < P(X <= 6) = 0.0577 for X ~ Bin(20, 1/2): ranks 6 and 15
    twenty = np.arange(1.0, 21.0)
    assert quantile_interval(twenty, 0.5) == (6.0, 15.0)
    assert stats.binom.cdf(5, 20, 0.5) == pytest.approx(0.0207, abs=1e-4)
    # n = 20 is too small for p95 and p99
    assert all(math.isnan(v) for v in quantile_interval(twenty, 0.95) + quantile_interval(twenty, 0.99))
    # n = 200, p95, X ~ Bin(200, 0.95): P(X <= 183) = 0.0211 <= 0.025 < P(X <= 184) = 0.0439 -> lower rank 184;
    # P(X >= 196) = 0.0264 > 0.025 >= P(X >= 197) = 0.0094 -> upper rank 197
    assert stats.binom.cdf(183, 200, 0.95) <= 0.025 < stats.binom.cdf(184, 200, 0.95)
    assert stats.binom.sf(195, 200, 0.95) > 0.025 >= stats.binom.sf(196, 200, 0.95)
    assert quantile_interval(values, 0.95) == (184.0, 197.0)
    assert all(math.isnan(v) for v in quantile_interval(values, 0.99))  # 200 < 368


def test_a_p95_interval_covers_the_true_quantile_at_least_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    truth = stats.expon.ppf(0.95)
    covered = [low <= truth <= high for low, high in
               (quantile_interval(rng.exponential(size=100), 0.95) for _ in range(2000))]  # fmt: skip
    assert np.mean(covered) >= 0.94  # exact binomial coverage is >= 0.95; 2000 draws: s.e. 0.005


def _autocorrelated_requests(rng, requests=20, gaps=127, level_sd=0.001, rho=0.6):
    """Per-request gap series: a level of its own plus AR(1) noise (gaps within a request correlate)."""
    series = []
    for _ in range(requests):
        noise = np.zeros(gaps)
        for k in range(1, gaps):
            noise[k] = rho * noise[k - 1] + rng.normal(0, 0.0003)
        series.append(0.010 + rng.normal(0, level_sd) + noise)
    return series


def test_gaps_resampled_by_request_give_an_interval_several_times_wider_than_pooled_gaps():
    series = _autocorrelated_requests(np.random.default_rng(1))
    clustered = summarize_clusters(series)
    pooled_low, pooled_high = bootstrap_ci(np.concatenate(series))
    assert clustered.clusters == 20 and clustered.n == 20 * 127
    assert (clustered.ci_high - clustered.ci_low) > 4 * (pooled_high - pooled_low)
    assert clustered.ci_low <= clustered.median <= clustered.ci_high
    assert clustered.method == "cluster bootstrap of requests (their gaps pooled)"
    assert clustered.p95_ci_low <= clustered.p95 <= clustered.p95_ci_high  # 2,540 gaps: a p99 interval too
    assert np.isfinite(clustered.p99_ci_low) and clustered.tail_note == ""


def test_clustered_gap_intervals_cover_the_process_median_and_pooled_ones_do_not():
    # the process's median gap is 0.010 s (symmetric noise around a symmetric level)
    hits_clustered, hits_pooled = [], []
    for seed in range(60):
        series = _autocorrelated_requests(np.random.default_rng(100 + seed), gaps=40)
        boot = clustered_quantiles(series, (0.5,), resamples=400, seed=seed)
        low, high = boot.interval(0.5)
        hits_clustered.append(low <= 0.010 <= high)
        pooled_low, pooled_high = bootstrap_ci(np.concatenate(series), resamples=400, seed=seed)
        hits_pooled.append(pooled_low <= 0.010 <= pooled_high)
    assert np.mean(hits_clustered) >= 0.85 and np.mean(hits_pooled) <= 0.5


def test_the_hierarchical_interval_covers_near_nominal_where_pooling_runs_fails():
    """Runs of one condition differ (between-run sd 1) more than requests within a run vary about it (sd 1, 30 each)."""
    hits_runs, hits_pooled = [], []
    for seed in range(150):
        rng = np.random.default_rng(seed)
        run_means = rng.normal(0.0, 1.0, size=6)
        values = np.concatenate([rng.normal(mean, 1.0, size=30) for mean in run_means])
        runs = np.repeat(np.arange(6), 30)
        hierarchical = summarize(values, resamples=400, seed=seed, runs=runs)
        naive = summarize(values, resamples=400, seed=seed)
        hits_runs.append(hierarchical.ci_low <= 0.0 <= hierarchical.ci_high)
        hits_pooled.append(naive.ci_low <= 0.0 <= naive.ci_high)
    assert np.mean(hits_runs) >= 0.82  # percentile bootstrap over 6 runs: somewhat below 95%, near it
    assert np.mean(hits_pooled) <= 0.5
    assert hierarchical.runs == 6 and hierarchical.scope.startswith("6 runs, 180 requests: interval covers between-run")
    assert naive.scope == "one run: interval covers within-run variation only"


def test_requests_are_drawn_within_their_prompt():
    # two prompts, one fast (1 s) and one slow (3 s), five requests each: every replicate keeps five of each,
    # so the median is always 2 s; drawn freely it would often be 1 or 3
    values = np.array([1.0] * 5 + [3.0] * 5)
    prompts = [0] * 5 + [1] * 5
    stratified = clustered_quantiles(values[:, None], (0.5,), strata=prompts, resamples=500)
    assert np.all(stratified.replicates == 2.0)
    free = clustered_quantiles(values[:, None], (0.5,), resamples=500)
    assert np.mean(free.replicates != 2.0) > 0.3


def test_replicate_quantiles_are_numpys_linear_quantiles_of_the_drawn_values():
    rng = np.random.default_rng(5)
    clusters = [rng.normal(size=rng.integers(1, 6)) for _ in range(8)]
    boot = clustered_quantiles(clusters, (0.25, 0.5, 0.9), resamples=50, seed=9)
    # redraw the same clusters by hand: one stratum, one run, rng draws of the same shape in the same order
    draws = np.random.default_rng(9).integers(0, 8, size=(50, 8))
    for row, drawn in enumerate(draws):
        pooled = np.concatenate([clusters[i] for i in drawn])
        assert boot.replicates[row] == pytest.approx(np.quantile(pooled, [0.25, 0.5, 0.9]))


def test_moving_blocks_keep_neighbours_together_and_wrap():
    indices = moving_block_indices(20, 100, np.random.default_rng(0))
    assert indices.shape == (100, 20)
    # blocks of ceil(20 ** (1/3)) = 3: positions 0-2, 3-5, ... each run consecutively (mod 20)
    for row in indices:
        for start in range(0, 18, 3):
            assert row[start + 1] == (row[start] + 1) % 20 and row[start + 2] == (row[start] + 2) % 20
    assert moving_block_indices(0, 5, np.random.default_rng(0)).shape == (5, 0)


def test_a_steady_step_has_a_point_interval_and_a_drifting_one_a_wide_interval():
    from benchlib.metrics.throughput import step_throughput_bootstrap

    sent = np.arange(100) * 0.1
    tokens = np.full(100, 10)
    # last tokens at 0.05, 0.15, ..., 9.95 s: ten in each of the ten windows of 0.995 s, 1,000 tokens in 9.95 s
    steady = step_throughput_bootstrap(sent, sent + 0.05, tokens)
    assert (steady.ci_low, steady.ci_high) == pytest.approx((1000 / 9.95, 1000 / 9.95))
    drifting = step_throughput_bootstrap(sent, sent + 0.05, np.where(sent < 5, 18, 2))  # same 1,000 tokens
    assert drifting.ci_low < 0.9 * 1000 / 9.95 and drifting.ci_high > 1.1 * 1000 / 9.95
