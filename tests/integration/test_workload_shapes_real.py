"""The workloads of issue 27 against real engines: conversations, a shared prefix, a replayed trace, a depth grid,
and ``load: sweep`` against a server of known capacity; and the bad inputs each refuses before writing anything.

Engines:

* in-process llama.cpp (``runtime: llama.cpp``) with the embedded SmolLM2;
* llama.cpp's own ``llama-server`` (``make native``) serving it as ``-t <cores> -c 16384 -np 4``: 4096 tokens per slot,
  room for a 2048-token context depth;
* benchlib's replay server with ``--slots 4 --interval-ms 10``: a request of 20 output tokens holds a slot
  20 x 10 ms, so its capacity is 4 / 0.2 s = 20 requests/s.

The in-process tests come first in the file, so no llama-server is up while llama.cpp runs in this process.
Three assertions depend on the clock, each demanded by the issue: a replayed request was sent at its scheduled
time plus the lateness recorded for it; ``load: sweep`` finds the replay server's capacity within 10%; and decode
is slower at depth 2048 than at depth 0 (judged on each cell's fastest request, which a busy machine disturbs least).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchlib.config import SweepConfig
from benchlib.errors import ParameterError
from benchlib.models import resolve_model
from benchlib.sweep import run_sweep
from benchlib.testing.local_servers import (
    ServerProcess,
    native_llama_server,
    reserve_port,
)

pytestmark = [pytest.mark.model, pytest.mark.server]

MODEL = "smollm2-135m-q4_1"
TRACE = Path(__file__).resolve().parents[2] / "data" / "traces" / "example-synthetic.csv"
REPLAY_SLOTS, REPLAY_INTERVAL_MS, REPLAY_OUTPUT_TOKENS = 4, 10.0, 20
REPLAY_CAPACITY_RPS = REPLAY_SLOTS / (REPLAY_OUTPUT_TOKENS * REPLAY_INTERVAL_MS / 1000)  # 20 requests/s

CONVERSATION = dict(prompts="conversation", turns=3, prompt_tokens=32, output_tokens=16, repetitions=2)
# seeds no other test uses: no prompt cache already holds this prefix or this depth's text
SHARED_PREFIX = dict(prompts="synthetic", prompt_tokens=32, prefix_tokens=256, prefix_share=0.9, output_tokens=8)
DEPTH_GRID = dict(prompts="synthetic", prompt_tokens=32, output_tokens=32, context_depth=[0, 2048])
DEPTH = 2048


# --- engines ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """llama-server with 4 slots of 4096 tokens each (-c 16384 -np 4)."""
    process = native_llama_server(
        resolve_model(MODEL).path, reserve_port(), tmp_path_factory.mktemp("llama-server") / "server.log",
        context_tokens=16384,
    )  # fmt: skip
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="module")
def slotted_replay(tmp_path_factory):
    """The replay server with a known capacity (``replay_server()`` takes no ``--slots``: the command is built here)."""
    port = reserve_port()
    command = [
        sys.executable, "-m", "benchlib.testing.replay_server", "--port", str(port.port),
        "--interval-ms", str(REPLAY_INTERVAL_MS), "--slots", str(REPLAY_SLOTS),
    ]  # fmt: skip
    process = ServerProcess(command, port, "/api/version", tmp_path_factory.mktemp("replay") / "server.log")
    process.start()
    yield process
    process.stop()


def _in_process(tmp_path, **overrides):
    values = dict(profile="workload-shapes", model=MODEL, power="none", warmup=1, output_dir=str(tmp_path / "runs"))
    values.update(overrides)
    return run_sweep(SweepConfig.from_mapping(values), progress=False, fresh=True)


def _on_server(url, tmp_path, served_model="smollm2", **overrides):
    values = dict(
        profile="workload-shapes", runtime="http", url=url, model=MODEL, served_model=served_model, prompts="tiny",
        output_tokens=16, concurrency=[1], step_min_requests=6, warmup=1, power="none", request_timeout_s=60.0,
        output_dir=str(tmp_path / "runs"),
    )  # fmt: skip
    values.update(overrides)
    return run_sweep(SweepConfig.from_mapping(values), progress=False, fresh=True)


def _run_json(result) -> dict:
    return json.loads((Path(result.run_dir) / "run.json").read_text())


# --- checks shared by both engines ---------------------------------------------------------------------------------


def _check_conversation(result) -> None:
    """History grows turn by turn, and the third turn's history comes from the prompt cache."""
    table = result.summary["by_turn"]
    assert [row["turn"] for row in table] == [0, 1, 2], table
    assert [row["requests"] for row in table] == [2, 2, 2], table
    requests = result.requests
    per_turn = CONVERSATION["prompt_tokens"] + CONVERSATION["output_tokens"]
    # each earlier turn adds its user message and the reply the model gave (template tokens not counted)
    assert (requests["history_tokens"] == requests["turn"] * per_turn).all(), requests[["turn", "history_tokens"]]
    assert [row["history_tokens_median"] for row in table] == [0.0, 48.0, 96.0]
    for _, turns in requests.groupby("conversation_id"):
        turns = turns.sort_values("turn")
        cached, history, prompt = (turns[c].to_numpy() for c in ("cached_prompt_tokens", "history_tokens", "prompt_tokens"))
        assert (prompt[1:] > prompt[:-1]).all(), turns  # the whole history is sent again
        assert cached[2] > cached[1] > 0, turns
        # the third turn: its history (and the chat template around it) served from the cache, its new message not
        assert cached[2] >= 0.9 * history[2], turns
        assert cached[2] < prompt[2], turns
    print("by turn:", [(row["turn"], round(row["ttft_s"]["median"], 4), row["history_tokens_median"],
                        row["cached_prompt_tokens_median"]) for row in table])  # fmt: skip


