"""The recommendation: hand-made runs sized with their queue by hand, why each other loses, the default decisions."""

import pandas as pd
import pytest
from decision_fakes import HAND_MADE, price_book, three_runs

from benchlib.decision import (
    decision_inputs,
    load_decision_inputs,
    make_decision,
    write_decision,
)
from benchlib.decision.inputs import DIURNAL_PARAMS, FLAT_PARAMS, SMALL_MODEL_PARAMS

# 864,000 requests/day flat = 10 req/s every hour, 10 output tokens each, p95 TPOT <= 100 ms, no TTFT limit:
# each fleet is the smallest stable one (utilization < 1), floor(10 * service / slots) + 1 devices.
# box-a: 1 slot, 0.5 s a request: 5 erlangs -> 6 devices x $0.10/h x 24 h = $14.40/day.
# cloud-b: 10 slots, 0.5 s: 5 erlangs on 10 slots -> 1 instance x $2/h x 24 h = $48/day.
# cloud-c: 100 slots, 1.4 s: 14 erlangs -> 1 x $0.20/h x 24 h = $4.80/day, but 150 ms a token misses 100 ms.
WORKLOAD = {**HAND_MADE, "requests_per_day": 864_000}


def _decide(tmp_path, **values):
    book, _ = price_book(tmp_path)
    inputs = decision_inputs(**{**WORKLOAD, "tpot_target_s": 0.1, **values})
    return make_decision(inputs, runs=three_runs(book), prices=book)


def test_the_cheapest_qualifying_candidate_wins_and_the_others_say_why_they_lose(tmp_path):
    result = _decide(tmp_path)
    assert result.recommended.candidate.name == "box-a" and result.determinable
    best = result.recommended.best
    assert (best.variant, best.devices, best.cost_per_day_usd) == ("owned", 6, pytest.approx(14.4))
    assert best.utilization == pytest.approx(5 / 6)
    # identical requests: the throughput interval is the value, so is the cost interval
    assert result.recommended.cost_interval_usd == pytest.approx((14.4, 14.4))
    assert [v.candidate.name for v in result.runners_up] == ["cloud-b"]
    assert result.verdict("Cloud B").why == "costs $33.60/day more than box-a (always-on $48.00/day vs owned $14.40/day)"
    cloud_c = result.verdict("Cloud C")
    assert cloud_c.why == "misses p95 per-token latency: 150 ms > 100 ms (1.5x the limit)"
    assert not cloud_c.qualifies and cloud_c.costings == ()  # no fleet lowers a per-token time: nothing to price
    assert result.statement.startswith(
        "Recommended for llama-2-7b q4_0 at 864,000 requests/day (10 output tokens each): 6 × Box A (measured), "
        "batching 1 stream each, owned; at the peak hour utilization 83%")  # fmt: skip


def test_without_the_target_the_cheapest_of_all_three_wins(tmp_path):
    result = _decide(tmp_path, tpot_target_s=None)
    assert [v.candidate.name for v in result.verdicts] == ["cloud-c", "box-a", "cloud-b"]
    assert result.recommended.cost_per_day_usd == pytest.approx(4.8)


def test_on_premises_leaves_only_the_edge_box(tmp_path):
    result = _decide(tmp_path, on_premises=True, tpot_target_s=None)
    assert result.recommended.candidate.name == "box-a" and result.runners_up == ()
    assert result.verdict("Cloud C").why == "violates on-premises: cloud"


def test_a_ttft_target_counts_the_wait_in_the_queue(tmp_path):
    # box-a's first token is 50 ms after it starts; a 60 ms p95 TTFT leaves 10 ms of p95 wait, which six devices
    # at 83% busy do not give: the fleet grows until 95% of requests start within 10 ms
    result = _decide(tmp_path, ttft_target_s=0.06)
    box = result.verdict("box-a")
    assert box.qualifies and box.best.devices > 6 and box.candidate.p95_s["ttft_s"] <= 0.06
    assert box.candidate.sizing.wait_p95_s <= 0.01


def test_a_target_no_candidate_meets_is_an_answer_that_none_qualifies(tmp_path):
    result = _decide(tmp_path, tpot_target_s=0.001)
    assert result.recommended is None and result.runners_up == ()
    assert result.statement.startswith(
        "No candidate qualifies for llama-2-7b q4_0 at 864,000 requests/day (10 output tokens each). What each misses: "
        "box-a: misses p95 per-token latency: 50 ms > 1 ms (50x the limit)")  # fmt: skip
    _, md_path = write_decision(result, tmp_path / "figures")
    assert "No candidate qualifies" in md_path.read_text()


