"""The HTTP runtime and load generator against real servers on loopback.

The OpenAI protocol is tested end to end against llama-cpp-python's real
OpenAI-compatible server serving the embedded SmolLM2. No Ollama server
installs here, so the Ollama protocol (as ``hailo-ollama`` serves it) is tested
against benchlib's replay server, which streams the documented Ollama NDJSON
format (``response``/``message.content`` lines and a final ``done`` line with
``eval_count`` and durations); so are malformed, truncated and slow streams.
"""

from __future__ import annotations

import os
import threading
import time

import numpy as np
import pandas as pd
import pytest

from benchlib.errors import ParameterError, RuntimeFailure
from benchlib.models import resolve_model
from benchlib.records import RunDirectory
from benchlib.config import SweepConfig
from benchlib.sweep import run_sweep
from benchlib.runtimes.base import GenerationRequest
from benchlib.runtimes.http import HttpRuntime, HttpSettings, ServerGone
from benchlib.testing.local_servers import reserve_port, llama_server, replay_server

pytestmark = [pytest.mark.model, pytest.mark.server]


def analysis_reference():
    from benchlib.paths import repo_root

    return repo_root() / "data" / "reference" / "article-2026-01.csv"


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    server = replay_server(reserve_port(), tmp_path_factory.mktemp("replay") / "server.log", slow_s=3.0)
    server.start()
    yield server
    server.stop()


def _sweep(url, tmp_path, **overrides) -> SweepConfig:
    values = dict(
        profile="http-test", runtime="http", url=url, model="smollm2", prompts="short", output_tokens=12,
        concurrency=[1], step_min_requests=3, step_max_s=60.0, warmup=1, power="none", request_timeout_s=60.0,
        output_dir=str(tmp_path / "runs"),
    )  # fmt: skip
    values.update(overrides)
    return SweepConfig.from_mapping(values)


@pytest.mark.parametrize("api", ["openai-completions", "openai-chat"])
def test_openai_protocol_end_to_end_exact_token_count(llama, api):
    runtime = HttpRuntime(HttpSettings(url=llama.url, api=api, served_model="smollm2"))
    runtime.load()
    assert "smollm2" in runtime.server["models"]
    trace = runtime.generate(GenerationRequest("one-p00", "The end.", 20))  # greedy SmolLM2 would stop at once
    assert trace.error is None, trace.error
    assert trace.output_tokens == 20 == len(trace.token_times_s)
    assert trace.token_count_source == "stream"
    assert trace.sent_s < trace.headers_s <= trace.token_times_s[0] <= trace.token_times_s[-1]
    assert trace.text


def test_closed_and_open_loop_steps(llama, tmp_path):
    params = _sweep(llama.url, tmp_path, concurrency=[1, 3], rates_rps=[4.0], step_min_requests=4, slo_ttft_s=30.0)
    result = run_sweep(params, progress=False)
    steps = result.meta["steps"]
    assert list(steps) == ["c1", "c3", "r4"]
    for step_id, record in steps.items():
        summary = record["summary"]
        assert record["status"] == "complete"
        assert summary["requests_ok"] == 4 and summary["requests_failed"] == 0, summary["errors_by_kind"]
        assert summary["throughput_tps"] > 0
        assert summary["goodput_rps"] == pytest.approx(summary["request_rate_rps"])  # a 30 s TTFT target is met
        assert summary["ttft_s"]["median"] >= summary["ttfh_s"]["median"]
    requests = result.requests
    assert (requests["output_tokens"] == 12).all()
    # three requests in flight at once in the c3 step: some were sent before another had finished
    c3 = requests[requests["step"] == "c3"].sort_values("sent_unix_s")
    assert (c3["sent_unix_s"].iloc[1:].to_numpy() < c3["last_token_unix_s"].iloc[:-1].to_numpy()).any()
    # the open loop's arrivals are the seeded Poisson schedule (exponential gaps at 4 requests/s)
    rng = np.random.default_rng(params.run.seed)
    expected_gaps = rng.exponential(1 / 4.0, size=4)[1:]
    sent = requests[requests["step"] == "r4"].sort_values("sent_unix_s")["sent_unix_s"].to_numpy()
    assert np.diff(sent) == pytest.approx(expected_gaps, abs=0.03)
    assert result.meta["network"]["rtt_s_median"] < 0.01
    assert result.meta["summary_step"] == "c1" and result.meta["summary"]["requests"] == 4

    # the analysis gains throughput and latency percentiles against concurrency
    from benchlib import analysis

    runs_dir = tmp_path / "runs"
    steps_table = analysis.step_table(runs_dir)
    assert list(steps_table["step"]) == ["c1", "c3", "r4"]
    assert steps_table["ttft_s_p99"].notna().all()
    figures = analysis.write_figures(
        analysis.run_table(runs_dir), analysis.load_reference(analysis_reference()), tmp_path / "figures", runs_dir
    )
    assert tmp_path / "figures" / "load_steps.png" in figures
    assert tmp_path / "figures" / "serving_curve.png" in figures  # c1 and c3 are complete closed-loop steps
    points = analysis.serving_points(steps_table)
    assert sorted(points["concurrency"]) == [1, 3]


