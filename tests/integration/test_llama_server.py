"""benchlib against llama.cpp's own ``llama-server`` (built by ``make native``), on loopback.

``llama-server`` is what users run on a Raspberry Pi or a GPU host; it closes a
keep-alive connection after a streamed response, caches prompt prefixes, and
reports its own per-request timings. Every test here talks to the real binary
serving the embedded SmolLM2 with 4 slots, as ``-t 2 -c 4096 -np 4``.
"""

from __future__ import annotations

import asyncio

import pytest

from benchlib.sweep.steps import LoadStep, run_step
from benchlib.testing.local_servers import reserve_port, native_llama_server
from benchlib.models import resolve_model
from benchlib.config import SweepConfig
from benchlib.sweep import run_sweep
from benchlib.runtimes.base import GenerationRequest
from benchlib.runtimes.http import HttpRuntime, HttpSettings

pytestmark = [pytest.mark.model, pytest.mark.server]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    process = native_llama_server(
        resolve_model("smollm2-135m-q4_1").path, reserve_port(), tmp_path_factory.mktemp("llama-server") / "server.log"
    )
    process.start()
    yield process
    process.stop()


def _sweep(url, tmp_path, **overrides) -> SweepConfig:
    values = dict(
        profile="llama-server-test", runtime="http", url=url, model="smollm2-135m-q4_1", served_model="smollm2",
        prompts="tiny", output_tokens=16, concurrency=[1], step_min_requests=6, warmup=1, power="none",
        request_timeout_s=60.0, output_dir=str(tmp_path / "runs"),
    )  # fmt: skip
    values.update(overrides)
    return SweepConfig.from_mapping(values)


def _run_c1_step(settings: HttpSettings, requests: int) -> list:
    traces = []
    step = LoadStep("c1", "closed", 1, None, requests, 60.0)
    counter = iter(range(requests))
    asyncio.run(
        run_step(
            settings, step,
            lambda: GenerationRequest(f"c1-{next(counter):05d}-p00", "Hello, my name is", 16),
            lambda request, trace: traces.append(trace),
        )
    )  # fmt: skip
    return traces


def test_without_the_retry_every_second_request_on_a_reused_connection_fails(server):
    """The defect as a user saw it: llama-server closes the kept-alive connection after each stream."""
    traces = _run_c1_step(HttpSettings(url=server.url, served_model="smollm2", retry_stale_connections=False), 6)
    failed = [t for t in traces if t.error is not None]
    assert failed, "llama-server kept the connection open: the retry would no longer be needed"
    assert {t.error_kind for t in failed} == {"disconnected"}
    assert all(t.headers_s is None for t in failed), "they failed before any byte of the response"
    assert traces[0].error is None, "the first request, on a new connection, succeeds"


def test_with_the_retry_no_request_fails_and_retries_are_recorded(server):
    traces = _run_c1_step(HttpSettings(url=server.url, served_model="smollm2"), 6)
    assert [t.error for t in traces] == [None] * 6
    assert all(t.output_tokens == 16 for t in traces)
    assert sum(t.retries for t in traces) >= 1, "the stale connections were retried, and the traces say so"
    assert all(t.retries <= 1 for t in traces)


@pytest.mark.parametrize("api", ["openai-completions", "openai-chat"])
def test_sweep_closed_and_poisson_steps_zero_failures_exact_tokens(server, tmp_path, api):
    params = _sweep(server.url, tmp_path, api=api, concurrency=[1, 4], rates_rps=[3.0], step_min_requests=8)
    result = run_sweep(params, progress=False)
    assert list(result.meta["steps"]) == ["c1", "c4", "r3"]
    for step_id, record in result.meta["steps"].items():
        summary = record["summary"]
        assert summary["requests_failed"] == 0, (step_id, summary["errors_by_kind"])
        assert summary["requests_ok"] == 8
    requests = result.requests
    assert (requests["output_tokens"] == 16).all()
    assert set(requests["token_count_source"]) == {"server usage"}
    # llama-server's own timings sit beside the client's: decode steps and prompt tokens it evaluated
    assert (requests["runtime_decode_tokens"] == 15).all()
    assert requests["runtime_decode_s"].gt(0).all()
    assert requests["cached_prompt_tokens"].notna().all()
    c4 = requests[requests["step"] == "c4"].sort_values("sent_unix_s")
    assert (c4["sent_unix_s"].iloc[1:].to_numpy() < c4["last_token_unix_s"].iloc[:-1].to_numpy()).any()


def test_repeated_prompts_are_cache_hits_and_synthetic_prompts_are_not(server, tmp_path):
    repeated = run_sweep(_sweep(server.url, tmp_path, prompts="short", step_min_requests=8), progress=False)
    cache = repeated.summary["prompt_cache"]
    assert cache["reported"] and cache["hit"], cache
    in_order = repeated.requests.sort_values("sent_unix_s")
    second_pass = in_order.iloc[4:]  # the four short prompts again: served from the server's prompt cache
    assert (second_pass["cached_prompt_tokens"] >= second_pass["prompt_tokens"] - 1).all(), second_pass[["prompt_tokens", "cached_prompt_tokens"]]

    synthetic = run_sweep(
        _sweep(server.url, tmp_path, prompts="synthetic", prompt_tokens=48, step_min_requests=8), progress=False
    )
    cache = synthetic.summary["prompt_cache"]
    assert cache["reported"] and not cache["hit"], cache
    assert cache["cached_share"] < 0.1
    requests = synthetic.requests
    # every request had a prompt of its own, of the length asked for (plus the BOS token the server adds)
    assert requests["prompt_tokens"].nunique() == 1
    assert requests["prompt_tokens"].iloc[0] - 48 in (0, 1)
    assert synthetic.meta["prompt_tokenizer"] == "server:llama.cpp server"
    assert synthetic.summary["ttft_s"]["median"] > repeated.summary["ttft_s"]["median"]

    from benchlib import analysis

    table = analysis.run_table(tmp_path / "runs").set_index("prompts")
    assert table.loc["short", "prompt_cache_hit"] and table.loc["short", "prompt_cache"].startswith("hit")
    assert not table.loc["synthetic", "prompt_cache_hit"]


def test_cache_prompt_off_makes_repeated_prompts_miss(server, tmp_path):
    result = run_sweep(_sweep(server.url, tmp_path, prompts="short", cache_prompt="off", step_min_requests=6), progress=False)
    cache = result.summary["prompt_cache"]
    assert cache["reported"] and cache["cached_prompt_tokens"] == 0, cache
    assert result.meta["parameters"]["cache_prompt"] == "off"


def test_one_request_reports_server_timings_and_cache(server):
    runtime = HttpRuntime(HttpSettings(url=server.url, api="openai-chat", served_model="smollm2"))
    runtime.load()
    trace = runtime.generate(GenerationRequest("one-p00", "Name three colours.", 24))
    assert trace.error is None and trace.output_tokens == 24
    timings = trace.runtime_timings
    assert timings.decode_tokens == 23 and timings.decode_s > 0 and timings.prompt_eval_tokens >= 1
    assert "llama.cpp server timings" in timings.source
    assert trace.cached_prompt_tokens is not None
    client_tpot_s = (trace.token_times_s[-1] - trace.token_times_s[0]) / 23
    assert client_tpot_s == pytest.approx(timings.decode_s / timings.decode_tokens, rel=0.5)
