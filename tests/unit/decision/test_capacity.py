"""Capacity under the targets, read off hand-made load steps, a single-stream run and published figures."""

import numpy as np
import pytest

from benchlib.cost import load_prices
from benchlib.decision import build_candidates, decision_inputs
from benchlib.decision.candidates import CLAIMS_NOT_USED
from benchlib.decision.capacity import (
    BASIS_LOAD_STEPS,
    BASIS_PUBLISHED,
    BASIS_SINGLE_STREAM,
    load_step_capacity,
    published_capacity,
    single_stream_capacity,
)
from decision_fakes import TOKENS, load_step_run, sequential_run

# p95 TPOT at c=1, 2, 4, 8: 20, 40, 90, 200 ms
STEPS = {1: 0.020, 2: 0.040, 4: 0.090, 8: 0.200}


def test_the_highest_concurrency_meeting_a_100_ms_target_is_c4_with_its_throughput():
    measured = load_step_capacity(load_step_run("run-a", STEPS), {"tpot_s": 0.100}, TOKENS, TOKENS)
    capacity = measured.capacity
    assert (capacity.streams, capacity.step, capacity.basis) == (4, "c4", BASIS_LOAD_STEPS)
    # 8 requests of 10 tokens in a 2 s window: 40 tok/s; 40 / 10 tokens = 4 requests/s
    assert capacity.throughput_tps == pytest.approx(40.0, rel=1e-12)
    assert capacity.requests_per_s == pytest.approx(4.0, rel=1e-12)
    # identical requests: every resample has the same tokens per busy second, so the interval is the value
    assert (capacity.throughput_tps_ci_low, capacity.throughput_tps_ci_high) == pytest.approx((40.0, 40.0))
    assert measured.p95_s["tpot_s"] == pytest.approx(0.090)
    (check,) = measured.checks
    assert check.status == "meets" and check.words == "meets p95 per-token latency: 90 ms <= 100 ms"
    assert measured.samples.tpot_s.size == 8 and np.all(measured.samples.tpot_s == 0.090)


def test_a_tighter_target_moves_the_capacity_down_and_no_target_takes_the_highest_step():
    run = load_step_run("run-a", STEPS)
    assert load_step_capacity(run, {"tpot_s": 0.05}, TOKENS, TOKENS).capacity.streams == 2
    assert load_step_capacity(run, {}, TOKENS, TOKENS).capacity.streams == 8


def test_no_step_meeting_the_target_gives_the_lowest_step_and_says_it_misses():
    measured = load_step_capacity(load_step_run("run-a", STEPS), {"tpot_s": 0.010}, TOKENS, TOKENS)
    assert measured.capacity.streams == 1
    assert "no closed-loop step meets every target" in measured.capacity.note
    assert measured.checks[0].words == "misses p95 per-token latency: 20 ms > 10 ms"


def test_the_end_to_end_target_is_checked_at_its_own_output_length():
    # c4: ttft 50 ms + 90 ms * (21 - 1) = 1.85 s for 21 tokens
    measured = load_step_capacity(load_step_run("run-a", {4: 0.090}), {"e2e_s": 1.8}, TOKENS, 21)
    assert measured.p95_s["e2e_s"] == pytest.approx(1.85)
    assert measured.checks[0].words == "misses p95 end-to-end: 1.85 s > 1.8 s"


def test_a_single_stream_run_is_one_streams_capacity_stated_as_such():
    measured = single_stream_capacity(sequential_run("run-s"), {"ttft_s": 0.1}, TOKENS, TOKENS)
    capacity = measured.capacity
    assert (capacity.streams, capacity.basis, capacity.step) == (1, BASIS_SINGLE_STREAM, None)
    assert capacity.throughput_tps == pytest.approx(40 / 3.8, rel=1e-12)  # 40 tokens, first send to last token 3.8 s
    assert capacity.throughput_tps_ci_low <= capacity.throughput_tps <= capacity.throughput_tps_ci_high
    assert "one stream" in capacity.note and measured.checks[0].status == "meets"


def test_a_published_platform_has_no_ttft_so_a_ttft_target_is_not_known():
    figures = {"throughput": 8.3, "per_token_latency": 120.0, "e2e_128_tokens": 15.4}
    measured = published_capacity(figures, {"ttft_s": 0.5, "tpot_s": 0.1, "e2e_s": 16.0}, 128, 128)
    assert measured.capacity.basis == BASIS_PUBLISHED and measured.capacity.requests_per_s == pytest.approx(8.3 / 128)
    statuses = {check.metric: check.status for check in measured.checks}
    assert statuses == {"ttft_s": "not known", "tpot_s": "misses", "e2e_s": "meets"}
    assert measured.checks[0].words == "p95 time to first token not known (target 500 ms)"
    # 64 tokens: 15.4 s - 64 * 0.12 s
    shorter = published_capacity(figures, {"e2e_s": 16.0}, 128, 64)
    assert shorter.p95_s["e2e_s"] == pytest.approx(15.4 - 64 * 0.12) and "scaled" in shorter.capacity.note


def test_measured_runs_take_their_stored_profile_and_cover_their_article_platform():
    prices = load_prices()
    run = load_step_run("run-pi", STEPS, profile=prices["pi5"], platform="my pi")
    inputs = decision_inputs(tpot_p95_s=0.1, output_tokens=TOKENS)
    result = build_candidates(inputs, runs=[run], prices=prices)
    names = [c.name for c in result.candidates]
    assert names == ["run-pi", "L4-class GPU", "A10G-class GPU", "H100-class GPU"]
    measured = result.candidates[0]
    assert (measured.platform_class, measured.source, measured.price_profile.name) == ("edge", "measured", "pi5")
    assert measured.power_w == 8.0 and measured.power_basis == "estimated"
    assert ("Raspberry Pi 5 + AI HAT+ 2", "not predicted: a measured run covers this platform") in result.skipped
    # the article's GPU platforms are sized from the performance model, never from the article's claims
    assert {c.source for c in result.candidates[1:]} == {"predicted"}
    assert ("L4-class GPU (the article's figures)", CLAIMS_NOT_USED) in result.skipped
