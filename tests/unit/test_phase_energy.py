"""Prefill and decode energy from power samples and request timestamps: synthetic timelines with known answers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from benchlib.power.phases import MIN_PHASE_RATE_HZ, phase_energy

BASE_UNIX_S = 1_700_000_000.0
PERIOD_S = 0.1  # 10 Hz
PREFILL_W, DECODE_W, IDLE_W = 8.0, 5.0, 2.0
# per request: prefill and decode lengths in sample periods, prompt and output tokens
REQUESTS = [(3, 5, 120, 11), (4, 7, 300, 31), (5, 9, 200, 21), (6, 6, 500, 16)]
GAP_PERIODS = 3


def counter_frame(interval_power_w: list[float], period_s: float = PERIOD_S, kind: str = "measured") -> pd.DataFrame:
    """Samples as an energy counter records them: exact cumulative energy, power the mean since the previous."""
    times_s = BASE_UNIX_S + np.arange(len(interval_power_w) + 1) * period_s
    energy_j = np.concatenate(([0.0], np.cumsum(np.asarray(interval_power_w) * period_s)))
    return pd.DataFrame({
        "attempt": 1, "unix_s": times_s, "perf_s": times_s - BASE_UNIX_S + 50.0,
        "power_w": np.concatenate(([np.nan], interval_power_w)), "energy_j": energy_j,
        "source": "fake", "boundary": "board", "kind": kind,
    })  # fmt: skip


def sequential_timeline() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Idle gaps at 2 W, then each request's prefill at 8 W and decode at 5 W, one request at a time."""
    power_w: list[float] = []
    marks = []
    for prefill, decode, _, _ in REQUESTS:
        power_w += [IDLE_W] * GAP_PERIODS
        sent = len(power_w)
        power_w += [PREFILL_W] * prefill + [DECODE_W] * decode
        marks.append((sent, sent + prefill, sent + prefill + decode))
    power_w += [IDLE_W] * GAP_PERIODS
    samples = counter_frame(power_w)
    t = samples["unix_s"].to_numpy()
    requests = pd.DataFrame({
        "request_id": [f"r{i}" for i in range(len(REQUESTS))], "attempt": 1,
        "sent_unix_s": [t[s] for s, _, _ in marks], "first_token_unix_s": [t[f] for _, f, _ in marks],
        "last_token_unix_s": [t[e] for _, _, e in marks],
        "prompt_tokens": [r[2] for r in REQUESTS], "output_tokens": [r[3] for r in REQUESTS],
        "cached_prompt_tokens": [None] * len(REQUESTS), "error": [None] * len(REQUESTS),
    })  # fmt: skip
    return samples, requests


def expected_prefill_j() -> float:
    return sum(PREFILL_W * p * PERIOD_S for p, _, _, _ in REQUESTS)


def expected_decode_j() -> float:
    return sum(DECODE_W * d * PERIOD_S for _, d, _, _ in REQUESTS)


def test_sequential_requests_give_the_exact_energy_per_token_and_intervals_that_contain_it():
    samples, requests = sequential_timeline()
    result = phase_energy(samples, requests)
    assert result.separable and result.reason is None
    assert result.sample_rate_hz == pytest.approx(10.0)
    prompt_tokens = sum(r[2] for r in REQUESTS)
    decoded_tokens = sum(r[3] - 1 for r in REQUESTS)  # the first output token is prefill's
    assert (result.prompt_tokens, result.output_tokens, result.requests) == (prompt_tokens, decoded_tokens, 4)
    assert result.prefill_j == pytest.approx(expected_prefill_j(), rel=1e-9)
    assert result.decode_j == pytest.approx(expected_decode_j(), rel=1e-9)
    assert result.j_per_prompt_token == pytest.approx(expected_prefill_j() / prompt_tokens, rel=1e-9)
    assert result.j_per_output_token == pytest.approx(expected_decode_j() / decoded_tokens, rel=1e-9)
    for value, (low, high) in ((result.j_per_prompt_token, result.j_per_prompt_token_interval),
                               (result.j_per_output_token, result.j_per_output_token_interval)):  # fmt: skip
        assert low < value < high  # the requests differ in J/token, so the interval has a width
    # the idle gaps between requests are in their span but not attributed; those before and after are outside it
    assert result.unattributed_j == pytest.approx(IDLE_W * GAP_PERIODS * PERIOD_S * (len(REQUESTS) - 1), rel=1e-9)
    assert phase_energy(samples, requests, seed=0) == result  # seeded


def test_overlapping_requests_share_each_interval_by_their_token_rates():
    # constant 10 W for 3 s: 1 J per 0.1 s interval; power readings integrated by trapezoids
    times_s = BASE_UNIX_S + np.arange(31) * PERIOD_S
    samples = pd.DataFrame({"unix_s": times_s, "power_w": 10.0, "energy_j": 10.0 * (times_s - times_s[0]),
                            "kind": "measured"})  # fmt: skip
    requests = pd.DataFrame({
        # A: prefill 100 tokens over [0, 1) s = 100/s; decode 20 tokens over [1, 3] s = 10/s
        # B: prefill 50 tokens over [0.5, 1.5) s = 50/s; decode 10 tokens over [1.5, 2.5] s = 10/s
        "sent_unix_s": [times_s[0], times_s[5]], "first_token_unix_s": [times_s[10], times_s[15]],
        "last_token_unix_s": [times_s[30], times_s[25]], "prompt_tokens": [100, 50], "output_tokens": [21, 11],
    })  # fmt: skip
    # [0, 0.5): A prefill alone, 5 J.  [0.5, 1): A prefill 100/s, B prefill 50/s: 10/3 J and 5/3 J.
    # [1, 1.5): A decode 10/s, B prefill 50/s: 5/6 J and 25/6 J.  [1.5, 2.5): both decode 10/s: 5 J each.
    # [2.5, 3]: A decode alone, 5 J.
    prefill_j = 5 + 10 / 3 + 5 / 3 + 25 / 6
    decode_j = 5 / 6 + 5 + 5 + 5
    for frame in (samples, samples.drop(columns="energy_j")):  # cumulative energy, or trapezoids over power_w
        result = phase_energy(frame, requests)
        assert result.separable
        assert result.prefill_j == pytest.approx(prefill_j, rel=1e-5)
        assert result.decode_j == pytest.approx(decode_j, rel=1e-5)
        assert result.j_per_prompt_token == pytest.approx(prefill_j / 150, rel=1e-5)
        assert result.j_per_output_token == pytest.approx(decode_j / 30, rel=1e-5)
        assert result.unattributed_j == 0.0