def test_the_files_hold_one_row_per_candidate_and_variant_whose_arithmetic_adds_up(tmp_path):
    result = _decide(tmp_path, tpot_target_s=None)
    csv_path, md_path = write_decision(result, tmp_path / "figures")
    assert (csv_path.name, md_path.name) == ("decision.csv", "decision.md")
    table = pd.read_csv(csv_path)
    assert list(table["candidate"]) == ["cloud-c", "cloud-c", "box-a", "cloud-b", "cloud-b"]
    assert list(table["variant"]) == ["always-on", "on-demand", "owned", "always-on", "on-demand"]
    parts = table[["amortization_usd_per_day", "electricity_usd_per_day", "rental_usd_per_day", "hosted_usd_per_day"]]
    assert parts.sum(axis=1).to_numpy() == pytest.approx(table["cost_per_day_usd"].to_numpy())
    assert table["cost_per_month_usd"].to_numpy() == pytest.approx(table["cost_per_day_usd"].to_numpy() * 30.4)
    assert list(table["devices"]) == [1, 1, 6, 1, 1]
    per_million = table["cost_per_day_usd"] / (table["requests_per_day"] * table["output_tokens"]) * 1e6
    assert table["usd_per_million_output_tokens"].to_numpy() == pytest.approx(per_million.to_numpy())
    text = md_path.read_text()
    for heading in ("## Inputs", "## Recommendation", "## Runners-up", "## Every candidate (its cheapest variant",
                    "## Why each other candidate loses"):  # fmt: skip
        assert heading in text


def test_the_default_decision_is_a_gpu_fleet_that_batches_with_its_queue_and_intervals():
    """Issue 23: the article's 7B Q4 at 1 M requests/day under MLPerf's server limits, every number predicted."""
    result = make_decision(load_decision_inputs(FLAT_PARAMS, runs=False))
    inputs = result.inputs
    assert (inputs.service.label, inputs.workload.requests_per_day, inputs.targets.set_targets()) == (
        "llama-2-7b q4_0", 1_000_000, {"ttft_s": 2.0, "tpot_s": 0.1})  # fmt: skip
    winner = result.recommended
    assert winner.candidate.platform_class == "cloud" and winner.candidate.source == "predicted"
    sizing = winner.candidate.sizing
    assert sizing.level.slots > 1 and 0.3 < sizing.utilization < 0.9  # batches, and is not run at 99%
    assert winner.cost_interval_usd[0] <= winner.cost_per_day_usd <= winner.cost_interval_usd[1]
    assert winner.candidate.to_narrow.startswith("a load sweep of llama-2-7b q4_0 on nvidia-")
    pi = result.verdict("Raspberry Pi 5 (CPU)")
    assert not pi.qualifies and pi.why.startswith("misses p95 time to first token")
    assert "The edge loses: Raspberry Pi 5 (CPU) (predicted) misses" in result.statement
    # the headline gives each predicted latency with its interval; the TTFT's holds the p95 queue wait
    (ttft_low, ttft_high), (tpot_low, tpot_high) = sizing.level.ttft_interval_s, sizing.level.tpot_interval_s
    achieved = {c.metric: c.achieved_s for c in winner.candidate.checks}
    ttft, tpot = achieved["ttft_s"], achieved["tpot_s"]
    wait_s = sizing.wait_p95_s
    assert ttft_low + wait_s < ttft < ttft_high + wait_s and tpot_low < tpot < tpot_high
    assert (f"p95 TTFT {ttft:.3g} s [{ttft_low + wait_s:.3g}, {ttft_high + wait_s:.3g}], "
            f"p95 TPOT {tpot:.3g} s [{tpot_low:.3g}, {tpot_high:.3g}]") in result.statement  # fmt: skip
    assert dict(result.skipped)["Raspberry Pi 5 + AI HAT+ 2"].startswith("cannot run llama-2-7b")
    assert all(v.candidate.model == "llama-2-7b q4_0" for v in result.verdicts if v.candidate.source == "predicted")


def test_the_diurnal_file_sizes_each_hour_with_its_queue():
    result = make_decision(load_decision_inputs(DIURNAL_PARAMS, runs=False))
    best = result.recommended.best
    assert best.peak_requests_per_s == pytest.approx(1e6 * 3 / 48 / 3600)
    peak = max(best.devices_by_hour)
    assert best.devices == peak == result.recommended.candidate.sizing.devices
    # capacity: the chosen level with every slot busy; each hour below 100%
    assert max(best.utilization_by_hour) < 1.0


def test_the_small_model_example_is_not_determinable_and_names_the_sweep_that_would_decide():
    result = make_decision(load_decision_inputs(SMALL_MODEL_PARAMS, runs=False))
    assert not result.determinable and result.statement.startswith("Not determinable for qwen2.5-1.5b q4_k_m")
    assert "benchlib sweep params/pi5-hailo-ollama.yaml" in result.statement
    assert result.recommended.candidate.name == "Raspberry Pi 5 + AI HAT+ 2"
    assert "straddles the 200 ms limit" in result.recommended.doubt
