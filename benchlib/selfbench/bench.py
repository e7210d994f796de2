"""benchlib's own benchmarks (``make bench``): how much the harness adds to what it measures.

1. Decode-rate accuracy: on the same generations, benchlib's decode rate
   (``1 / tpot_s``) against llama.cpp's own decode counter, as a ratio (goal: at
   least 0.98).
2. Notebook overhead: one papermill execution of the smoke sweep beyond its model load, warm-up and generation.
3. Report wall time: the commands of ``make report`` after setup (a fresh
   default sweep plus the analysis notebook), into a temporary folder.
4. Power sampler cost: the sampler's own CPU use at 10 Hz and 100 Hz as a
   fraction of one core (reading an INA226 hwmon tree, real file reads), and
   its effect on decode tokens/s, sampler on against off in alternating
   generations, as a ratio (goal: under 1% of a core at 10 Hz, no measurable
   slowdown).
5. Load generator: against the replay server streaming at a known interval to
   64 concurrent streams, the token rate the client sustains, its CPU use and
   the error of its measured inter-token gaps (goal: under 1 ms at the median);
   against llama.cpp's server, the client's decode rate over the server's own
   perf counters, as a ratio.

6. Fidelity against llama.cpp's own tools (:mod:`benchlib.selfbench.fidelity`):
   in-process decode rate over ``llama-bench`` tg128, client TPOT over
   ``llama-server``'s own per-token time, and TTFT of repeated against
   synthetic prompts on ``llama-server``.

7. Soak (:mod:`benchlib.selfbench.soak`): an http sweep at concurrency 64
   against the replay server (a token every 20 ms) for ``BENCHLIB_SOAK_S``
   seconds (default 600): failed requests (goal: none), tokens/s, the client's
   memory growth after the first minute (goal: under 5%) and its CPU seconds
   per 1k tokens/s.
8. Exporter CPU: a ``benchlib exporter`` process at 10 and 1 Hz, scraped each second (goal: < 1% of a core).
9. Prediction from calibration (:mod:`benchlib.selfbench.calibration`): fitted on smollm2 here, predicting gemma3-270m.
10. Interval coverage (:mod:`benchlib.selfbench.coverage`): 6 repeats of the default sweep; 3-run vs 1-run coverage.
Results are printed and saved as JSON under ``data/bench/``: measurements, not pass/fail tests (noise moves them).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchlib.errors import ParameterError
from benchlib.machine import fingerprint
from benchlib.metrics import request_metrics
from benchlib.models import DEFAULT_MODEL, resolve_model
from benchlib.paths import BENCH_DEFAULT, params_dir, sensors_dir
from benchlib.power import Ina2xxReader, PowerSampler
from benchlib.prometheus.exporter_run import scrape_metrics
from benchlib.records import atomic_write_json, now_iso
from benchlib.runtimes.base import GenerationRequest
from benchlib.runtimes.http import HttpRuntime, HttpSettings
from benchlib.runtimes.llamacpp import LlamaCppRuntime
from benchlib.selfbench.calibration import prediction_from_calibration
from benchlib.selfbench.coverage import interval_coverage
from benchlib.selfbench.fidelity import client_vs_llama_server_tpot, decode_vs_llama_bench, llama_server_prompt_cache
from benchlib.selfbench.runtime_compare import batch_throughput, compare_runtimes, warm_generations
from benchlib.selfbench.soak import soak
from benchlib.sweep.steps import LoadStep, run_step
from benchlib.testing.local_servers import ServerProcess, reserve_port, llama_server, replay_server
from benchlib.workload import PROMPT_SETS

__all__ = ["BENCHMARKS", "WRITES_FILES", "decode_accuracy", "exporter_cpu", "notebook_overhead", "onnx_vs_llamacpp", "report_wall_time", "run_benchmarks", "sampler_cost", "sampler_slowdown"]


def decode_accuracy(generations: int = 12, output_tokens: int = 128) -> dict[str, Any]:
    """benchlib's decode rate over llama.cpp's perf-counter decode rate, same generations.

    Args:
        generations: Measured generations (after one warm-up).
        output_tokens: Tokens per generation.
    """
    runtime = LlamaCppRuntime(resolve_model(DEFAULT_MODEL))
    runtime.load()
    ratios, ours, theirs = [], [], []
    for trace in warm_generations(runtime, generations, output_tokens):
        metrics = request_metrics(trace)
        ours.append(metrics.decode_tps)
        theirs.append(trace.runtime_timings.decode_tps)
        ratios.append(metrics.decode_tps / trace.runtime_timings.decode_tps)
    runtime.close()
    return {
        "generations": generations,
        "output_tokens": output_tokens,
        "benchlib_decode_tps_median": statistics.median(ours),
        "llamacpp_decode_tps_median": statistics.median(theirs),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "ratio_max": max(ratios),
        "goal": ">= 0.98",
    }


def _benchlib(*args: str) -> float:
    """Run the benchlib command; return its wall time in seconds."""
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "benchlib.cli", *args], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def notebook_overhead(repeats: int = 3) -> dict[str, Any]:
    """Wall time of a papermill sweep execution beyond its load, warm-up and generation.

    Args:
        repeats: Fresh smoke sweeps to time.
    """
    overheads, walls = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            wall = _benchlib("sweep", str(params_dir() / "smoke.yaml"), "--quiet", "--set", f"output_dir={folder}")
            run_file = next(Path(folder).glob("*/run.json"))
            timings = json.loads(run_file.read_text())["attempts"][-1]["timings"]
            inside = timings["model_load_s"] + timings["warmup_s"] + timings["measured_s"]
            walls.append(wall)
            overheads.append(wall - inside)
    return {
        "repeats": repeats,
        "sweep_wall_s_median": statistics.median(walls),
        "overhead_s_median": statistics.median(overheads),
        "overhead_s_min": min(overheads),
        "note": "command wall time minus model load, warm-up and measured generation (smoke profile)",
    }


def report_wall_time() -> dict[str, Any]:
    """Wall time of ``make report``'s commands after setup, with a fresh default sweep."""
    with tempfile.TemporaryDirectory() as folder:
        runs = Path(folder) / "runs"
        sweep_s = _benchlib("sweep", str(params_dir() / "local-cpu.yaml"), "--quiet", "--set", f"output_dir={runs}")
        report_s = _benchlib(
            "report", "--runs-dir", str(runs), "--figures-dir", str(Path(folder) / "figures"),
            "--output-dir", str(Path(folder) / "report"),
        )  # fmt: skip
        meta = json.loads(next(runs.glob("*/run.json")).read_text())
    summary = meta["summary"]
    return {
        "sweep_s": sweep_s,
        "report_s": report_s,
        "total_s": sweep_s + report_s,
        "requests": summary["requests"],
        "tpot_ms_median": summary["tpot_s"]["median"] * 1e3,
        "system_throughput_tps": summary["system_throughput_tps"]["value"],
        "decode_tps_median": summary["decode_tps"]["median"],
    }