def test_a_refused_connection_is_a_clear_error(tmp_path, reserved_port):
    url = f"http://127.0.0.1:{reserved_port}"
    with pytest.raises(ServerGone, match="No server answers"):
        run_sweep(_sweep(url, tmp_path), progress=False)


def test_a_wrong_model_name_lists_the_served_models(llama, tmp_path):
    with pytest.raises(ParameterError) as error:
        run_sweep(_sweep(llama.url, tmp_path, served_model="llama-70b"), progress=False)
    assert "llama-70b" in str(error.value) and "smollm2" in str(error.value)


@pytest.mark.parametrize(
    ("mode", "kind"),
    [("replay-malformed", "malformed"), ("replay-truncated", "truncated"), ("replay-error", "server"), ("replay-slow", "timeout")],
)
def test_bad_streams_are_recorded_as_errors_not_dropped(replay, tmp_path, mode, kind):
    params = _sweep(replay.url, tmp_path, served_model=mode, request_timeout_s=1.0, step_min_requests=2, warmup=0)
    with pytest.raises(RuntimeFailure, match=f"every one of the 2 measured requests failed: {kind} x2"):
        run_sweep(params, progress=False)  # nothing succeeded: the run ends failed (issue 25)
    store = RunDirectory(next((tmp_path / "runs").iterdir()))
    requests = store.read_requests()
    assert len(requests) == 2, "failed requests are kept"
    assert (requests["error_kind"] == kind).all()
    assert requests["error"].str.len().gt(0).all()
    meta = store.read_meta()
    assert meta["status"] == "failed"
    summary = meta["steps"]["c1"]["summary"]
    assert summary["requests_ok"] == 0 and summary["errors_by_kind"] == {kind: 2}
    assert "ttft_s" not in summary, "failed requests never enter latency statistics"


@pytest.mark.parametrize("api", ["ollama-generate", "ollama-chat"])
def test_ollama_protocol_against_the_documented_format(replay, api):
    runtime = HttpRuntime(HttpSettings(url=replay.url, api=api, served_model="replay"))
    runtime.load()
    assert runtime.server["version"] == "0.0.0-replay"
    trace = runtime.generate(GenerationRequest("o-p00", "Hello", 10))
    assert trace.error is None, trace.error
    assert trace.output_tokens == 10 and trace.token_count_source == "server usage"
    assert trace.runtime_timings.decode_tokens == 9 and trace.runtime_timings.decode_s > 0
    assert trace.prompt_tokens == 8
    assert trace.text.split() == [f"t{i}" for i in range(10)]


def test_chunks_with_several_tokens_are_counted_as_tokens(replay):
    multi = HttpRuntime(HttpSettings(url=replay.url, served_model="replay-multi")).generate(GenerationRequest("m-p00", "x", 10))
    assert multi.output_tokens == 10 == len(multi.token_times_s)
    assert multi.token_count_source == "stream logprobs"
    assert multi.token_times_s[0] == multi.token_times_s[1]  # two tokens arrived in one chunk
    usage = HttpRuntime(HttpSettings(url=replay.url, served_model="replay-usage")).generate(GenerationRequest("u-p00", "x", 10))
    assert usage.output_tokens == 10 and len(usage.token_times_s) == 5
    assert usage.token_count_source == "server usage"


def test_api_key_is_sent_but_never_stored(tmp_path, monkeypatch):
    key = "sk-test-very-secret-0123456789"
    monkeypatch.setenv("BENCHLIB_TEST_KEY", key)
    server = replay_server(reserve_port(), tmp_path / "server.log", api_key_env="BENCHLIB_TEST_KEY", env={**os.environ})
    server.start()
    try:
        result = run_sweep(_sweep(server.url, tmp_path, served_model="replay", api_key_env="BENCHLIB_TEST_KEY"), progress=False)
        assert result.meta["steps"]["c1"]["summary"]["requests_ok"] == 3
        monkeypatch.setenv("BENCHLIB_TEST_KEY", "wrong")
        with pytest.raises(Exception, match="401"):
            HttpRuntime(HttpSettings(url=server.url, served_model="replay", api_key_env="BENCHLIB_TEST_KEY")).load()
    finally:
        server.stop()
    for path in result.run_dir.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), f"the API key leaked into {path}"
    assert result.meta["runtime"]["api_key_env"] == "BENCHLIB_TEST_KEY"