def _check_shared_prefix(result, requests_expected: int) -> dict:
    shared = result.summary["shared_prefix"]
    assert shared["requests"] == requests_expected
    assert shared["intended_hit_rate"] == pytest.approx(0.9)
    assert shared["observed_hit_rate"] is not None, shared
    assert abs(shared["observed_hit_rate"] - shared["intended_hit_rate"]) <= 0.1, shared
    rows = result.requests
    without = rows[~rows["shared_prefix"].astype(bool)]
    assert (without["cached_prompt_tokens"] < 0.9 * 256).all(), "a unique prompt cannot come from the cache"
    print("shared prefix: intended", shared["intended_hit_rate"], "observed", shared["observed_hit_rate"],
          "misses with prefix", shared["misses_with_prefix"])  # fmt: skip
    return shared


def _check_send_times(result, speedup: float) -> pd.DataFrame:
    """Every request of the trace was sent at its scheduled time plus its recorded lateness (to 1 ms)."""
    rows = result.requests.sort_values("scheduled_offset_s").reset_index(drop=True)
    assert len(rows) == 15
    if "error" in rows:  # in-process rows have no error column: a failure there raises
        assert rows["error"].isna().all(), rows[["request_id", "error"]]
    file = pd.read_csv(TRACE).head(15)
    expected_offsets = (file["Timestamp"] - file["Timestamp"].iloc[0]) / speedup
    assert rows["scheduled_offset_s"].to_numpy() == pytest.approx(expected_offsets.to_numpy(), abs=1e-6)
    assert (rows["output_tokens"].to_numpy() == file["Response tokens"].to_numpy()).all()
    assert (rows["lateness_s"] >= 0).all()
    # the schedule's origin: the first request was sent at offset 0 plus its own lateness
    origin = rows["sent_unix_s"].iloc[0] - rows["lateness_s"].iloc[0]
    sent_offset = rows["sent_unix_s"] - origin
    assert sent_offset.to_numpy() == pytest.approx((rows["scheduled_offset_s"] + rows["lateness_s"]).to_numpy(), abs=1e-3)
    lateness = result.summary["lateness_s"]
    assert lateness["n"] == 15 and lateness["max"] == pytest.approx(rows["lateness_s"].max())
    trace = _run_json(result)["trace"]
    assert trace["requests"] == 15 and trace["speedup"] == speedup and trace["layout"] == "burstgpt"
    print("lateness: median", lateness["median"], "max", lateness["max"], "late share", lateness["late_share"])
    return rows


def _check_decode_slows(requests: pd.DataFrame) -> dict:
    """Decode at depth 2048 is slower than at depth 0, judged on each cell's fastest request.

    The fastest request of a cell is the one another process on the machine disturbed least: a busy machine only
    slows requests down. The cells run one after the other, and on 2 shared cores a neighbour's burst over the
    depth-0 cell put its median at 28 tok/s against 56 at depth 2048 (its fastest request: 116 against 65).
    """
    best = requests.groupby("context_depth")["decode_tps"].max()
    assert best[DEPTH] < best[0], best
    return {int(depth): round(float(tps), 1) for depth, tps in best.items()}


