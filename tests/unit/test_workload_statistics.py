"""Issue 27's statistics on hand-made rows: by turn, shared-prefix hits with Wilson's interval, by grid cell,
lateness; and how a rate-search step is judged."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from benchlib.config.sections import LoadSection
from benchlib.metrics.workload_shape import (
    LATE_S,
    PREFIX_HIT_SHARE,
    by_cell,
    by_turn,
    lateness_summary,
    shared_prefix_summary,
    workload_statistics,
)
from benchlib.sweep.rate_sweep import MAX_SEARCH_STEPS, judge_step, planned_search_requests


def _wilson(hits: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson's score interval, written out."""
    z = norm.ppf(0.5 + confidence / 2)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


# ---- shared prefix -----------------------------------------------------------------------------------------

PREFIX_ROWS = pd.DataFrame({
    "shared_prefix": [True] * 9 + [False],
    "cached_prompt_tokens": [100, 95, 90, 89, 100, 100, 100, 100, 0, 0],
})  # fmt: skip


def test_hits_are_counted_by_the_share_of_the_prefix_cached():
    summary = shared_prefix_summary(PREFIX_ROWS, 100, 0.9)
    assert PREFIX_HIT_SHARE == 0.9
    assert summary["hits"] == 7  # 90 of 100 is a hit, 89 is not
    assert summary["observed_hit_rate"] == pytest.approx(0.7)
    assert summary["misses_with_prefix"] == 2
    assert (summary["requests"], summary["requests_with_prefix"]) == (10, 9)
    assert summary["intended_hit_rate"] == pytest.approx(0.9)
    assert (summary["prefix_tokens"], summary["prefix_share"]) == (100, 0.9)
    assert summary["hit_rule"] == "cached prompt tokens >= 0.9 x prefix_tokens"


def test_the_hit_rate_has_wilsons_interval():
    low, high = shared_prefix_summary(PREFIX_ROWS, 100, 0.9)["observed_hit_rate_ci"]
    assert low < 0.7 < high
    assert (low, high) == pytest.approx(_wilson(7, 10), abs=1e-9)


@pytest.mark.parametrize("cached, rate, bound", [([50] * 8, 1.0, "high"), ([0] * 8, 0.0, "low")])
def test_all_or_no_hits_keep_the_interval_inside_zero_to_one(cached, rate, bound):
    rows = pd.DataFrame({"shared_prefix": [True] * 8, "cached_prompt_tokens": cached})
    summary = shared_prefix_summary(rows, 50, 1.0)
    low, high = summary["observed_hit_rate_ci"]
    assert summary["observed_hit_rate"] == rate
    assert 0.0 <= low <= rate <= high <= 1.0
    assert (high if bound == "high" else low) == pytest.approx(rate)
    assert (low, high) == pytest.approx(_wilson(int(rate * 8), 8), abs=1e-9)


def test_rows_without_a_cached_count_are_left_out_of_the_rate():
    rows = pd.DataFrame({"shared_prefix": [True, True, True, False],
                         "cached_prompt_tokens": [40, None, 40, 0]})  # fmt: skip
    summary = shared_prefix_summary(rows, 40, 0.75)
    assert summary["hits"] == 2 and summary["observed_hit_rate"] == pytest.approx(2 / 3)
    assert summary["requests"] == 4 and summary["intended_hit_rate"] == pytest.approx(0.75)


def test_a_runtime_without_cached_tokens_gives_no_rate_and_says_so():
    rows = PREFIX_ROWS.assign(cached_prompt_tokens=[None] * 10)
    summary = shared_prefix_summary(rows, 100, 0.9)
    assert summary["observed_hit_rate"] is None
    assert "reports no cached prompt tokens" in summary["note"]
    assert summary["intended_hit_rate"] == pytest.approx(0.9)
    assert "hits" not in summary and "observed_hit_rate_ci" not in summary
    no_column = shared_prefix_summary(PREFIX_ROWS.drop(columns="cached_prompt_tokens"), 100, 0.9)
    assert no_column["observed_hit_rate"] is None and "note" in no_column


