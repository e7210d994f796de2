"""The candidates: one model served, runs of it beside the mission's platforms, runs of other models kept apart."""

import pytest
from decision_fakes import TOKENS, load_step_run

from benchlib.cost import load_prices
from benchlib.decision import build_candidates, decision_inputs
from benchlib.decision.candidates import CLAIMS_NOT_USED
from benchlib.errors import ParameterError

PI_CPU, PI_HAT = "Raspberry Pi 5 (CPU)", "Raspberry Pi 5 + AI HAT+ 2"


@pytest.fixture(scope="module")
def prices():
    return load_prices()


def test_a_measured_run_of_the_model_replaces_its_platforms_prediction(prices):
    run = load_step_run("run-pi", {1: 0.020, 2: 0.040}, prices["pi5"], platform="pi5-llama-server")
    inputs = decision_inputs(output_tokens=TOKENS, service_level=None, tpot_target_s=0.1)
    result = build_candidates(inputs, runs=[run], prices=prices)
    names = [c.name for c in result.candidates]
    assert names[0] == "run-pi" and "L4" in names and PI_CPU not in names
    measured = result.candidates[0]
    assert (measured.platform_class, measured.source, measured.price_profile.name) == ("edge", "measured", "pi5")
    assert measured.power_w == 8.0 and measured.power_basis == "estimated"
    assert measured.model == "llama-2-7b q4_0 (llama-2-7b-q4_0)" and measured.sizing.level.step in ("c1", "c2")
    skipped = dict(result.skipped)
    assert skipped[PI_CPU] == "not predicted: run run-pi measured it"
    assert skipped[PI_HAT].startswith("cannot run llama-2-7b: it runs only ")
    assert skipped["the article's platform figures"] == CLAIMS_NOT_USED
    assert {c.source for c in result.candidates if c.platform in ("L4", "A10G", "H100")} == {"predicted"}


def test_a_run_of_another_model_is_listed_once_as_not_comparable_and_naming_it_is_an_error(prices):
    other = load_step_run("run-small", {1: 0.01}, prices["pi5"], platform="pi5", model="SmolLM2-135M-Instruct-Q4_1")
    inputs = decision_inputs(output_tokens=TOKENS)
    result = build_candidates(inputs, runs=[other], prices=prices)
    assert result.not_comparable == (("run-small", "SmolLM2-135M-Instruct-Q4_1"),)
    assert all(c.run_id != "run-small" for c in result.candidates)
    with pytest.raises(ParameterError, match=r"'run-small' .* ran SmolLM2-135M-Instruct-Q4_1, not llama-2-7b q4_0"):
        build_candidates(decision_inputs(candidates=["run-small"]), runs=[other], prices=prices)


def test_a_run_on_this_machine_competes_only_when_named(prices):
    here = load_step_run("run-here", {1: 0.02}, prices["pi5"], platform="local-cpu")
    unnamed = build_candidates(decision_inputs(output_tokens=TOKENS, platforms=[]), runs=[here], prices=prices)
    assert [c.run_id for c in unnamed.candidates if c.run_id] == []
    assert dict(unnamed.skipped)["run-here"].startswith("measured on this machine: it competes only when named")
    for named in ({"this_machine": True}, {"candidates": ["run-here"]}):
        chosen = build_candidates(decision_inputs(output_tokens=TOKENS, platforms=[], **named), runs=[here],
                                  prices=prices)  # fmt: skip
        assert [c.name for c in chosen.candidates] == ["run-here"]


def test_a_model_too_big_for_a_platform_is_left_out_with_the_memory_it_needs(prices):
    result = build_candidates(decision_inputs(model="llama-3.1-70b", runs=False), prices=prices)
    skipped = dict(result.skipped)
    assert [c.name for c in result.candidates if c.source == "predicted"] == ["H100"]
    assert skipped[PI_CPU].startswith("cannot hold llama-3.1-70b q4_0: ") and "GB usable memory" in skipped[PI_CPU]
    assert skipped["L4"].startswith("cannot hold llama-3.1-70b q4_0: ") and skipped["A10G"].startswith("cannot hold")
    assert skipped[PI_HAT].startswith("cannot run llama-3.1-70b: it runs only ")


def test_the_hailo_hat_competes_for_a_model_it_runs_in_its_own_quantization(prices):
    result = build_candidates(decision_inputs(model="qwen2.5-1.5b", quantization="q4_k_m", runs=False), prices=prices)
    hat = next(c for c in result.candidates if c.name == PI_HAT)
    assert hat.platform_class == "edge" and hat.source == "predicted"
    assert hat.model == "qwen2.5-1.5b a8w4" and "it serves its own a8w4 build of the model" in hat.basis_note
    assert hat.to_narrow.startswith("a load sweep of qwen2.5-1.5b a8w4 on hailo-10h with hailo (`benchlib sweep "
                                    "params/pi5-hailo-ollama.yaml --set model=<that model>` on the device")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"model": "llama-9b"}, "model 'llama-9b' is not in data/reference/models.yaml; valid: deepseek"),
        ({"quantization": "q3"}, "quantization 'q3' is not in data/reference/models.yaml; valid: a8w4"),
        ({"platforms": ["L5"]}, "L5"),
        ({"service_level": "fast"}, "fast"),
    ],
)
def test_an_unknown_model_quantization_platform_or_service_level_lists_the_valid_ones(prices, values, message):
    with pytest.raises(ParameterError, match=message) as error:
        build_candidates(decision_inputs(runs=False, **values), prices=prices)
    if "platforms" in values or "service_level" in values:
        assert "valid" in str(error.value) or "known" in str(error.value)
