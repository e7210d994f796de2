"""Fidelity benchmarks (``make bench``): benchlib's numbers against llama.cpp's own tools.

1. In-process decode rate against ``llama-bench`` tg128: the same model,
   threads and flash attention, in interleaved ABBA pairs (one llama-bench
   run beside one benchlib generation), so drift in the machine's speed hits
   both. Goal: median ratio at least 0.98. Beside it, the same process
   decoding without choosing tokens (as llama-bench does), which separates
   the runtime's configuration from the cost of picking each token.
2. Client TPOT against ``llama-server``'s own per-request
   ``timings.predicted_per_token_ms`` at concurrency 1, synthetic prompts.
   Goal: ratio within 0.95-1.05.
3. Prompt cache and connection reuse on ``llama-server``: median TTFT of the
   ``short`` prompts sent again and again (served from the server's prompt
   cache) against synthetic prompts of the same length (prefill), and the
   failed requests of a 64-request closed-loop step at concurrency 4.

The tools come from ``make native``. These are measurements, not tests.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from benchlib.config import SweepConfig
from benchlib.metrics import request_metrics
from benchlib.models import DEFAULT_MODEL, resolve_model
from benchlib.native import find_native_tool
from benchlib.runtimes.base import GenerationRequest
from benchlib.runtimes.http import HttpRuntime, HttpSettings
from benchlib.runtimes.llamacpp import LlamaCppRuntime, LlamaCppSettings
from benchlib.selfbench.runtime_compare import warm_generations
from benchlib.sweep import run_sweep
from benchlib.synthetic_prompts import ServerTokenizer, SyntheticPrompts
from benchlib.testing.local_servers import reserve_port, native_llama_server
from benchlib.workload import PROMPT_SETS

__all__ = ["client_vs_llama_server_tpot", "decode_vs_llama_bench", "llama_server_prompt_cache"]


def _llama_bench_tg(model_path: str, threads: int, output_tokens: int, flash_attn: str, repetitions: int) -> dict[str, Any]:
    """One ``llama-bench`` text-generation test (``-p 0 -n N``) as its JSON record."""
    command = [
        str(find_native_tool("llama-bench")), "-m", model_path, "-t", str(threads), "-p", "0", "-n", str(output_tokens),
        "-fa", flash_attn, "-r", str(repetitions), "-o", "json",
    ]  # fmt: skip
    completed = subprocess.run(command, check=True, capture_output=True, text=True)
    (record,) = json.loads(completed.stdout)
    return record


def decode_vs_llama_bench(pairs: int = 16, output_tokens: int = 128, threads: int = 2, flash_attn: str = "auto") -> dict[str, Any]:
    """benchlib's in-process decode rate over llama-bench's tg rate, in finely interleaved pairs.

    This VM's speed drifts by 10-20% within seconds, so each pair is one
    llama-bench run (``-r 1``, after its own warm-up) next to one benchlib
    generation of the same length, in ABBA order (llama-bench first in even
    pairs, benchlib first in odd ones); the ratio is taken per pair.

    Args:
        pairs: Interleaved pairs.
        output_tokens: Tokens per generation and llama-bench's ``-n``.
        threads: Threads for both.
        flash_attn: Flash attention for both (``auto``, ``on``, ``off``).
    """
    import numpy as np

    model = resolve_model(DEFAULT_MODEL)
    runtime = LlamaCppRuntime(model, LlamaCppSettings(threads=threads, flash_attn=flash_attn))
    runtime.load()
    warm_generations(runtime, 0, output_tokens)
    ours, counters, bare, theirs = [], [], [], []
    llama_bench_record: dict[str, Any] = {}

    def benchlib_rate(index: int) -> float:
        prompt = PROMPT_SETS["short"][index % len(PROMPT_SETS["short"])]
        trace = runtime.generate(GenerationRequest(f"g{index}", prompt, output_tokens))
        counters.append(trace.runtime_timings.decode_tps)
        bare.append(runtime.decode_only_tps(output_tokens))
        return request_metrics(trace).decode_tps

    try:
        for index in range(pairs):
            if index % 2:
                ours.append(benchlib_rate(index))
            llama_bench_record = _llama_bench_tg(model.path, threads, output_tokens, flash_attn, repetitions=1)
            theirs.append(float(llama_bench_record["avg_ts"]))
            if not index % 2:
                ours.append(benchlib_rate(index))
        effective = runtime.effective_settings
    finally:
        runtime.close()
    ratios = np.array(ours) / np.array(theirs)
    counter_ratios = np.array(counters) / np.array(theirs)
    bare_ratios = np.array(bare) / np.array(theirs)
    return {
        "model": model.name,
        "pairs": pairs,
        "threads": threads,
        "flash_attn": flash_attn,
        "benchlib_effective_flash_attn": effective.get("flash_attn"),
        "llama_bench_flash_attn": {-1: "auto", 0: "off", 1: "on"}.get(llama_bench_record.get("flash_attn"), llama_bench_record.get("flash_attn")),
        "llama_bench_build_commit": llama_bench_record.get("build_commit"),
        "benchlib_decode_tps_median": statistics.median(ours),
        "llama_bench_tg_tps_median": statistics.median(theirs),
        "ratio_median": float(np.median(ratios)),
        "ratio_p25": float(np.percentile(ratios, 25)),
        "ratio_p75": float(np.percentile(ratios, 75)),
        "llamacpp_counter_over_llama_bench_median": float(np.median(counter_ratios)),
        "decode_only_over_llama_bench_median": float(np.median(bare_ratios)),
        "note": "llamacpp_counter: llama.cpp's decode counter on benchlib's generations; decode_only: the same "
        "process decoding without choosing tokens, as llama-bench does (runtime configuration alone)",
        "goal": ">= 0.98",
    }


def _native_server(folder: Path):
    return native_llama_server(resolve_model(DEFAULT_MODEL).path, reserve_port(), folder / "llama-server.log").start()


def client_vs_llama_server_tpot(requests: int = 12, output_tokens: int = 128, prompt_tokens: int = 64) -> dict[str, Any]:
    """Client-measured TPOT over llama-server's own ``predicted_per_token_ms``, request by request, concurrency 1."""
    with tempfile.TemporaryDirectory() as folder:
        server = _native_server(Path(folder))
        try:
            settings = HttpSettings(url=server.url, served_model="smollm2")
            runtime = HttpRuntime(settings)
            runtime.load()
            prompts = SyntheticPrompts(ServerTokenizer(settings), prompt_tokens, seed=0)
            runtime.generate(GenerationRequest("warmup-p00", prompts.prompt("warmup"), output_tokens))
            client_ms, server_ms = [], []
            for index in range(requests):
                trace = runtime.generate(GenerationRequest(f"g{index}-p00", prompts.prompt(f"g{index}"), output_tokens))
                if trace.error or trace.runtime_timings is None or not trace.runtime_timings.decode_s:
                    continue
                client_ms.append(request_metrics(trace).tpot_s * 1e3)
                server_ms.append(trace.runtime_timings.decode_s / trace.runtime_timings.decode_tokens * 1e3)
        finally:
            server.stop()
    ratios = [c / s for c, s in zip(client_ms, server_ms)]
    return {
        "requests": len(ratios),
        "client_tpot_ms_median": statistics.median(client_ms),
        "server_predicted_per_token_ms_median": statistics.median(server_ms),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "goal": "0.95 <= ratio <= 1.05",
    }


