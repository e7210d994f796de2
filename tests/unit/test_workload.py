"""Prompt sets and the request order of a workload."""

from __future__ import annotations

import pytest

from benchlib.errors import ParameterError
from benchlib.runtimes.base import GenerationRequest
from benchlib.workload import PROMPT_SETS, Workload, resolve_prompts


# --------------------------------------------------------------------------- resolve_prompts


def test_resolve_prompts_set_name():
    prompts = resolve_prompts("short")
    assert isinstance(prompts, tuple)
    assert prompts == PROMPT_SETS["short"]
    assert len(prompts) == 4
    assert all(isinstance(p, str) and p.strip() for p in prompts)
    assert resolve_prompts("tiny") == ("Hello, my name is",)


@pytest.mark.parametrize("given", [["one", "two"], ("one", "two")])
def test_resolve_prompts_explicit_list(given):
    assert resolve_prompts(given) == ("one", "two")


def test_resolve_prompts_unknown_name_lists_valid_sets():
    with pytest.raises(ParameterError) as info:
        resolve_prompts("medium")
    message = str(info.value)
    assert "medium" in message
    for name in PROMPT_SETS:
        assert name in message


def test_resolve_prompts_empty_list():
    with pytest.raises(ParameterError, match="empty"):
        resolve_prompts([])


@pytest.mark.parametrize("bad", [["ok", ""], ["ok", "   "], ["ok", 3]])
def test_resolve_prompts_bad_items(bad):
    with pytest.raises(ParameterError, match="non-empty string"):
        resolve_prompts(bad)


def test_parameter_error_is_a_value_error():
    with pytest.raises(ValueError):
        resolve_prompts([])


# --------------------------------------------------------------------------- Workload


def test_measured_ids_and_order_repetition_major():
    prompts = ("A", "B", "C")
    w = Workload(prompts=prompts, output_tokens=16, repetitions=3, warmup_requests=0)
    requests = w.measured()
    assert len(requests) == 3 * 3
    assert all(isinstance(r, GenerationRequest) for r in requests)
    assert [r.request_id for r in requests] == [
        "rep000-p00", "rep000-p01", "rep000-p02",
        "rep001-p00", "rep001-p01", "rep001-p02",
        "rep002-p00", "rep002-p01", "rep002-p02",
    ]  # fmt: skip
    assert [r.prompt for r in requests] == ["A", "B", "C"] * 3
    assert all(r.max_output_tokens == 16 for r in requests)
    assert all(r.ignore_eos is True for r in requests)
    assert len({r.request_id for r in requests}) == len(requests)


@pytest.mark.parametrize("repetitions, n_prompts", [(1, 1), (2, 4), (12, 3)])
def test_measured_count(repetitions, n_prompts):
    prompts = tuple(f"prompt {i}" for i in range(n_prompts))
    w = Workload(prompts=prompts, output_tokens=8, repetitions=repetitions, warmup_requests=1)
    requests = w.measured()
    assert len(requests) == repetitions * n_prompts
    assert requests[0].request_id == "rep000-p00"
    assert requests[-1].request_id == f"rep{repetitions - 1:03d}-p{n_prompts - 1:02d}"


def test_measured_passes_ignore_eos_false():
    w = Workload(prompts=("A",), output_tokens=4, repetitions=2, warmup_requests=0, ignore_eos=False)
    assert all(r.ignore_eos is False for r in w.measured())
    assert all(r.ignore_eos is False for r in Workload(("A",), 4, 1, 2, ignore_eos=False).warmup())


def test_warmup_cycles_prompts():
    w = Workload(prompts=("A", "B", "C"), output_tokens=5, repetitions=1, warmup_requests=7)
    warm = w.warmup()
    assert len(warm) == 7
    assert [r.prompt for r in warm] == ["A", "B", "C", "A", "B", "C", "A"]
    assert [r.request_id for r in warm] == [f"warmup{i:02d}" for i in range(7)]
    assert all(r.max_output_tokens == 5 for r in warm)
    # Warm-up ids never collide with measured ids.
    assert not {r.request_id for r in warm} & {r.request_id for r in w.measured()}


def test_warmup_zero():
    assert Workload(prompts=("A",), output_tokens=5, repetitions=1, warmup_requests=0).warmup() == []


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"output_tokens": 0}, "output_tokens"),
        ({"output_tokens": -5}, "output_tokens"),
        ({"repetitions": 0}, "repetitions"),
        ({"repetitions": -1}, "repetitions"),
        ({"warmup_requests": -1}, "warmup"),
    ],
)
def test_invalid_values_raise_parameter_error(kwargs, name):
    values = {"prompts": ("A",), "output_tokens": 8, "repetitions": 1, "warmup_requests": 0}
    values.update(kwargs)
    with pytest.raises(ParameterError, match=name):
        Workload(**values)


def test_boundary_values_are_valid():
    w = Workload(prompts=("A",), output_tokens=1, repetitions=1, warmup_requests=0)
    assert len(w.measured()) == 1
    assert w.measured()[0].max_output_tokens == 1