@pytest.mark.parametrize(
    "rows, prefix_tokens",
    [(PREFIX_ROWS, 0), (PREFIX_ROWS.drop(columns="shared_prefix"), 100), (PREFIX_ROWS.iloc[:0], 100)],
    ids=["no prefix", "no column", "no rows"],
)
def test_no_prefix_no_summary(rows, prefix_tokens):
    assert shared_prefix_summary(rows, prefix_tokens, 0.9) is None


# ---- by turn -----------------------------------------------------------------------------------------------


TURN_ROWS = pd.DataFrame({
    "turn": [1, 0, 2, 0, 1, 2],
    "ttft_s": [0.2, 0.1, 0.3, 0.1, 0.4, 0.5],
    "history_tokens": [40, 0, 80, 0, 44, 88],
    "prompt_tokens": [56, 16, 96, 16, 60, 104],
    "cached_prompt_tokens": [30, 0, 70, 0, 34, 80],
})  # fmt: skip


def test_by_turn_gives_one_row_per_turn_in_order():
    table = by_turn(TURN_ROWS)
    assert [row["turn"] for row in table] == [0, 1, 2]
    assert [row["requests"] for row in table] == [2, 2, 2]
    assert [row["ttft_s"]["median"] for row in table] == pytest.approx([0.1, 0.3, 0.4])
    assert [row["ttft_s"]["n"] for row in table] == [2, 2, 2]
    assert [row["history_tokens_median"] for row in table] == [0.0, 42.0, 84.0]
    assert [row["prompt_tokens_median"] for row in table] == [16.0, 58.0, 100.0]
    assert [row["cached_prompt_tokens_median"] for row in table] == [0.0, 32.0, 75.0]
    for row in table:
        assert row["ttft_s"]["ci_low"] <= row["ttft_s"]["median"] <= row["ttft_s"]["ci_high"]


def test_by_turn_needs_turns():
    assert by_turn(TURN_ROWS.drop(columns="turn")) is None
    assert by_turn(TURN_ROWS.assign(turn=np.nan)) is None


# ---- by cell -----------------------------------------------------------------------------------------------


CELL_ROWS = pd.DataFrame({
    "cell": ["pp128-tg32-d512", "pp128-tg32-d512", "pp128-tg32-d0", "pp128-tg32-d0", "pp128-tg32-d0"],
    "target_prompt_tokens": [128] * 5,
    "target_output_tokens": [32] * 5,
    "context_depth": [512, 512, 0, 0, 0],
    "runtime_prompt_eval_tokens": [128, 128, 100, 200, 50],
    "runtime_prompt_eval_s": [0.5, 0.25, 1.0, 1.0, 0.0],
    "decode_tps": [10.0, 12.0, 30.0, 40.0, 50.0],
    "runtime_decode_tps": [11.0, 13.0, 31.0, 41.0, 51.0],
    "cached_prompt_tokens": [512, 512, 0, 0, 0],
    "ttft_s": [0.3, 0.4, 0.1, 0.2, 0.3],
})  # fmt: skip


def test_by_cell_gives_prefill_as_evaluated_tokens_over_their_time():
    table = by_cell(CELL_ROWS)
    assert [row["cell"] for row in table] == ["pp128-tg32-d512", "pp128-tg32-d0"]  # as they came
    deep, shallow = table
    assert (deep["context_depth"], shallow["context_depth"]) == (512, 0)
    assert (deep["target_prompt_tokens"], deep["target_output_tokens"], deep["requests"]) == (128, 32, 2)
    assert deep["prefill_tps"]["median"] == pytest.approx((256 + 512) / 2)  # 128/0.5 and 128/0.25
    assert shallow["prefill_tps"]["n"] == 2  # a prompt evaluated in no time gives no rate
    assert shallow["prefill_tps"]["median"] == pytest.approx(150.0)
    assert (deep["decode_tps"]["median"], shallow["decode_tps"]["median"]) == pytest.approx((11.0, 40.0))
    assert (deep["runtime_decode_tps"]["median"], shallow["runtime_decode_tps"]["median"]) == pytest.approx((12.0, 41.0))
    assert (deep["cached_prompt_tokens_median"], shallow["cached_prompt_tokens_median"]) == (512.0, 0.0)
    assert deep["ttft_s"]["median"] == pytest.approx(0.35)


