"""Metrics on hand-made traces, checked against values computed by hand or by numpy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchlib.metrics import (
    bootstrap_ci,
    goodput_rps,
    request_metrics,
    step_statistics,
    summarize,
    system_throughput_summary,
    system_throughput_tps,
    throughput_replicates,
)
from benchlib.runtimes.base import TokenTrace


def trace(sent_s, token_times_s, prompt_tokens=7, request_id="r"):
    return TokenTrace(
        request_id=request_id,
        sent_s=sent_s,
        token_times_s=tuple(token_times_s),
        prompt_tokens=prompt_tokens,
    )


# --------------------------------------------------------------------------- request_metrics


def test_request_metrics_hand_computed():
    # sent at 10.0; tokens at 10.5, 10.75, 11.0, 11.5
    # ttft = 0.5, e2e = 1.5, tpot = (1.5 - 0.5) / 3 = 1/3, decode_tps = 3, itl = 0.25, 0.25, 0.5
    m = request_metrics(trace(10.0, [10.5, 10.75, 11.0, 11.5], prompt_tokens=7))
    assert m.ttft_s == pytest.approx(0.5)
    assert m.e2e_s == pytest.approx(1.5)
    assert m.tpot_s == pytest.approx(1.0 / 3.0)
    assert m.decode_tps == pytest.approx(3.0)
    assert m.itl_s == pytest.approx((0.25, 0.25, 0.5))
    assert len(m.itl_s) == 3
    assert m.output_tokens == 4
    assert m.prompt_tokens == 7


def test_request_metrics_second_trace_uneven_gaps():
    # sent 2.0; tokens 2.2, 2.3, 2.6, 3.0, 3.1
    # ttft 0.2, e2e 1.1, tpot = 0.9 / 4 = 0.225, decode_tps = 1/0.225
    m = request_metrics(trace(2.0, [2.2, 2.3, 2.6, 3.0, 3.1], prompt_tokens=3))
    assert m.ttft_s == pytest.approx(0.2)
    assert m.e2e_s == pytest.approx(1.1)
    assert m.tpot_s == pytest.approx(0.225)
    assert m.decode_tps == pytest.approx(1.0 / 0.225)
    assert m.itl_s == pytest.approx((0.1, 0.3, 0.4, 0.1))
    # tpot is the mean inter-token gap
    assert m.tpot_s == pytest.approx(sum(m.itl_s) / len(m.itl_s))


def test_request_metrics_single_token():
    m = request_metrics(trace(5.0, [5.25]))
    assert m.ttft_s == pytest.approx(0.25)
    assert m.e2e_s == pytest.approx(0.25)
    assert m.tpot_s is None
    assert m.decode_tps is None
    assert m.itl_s == ()
    assert m.output_tokens == 1


def test_request_metrics_empty_trace_raises():
    with pytest.raises(ValueError, match="no tokens"):
        request_metrics(trace(1.0, []))


@pytest.mark.parametrize(
    "sent, times",
    [
        (1.0, [1.5, 1.4]),  # second token before the first
        (1.0, [1.1, 1.2, 1.3, 1.25]),  # last gap negative
        (1.0, [0.9, 1.2]),  # first token before the request was sent
    ],
)
def test_request_metrics_backwards_timestamps_raise(sent, times):
    with pytest.raises(ValueError, match="backwards"):
        request_metrics(trace(sent, times))


def test_request_metrics_equal_timestamps_allowed():
    # Non-decreasing (equal) timestamps are valid; gaps of zero.
    m = request_metrics(trace(0.0, [0.5, 0.5, 1.0]))
    assert m.itl_s == pytest.approx((0.0, 0.5))
    assert m.tpot_s == pytest.approx(0.25)


# --------------------------------------------------------------------------- summarize


def test_summarize_percentiles_match_numpy():
    rng = np.random.default_rng(123)
    values = rng.lognormal(mean=0.0, sigma=0.5, size=301)
    s = summarize(values)
    assert s.n == 301
    assert s.median == pytest.approx(np.median(values))
    assert s.p95 == pytest.approx(np.percentile(values, 95))
    assert s.p99 == pytest.approx(np.percentile(values, 99))
    assert s.mean == pytest.approx(values.mean())
    assert s.confidence == 0.95
    assert s.median < s.p95 < s.p99


def test_summarize_known_small_array():
    # 1..100: median 50.5, p95 = 95.05, p99 = 99.01 (numpy linear interpolation)
    values = list(range(100, 0, -1))
    s = summarize(values)
    assert s.n == 100
    assert s.median == pytest.approx(50.5)
    assert s.p95 == pytest.approx(95.05)
    assert s.p99 == pytest.approx(99.01)
    assert s.mean == pytest.approx(50.5)


def test_summarize_drops_nans():
    with_nans = summarize([3.0, float("nan"), 1.0, float("nan"), 2.0, 10.0])
    without = summarize([3.0, 1.0, 2.0, 10.0])
    assert with_nans.n == 4
    np.testing.assert_equal(with_nans.to_dict(), without.to_dict())  # NaN tail intervals compare equal
    assert with_nans.median == pytest.approx(2.5)


def test_summarize_ci_contains_median_and_is_reproducible():
    rng = np.random.default_rng(7)
    values = rng.normal(10.0, 2.0, size=200)
    a = summarize(values, seed=3)
    b = summarize(values, seed=3)
    np.testing.assert_equal(a.to_dict(), b.to_dict())
    assert a.ci_low <= a.median <= a.ci_high
    assert a.ci_low < a.ci_high
    # The interval lies within the data's range and is far narrower than it.
    assert values.min() <= a.ci_low and a.ci_high <= values.max()
    assert a.ci_high - a.ci_low < 0.25 * (values.max() - values.min())


def test_summarize_single_value():
    s = summarize([0.125])
    assert s.n == 1
    assert s.median == s.p95 == s.p99 == s.mean == 0.125
    assert s.ci_low == s.ci_high == 0.125


@pytest.mark.parametrize("values", [[], [float("nan"), float("nan")]])
def test_summarize_empty(values):
    s = summarize(values)
    assert s.n == 0
    assert math.isnan(s.median) and math.isnan(s.ci_low) and math.isnan(s.ci_high)


def test_summary_to_dict_roundtrip():
    s = summarize([1.0, 2.0, 3.0])
    d = s.to_dict()
    assert d["n"] == 3 and d["median"] == 2.0
    assert set(d) == {"n", "median", "p95", "p99", "mean", "ci_low", "ci_high", "confidence", "p95_ci_low",
                      "p95_ci_high", "p99_ci_low", "p99_ci_high", "method", "tail_method", "clusters", "runs",
                      "scope", "tail_note"}  # fmt: skip
    assert d["scope"] == "one run: interval covers within-run variation only"
    assert d["tail_note"] == "n too small for a p95 and p99 interval (have 3, need >= 72)"


# --------------------------------------------------------------------------- bootstrap_ci


def test_bootstrap_ci_covers_true_median_and_shrinks():
    true_median = 5.0
    rng = np.random.default_rng(2024)
    small = rng.normal(true_median, 2.0, size=250)
    large = rng.normal(true_median, 2.0, size=4000)
    lo_s, hi_s = bootstrap_ci(small)
    lo_l, hi_l = bootstrap_ci(large)
    assert lo_s <= true_median <= hi_s
    assert lo_l <= true_median <= hi_l
    # width ~ 1/sqrt(n): 16x the data should give about a quarter of the width.
    assert (hi_l - lo_l) < 0.5 * (hi_s - lo_s)
    assert (hi_l - lo_l) > 0


def test_bootstrap_ci_coverage_near_nominal():
    # Over many independent samples the 95% interval should cover the true median
    # most of the time (percentile bootstrap of the median is close to nominal).
    true_median = 0.0
    covered = 0
    trials = 100
    for i in range(trials):
        sample = np.random.default_rng(10_000 + i).normal(true_median, 1.0, size=150)
        lo, hi = bootstrap_ci(sample, resamples=1000, seed=i)
        covered += lo <= true_median <= hi
    assert 85 <= covered <= 100


def test_bootstrap_ci_confidence_level_orders_widths():
    values = np.random.default_rng(5).exponential(1.0, size=300)
    lo80, hi80 = bootstrap_ci(values, confidence=0.80)
    lo99, hi99 = bootstrap_ci(values, confidence=0.99)
    assert lo99 <= lo80 < hi80 <= hi99
    assert (hi99 - lo99) > (hi80 - lo80)


def test_bootstrap_ci_single_and_empty():
    assert bootstrap_ci(np.array([4.5])) == (4.5, 4.5)
    lo, hi = bootstrap_ci(np.array([]))
    assert math.isnan(lo) and math.isnan(hi)


# --------------------------------------------------------------------------- system throughput


def test_system_throughput_tps_hand_computed():
    # tokens 10 + 20 + 30 = 60 over window max(last) - min(sent) = 6.0 - 0.0 -> 10 tok/s
    assert system_throughput_tps([0.0, 2.0, 5.0], [1.5, 4.0, 6.0], [10, 20, 30]) == pytest.approx(10.0)
    # Order of requests does not matter; window starts at the earliest send.
    assert system_throughput_tps([5.0, 0.5, 2.0], [6.5, 1.5, 4.0], [30, 10, 20]) == pytest.approx(60 / 6.0)
    # 128 tokens each, 4 requests, window 100.0 .. 104.0
    assert system_throughput_tps([100.0, 101.0, 102.0, 103.0], [100.9, 101.8, 102.95, 104.0], [128] * 4) == (
        pytest.approx(512 / 4.0)
    )


def test_system_throughput_tps_degenerate():
    assert math.isnan(system_throughput_tps([], [], []))
    assert math.isnan(system_throughput_tps([1.0], [1.0], [5]))  # zero-length window


def _sequential_run(n, seed):
    """A realistic one-at-a-time run: e2e ~ 1.3 s with jitter, harness gap ~ 5 ms."""
    rng = np.random.default_rng(seed)
    tokens = rng.integers(100, 129, size=n)  # some requests end early
    e2e = rng.normal(1.3, 0.08, size=n).clip(0.9)
    gaps = rng.uniform(0.002, 0.008, size=n)
    sent = np.empty(n)
    last = np.empty(n)
    t = 50.0
    for i in range(n):
        sent[i] = t
        last[i] = t + e2e[i]
        t = last[i] + gaps[i]
    return sent, last, tokens


def test_system_throughput_summary_value_and_ci():
    sent, last, tokens = _sequential_run(40, seed=11)
    result = system_throughput_summary(sent, last, tokens)
    expected = tokens.sum() / (last.max() - sent.min())
    assert result["value"] == pytest.approx(expected)
    assert result["value"] == system_throughput_tps(sent, last, tokens)
    assert result["ci_low"] <= result["value"] <= result["ci_high"]
    assert result["ci_low"] < result["ci_high"]
    assert result["n"] == 40
    assert result["confidence"] == 0.95
    # The interval is tight relative to the value for a steady run.
    assert (result["ci_high"] - result["ci_low"]) < 0.2 * result["value"]
    # Reproducible with the same seed.
    assert system_throughput_summary(sent, last, tokens) == result


def test_system_throughput_summary_collapses_for_identical_requests():
    # Every request: 64 tokens and holds the window for 0.5 s (sent every 0.5 s,
    # the last one's last token 0.5 s after its send).
    sent = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    last = sent + 0.5
    tokens = [64] * 6
    result = system_throughput_summary(sent, last, tokens)
    assert result["value"] == pytest.approx(128.0)
    assert abs(result["ci_low"] - result["value"]) < 1e-9
    assert abs(result["ci_high"] - result["value"]) < 1e-9


def test_system_throughput_summary_empty():
    result = system_throughput_summary([], [], [])
    assert result["n"] == 0
    assert math.isnan(result["value"]) and math.isnan(result["ci_low"])


# --------------------------------------------------------------------------- step statistics


def _step_rows() -> pd.DataFrame:
    """Four requests of a 2.0 s step: three succeeded, one timed out; one was retried."""
    nan = float("nan")
    return pd.DataFrame(
        {
            "error": [None, None, None, "read timeout"],
            "error_kind": [None, None, None, "timeout"],
            "retries": [0, 1, 0, 0],
            "sent_unix_s": [100.0, 100.2, 100.4, 100.6],
            "last_token_unix_s": [101.0, 101.2, 101.9, nan],
            "ttft_s": [0.2, 0.4, 0.6, nan],
            "ttfh_s": [0.05, 0.05, 0.1, nan],
            "headers_to_first_token_s": [0.15, 0.35, 0.5, nan],
            "tpot_s": [0.1, 0.1, 0.15, nan],
            "e2e_s": [1.0, 1.0, 1.5, nan],
            "decode_tps": [10.0, 10.0, 1 / 0.15, nan],
            "itl_s": [[0.1, 0.1], [0.1, 0.1], [0.15, 0.15], []],
            "output_tokens": [9, 7, 4, 0],
            "token_count_source": ["usage", "usage", "chunks", "usage"],
            "prompt_tokens": [10, 10, 10, 10],
            "cached_prompt_tokens": [0, 8, 8, None],
        }
    )


def test_step_statistics_hand_computed():
    stats = step_statistics(_step_rows(), duration_s=2.0, slo={"ttft_s": 0.5, "tpot_s": 0.12, "e2e_s": 0})
    assert stats["requests_ok"] == 3 and stats["requests_failed"] == 1
    assert stats["errors_by_kind"] == {"timeout": 1}
    assert stats["retried_requests"] == 1
    assert stats["ttft_s"]["n"] == 3 and stats["ttft_s"]["median"] == pytest.approx(0.4)
    assert stats["e2e_s"]["median"] == pytest.approx(1.0) and stats["e2e_s"]["mean"] == pytest.approx(3.5 / 3)
    assert stats["ttfh_s"]["median"] == pytest.approx(0.05)
    assert stats["itl_s"]["n"] == 6 and stats["itl_s"]["median"] == pytest.approx(0.1)
    assert stats["output_tokens"] == 20
    # 20 tokens over 100.0 .. 101.9
    assert stats["throughput_tps"] == pytest.approx(20 / 1.9)
    assert stats["request_rate_rps"] == pytest.approx(3 / 2.0)
    # ttft <= 0.5 and tpot <= 0.12 (e2e: no target): requests 1 and 2
    assert stats["slo"] == {"ttft_s": 0.5, "tpot_s": 0.12}
    assert stats["requests_meeting_slo"] == 2
    assert stats["goodput_rps"] == pytest.approx(1.0)
    assert stats["token_count_sources"] == ["chunks", "usage"]
    # 16 of the 30 prompt tokens of the successful requests came from the cache
    assert stats["prompt_cache"]["cached_share"] == pytest.approx(16 / 30) and stats["prompt_cache"]["hit"]


def test_step_statistics_without_targets_counts_every_success_and_without_success_only_outcomes():
    rows = _step_rows()
    assert step_statistics(rows, 2.0, {})["goodput_rps"] == pytest.approx(1.5)
    failed = step_statistics(rows.iloc[3:], 2.0, {"ttft_s": 1.0})
    assert failed == {"requests_ok": 0, "requests_failed": 1, "errors_by_kind": {"timeout": 1}, "retried_requests": 0}
    empty = step_statistics(rows.iloc[:0], 2.0, {})
    assert empty == {"requests_ok": 0, "requests_failed": 0, "errors_by_kind": {}, "retried_requests": 0}


def test_a_load_step_records_the_step_what_it_issued_and_its_statistics():
    from benchlib.sweep.load_steps import step_summary
    from benchlib.sweep.steps import LoadStep, StepOutcome

    outcome = StepOutcome(LoadStep("c2", "closed", 2, None, 4, 60.0), 5.0, 7.0, issued=4, aborted=None)
    slo = {"ttft_s": 0.5, "tpot_s": 0.12, "e2e_s": 0}
    recorded = step_summary(_step_rows(), outcome, slo)
    statistics = step_statistics(_step_rows(), 2.0, slo)
    np.testing.assert_equal({k: v for k, v in recorded.items() if k in statistics}, statistics)  # NaN == NaN
    assert {k: recorded[k] for k in ("step_id", "mode", "concurrency", "issued", "duration_s", "aborted")} == {
        "step_id": "c2", "mode": "closed", "concurrency": 2, "issued": 4, "duration_s": 2.0, "aborted": None,
    }  # fmt: skip


def test_goodput_rps():
    assert goodput_rps(6, 3.0) == pytest.approx(2.0)
    assert math.isnan(goodput_rps(6, 0.0))


def test_throughput_replicates_resample_requests_within_attempts():
    # two attempts: each request holds its window 1 s with 10 tokens, the second attempt's 2 s with 10 tokens
    requests = pd.DataFrame(
        {
            "sent_unix_s": [0.0, 1.0, 50.0, 52.0],
            "last_token_unix_s": [0.9, 2.0, 51.5, 54.0],
            "output_tokens": [10, 10, 10, 10],
            "attempt": [0, 0, 1, 1],
        }
    )
    replicates = throughput_replicates(requests, resamples=500)
    assert replicates.shape == (500,)
    assert replicates.min() >= 5.0 - 1e-9 and replicates.max() <= 10.0 + 1e-9  # between all-2-s and all-1-s draws
    assert np.array_equal(replicates, throughput_replicates(requests, resamples=500))