# --- in process (first: no llama-server up yet) ---------------------------------------------------------------------


def test_in_process_conversation_third_turn_is_served_from_the_kept_cache(tmp_path):
    result = _in_process(tmp_path, seed=27101, **CONVERSATION)
    _check_conversation(result)


def test_in_process_shared_prefix_hit_rate_is_near_intended(tmp_path):
    result = _in_process(tmp_path, seed=27102, repetitions=10, **SHARED_PREFIX)  # 4 synthetic prompts x 10 = 40
    # one slot, whose prompts about to be lost are kept in host memory as llama-server's --cache-ram keeps them:
    # only the first prefixed request misses, even right after a request without the prefix
    rows = result.requests.reset_index(drop=True)
    shared = rows["shared_prefix"].astype(bool)
    hit = rows["cached_prompt_tokens"] >= 0.9 * 256
    expected = shared.copy()
    expected[shared.idxmax()] = False
    assert (hit == expected).all(), rows[["shared_prefix", "cached_prompt_tokens"]]
    _check_shared_prefix(result, 40)


def test_in_process_trace_replay_one_at_a_time_falls_behind_and_says_how_far(tmp_path):
    result = _in_process(tmp_path, trace=str(TRACE), trace_max_requests=15, trace_speedup=20)
    rows = _check_send_times(result, 20)
    # one request at a time: none is sent before the previous one has finished
    assert (rows["sent_unix_s"].iloc[1:].to_numpy() >= rows["last_token_unix_s"].iloc[:-1].to_numpy()).all()
    # rows 2 and 3 are scheduled 0.15 ms apart: the fourth waits for the third, whatever the machine's speed
    assert rows["lateness_s"].iloc[3] > 0 and (rows["lateness_s"] > 0).sum() >= 1
    assert result.summary["lateness_s"]["max"] > 0


def test_in_process_depth_grid_decode_slows_with_depth(tmp_path):
    result = _in_process(tmp_path, seed=27104, context_tokens=4096, repetitions=3, **DEPTH_GRID)
    cells = {cell["context_depth"]: cell for cell in result.summary["by_cell"]}
    assert sorted(cells) == [0, DEPTH], result.summary["by_cell"]
    assert cells[DEPTH]["cached_prompt_tokens_median"] >= 0.95 * DEPTH  # the depth was in context, not prefilled
    assert cells[0]["cached_prompt_tokens_median"] == 0
    best = _check_decode_slows(result.requests)
    print("in-process decode tok/s: median", {d: round(c["decode_tps"]["median"], 1) for d, c in cells.items()},
          "fastest", best,
          "prefill tok/s:", {d: round(c["prefill_tps"]["median"], 1) for d, c in cells.items()})  # fmt: skip


# --- bad input: refused, nothing written ------------------------------------------------------------------------


def _missing_column(tmp_path) -> dict:
    path = tmp_path / "missing.csv"
    path.write_text("Timestamp,Request tokens\n0.0,10\n1.0,12\n")
    return dict(runtime="http", url="http://127.0.0.1:9", served_model="replay", trace=str(path))


def _negative_time(tmp_path) -> dict:
    path = tmp_path / "negative.csv"
    path.write_text("Timestamp,Request tokens,Response tokens\n0.0,10,5\n-2.5,12,6\n")
    return dict(runtime="http", url="http://127.0.0.1:9", served_model="replay", trace=str(path))


def _grid_too_long(tmp_path) -> dict:  # 2 cells x 3 steps x 120 s = 720 s > 300 s
    return dict(runtime="http", url="http://127.0.0.1:9", served_model="smollm2", prompts="synthetic",
                prompt_tokens=[32, 64], output_tokens=16, concurrency=[1, 2, 4], step_max_s=120, max_duration_s=300)  # fmt: skip


def _turns_without_history(tmp_path) -> dict:
    return dict(runtime="http", url="http://127.0.0.1:9", served_model="smollm2", api="ollama-generate",
                prompts="conversation", turns=3, prompt_tokens=32)  # fmt: skip


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (_missing_column, r"missing columns 'Response tokens'"),
        (_negative_time, r"data row 2: arrival_s .*negative time"),
        (_grid_too_long, r"2 cells x 3 load steps.*more than max_duration_s = 300"),
        (_turns_without_history, r"turns: 3 needs an API that carries a conversation's history.*ollama-generate"),
    ],
    ids=["trace-missing-column", "trace-negative-time", "grid-longer-than-max-duration", "turns-on-ollama-generate"],
)
def test_bad_input_is_refused_with_a_clear_error_and_nothing_written(tmp_path, make, message):
    output_dir = tmp_path / "runs"
    values = dict(profile="workload-shapes", model=MODEL, power="none", output_dir=str(output_dir), **make(tmp_path))
    with pytest.raises(ParameterError, match=message):
        run_sweep(SweepConfig.from_mapping(values), progress=False, fresh=True)
    assert not output_dir.exists() or not any(output_dir.iterdir())