def _fixture_reader():
    return Ina2xxReader(root=sensors_dir() / "sysfs" / "pi5_ina226")


def sampler_cost(rates_hz: tuple[float, ...] = (10.0, 100.0), duration_s: float = 10.0) -> dict[str, Any]:
    """CPU time the power sampler uses, as a fraction of one core, at each rate.

    The process's CPU time over ``duration_s`` of sleeping with the sampler
    running, minus the same without it.
    """
    def cpu_fraction(rate_hz: float | None) -> tuple[float, int]:
        sampler = PowerSampler(_fixture_reader(), rate_hz) if rate_hz else None
        cpu0, wall0 = time.process_time(), time.perf_counter()
        if sampler:
            sampler.start()
        time.sleep(duration_s)
        if sampler:
            sampler.stop()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        return cpu / wall, sampler.sample_count if sampler else 0

    baseline, _ = cpu_fraction(None)
    results: dict[str, Any] = {"duration_s": duration_s, "reader": "ina2xx (fixture hwmon tree)", "baseline_core_fraction": baseline}
    for rate in rates_hz:
        fraction, samples = cpu_fraction(rate)
        results[f"core_fraction_at_{rate:g}hz"] = fraction - baseline
        results[f"samples_at_{rate:g}hz"] = samples
    results["goal"] = "< 0.01 of a core at 10 Hz"
    return results


def exporter_cpu(rates_hz: tuple[float, ...] = (10.0, 1.0), duration_s: float = 20.0) -> dict[str, Any]:
    """CPU of a real ``benchlib exporter`` process (INA226 fixture tree, /metrics scraped each second), fraction of a core."""
    import psutil

    results: dict[str, Any] = {"duration_s": duration_s, "reader": "ina2xx (fixture hwmon tree)", "goal": "< 0.01 of a core at 10 Hz"}
    for rate, port in zip(rates_hz, (reserve_port() for _ in rates_hz)):
        command = [sys.executable, "-m", "benchlib.cli", "exporter", "--power", "ina2xx", "--root",
                   str(sensors_dir() / "sysfs" / "pi5_ina226"), "--port", str(port.port), "--rate-hz", str(rate)]  # fmt: skip
        with tempfile.TemporaryDirectory() as folder:
            server = ServerProcess(command, port, "/metrics", Path(folder) / "log").start()
            try:
                process, wall0 = psutil.Process(server.process.pid), time.perf_counter()
                cpu0 = sum(process.cpu_times()[:2])
                while time.perf_counter() - wall0 < duration_s:
                    scrape_metrics(f"{server.url}/metrics")
                    time.sleep(1.0)
                results[f"core_fraction_at_{rate:g}hz"] = (sum(process.cpu_times()[:2]) - cpu0) / (time.perf_counter() - wall0)
            finally:
                server.stop()
    return results