def test_server_killed_mid_sweep_keeps_results_and_resumes(tmp_path):
    port = reserve_port()
    model = resolve_model("smollm2-135m-q4_1").path
    server = llama_server(model, port, tmp_path / "server.log").start()
    params = _sweep(server.url, tmp_path, concurrency=[1, 2], step_min_requests=6, output_tokens=24)
    store = RunDirectory(params.run_dir())
    outcome: dict = {}

    def sweep() -> None:
        try:
            run_sweep(params, progress=False)
        except Exception as exc:  # the sweep's own error, examined below
            outcome["error"] = exc

    worker = threading.Thread(target=sweep)
    worker.start()
    deadline = time.monotonic() + 120
    partial = store.path / "requests.partial.jsonl"
    while time.monotonic() < deadline:
        if partial.exists() and '"step": "c2"' in partial.read_text():
            break
        time.sleep(0.05)
    server.kill()
    worker.join(timeout=120)
    assert isinstance(outcome.get("error"), ServerGone), outcome
    meta = store.read_meta()
    assert meta["status"] == "failed" and "resume" in meta["error"]
    assert meta["steps"]["c1"]["status"] == "complete"
    kept = store.read_requests()
    assert (kept[kept["step"] == "c1"]["error"].isna()).sum() == 6, "completed results are kept"
    assert kept[kept["step"] == "c2"]["error_kind"].isin(["connect", "disconnected"]).any()

    server = llama_server(model, port, tmp_path / "server2.log").start()
    try:
        result = run_sweep(params, progress=False)
    finally:
        server.stop()
    assert result.meta["status"] == "complete"
    assert result.meta["steps"]["c1"]["attempt"] == 0, "the finished step was not run again"
    assert result.meta["steps"]["c2"]["attempt"] == 1 and result.meta["steps"]["c2"]["summary"]["requests_ok"] == 6
    pd.testing.assert_frame_equal(
        result.requests[result.requests["step"] == "c1"].reset_index(drop=True), kept[kept["step"] == "c1"].reset_index(drop=True)
    )


def test_the_sweep_notebook_runs_an_http_sweep(replay, tmp_path):
    """papermill executes notebooks/sweep.ipynb with runtime: http (against the replay server)."""
    import nbformat

    from benchlib.cli import run_sweep_notebook

    overrides = dict(
        profile="http-notebook", runtime="http", url=replay.url, model="replay", prompts="tiny", output_tokens=8,
        concurrency=[1, 4], step_min_requests=4, warmup=1, power="none", output_dir=str(tmp_path / "runs"),
    )  # fmt: skip
    run_dir = run_sweep_notebook(None, overrides, progress=False)
    meta = RunDirectory(run_dir).read_meta()
    assert meta["status"] == "complete" and list(meta["steps"]) == ["c1", "c4"]
    executed = nbformat.read(run_dir / "sweep.ipynb", as_version=4)
    outputs = "".join(str(o) for c in executed.cells if c.cell_type == "code" for o in c.get("outputs", []))
    assert "c4" in outputs and "network round trip" in outputs


def test_synthetic_prompts_through_llama_cpp_pythons_tokenize_endpoint(llama, tmp_path):
    """llama-cpp-python's server tokenizes at /extras/tokenize (with BOS, which benchlib strips)."""
    result = run_sweep(_sweep(llama.url, tmp_path, prompts="synthetic", prompt_tokens=24, step_min_requests=3), progress=False)
    assert result.meta["prompt_tokenizer"] == "server:llama-cpp-python server"
    requests = result.requests
    assert requests["error"].isna().all()
    assert requests["output_text"].nunique() == 3, "three different prompts, three different answers"
    assert result.summary["prompt_cache"] == {"reported": False}, "this server says nothing about its cache"
    # the server's tokenizer, its BOS stripped, is the GGUF file's: the prompts have exactly 24 tokens
    from benchlib.synthetic_prompts import GgufTokenizer, ServerTokenizer, SyntheticPrompts

    server_tokenizer = ServerTokenizer(HttpSettings(url=llama.url, served_model="smollm2"))
    local = GgufTokenizer(resolve_model("smollm2-135m-q4_1").path)
    try:
        prompt = SyntheticPrompts(server_tokenizer, 24, seed=0).prompt(requests["request_id"].iloc[0])
        assert server_tokenizer.encode_many([prompt]) == [local.encode(prompt)]
        assert len(local.encode(prompt)) == 24
    finally:
        local.close()


def test_synthetic_prompts_with_no_tokenizer_anywhere_say_how_to_fix_it(replay, tmp_path):
    with pytest.raises(ParameterError) as error:
        run_sweep(_sweep(replay.url, tmp_path, served_model="replay", model="replay", prompts="synthetic", prompt_tokens=8), progress=False)
    message = str(error.value)
    assert "tokenizer" in message and "GGUF" in message
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir()), "nothing was written"