def llama_server_prompt_cache(requests: int = 16, output_tokens: int = 16, concurrency_requests: int = 64) -> dict[str, Any]:
    """TTFT of repeated against synthetic prompts on llama-server, and failures of a 64-request c4 step."""
    import pandas as pd

    with tempfile.TemporaryDirectory() as folder:
        server = _native_server(Path(folder))
        try:
            common = dict(
                profile="bench-llama-server", runtime="http", url=server.url, model="smollm2-135m-q4_1",
                served_model="smollm2", output_tokens=output_tokens, warmup=1, power="none",
                output_dir=str(Path(folder) / "runs"),
            )  # fmt: skip
            repeated = run_sweep(SweepConfig.from_mapping({**common, "prompts": "short", "step_min_requests": requests}), progress=False)
            prompt_tokens = int(pd.to_numeric(repeated.requests["prompt_tokens"]).median())
            synthetic = run_sweep(
                SweepConfig.from_mapping(
                    {**common, "prompts": "synthetic", "prompt_tokens": max(prompt_tokens - 1, 1), "step_min_requests": requests}
                ),
                progress=False,
            )
            loaded = run_sweep(
                SweepConfig.from_mapping(
                    {**common, "prompts": "synthetic", "prompt_tokens": 64, "output_tokens": 32, "concurrency": [4],
                     "step_min_requests": concurrency_requests}
                ),
                progress=False,
            )  # fmt: skip
        finally:
            server.stop()
    step = loaded.meta["steps"]["c4"]["summary"]
    return {
        "repeated_prompt_tokens_median": prompt_tokens,
        "repeated_ttft_ms_median": repeated.summary["ttft_s"]["median"] * 1e3,
        "repeated_cached_share": repeated.summary["prompt_cache"].get("cached_share"),
        "synthetic_ttft_ms_median": synthetic.summary["ttft_s"]["median"] * 1e3,
        "synthetic_cached_share": synthetic.summary["prompt_cache"].get("cached_share"),
        "synthetic_over_repeated_ttft": synthetic.summary["ttft_s"]["median"] / repeated.summary["ttft_s"]["median"],
        "c4_requests": step["issued"],
        "c4_requests_failed": step["requests_failed"],
        "c4_requests_retried": step["retried_requests"],
        "c4_output_tokens_exact": bool((loaded.requests["output_tokens"] == 32).all()),
    }