def sampler_slowdown(pairs: int = 10, rate_hz: float = 10.0, output_tokens: int = 128) -> dict[str, Any]:
    """Decode tokens/s with the sampler running over without it, alternating generations."""
    prompt = PROMPT_SETS["short"][0]
    runtime = LlamaCppRuntime(resolve_model(DEFAULT_MODEL))
    runtime.load()
    runtime.generate(GenerationRequest("warmup", prompt, output_tokens))
    on, off = [], []
    for index in range(pairs):
        for sampling in (False, True) if index % 2 == 0 else (True, False):
            sampler = PowerSampler(_fixture_reader(), rate_hz).start() if sampling else None
            trace = runtime.generate(GenerationRequest(f"g{index}", prompt, output_tokens))
            if sampler:
                sampler.stop()
            (on if sampling else off).append(request_metrics(trace).decode_tps)
    runtime.close()
    return {
        "pairs": pairs,
        "rate_hz": rate_hz,
        "decode_tps_median_sampler_off": statistics.median(off),
        "decode_tps_median_sampler_on": statistics.median(on),
        "ratio_on_over_off": statistics.median(on) / statistics.median(off),
        "goal": "ratio within noise of 1.0",
    }


def load_generator_accuracy(concurrency: int = 64, interval_ms: float = 20.0, output_tokens: int = 64) -> dict[str, Any]:
    """The load generator's ceiling and timing accuracy against a server with a known token interval.

    The replay server streams one token every ``interval_ms`` (absolute
    deadlines) to ``concurrency`` closed-loop streams; the client's measured
    inter-token gaps are compared with the true interval.
    """
    import asyncio

    import numpy as np

    with tempfile.TemporaryDirectory() as folder:
        server = replay_server(reserve_port(), Path(folder) / "replay.log", interval_ms=interval_ms).start()
        try:
            settings = HttpSettings(url=server.url, served_model="replay", request_timeout_s=60)
            traces = []
            step = LoadStep(f"c{concurrency}", "closed", concurrency, None, concurrency * 4, 120.0)
            counter = iter(range(10**9))
            cpu0 = time.process_time()
            outcome = asyncio.run(
                run_step(
                    settings, step,
                    lambda: GenerationRequest(f"b-{next(counter)}-p00", "x", output_tokens),
                    lambda request, trace: traces.append(trace),
                )
            )  # fmt: skip
            cpu_s = time.process_time() - cpu0
        finally:
            server.stop()
    ok = [t for t in traces if t.error is None]
    gaps = np.concatenate([np.diff(t.token_times_s) for t in ok]) if ok else np.zeros(0)
    errors_ms = np.abs(gaps * 1e3 - interval_ms)
    tokens = sum(t.output_tokens for t in ok)
    return {
        "concurrency": concurrency,
        "true_interval_ms": interval_ms,
        "requests_ok": len(ok),
        "requests_failed": len(traces) - len(ok),
        "client_token_rate_tps": tokens / outcome.duration_s,
        "ideal_token_rate_tps": concurrency * 1000.0 / interval_ms,
        "client_cpu_core_fraction": cpu_s / outcome.duration_s,
        "itl_median_ms": float(np.median(gaps) * 1e3) if gaps.size else float("nan"),
        "itl_abs_error_median_ms": float(np.median(errors_ms)) if gaps.size else float("nan"),
        "itl_abs_error_p95_ms": float(np.percentile(errors_ms, 95)) if gaps.size else float("nan"),
        "goal": "median inter-token gap error < 1 ms",
    }


