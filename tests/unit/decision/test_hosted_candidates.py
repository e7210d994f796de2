"""A hosted API of the price files competes at its list price: tokens times price, no devices, latency not known."""

import pytest

from benchlib.decision import load_decision_inputs, make_decision
from benchlib.decision.inputs import FLAT_PARAMS
from benchlib.paths import repo_root

HOSTED = str(repo_root() / "params/prices/hosted-example.yaml")


def test_a_hosted_api_is_priced_per_token_and_qualifies_only_without_latency_targets():
    inputs = load_decision_inputs(FLAT_PARAMS, runs=False, platforms=[], service_level=None, price_files=[HOSTED],
                                  requests_per_day=1000, prompt_tokens=500, output_tokens=200)  # fmt: skip
    result = make_decision(inputs)
    mini = result.verdict("gpt-4o-mini")
    # 1,000 requests of 500 input + 200 output tokens at $0.15/M in and $0.60/M out: $0.075 + $0.12
    assert mini.cost_per_day_usd == pytest.approx(0.195)
    assert mini.best.variant == "per-token" and mini.best.devices == 0
    assert mini.best.usd_per_million_output_tokens == pytest.approx(0.975)
    assert result.recommended.candidate.name == "gpt-4o-mini"  # cheaper than the other example endpoint

    with_target = make_decision(load_decision_inputs(FLAT_PARAMS, runs=False, platforms=[], price_files=[HOSTED]))
    assert with_target.recommended is None
    why = with_target.verdict("gpt-4o-mini").why
    assert "p95 time to first token not known (target 2 s)" in why
    assert "p95 per-token latency not known (target 100 ms)" in why