def test_power_sampled_at_1_hz_cannot_separate_the_phases():
    samples = counter_frame([PREFILL_W] * 30, period_s=1.0)
    t = samples["unix_s"].to_numpy()
    requests = pd.DataFrame({"sent_unix_s": [t[1]], "first_token_unix_s": [t[10]], "last_token_unix_s": [t[20]],
                             "prompt_tokens": [4000], "output_tokens": [100]})  # fmt: skip
    result = phase_energy(samples, requests)
    assert not result.separable
    assert result.sample_rate_hz == pytest.approx(1.0)
    assert result.reason.startswith(f"power sampled at 1.0 Hz, below {MIN_PHASE_RATE_HZ:g} Hz")
    assert "sample at 10 Hz or more" in result.reason
    assert result.j_per_prompt_token is None and result.j_per_output_token is None
    assert result.j_per_prompt_token_interval is None and result.prefill_j is None
    assert (result.prompt_tokens, result.output_tokens, result.requests) == (4000, 99, 1)


def test_estimated_power_cannot_separate_the_phases():
    samples, requests = sequential_timeline()
    for result in (phase_energy(samples, requests, estimated=True),
                   phase_energy(samples.assign(kind="estimated"), requests)):  # fmt: skip
        assert not result.separable
        assert result.reason.startswith("power is an estimate, not a measurement")
        assert result.j_per_prompt_token is None and result.decode_j is None


def test_a_prefill_shorter_than_two_sample_periods_cannot_be_separated():
    samples = counter_frame([PREFILL_W] * 20)
    t = samples["unix_s"].to_numpy()
    requests = pd.DataFrame({"sent_unix_s": [t[2]], "first_token_unix_s": [t[2] + 0.03], "last_token_unix_s": [t[15]],
                             "prompt_tokens": [20], "output_tokens": [50]})  # fmt: skip
    result = phase_energy(samples, requests)
    assert not result.separable
    assert result.reason.startswith("prefill lasts a median 0.03 s, shorter than two sample periods (0.2 s)")
    assert "use longer prompts" in result.reason


def test_no_samples_cannot_separate_the_phases():
    _, requests = sequential_timeline()
    result = phase_energy(pd.DataFrame(), requests)
    assert not result.separable and result.sample_rate_hz is None
    assert result.reason.startswith("no power samples in the window")


def test_cached_prompt_tokens_are_not_evaluated():
    samples, requests = sequential_timeline()
    cached = [20, 100, None, 0]
    result = phase_energy(samples, requests.assign(cached_prompt_tokens=cached))
    evaluated = sum(r[2] - (c or 0) for r, c in zip(REQUESTS, cached, strict=True))
    assert result.prompt_tokens == evaluated
    assert result.j_per_prompt_token == pytest.approx(expected_prefill_j() / evaluated, rel=1e-9)
    assert result.prefill_j == pytest.approx(expected_prefill_j(), rel=1e-9)


def test_failed_and_untimed_requests_are_ignored():
    samples, requests = sequential_timeline()
    t = samples["unix_s"].to_numpy()
    failed = {"request_id": "failed", "attempt": 1, "sent_unix_s": t[0], "first_token_unix_s": t[1],
              "last_token_unix_s": t[2], "prompt_tokens": 999, "output_tokens": 99, "error": "HTTP 500"}  # fmt: skip
    untimed = {"request_id": "untimed", "attempt": 1, "sent_unix_s": t[0], "first_token_unix_s": np.nan,
               "last_token_unix_s": np.nan, "prompt_tokens": 999, "output_tokens": 0, "error": None}  # fmt: skip
    result = phase_energy(samples, pd.concat([requests, pd.DataFrame([failed, untimed])], ignore_index=True))
    clean = phase_energy(samples, requests)
    assert result.excluded_requests == 2 and clean.excluded_requests == 0
    assert (result.requests, result.prompt_tokens, result.output_tokens) == (clean.requests, clean.prompt_tokens, clean.output_tokens)
    assert result.j_per_prompt_token == clean.j_per_prompt_token
    assert result.j_per_output_token == clean.j_per_output_token


def test_records_are_json_without_nan():
    samples, requests = sequential_timeline()
    separable = phase_energy(samples, requests).to_record()
    refused = phase_energy(samples, requests, estimated=True).to_record()
    for record in (separable, refused):
        assert json.loads(json.dumps(record, allow_nan=False)) == record
    assert separable["separable"] is True and len(separable["j_per_prompt_token_interval"]) == 2
    assert refused["j_per_output_token"] is None and refused["j_per_output_token_interval"] is None
    assert "output_tokens - 1" in separable["method"]