def client_vs_server_decode(requests: int = 8, output_tokens: int = 128) -> dict[str, Any]:
    """Client-measured decode rate against the llama.cpp server's own perf counters, same requests.

    llama-cpp-python's server prints llama.cpp's ``eval time = X ms / N runs``
    line after every request; the client's ``1 / tpot_s`` is compared with
    ``N / X`` request by request.
    """
    import re

    pattern = re.compile(r"^llama_perf_context_print:\s+eval time =\s+([\d.]+) ms /\s+(\d+) runs", re.M)
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "server.log"
        server = llama_server(resolve_model(DEFAULT_MODEL).path, reserve_port(), log).start()
        try:
            runtime = HttpRuntime(HttpSettings(url=server.url, served_model="smollm2"))
            runtime.load()
            prompts = PROMPT_SETS["short"]
            runtime.generate(GenerationRequest("warmup-p00", prompts[0], output_tokens))
            client = []
            for index in range(requests):
                trace = runtime.generate(GenerationRequest(f"g{index}-p00", prompts[index % len(prompts)] + f" ({index})", output_tokens))
                client.append(request_metrics(trace).decode_tps)
            time.sleep(0.5)
            server_rates = [int(n) / (float(ms) / 1000) for ms, n in pattern.findall(log.read_text())][-requests:]
        finally:
            server.stop()
    ratios = [c / s for c, s in zip(client, server_rates)]
    return {
        "requests": requests,
        "client_decode_tps_median": statistics.median(client),
        "server_decode_tps_median": statistics.median(server_rates),
        "ratio_median": statistics.median(ratios),
        "ratio_min": min(ratios),
        "note": "server rate from llama.cpp's perf counters in llama-cpp-python's server log",
    }


def onnx_vs_llamacpp(generations: int = 8, output_tokens: int = 128, precisions: tuple[str, ...] = ("int4", "int8", "fp32")) -> dict[str, Any]:
    """llama.cpp (GGUF) against ONNX Runtime (each CPU precision) on the same model and prompts, side by side.

    Each configuration runs in its own process (cold start, its own peak RSS);
    ratios are ONNX / llama.cpp. Also ONNX int4's batched throughput at batch
    sizes 1, 4, 16 and 64. See :mod:`benchlib.selfbench.runtime_compare`.
    """
    comparison = compare_runtimes(precisions=precisions, generations=generations, output_tokens=output_tokens)
    flat: dict[str, Any] = {"model": comparison["model"], "generations": generations, "output_tokens": output_tokens}
    for row in comparison["rows"]:
        name = f"{row['runtime']}_{row['precision']}".lower()
        flat[f"{name}_ttft_ms"] = row["ttft_s_median"] * 1e3
        flat[f"{name}_decode_tps"] = row["decode_tps_median"]
        flat[f"{name}_peak_rss_mb"] = row["peak_rss_mb"]
        flat[f"{name}_rss_before_load_mb"] = row["rss_before_load_mb"]
        flat[f"{name}_load_s"] = row["load_s"]
        for ratio in ("ttft_ratio_to_llamacpp", "decode_tps_ratio_to_llamacpp", "peak_rss_ratio_to_llamacpp"):
            if ratio in row:
                flat[f"{name}_{ratio}"] = row[ratio]
    flat.update({f"onnx_int4_{k}": v for k, v in batch_throughput(output_tokens=output_tokens).items() if k != "output_tokens"})
    return flat


BENCHMARKS = {
    "decode_accuracy": decode_accuracy,
    "decode_vs_llama_bench": decode_vs_llama_bench,
    "client_vs_llama_server_tpot": client_vs_llama_server_tpot,
    "llama_server_prompt_cache": llama_server_prompt_cache,
    "notebook_overhead": notebook_overhead,
    "report_wall_time": report_wall_time,
    "sampler_cost": sampler_cost,
    "sampler_slowdown": sampler_slowdown,
    "exporter_cpu": exporter_cpu,
    "load_generator_accuracy": load_generator_accuracy,
    "client_vs_server_decode": client_vs_server_decode,
    "onnx_vs_llamacpp": onnx_vs_llamacpp,
    "interval_coverage": interval_coverage,
    "soak": soak,
    "prediction_from_calibration": prediction_from_calibration,
}
"""Every benchmark, by name (``benchlib bench --only NAME``)."""
WRITES_FILES = {"prediction_from_calibration"}  # write their own files into the output folder, their first argument


def run_benchmarks(output_dir: str | Path = BENCH_DEFAULT, only: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmarks (all, or ``only`` these), print the results and save them as JSON.

    Returns:
        The results.
    """
    unknown = sorted(set(only or []) - set(BENCHMARKS))
    if unknown:
        raise ParameterError(f"Unknown benchmark(s) {', '.join(unknown)}; valid: {', '.join(BENCHMARKS)}.")
    results: dict[str, Any] = {"started_at": now_iso(), "machine": fingerprint()}
    steps = [(name, step) for name, step in BENCHMARKS.items() if not only or name in only]
    for name, step in steps:
        print(f"[bench] {name} ...", flush=True)
        results[name] = step(output_dir) if name in WRITES_FILES else step()
        for key, value in results[name].items():
            shown = f"{value:.4g}" if isinstance(value, float) else value
            print(f"    {key}: {shown}")
    path = Path(output_dir) / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    atomic_write_json(path, results)
    print(f"[bench] saved {path}")
    return results