# --- llama-server ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("api", ["openai-completions", "openai-chat"])
def test_server_conversation_third_turn_is_served_from_the_prompt_cache(server, tmp_path, api):
    seed = {"openai-completions": 27111, "openai-chat": 27121}[api]  # no run finds the other's turns in the cache
    result = _on_server(server.url, tmp_path, api=api, seed=seed, **CONVERSATION)
    assert result.requests["error"].isna().all()
    _check_conversation(result)


def test_server_shared_prefix_hit_rate_is_near_intended(server, tmp_path):
    result = _on_server(server.url, tmp_path, seed=27112, step_min_requests=30, **SHARED_PREFIX)
    _check_shared_prefix(result, 30)


def test_server_depth_grid_reuses_the_depth_and_decode_slows_with_it(server, tmp_path):
    result = _on_server(server.url, tmp_path, seed=27113, step_min_requests=6, **DEPTH_GRID)
    steps = _run_json(result)["steps"]
    assert list(steps) == ["c1-pp32-tg32-d0", f"c1-pp32-tg32-d{DEPTH}"]
    cells = {}
    for record in steps.values():
        (cell,) = record["summary"]["by_cell"]  # each step measures one cell
        cells[cell["context_depth"]] = cell
    assert sorted(cells) == [0, DEPTH]
    deep = result.requests[result.requests["context_depth"] == DEPTH]
    assert len(deep) == 6 and deep["error"].isna().all()
    cached = deep["cached_prompt_tokens"]
    # the depth's text is evaluated once (the cell's first request may miss), then served from the slot's cache
    reused = (cached >= 0.95 * DEPTH) & (cached < deep["prompt_tokens"])
    assert reused.sum() >= len(deep) - 1, deep[["request_id", "prompt_tokens", "cached_prompt_tokens"]]
    best = _check_decode_slows(result.requests)
    print("llama-server decode tok/s: median", {d: round(c["decode_tps"]["median"], 1) for d, c in cells.items()},
          "fastest", best,
          "cached at depth:", cached.tolist())  # fmt: skip


# --- replay server ---------------------------------------------------------------------------------------------


def test_replayed_trace_is_sent_on_schedule_within_recorded_lateness(slotted_replay, tmp_path):
    result = _on_server(slotted_replay.url, tmp_path, served_model="replay", trace=str(TRACE), trace_max_requests=15,
                        trace_speedup=2)  # fmt: skip
    assert list(_run_json(result)["steps"]) == ["trace"]
    _check_send_times(result, 2)


def test_load_sweep_finds_the_replay_servers_capacity_within_10_percent(slotted_replay, tmp_path):
    result = _on_server(
        slotted_replay.url, tmp_path, served_model="replay", output_tokens=REPLAY_OUTPUT_TOKENS, load="sweep",
        slo_ttft_s=1.0, step_min_requests=20, max_duration_s=300,  # 10 s steps, a 10% bracket: the defaults
    )  # fmt: skip
    record = _run_json(result)
    search = record["rate_search"]
    steps = search["steps"]
    print("rate search:", search["sustainable_rate_rps"], search["interval_rps"], search["stopped_because"])
    for step in steps:
        print(f"  {step['rate_rps']:.4g} req/s: achieved {step['achieved_rps']:.3g}, passed "
              f"{step['meets_targets'] and not step['saturated']}, {step['reason']}")  # fmt: skip
    # every rate tried is a recorded open-loop step of the run, after the single-stream probe c1
    assert list(record["steps"])[0] == "c1"
    searched = [step_id for step_id, r in record["steps"].items() if r["summary"].get("search_phase")]
    assert searched == [f"r{step['rate_rps']:g}" for step in steps]
    assert len(steps) >= 3
    found = search["sustainable_rate_rps"]
    low, high = search["interval_rps"]
    assert low == found < high, search
    assert abs(found - REPLAY_CAPACITY_RPS) <= 0.1 * REPLAY_CAPACITY_RPS, search
