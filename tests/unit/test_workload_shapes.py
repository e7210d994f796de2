"""Issue 27's workload shapes, pure: the configuration's refusals and run-id rules, the workload plan
(trace replay, length grids, shared prefix, context depth), conversations and their sessions, and the rows
they give.

Synthetic text is made with :class:`WordTokenizer`, a small but real implementation of
:class:`benchlib.synthetic_prompts.Tokenizer` (one id per distinct word), so a prompt's token count is its
word count.
"""

from __future__ import annotations

import hashlib
import math
import json
from pathlib import Path

import pandas as pd
import pytest

from benchlib.cli import main
from benchlib.config.sections import LoadSection
from benchlib.config.sweep import IDENTITY_AT_DEFAULT_OMITTED, SweepConfig
from benchlib.config.workload_section import WorkloadSection
from benchlib.conversation import ConversationBook, conversation_request_id, render_transcript, think_time_s
from benchlib.errors import ParameterError
from benchlib.paths import params_dir
from benchlib.records import run_id_for
from benchlib.runtimes.base import GenerationRequest, RuntimeTimings, TokenTrace
from benchlib.sweep.load_steps import expand_steps, step_requests, step_sessions
from benchlib.sweep.rows import load_step_row, sequential_row
from benchlib.sweep.sessions import ConversationSession, SingleRequest
from benchlib.sweep.steps import LoadStep
from benchlib.workload import Cell, Workload

ROOT = Path(__file__).resolve().parents[2]
HTTP = {"runtime": "http", "url": "http://127.0.0.1:9", "model": "m"}  # validation never contacts the URL
CONVERSATION = {"prompts": "conversation", "turns": 3, "prompt_tokens": 32}
SYNTHETIC = {"prompts": "synthetic", "prompt_tokens": 32}
BURSTGPT_HEADER = "Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type"
BURSTGPT_ROWS = (
    "5,ChatGPT,100,20,120,Conversation log",
    "5.5,ChatGPT,200,30,230,Conversation log",
    "7,GPT-4,50,10,60,API log",
)


class WordTokenizer:
    """Whitespace-separated words to ids and back: one id per distinct word, in order of first sight."""

    name = "words (test)"

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._words: list[str] = []

    def _id(self, word: str) -> int:
        if word not in self._ids:
            self._ids[word] = len(self._words)
            self._words.append(word)
        return self._ids[word]

    def encode_many(self, texts):
        return [[self._id(word) for word in text.split()] for text in texts]

    def decode_many(self, ids):
        return [" ".join(self._words[i] for i in seq) for seq in ids]


def _words(text: str) -> int:
    return len(text.split())


def _refused(values: dict) -> str:
    with pytest.raises(ParameterError) as info:
        SweepConfig.from_mapping(values)
    return str(info.value)