def test_by_cell_needs_cells():
    assert by_cell(CELL_ROWS.drop(columns="cell")) is None
    assert by_cell(CELL_ROWS.assign(cell=None)) is None


# ---- lateness ----------------------------------------------------------------------------------------------


def test_lateness_counts_requests_sent_more_than_late_s_behind():
    summary = lateness_summary(pd.DataFrame({"lateness_s": [0.0, 0.05, LATE_S, 0.2, 0.5, None]}))
    assert LATE_S == 0.1
    assert summary["n"] == 5
    assert summary["late_share"] == pytest.approx(2 / 5)  # exactly LATE_S is not late
    assert summary["max"] == pytest.approx(0.5)
    assert summary["median"] == pytest.approx(0.1)
    assert summary["late_rule"] == "sent more than 0.1 s after its scheduled time"


def test_nothing_scheduled_no_lateness():
    assert lateness_summary(pd.DataFrame({"ttft_s": [0.1]})) is None
    assert lateness_summary(pd.DataFrame({"lateness_s": [None, None]})) is None


def test_workload_statistics_keeps_what_applies():
    rows = pd.concat([TURN_ROWS, pd.DataFrame({"lateness_s": [0.0] * 6})], axis=1)
    found = workload_statistics(rows, prefix_tokens=0)
    assert set(found) == {"by_turn", "lateness_s"}
    assert found["lateness_s"]["late_share"] == 0.0
    assert set(workload_statistics(PREFIX_ROWS, 100, 0.9)) == {"shared_prefix"}
    assert workload_statistics(pd.DataFrame({"ttft_s": [0.1]})) == {}


# ---- judging a rate-search step ----------------------------------------------------------------------------


@pytest.mark.parametrize("issued, meeting, attainment", [(20, 19, 0.95), (100, 95, 0.95), (20, 20, 0.95), (10, 9, 0.9)])
def test_a_step_passes_at_or_above_the_attainment(issued, meeting, attainment):
    result = judge_step(2.0, {"issued": issued, "requests_meeting_slo": meeting, "saturated": None,
                              "request_rate_rps": 1.9}, attainment)  # fmt: skip
    assert result.passed and result.meets_targets and not result.saturated
    assert result.reason is None
    assert (result.rate_rps, result.achieved_rps) == (2.0, 1.9)


def test_a_step_below_the_attainment_fails_with_the_share_in_the_reason():
    result = judge_step(3.0, {"issued": 20, "requests_meeting_slo": 18, "saturated": None}, 0.95)
    assert not result.passed and not result.meets_targets
    assert result.reason == "90.0% of the 20 requests met every target, below 95.0%"
    assert math.isnan(result.achieved_rps)


def test_a_step_that_issued_nothing_fails():
    result = judge_step(3.0, {}, 0.95)
    assert not result.passed
    assert "0 requests" in result.reason


@pytest.mark.parametrize("meeting", [20, 19, 5])
def test_a_saturated_step_always_fails(meeting):
    why = "the queue grew steadily over the step"
    result = judge_step(8.0, {"issued": 20, "requests_meeting_slo": meeting, "saturated": why}, 0.95)
    assert result.saturated and not result.passed
    assert result.reason == why


def test_a_rate_search_plans_its_most_requests():
    assert planned_search_requests(LoadSection(load="sweep", slo_ttft_s=1.0, step_min_requests=16)) == 16 * MAX_SEARCH_STEPS
    assert planned_search_requests(LoadSection()) == 0
