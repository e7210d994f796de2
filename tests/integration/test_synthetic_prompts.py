"""Synthetic prompts: exact length in the real model's tokens, unique per request, the same on resume."""

from __future__ import annotations

import pytest

from benchlib.errors import ParameterError
from benchlib.models import resolve_model
from benchlib.config import SweepConfig
from benchlib.sweep import run_sweep
from benchlib.synthetic_prompts import GgufTokenizer, SyntheticPrompts
from benchlib.workload import SYNTHETIC_PROMPTS_PER_REPETITION, Workload

pytestmark = [pytest.mark.model]


@pytest.fixture(scope="module")
def tokenizer():
    gguf = GgufTokenizer(resolve_model("smollm2-135m-q4_1").path)
    yield gguf
    gguf.close()


@pytest.mark.parametrize("length", [1, 7, 64, 512])
def test_every_prompt_has_exactly_the_length_asked_for(tokenizer, length):
    builder = SyntheticPrompts(tokenizer, length, seed=0)
    prompts = [builder.prompt(f"rep000-p{i:02d}") for i in range(6)]
    assert [len(tokenizer.encode(p)) for p in prompts] == [length] * 6
    assert len(set(prompts)) == 6, "no two requests share a prompt"


def test_prompts_share_no_prefix_and_repeat_for_the_same_request_and_seed(tokenizer):
    builder = SyntheticPrompts(tokenizer, 64, seed=3)
    ids = [tokenizer.encode(builder.prompt(f"c4-a0-{i:05d}-p00")) for i in range(20)]
    first_tokens = [i[:3] for i in ids]
    assert len({tuple(t) for t in first_tokens}) == 20, "no two prompts share their first three tokens"
    assert builder.prompt("c4-a0-00003-p00") == SyntheticPrompts(tokenizer, 64, seed=3).prompt("c4-a0-00003-p00")
    assert builder.prompt("c4-a0-00003-p00") != SyntheticPrompts(tokenizer, 64, seed=4).prompt("c4-a0-00003-p00")


def test_a_batch_of_prompts_equals_the_prompts_made_one_by_one(tokenizer):
    builder = SyntheticPrompts(tokenizer, 33, seed=1)
    ids = [f"r{i}" for i in range(12)]
    assert builder.prompts(ids) == [builder.prompt(i) for i in ids]


def test_synthetic_workload_needs_prompt_tokens_and_fills_prompts(tokenizer):
    with pytest.raises(ParameterError, match="prompt_tokens"):
        Workload(prompts=(), output_tokens=8, repetitions=1, warmup_requests=0)
    workload = Workload(prompts=(), output_tokens=8, repetitions=2, warmup_requests=1, synthetic_prompt_tokens=16)
    measured = workload.measured()
    assert len(measured) == 2 * SYNTHETIC_PROMPTS_PER_REPETITION
    assert all(r.prompt == "" for r in measured)
    with pytest.raises(ParameterError, match="tokenizer"):
        workload.materialize(measured)
    filled = workload.materialize(measured, tokenizer)
    assert [r.request_id for r in filled] == [r.request_id for r in measured]
    assert all(len(tokenizer.encode(r.prompt)) == 16 for r in filled)


def test_bad_synthetic_parameters_are_refused_before_anything_runs(tmp_path):
    with pytest.raises(ParameterError, match="prompt_tokens"):
        SweepConfig.from_mapping({"prompts": "synthetic", "output_dir": str(tmp_path)})
    with pytest.raises(ParameterError, match=r"prompt_tokens \(workload.prompt_tokens\) must be an integer >= 0"):
        SweepConfig.from_mapping({"prompts": "synthetic", "prompt_tokens": -3, "output_dir": str(tmp_path)})
    with pytest.raises(ParameterError) as error:
        SweepConfig.from_mapping({"prompts": "synthetc", "output_dir": str(tmp_path)})
    assert "synthetic" in str(error.value) and "short" in str(error.value)


def test_in_process_sweep_with_synthetic_prompts(tmp_path):
    params = SweepConfig.from_mapping(
        dict(profile="synthetic-test", prompts="synthetic", prompt_tokens=32, output_tokens=4, repetitions=1,
             warmup=1, threads=1, power="none", output_dir=str(tmp_path / "runs"))
    )  # fmt: skip
    result = run_sweep(params, progress=False)
    requests = result.requests
    assert len(requests) == SYNTHETIC_PROMPTS_PER_REPETITION
    assert requests["prompt_tokens"].nunique() == 1 and requests["prompt_tokens"].iloc[0] - 32 in (0, 1)
    assert (requests["cached_prompt_tokens"] == 0).all(), "llama.cpp in process clears its cache: nothing cached"
    assert result.summary["prompt_cache"] == {
        "reported": True, "requests": 4, "requests_with_cached_tokens": 0,
        "prompt_tokens": int(requests["prompt_tokens"].sum()), "cached_prompt_tokens": 0, "cached_share": 0.0,
        "hit": False,
    }  # fmt: skip
    assert result.meta["parameters"]["prompts"] == "synthetic" and result.meta["parameters"]["prompt_tokens"] == 32
    other = SweepConfig.from_mapping({**params.flat(), "prompt_tokens": 33})
    assert other.run_id() != params.run_id(), "prompt_tokens is part of a synthetic run's identity"
    fixed = SweepConfig.from_mapping({**params.flat(), "prompts": "short", "prompt_tokens": 0})
    assert "prompt_tokens" not in fixed.identity(), "and only of a synthetic run's"