def _trace_file(tmp_path: Path, *rows: str, name: str = "burstgpt.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join((BURSTGPT_HEADER, *(rows or BURSTGPT_ROWS))) + "\n", encoding="utf-8")
    return path


def _trace(times_s=(0.0, 0.1, 0.2), text: str = "reply", error: str | None = None, tokens: int | None = None):
    """A finished request: one token per time (``tokens`` overrides the count)."""
    return TokenTrace("x", 0.0, tuple(times_s), 10, text=text, error=error, output_token_count=tokens)


# ---- configuration: every refusal names the parameter and the fix ------------------------------------------

WORKLOAD_REFUSALS = {
    "turns without a conversation": ({"turns": 3}, ["turns: 3", "needs prompts: conversation"]),
    "a conversation of one turn": ({"prompts": "conversation", "prompt_tokens": 32},
                                   ["prompts: conversation", "turns of 2 or more"]),
    "think time without a conversation": ({"think_time_s": 2.0},
                                          ["think_time_s", "pause between turns", "needs prompts: conversation"]),
    "a conversation with a prompt grid": ({**CONVERSATION, "prompt_tokens": [32, 64]},
                                          ["prompts: conversation takes one prompt_tokens and output_tokens"]),
    "a conversation with an output grid": ({**CONVERSATION, "output_tokens": [8, 16]},
                                           ["prompts: conversation takes one prompt_tokens and output_tokens"]),
    "a conversation with a depth": ({**CONVERSATION, "context_depth": 64}, ["prompts: conversation", "no context_depth"]),
    "a prompt list without synthetic": ({"prompt_tokens": [32, 64]}, ["a list of prompt_tokens needs prompts: synthetic"]),
    "a prefix without synthetic": ({"prefix_tokens": 32}, ["prefix_tokens needs prompts: synthetic"]),
}  # fmt: skip


@pytest.mark.parametrize("values, words", WORKLOAD_REFUSALS.values(), ids=WORKLOAD_REFUSALS.keys())
def test_incoherent_workloads_are_refused_naming_the_parameter_and_the_fix(values, words):
    message = _refused(values)
    assert message.startswith("Workload: ")
    for word in words:
        assert word in message


def test_the_same_refusals_come_from_the_section_alone():
    with pytest.raises(ParameterError, match="turns: 3 needs prompts: conversation"):
        WorkloadSection(turns=3)
    with pytest.raises(ParameterError, match="prefix_tokens needs prompts: synthetic"):
        WorkloadSection(prefix_tokens=8)


@pytest.mark.parametrize(
    "extra",
    [{"prompts": "conversation", "turns": 2, "prompt_tokens": 8}, {"output_tokens": [8, 16]}, {"context_depth": 32},
     {"prompts": "synthetic", "prompt_tokens": 16, "prefix_tokens": 8}],
    ids=["conversation", "grid", "depth", "prefix"],
)  # fmt: skip
def test_a_trace_with_a_conversation_grid_depth_or_prefix_is_refused(tmp_path, extra):
    message = _refused({"trace": str(_trace_file(tmp_path)), **extra})
    assert "a trace gives each request's lengths and arrival" in message
    assert "drop prompts: conversation, length lists, context_depth and prefix_tokens" in message


@pytest.mark.parametrize(
    "name, value",
    [("output_tokens", [8, 8]), ("prompt_tokens", [32, 64, 32]), ("context_depth", [0, 0]), ("output_tokens", -1),
     ("output_tokens", 0), ("prompt_tokens", -3), ("context_depth", [0, -5]), ("output_tokens", [])],
)  # fmt: skip
def test_duplicate_negative_or_empty_grid_values_are_refused(name, value):
    least = 1 if name == "output_tokens" else 0
    message = _refused({**SYNTHETIC, name: value})
    assert f"Parameter {name} (workload.{name}) must be an integer >= {least}" in message
    assert "list of distinct ones for a grid" in message
    assert f"got {value!r}" in message


@pytest.mark.parametrize("value", ["128", [8, "16"], True, 12.0])
def test_an_output_length_that_is_no_integer_is_refused(value):
    message = _refused({"output_tokens": value})
    assert "output_tokens" in message and "must be an integer" in message
    assert repr(value) in message


def test_an_unknown_think_time_distribution_lists_the_valid_ones():
    message = _refused({**CONVERSATION, "think_time_s": 1.0, "think_time_distribution": "gamma"})
    assert "Unknown think_time_distribution 'gamma'" in message
    assert "valid: constant, exponential" in message


def test_an_unknown_load_lists_the_valid_ones():
    message = _refused({**HTTP, "load": "ramp"})
    assert "Unknown load 'ramp'" in message
    assert "valid: steps, sweep" in message


def test_load_sweep_needs_a_target():
    message = _refused({**HTTP, "load": "sweep"})
    assert "load: sweep" in message
    assert "set at least one of slo_ttft_s, slo_tpot_s, slo_e2e_s" in message
    for target in ("slo_ttft_s", "slo_tpot_s", "slo_e2e_s"):
        assert SweepConfig.from_mapping({**HTTP, "load": "sweep", target: 1.0}).load.load == "sweep"


@pytest.mark.parametrize(
    "values",
    [{"prompts": "synthetic", "prompt_tokens": [32, 64]}, {"output_tokens": [8, 16]}, {"context_depth": 128}],
    ids=["prompt grid", "output grid", "depth"],
)
def test_load_sweep_searches_one_request_shape(values):
    message = _refused({**HTTP, "load": "sweep", "slo_ttft_s": 1.0, **values})
    assert "load: sweep searches for one rate at one request shape" in message
    assert "give a single prompt_tokens, output_tokens and context_depth" in message


def test_load_sweep_with_a_trace_is_refused(tmp_path):
    message = _refused({**HTTP, "load": "sweep", "slo_ttft_s": 1.0, "trace": str(_trace_file(tmp_path))})
    assert "load: sweep searches for one rate" in message and "no trace" in message


GRID_2X2 = {**HTTP, "prompts": "synthetic", "prompt_tokens": [32, 64], "output_tokens": [8, 16], "concurrency": [1, 2],
            "step_max_s": 120, "max_duration_s": 600}  # fmt: skip


def test_a_grid_that_could_outlast_max_duration_is_refused_with_its_step_counts():
    message = _refused(GRID_2X2)
    assert "The grid has 4 cells x 2 load steps, each up to step_max_s = 120 s: up to 960 s" in message
    assert "more than max_duration_s = 600 s" in message
    assert "Raise max_duration_s" in message
    assert "lower step_max_s to 75 s or less" in message
    assert "fewer cells" in message


def test_a_grid_whose_worst_case_equals_the_budget_is_accepted():
    config = SweepConfig.from_mapping({**GRID_2X2, "max_duration_s": 960})
    assert len(config.workload_plan().grid_cells) == 4
    SweepConfig.from_mapping({**GRID_2X2, "step_max_s": 75})


def test_check_budget_counts_closed_and_open_steps_and_skips_one_cell_and_load_sweep():
    load = LoadSection(concurrency=[1, 2], rates_rps=[0.5], step_max_s=100, max_duration_s=500)
    with pytest.raises(ParameterError, match=r"2 cells x 3 load steps, each up to step_max_s = 100 s: up to 600 s"):
        load.check_budget(2)
    load.check_budget(1)  # one cell is no grid
    LoadSection(load="sweep", slo_ttft_s=1.0, step_max_s=100, max_duration_s=50).check_budget(10)


def test_a_grid_on_an_in_process_runtime_has_no_load_budget():
    SweepConfig.from_mapping({**{k: v for k, v in GRID_2X2.items() if k not in HTTP}, "runtime": "llama.cpp"})


def test_turns_on_ollama_generate_are_refused_with_the_apis_that_work():
    message = _refused({**HTTP, **CONVERSATION, "api": "ollama-generate"})
    assert "turns: 3 needs an API that carries a conversation's history" in message
    assert "'ollama-generate'" in message
    assert "Use api: ollama-chat, openai-chat or openai-completions" in message


@pytest.mark.parametrize("api", ["ollama-chat", "openai-chat", "openai-completions"])
def test_turns_are_accepted_on_apis_with_history(api):
    config = SweepConfig.from_mapping({**HTTP, **CONVERSATION, "api": api})
    assert config.workload_plan().turns == 3


def test_turns_are_accepted_in_process():
    assert SweepConfig.from_mapping(CONVERSATION).workload_plan().conversation


def test_the_sweep_command_refuses_a_grid_too_long_and_writes_nothing(tmp_path, capsys):
    runs = tmp_path / "runs"
    overrides = ["runtime=http", "url=http://127.0.0.1:9", "prompts=synthetic", "prompt_tokens=[32, 64]",
                 "output_tokens=[8, 16]", "concurrency=[1, 2]", f"output_dir={runs}"]  # fmt: skip
    assert main(["sweep", str(params_dir() / "smoke.yaml"), *[a for o in overrides for a in ("--set", o)]]) == 2
    assert "4 cells x 2 load steps" in capsys.readouterr().err
    assert not runs.exists()


def test_the_sweep_command_refuses_turns_on_ollama_generate_and_writes_nothing(tmp_path, capsys):
    runs = tmp_path / "runs"
    overrides = ["runtime=http", "url=http://127.0.0.1:9", "api=ollama-generate", "prompts=conversation", "turns=3",
                 "prompt_tokens=16", f"output_dir={runs}"]  # fmt: skip
    assert main(["sweep", str(params_dir() / "smoke.yaml"), *[a for o in overrides for a in ("--set", o)]]) == 2
    assert "needs an API that carries a conversation's history" in capsys.readouterr().err
    assert not runs.exists()


# ---- run ids: the new parameters leave earlier ids alone -----------------------------------------------------


def test_the_default_run_id_is_unchanged_by_the_new_parameters():
    config = SweepConfig.from_mapping({})
    identity = config.identity()
    assert not set(IDENTITY_AT_DEFAULT_OMITTED) & set(identity)
    assert "cache_prompt" not in identity  # in-process llama.cpp reads it since issue 27
    assert config.run_id() == run_id_for(identity)
    pins = json.loads((ROOT / "tests" / "fixtures" / "compat_pins.json").read_text())["run_ids"]
    assert config.run_id() == pins["local-cpu"]  # params/local-cpu.yaml is the defaults


def test_a_server_sweeps_run_id_is_unchanged_by_the_new_load_parameters():
    """The pinned http variant of tests/test_compat_pins.py: load parameters stay, the new ones are left out."""
    config = SweepConfig.from_mapping({
        "runtime": "http", "url": "http://10.0.0.2:8000", "api": "openai-chat", "served_model": "m",
        "rates_rps": [0.5, 2.0], "concurrency": [], "slo_ttft_s": 0.5, "cache_prompt": "off",
    })  # fmt: skip
    identity = config.identity()
    assert not set(IDENTITY_AT_DEFAULT_OMITTED) & set(identity)
    assert identity["cache_prompt"] == "off" and identity["rates_rps"] == [0.5, 2.0]
    pins = json.loads((ROOT / "tests" / "fixtures" / "compat_pins.json").read_text())["run_ids"]
    assert config.run_id() == pins["variant:http-chat-open-loop"]


def test_new_parameters_given_at_their_defaults_keep_the_run_id():
    defaults = {"turns": 1, "think_time_s": 0.0, "think_time_distribution": "exponential", "prefix_tokens": 0,
                "prefix_share": 1.0, "trace": "", "trace_columns": {}, "trace_speedup": 1.0, "trace_max_requests": 0,
                "context_depth": 0, "load": "steps", "max_duration_s": 600.0, "sweep_tolerance": 0.1,
                "slo_attainment": 0.95, "sweep_step_s": 10.0}  # fmt: skip
    assert set(defaults) == set(IDENTITY_AT_DEFAULT_OMITTED)
    assert SweepConfig.from_mapping(defaults).run_id() == SweepConfig.from_mapping({}).run_id()
    assert SweepConfig.from_mapping({**HTTP, **defaults}).run_id() == SweepConfig.from_mapping(HTTP).run_id()


@pytest.mark.parametrize(
    "base, change",
    [
        (SYNTHETIC, {"prefix_tokens": 16}),
        (SYNTHETIC, {"context_depth": 64}),
        (SYNTHETIC, {"prompt_tokens": [32, 64]}),
        ({**SYNTHETIC, "prefix_tokens": 16}, {"prefix_share": 0.5}),
        (CONVERSATION, {"turns": 4}),
        (CONVERSATION, {"think_time_s": 1.5}),
        ({**CONVERSATION, "think_time_s": 1.5}, {"think_time_distribution": "constant"}),
        ({}, {"cache_prompt": "on"}),
        ({**HTTP, "slo_ttft_s": 1.0}, {"load": "sweep"}),
        (HTTP, {"max_duration_s": 900}),
        ({**HTTP, "load": "sweep", "slo_ttft_s": 1.0}, {"sweep_tolerance": 0.2}),
        ({**HTTP, "load": "sweep", "slo_ttft_s": 1.0}, {"slo_attainment": 0.9}),
        ({**HTTP, "load": "sweep", "slo_ttft_s": 1.0}, {"sweep_step_s": 5.0}),
    ],
)
def test_a_new_parameter_off_its_default_changes_the_run_id(base, change):
    before = SweepConfig.from_mapping(base)
    after = SweepConfig.from_mapping({**base, **change})
    assert after.run_id() != before.run_id()
    assert set(change) <= set(after.identity())


# ---- traces ------------------------------------------------------------------------------------------------


def test_a_trace_gives_its_requests_with_their_schedule(tmp_path):
    config = SweepConfig.from_mapping({"trace": str(_trace_file(tmp_path))})
    workload = config.workload_plan()
    requests = workload.measured()
    assert [r.request_id for r in requests] == ["trace-00000", "trace-00001", "trace-00002"]
    assert [r.row_columns["scheduled_offset_s"] for r in requests] == [0.0, 0.5, 2.0]
    assert [r.row_columns["trace_row"] for r in requests] == [1, 2, 3]
    assert [r.row_columns["target_prompt_tokens"] for r in requests] == [100, 200, 50]
    assert [r.max_output_tokens for r in requests] == [20, 30, 10]
    assert [r.row_columns["target_output_tokens"] for r in requests] == [20, 30, 10]
    assert workload.needs_tokenizer and not workload.prompts
    made = workload.materialize(requests, WordTokenizer())
    assert [_words(r.prompt) for r in made] == [100, 200, 50]
    assert len({r.prompt for r in made}) == 3


def test_trace_speedup_and_max_requests_shape_the_schedule(tmp_path):
    config = SweepConfig.from_mapping({"trace": str(_trace_file(tmp_path)), "trace_speedup": 2.0,
                                       "trace_max_requests": 2})  # fmt: skip
    requests = config.workload_plan().measured()
    assert [r.request_id for r in requests] == ["trace-00000", "trace-00001"]
    assert [r.row_columns["scheduled_offset_s"] for r in requests] == [0.0, 0.25]


def test_a_trace_file_enters_the_identity_by_its_sha256(tmp_path):
    path = _trace_file(tmp_path)
    config = SweepConfig.from_mapping({"trace": str(path)})
    assert config.identity()["trace"] == {"file": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    before = config.run_id()
    assert SweepConfig.from_mapping({"trace": str(path)}).run_id() == before
    _trace_file(tmp_path, BURSTGPT_ROWS[0], BURSTGPT_ROWS[1], "7,GPT-4,50,11,61,API log")  # one output length edited
    assert SweepConfig.from_mapping({"trace": str(path)}).run_id() != before


def test_a_trace_row_longer_than_an_in_process_context_is_refused_naming_the_row(tmp_path):
    path = _trace_file(tmp_path)
    message = _refused({"trace": str(path), "context_tokens": 200})
    assert f"Row 2 of trace {path} needs 200 prompt + 30 output tokens of context" in message
    assert "context_tokens is 200" in message
    assert "raise context_tokens to at least 230" in message
    SweepConfig.from_mapping({"trace": str(path), "context_tokens": 230})
    SweepConfig.from_mapping({**HTTP, "trace": str(path), "context_tokens": 200})  # a server's context is its own


def test_a_trace_is_one_replay_step_of_its_schedule(tmp_path):
    workload = SweepConfig.from_mapping({**HTTP, "trace": str(_trace_file(tmp_path))}).workload_plan()
    (step,) = expand_steps([LoadStep("c1", "closed", 1, None, 16, 120.0)], workload, 120.0)
    assert (step.step_id, step.mode, step.min_requests) == ("trace", "trace", 3)
    assert step.schedule_s == (0.0, 0.5, 2.0)
    assert step.max_duration_s == pytest.approx(122.0)
    requests = step_requests(workload, step, attempt=2)
    assert [r.request_id for r in requests] == ["trace-a2-00000", "trace-a2-00001", "trace-a2-00002"]
    assert [r.row_columns["scheduled_offset_s"] for r in requests] == [0.0, 0.5, 2.0]


# ---- grids -------------------------------------------------------------------------------------------------


def test_grid_cells_are_the_product_prompt_then_output_then_depth():
    section = WorkloadSection(prompts="synthetic", prompt_tokens=[128, 512], output_tokens=[32, 64],
                              context_depth=[0, 256])  # fmt: skip
    assert section.cells() == [Cell(p, o, d) for p in (128, 512) for o in (32, 64) for d in (0, 256)]
    assert Cell(128, 32, 256).label == "pp128-tg32-d256"
    assert WorkloadSection(prompts="short", output_tokens=[8, 16]).cells() == [Cell(0, 8), Cell(0, 16)]


def test_grid_request_ids_name_their_cell_cell_by_cell():
    workload = WorkloadSection(prompts="synthetic", prompt_tokens=[16, 32], output_tokens=[4, 8],
                               repetitions=2).plan(seed=0)  # fmt: skip
    requests = workload.measured()
    assert workload.grid and len(requests) == 4 * 2 * 4
    assert [r.request_id for r in requests[:5]] == [
        "pp16-tg4-d0-rep000-p00", "pp16-tg4-d0-rep000-p01", "pp16-tg4-d0-rep000-p02", "pp16-tg4-d0-rep000-p03",
        "pp16-tg4-d0-rep001-p00",
    ]  # fmt: skip
    assert [r.request_id for r in requests[8::8]] == ["pp16-tg8-d0-rep000-p00", "pp32-tg4-d0-rep000-p00",
                                                      "pp32-tg8-d0-rep000-p00"]  # fmt: skip
    last = requests[-1]
    assert last.request_id == "pp32-tg8-d0-rep001-p03" and last.max_output_tokens == 8
    assert last.row_columns == {"repetition": 1, "prompt_index": 3, "cell": "pp32-tg8-d0", "target_prompt_tokens": 32,
                                "target_output_tokens": 8, "context_depth": 0}  # fmt: skip
    made = workload.materialize(requests, WordTokenizer())
    assert {(r.row_columns["cell"], _words(r.prompt)) for r in made} == {
        ("pp16-tg4-d0", 16), ("pp16-tg8-d0", 16), ("pp32-tg4-d0", 32), ("pp32-tg8-d0", 32)}
    assert [r.request_id for r in workload.warmup()] == ["warmup00"]
    assert workload.warmup()[0].row_columns["cell"] == "pp16-tg4-d0"


def test_one_cell_without_depth_keeps_the_plain_ids():
    requests = WorkloadSection(**SYNTHETIC, repetitions=1).plan(seed=0).measured()
    assert [r.request_id for r in requests] == ["rep000-p00", "rep000-p01", "rep000-p02", "rep000-p03"]
    assert "cell" not in requests[0].row_columns


@pytest.mark.parametrize(
    "values, expected",
    [
        ({"prompts": "synthetic", "prompt_tokens": [128, 512], "output_tokens": [32, 64], "context_depth": [0, 256]},
         (832, "256 depth + 512 prompt + 64 output")),
        ({"prompts": "synthetic", "prompt_tokens": 100, "prefix_tokens": 300, "output_tokens": 20},
         (420, "300 shared prefix + 100 prompt + 20 output")),
        ({"prompts": "short", "output_tokens": 128}, (129, "at least 1 prompt + 128 output")),
        ({"prompts": "short", "output_tokens": 16, "context_depth": 512}, (529, "512 depth + at least 1 prompt + 16 output")),
        ({"prompts": "conversation", "turns": 3, "prompt_tokens": 32, "output_tokens": 16},
         (144, "3 turns x (32 prompt + 16 output)")),
    ],
)  # fmt: skip
def test_the_longest_request_in_tokens_and_words(values, expected):
    assert WorkloadSection(**values).longest_request_tokens() == expected


def test_a_grid_cell_too_long_for_the_context_is_refused_with_its_parts():
    message = _refused({"prompts": "synthetic", "prompt_tokens": [1000, 2000], "output_tokens": 128})
    assert message == ("The longest request needs 2128 tokens of context (2000 prompt + 128 output) but context_tokens "
                       "is 2048: raise context_tokens to at least 2128, or lower output_tokens.")  # fmt: skip
    message = _refused({**SYNTHETIC, "prompt_tokens": 1000, "context_depth": 1000})
    assert message.startswith("Each request needs 2128 tokens of context (1000 depth + 1000 prompt + 128 output)")
    message = _refused({"prompts": "conversation", "turns": 8, "prompt_tokens": 200, "output_tokens": 100})
    assert "The longest request needs 2400 tokens of context (8 turns x (200 prompt + 100 output))" in message
    SweepConfig.from_mapping({"prompts": "synthetic", "prompt_tokens": [1000, 2000], "output_tokens": 48})


def test_grid_steps_repeat_the_load_steps_for_every_cell():
    workload = WorkloadSection(prompts="synthetic", prompt_tokens=[16, 32], output_tokens=8).plan(seed=0)
    steps = [LoadStep("c1", "closed", 1, None, 3, 60.0), LoadStep("r2", "open", None, 2.0, 3, 60.0)]
    expanded = expand_steps(steps, workload, 60.0)
    assert [s.step_id for s in expanded] == ["c1-pp16-tg8-d0", "r2-pp16-tg8-d0", "c1-pp32-tg8-d0", "r2-pp32-tg8-d0"]
    assert [s.cell for s in expanded] == [Cell(16, 8), Cell(16, 8), Cell(32, 8), Cell(32, 8)]
    requests = step_requests(workload, expanded[2], attempt=1)
    assert [r.request_id for r in requests] == ["c1-pp32-tg8-d0-a1-00000-p00", "c1-pp32-tg8-d0-a1-00001-p01",
                                                "c1-pp32-tg8-d0-a1-00002-p02"]  # fmt: skip
    assert all(r.row_columns["cell"] == "pp32-tg8-d0" and r.row_columns["target_prompt_tokens"] == 32 for r in requests)
    plain = WorkloadSection(**SYNTHETIC).plan(seed=0)
    assert expand_steps(steps, plain, 60.0) == steps


# ---- shared prefix -----------------------------------------------------------------------------------------


def _marks(n: int, share: float) -> list[bool]:
    workload = Workload(prompts=(), output_tokens=8, repetitions=n, warmup_requests=0, synthetic_prompt_tokens=8,
                        prefix_tokens=4, prefix_share=share)  # fmt: skip
    requests = [GenerationRequest(f"r{i}", "", 8) for i in range(n)]
    return [r.row_columns["shared_prefix"] for r in workload.with_shared_prefix(requests)]


def test_a_90_percent_share_of_40_marks_36_evenly():
    workload = WorkloadSection(**SYNTHETIC, prefix_tokens=16, prefix_share=0.9, repetitions=10).plan(seed=0)
    marks = [r.row_columns["shared_prefix"] for r in workload.measured()]
    assert len(marks) == 40 and sum(marks) == 36
    unshared = [i for i, shared in enumerate(marks) if not shared]
    assert all(b - a == 10 for a, b in zip(unshared, unshared[1:]))  # evenly: one in every ten
    assert not any(not marks[i] and not marks[i + 1] for i in range(39))


@pytest.mark.parametrize("n, share, expected", [(40, 0.9, 36), (8, 0.5, 4), (20, 0.25, 5), (10, 1.0, 10),
                                                (10, 0.0, 0), (100, 0.1, 10), (30, 0.7, 21)])  # fmt: skip
def test_exactly_n_times_share_requests_are_marked(n, share, expected):
    assert sum(_marks(n, share)) == expected


@pytest.mark.parametrize("n, share", [(4, 0.9), (10, 0.37), (3, 0.9)])
def test_the_marked_count_is_round_n_times_share_when_that_is_no_integer(n, share):
    assert sum(_marks(n, share)) == round(n * share)


def test_materialize_puts_one_prefix_before_the_marked_requests_only():
    workload = WorkloadSection(**{**SYNTHETIC, "prompt_tokens": 12}, prefix_tokens=8, prefix_share=0.5,
                               repetitions=2).plan(seed=1)  # fmt: skip
    made = workload.materialize(workload.measured(), WordTokenizer())
    marked = [r for r in made if r.row_columns["shared_prefix"]]
    plain = [r for r in made if not r.row_columns["shared_prefix"]]
    assert len(marked) == len(plain) == 4
    prefix = " ".join(marked[0].prompt.split()[:8])
    assert all(r.prompt.startswith(prefix + " ") and _words(r.prompt) == 20 for r in marked)
    assert all(r.row_columns["prefix_tokens"] == 8 for r in marked)
    assert all(not r.prompt.startswith(prefix) and _words(r.prompt) == 12 for r in plain)
    assert all(r.row_columns["prefix_tokens"] == 0 for r in plain)
    assert len({" ".join(r.prompt.split()[8:]) for r in marked} | {r.prompt for r in plain}) == 8  # unique suffixes
    assert all(r.context_prefix == "" for r in made)


def test_a_steps_requests_are_marked_too():
    workload = WorkloadSection(**SYNTHETIC, prefix_tokens=8, prefix_share=0.75).plan(seed=0)
    requests = step_requests(workload, LoadStep("c2", "closed", 2, None, 8, 60.0), attempt=1)
    assert [r.row_columns["shared_prefix"] for r in requests] == [True, True, False, True] * 2  # 6 of 8, evenly


# ---- context depth -----------------------------------------------------------------------------------------


def test_a_context_depth_goes_before_a_fixed_prompt_and_in_context_prefix():
    workload = WorkloadSection(prompts="short", context_depth=16, repetitions=1).plan(seed=0)
    requests = workload.measured()
    assert [r.request_id for r in requests][:2] == ["pp0-tg128-d16-rep000-p00", "pp0-tg128-d16-rep000-p01"]
    made = workload.materialize(requests, WordTokenizer())
    depth_text = made[0].context_prefix
    assert _words(depth_text) == 16
    for request, original in zip(made, requests):
        assert request.context_prefix == depth_text  # one depth text for the cell
        assert request.prompt == f"{depth_text} {original.prompt}"
        assert request.row_columns["context_depth"] == 16


def test_depths_of_a_synthetic_grid_each_get_their_own_text():
    workload = WorkloadSection(**{**SYNTHETIC, "prompt_tokens": 10}, context_depth=[0, 24], repetitions=1).plan(seed=0)
    made = workload.materialize(workload.measured(), WordTokenizer())
    by_depth = {d: [r for r in made if r.row_columns["context_depth"] == d] for d in (0, 24)}
    assert all(r.context_prefix == "" and _words(r.prompt) == 10 for r in by_depth[0])
    assert all(_words(r.context_prefix) == 24 and _words(r.prompt) == 34 for r in by_depth[24])
    assert all(r.prompt.startswith(r.context_prefix + " ") for r in by_depth[24])


@pytest.mark.parametrize(
    "values",
    [SYNTHETIC, {**SYNTHETIC, "prefix_tokens": 4}, {"prompts": "short", "context_depth": 8}, CONVERSATION],
    ids=["synthetic", "prefix", "depth", "conversation"],
)
def test_materialize_needs_a_tokenizer_for_made_text(values):
    workload = WorkloadSection(**values).plan(seed=0)
    assert workload.needs_tokenizer
    with pytest.raises(ParameterError, match="need the model's tokenizer"):
        workload.materialize(workload.measured(), None)


def test_fixed_prompts_need_no_tokenizer():
    workload = WorkloadSection(prompts="short").plan(seed=0)
    assert not workload.needs_tokenizer
    assert workload.materialize(workload.measured(), None) == workload.measured()


# ---- conversations -----------------------------------------------------------------------------------------


def _conversation(turns: int = 3, prompt_tokens: int = 8, repetitions: int = 2, **extra) -> Workload:
    return WorkloadSection(prompts="conversation", turns=turns, prompt_tokens=prompt_tokens, output_tokens=6,
                           repetitions=repetitions, **extra).plan(seed=4)  # fmt: skip


def test_conversation_turns_are_measured_conversation_by_conversation():
    requests = _conversation().measured()
    assert [r.request_id for r in requests] == ["conv000-t00", "conv000-t01", "conv000-t02",
                                                "conv001-t00", "conv001-t01", "conv001-t02"]  # fmt: skip
    assert conversation_request_id("", 0, 1) == "conv000-t01"
    assert requests[4].row_columns == {"conversation_id": "conv001", "turn": 1, "repetition": 1, "prompt_index": 1}
    assert all(r.max_output_tokens == 6 for r in requests)


def _run_book(book: ConversationBook, turns: list[GenerationRequest], replies: list[str]) -> list[GenerationRequest]:
    sent_turns = []
    for turn, reply in zip(turns, replies):
        sent = book.with_history(turn)
        sent_turns.append(sent)
        book.record(sent, turn.prompt, reply, _words(reply))
    return sent_turns


def test_each_turn_carries_every_earlier_message_and_reply():
    workload = _conversation(repetitions=1)
    turns = workload.materialize(workload.measured(), WordTokenizer())
    messages = [t.prompt for t in turns]
    assert [_words(m) for m in messages] == [8, 8, 8] and len(set(messages)) == 3
    replies = ["first reply here", "a second one", "third"]
    sent = _run_book(ConversationBook(8), turns, replies)
    assert sent[0].messages == (("user", messages[0]),)
    assert sent[2].messages == (("user", messages[0]), ("assistant", replies[0]), ("user", messages[1]),
                                ("assistant", replies[1]), ("user", messages[2]))  # fmt: skip
    for request in sent:
        assert request.prompt == render_transcript(request.messages)
        assert request.prompt.endswith(f"User: {request.messages[-1][1]}\nAssistant:")
    assert f"Assistant: {replies[0]}\nUser: {messages[1]}" in sent[2].prompt
    assert [r.row_columns["history_tokens"] for r in sent] == [0, 8 + 3, 8 + 3 + 8 + 3]
    assert sent[1].row_columns["conversation_id"] == "conv000" and sent[1].row_columns["turn"] == 1


def test_the_transcript_only_grows_at_its_end():
    workload = _conversation(turns=4, repetitions=1)
    turns = workload.materialize(workload.measured(), WordTokenizer())
    sent = _run_book(ConversationBook(8), turns, [" leading space", "plain", "", "last"])
    for before, after in zip(sent, sent[1:]):
        assert after.prompt.startswith(before.prompt)


def test_conversations_keep_their_own_histories():
    workload = _conversation(turns=2)
    turns = workload.materialize(workload.measured(), WordTokenizer())
    book = ConversationBook(8)
    a0, b0 = book.with_history(turns[0]), book.with_history(turns[2])
    book.record(a0, turns[0].prompt, "for a", 2)
    book.record(b0, turns[2].prompt, "for b and more", 4)
    a1, b1 = book.with_history(turns[1]), book.with_history(turns[3])
    assert a1.messages[1] == ("assistant", "for a") and b1.messages[1] == ("assistant", "for b and more")
    assert (a1.row_columns["history_tokens"], b1.row_columns["history_tokens"]) == (10, 12)


def test_restore_rebuilds_the_same_history_from_rows():
    workload = _conversation(turns=3)
    turns = workload.materialize(workload.measured(), WordTokenizer())
    replies = {"conv000-t00": "one two", "conv000-t01": "three", "conv001-t00": "four five six"}
    live = ConversationBook(8)
    rows = []
    for turn in turns:
        if turn.request_id not in replies:
            continue
        sent = live.with_history(turn)
        live.record(sent, turn.prompt, replies[turn.request_id], _words(replies[turn.request_id]))
        rows.append({"request_id": turn.request_id, "conversation_id": turn.row_columns["conversation_id"],
                     "turn": turn.row_columns["turn"], "output_text": replies[turn.request_id],
                     "output_tokens": _words(replies[turn.request_id])})  # fmt: skip
    restored = ConversationBook(8)
    restored.restore(pd.DataFrame(rows[::-1]), {t.request_id: t.prompt for t in turns})  # any row order
    for pending in (turns[2], turns[4]):  # conv000-t02, conv001-t01
        assert restored.with_history(pending) == live.with_history(pending)
        assert restored.with_history(pending).row_columns == live.with_history(pending).row_columns


@pytest.mark.parametrize("rows", [None, pd.DataFrame(), pd.DataFrame({"request_id": ["rep000-p00"]})])
def test_restore_without_conversation_rows_keeps_nothing(rows):
    book = ConversationBook(8)
    book.restore(rows, {})
    request = GenerationRequest("conv000-t00", "hello", 4, row_columns={"conversation_id": "conv000", "turn": 0})
    assert book.with_history(request).row_columns["history_tokens"] == 0


def test_a_failed_turn_adds_its_message_and_an_empty_reply():
    book = ConversationBook(8)
    first = GenerationRequest("conv000-t00", "hello there", 4, row_columns={"conversation_id": "conv000", "turn": 0})
    second = GenerationRequest("conv000-t01", "again", 4, row_columns={"conversation_id": "conv000", "turn": 1})
    book.record_trace(book.with_history(first), "hello there", _trace((), text="", error="connect refused"))
    sent = book.with_history(second)
    assert sent.messages == (("user", "hello there"), ("assistant", ""), ("user", "again"))
    assert sent.row_columns["history_tokens"] == 8


def test_a_failed_turn_with_partial_output_counts_no_reply_tokens():
    book = ConversationBook(8)
    first = GenerationRequest("conv000-t00", "hello", 4, row_columns={"conversation_id": "conv000", "turn": 0})
    second = GenerationRequest("conv000-t01", "again", 4, row_columns={"conversation_id": "conv000", "turn": 1})
    book.record_trace(book.with_history(first), "hello", _trace((0.1, 0.2), text="half a", error="stream cut"))
    sent = book.with_history(second)
    assert sent.messages[1] == ("assistant", "")
    assert sent.row_columns["history_tokens"] == 8  # the history carries no reply tokens


def test_think_times_are_seeded_per_conversation_turn():
    assert think_time_s(2.0, "constant", 0, "conv000-t01") == 2.0
    assert think_time_s(0.0, "exponential", 0, "conv000-t01") == 0.0
    first = think_time_s(2.0, "exponential", 7, "conv000-t01")
    assert first == think_time_s(2.0, "exponential", 7, "conv000-t01")
    assert first != think_time_s(2.0, "exponential", 8, "conv000-t01")
    assert first != think_time_s(2.0, "exponential", 7, "conv000-t02")
    draws = [think_time_s(2.0, "exponential", 7, f"conv{k:03d}-t01") for k in range(4000)]
    assert min(draws) > 0 and sum(draws) / len(draws) == pytest.approx(2.0, rel=0.1)


def test_a_conversation_session_sends_turns_in_order_with_their_think_times():
    workload = _conversation(repetitions=1)
    turns = workload.materialize(workload.measured(), WordTokenizer())
    session = ConversationSession(turns, [1.5, 2.5], ConversationBook(8))
    sent = session.first()
    assert sent.request_id == "conv000-t00" and sent.messages == (("user", turns[0].prompt),)
    seen = [(sent.request_id, None)]
    for reply in ("alpha beta", "gamma"):
        sent, pause = session.after(sent, _trace((0.1,) * _words(reply), text=reply))
        seen.append((sent.request_id, pause))
    assert seen == [("conv000-t00", None), ("conv000-t01", 1.5), ("conv000-t02", 2.5)]
    assert sent.messages[:4] == (("user", turns[0].prompt), ("assistant", "alpha beta"), ("user", turns[1].prompt),
                                 ("assistant", "gamma"))  # fmt: skip
    assert sent.row_columns["history_tokens"] == 8 + 2 + 8 + 1
    assert session.after(sent, _trace(text="end")) == (None, 0.0)


def test_a_single_request_session_ends_after_it():
    request = GenerationRequest("c1-a1-00000-p00", "hi", 4)
    session = SingleRequest(request)
    assert session.first() is request
    assert session.after(request, _trace()) == (None, 0.0)


def test_a_conversation_step_starts_one_session_per_conversation():
    workload = _conversation(think_time_s=2.0, think_time_distribution="exponential")
    step = LoadStep("c2", "closed", 2, None, 2, 60.0)
    requests = step_requests(workload, step, attempt=3)
    assert [r.request_id for r in requests] == ["c2-a3-conv000-t00", "c2-a3-conv000-t01", "c2-a3-conv000-t02",
                                                "c2-a3-conv001-t00", "c2-a3-conv001-t01", "c2-a3-conv001-t02"]  # fmt: skip
    assert requests[4].row_columns == {"conversation_id": "c2-a3-conv001", "turn": 1}
    sessions = step_sessions(workload, workload.materialize(requests, WordTokenizer()))
    assert len(sessions) == 2 and all(isinstance(s, ConversationSession) for s in sessions)
    assert [t.request_id for t in sessions[1].turns] == ["c2-a3-conv001-t00", "c2-a3-conv001-t01", "c2-a3-conv001-t02"]
    assert sessions[0].think_s == [think_time_s(2.0, "exponential", workload.seed, f"c2-a3-conv000-t0{k}") for k in (1, 2)]
    assert sessions[0].book is sessions[1].book


def test_a_plain_step_starts_one_session_per_request():
    workload = WorkloadSection(prompts="short").plan(seed=0)
    requests = step_requests(workload, LoadStep("c1", "closed", 1, None, 3, 60.0), attempt=1)
    sessions = step_sessions(workload, requests)
    assert [s.first().request_id for s in sessions] == ["c1-a1-00000-p00", "c1-a1-00001-p01", "c1-a1-00002-p02"]
    assert all(isinstance(s, SingleRequest) for s in sessions)


# ---- rows --------------------------------------------------------------------------------------------------

STEP = LoadStep("c1", "closed", 1, None, 4, 60.0)
TIMINGS = RuntimeTimings(prompt_eval_s=0.5, prompt_eval_tokens=40, decode_s=0.2, decode_tokens=2, source="test")


def _finished(**extra) -> TokenTrace:
    return TokenTrace("x", 10.0, (10.5, 10.6, 10.7), 48, text="abc", runtime_timings=TIMINGS,
                      cached_prompt_tokens=8, **extra)  # fmt: skip


def test_a_load_step_row_carries_the_turns_columns():
    request = GenerationRequest("c1-a1-conv000-t01", "p", 3, row_columns={"conversation_id": "c1-a1-conv000", "turn": 1,
                                                                          "history_tokens": 20})  # fmt: skip
    row = load_step_row(_finished(), request, STEP, 1, 1000.0)
    assert (row["conversation_id"], row["turn"], row["history_tokens"]) == ("c1-a1-conv000", 1, 20)
    assert row["prompt_index"] is None and row["step"] == "c1"
    assert (row["prompt_tokens"], row["output_tokens"], row["cached_prompt_tokens"]) == (48, 3, 8)
    assert (row["runtime_prompt_eval_tokens"], row["runtime_prompt_eval_s"]) == (40, 0.5)
    assert row["ttft_s"] == pytest.approx(0.5) and row["sent_unix_s"] == pytest.approx(1010.0)


def test_a_load_step_row_carries_its_cell_prefix_and_schedule():
    columns = {**Cell(32, 8, 64).columns(), "shared_prefix": True, "prefix_tokens": 16, "scheduled_offset_s": 1.5,
               "lateness_s": 0.02}  # fmt: skip
    request = GenerationRequest("c1-pp32-tg8-d64-a1-00003-p03", "p", 8, row_columns=columns)
    row = load_step_row(_finished(), request, STEP, 1, 0.0)
    assert row["prompt_index"] == 3
    assert {k: row[k] for k in columns} == columns
    assert row["cell"] == "pp32-tg8-d64" and row["target_prompt_tokens"] == 32 and row["context_depth"] == 64


def test_a_failed_load_step_row_keeps_its_workload_columns():
    request = GenerationRequest("c1-a1-conv000-t02", "p", 3, row_columns={"conversation_id": "c1-a1-conv000", "turn": 2,
                                                                          "history_tokens": 30})  # fmt: skip
    trace = TokenTrace("x", 10.0, (), 0, error="connection reset", error_kind="connect")
    row = load_step_row(trace, request, STEP, 1, 0.0)
    assert (row["turn"], row["history_tokens"], row["error_kind"]) == (2, 30, "connect")
    assert row["ttft_s"] != row["ttft_s"]  # NaN, never averaged in


def test_a_sequential_row_carries_conversation_and_cell_columns():
    turn = GenerationRequest("conv001-t02", "p", 3, row_columns={"conversation_id": "conv001", "turn": 2, "repetition": 1,
                                                                 "prompt_index": 2, "history_tokens": 22})  # fmt: skip
    row = sequential_row(_finished(), turn, 1, 1000.0)
    assert (row["conversation_id"], row["turn"], row["repetition"], row["prompt_index"], row["history_tokens"]) == (
        "conv001", 2, 1, 2, 22)
    cell = GenerationRequest("pp16-tg4-d0-rep001-p02", "p", 4,
                             row_columns={"repetition": 1, "prompt_index": 2, **Cell(16, 4).columns()})
    row = sequential_row(_finished(), cell, 1, 0.0)
    assert (row["cell"], row["repetition"], row["prompt_index"], row["context_depth"]) == ("pp16-tg4-d0", 1, 2, 0)
    plain = sequential_row(_finished(), GenerationRequest("rep003-p01", "p", 3), 1, 0.0)
    assert (plain["repetition"], plain["prompt_index"]) == (3, 1)


def test_a_sequential_row_of_a_replayed_trace(tmp_path):
    workload = SweepConfig.from_mapping({"trace": str(_trace_file(tmp_path))}).workload_plan()
    request = workload.measured()[1]
    request = GenerationRequest(request.request_id, "p", request.max_output_tokens,
                                row_columns={**request.row_columns, "lateness_s": 0.01})
    row = sequential_row(_finished(), request, 1, 0.0)
    assert (row["request_id"], row["trace_row"], row["scheduled_offset_s"], row["lateness_s"]) == (
        "trace-00001", 2, 0.5, 0.01)


def test_a_shared_system_prompt_opens_whole_conversations_and_counts_in_their_history():
    workload = WorkloadSection(**{**CONVERSATION, "prompt_tokens": 6}, prefix_tokens=8, prefix_share=0.5).plan(seed=0)
    requests = workload.materialize(workload.measured(), WordTokenizer())
    by_conversation: dict[str, set] = {}
    for r in requests:
        by_conversation.setdefault(r.row_columns["conversation_id"], set()).add(r.row_columns["shared_prefix"])
    assert all(len(marks) == 1 for marks in by_conversation.values())  # every turn of a conversation alike
    assert sum(marks == {True} for marks in by_conversation.values()) == math.floor(0.5 * len(by_conversation) + 0.5)
    shared_first = next(r for r in requests if r.row_columns["shared_prefix"] and r.row_columns["turn"] == 0)
    shared_later = next(r for r in requests if r.row_columns["shared_prefix"] and r.row_columns["turn"] == 1)
    plain_first = next(r for r in requests if not r.row_columns["shared_prefix"] and r.row_columns["turn"] == 0)
    assert _words(shared_first.prompt) == 8 + 6 and _words(shared_later.prompt) == 6 and _words(plain_first.prompt) == 6
    assert shared_first.row_columns["prefix_tokens"] == shared_later.row_columns["prefix_tokens"] == 8
    book = ConversationBook(6)
    book.record(book.with_history(shared_first), shared_first.prompt, "a reply", 5)
    second = next(r for r in requests if r.request_id == shared_first.request_id.replace("-t00", "-t01"))
    assert book.with_history(second).row_columns["history_tokens"] == 8 + 6 + 5
