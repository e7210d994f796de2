"""benchlib's own benchmarks (``make bench``): how much the harness adds to what it measures.

1. Decode-rate accuracy: on the same generations, benchlib's decode rate
   (``1 / tpot_s``) against llama.cpp's own decode counter, as a ratio (goal: at
   least 0.98).
2. Notebook overhead: the wall time of one papermill execution of the smoke
   sweep beyond the model load, warm-up and generation it contains.
3. Report wall time: the commands of ``make report`` after setup (a fresh
   default sweep plus the analysis notebook), into a temporary folder.

4. Power sampler cost: the sampler's own CPU use at 10 Hz and 100 Hz as a
   fraction of one core (reading an INA226 hwmon tree, real file reads), and
   its effect on decode tokens/s, sampler on against off in alternating
   generations, as a ratio (goal: under 1% of a core at 10 Hz, no measurable
   slowdown).

Results are printed and saved as JSON under ``data/bench/``. These are
measurements, not pass/fail tests: a noisy machine moves them.
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

from benchlib.records import atomic_write_json, now_iso

__all__ = ["BENCHMARKS", "decode_accuracy", "notebook_overhead", "report_wall_time", "run_benchmarks", "sampler_cost", "sampler_slowdown"]


def decode_accuracy(generations: int = 12, output_tokens: int = 128) -> dict[str, Any]:
    """benchlib's decode rate over llama.cpp's perf-counter decode rate, same generations.

    Args:
        generations: Measured generations (after one warm-up).
        output_tokens: Tokens per generation.
    """
    from benchlib.metrics import request_metrics
    from benchlib.models import DEFAULT_MODEL, resolve_model
    from benchlib.runtimes.base import GenerationRequest
    from benchlib.runtimes.llamacpp import LlamaCppRuntime
    from benchlib.workload import PROMPT_SETS

    prompts = PROMPT_SETS["short"]
    runtime = LlamaCppRuntime(resolve_model(DEFAULT_MODEL))
    runtime.load()
    runtime.generate(GenerationRequest("warmup", prompts[0], output_tokens))
    ratios, ours, theirs = [], [], []
    for index in range(generations):
        trace = runtime.generate(GenerationRequest(f"g{index}", prompts[index % len(prompts)], output_tokens))
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
    from benchlib.cli import repo_root

    overheads, walls = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as folder:
            wall = _benchlib("sweep", str(repo_root() / "params" / "smoke.yaml"), "--quiet", "--set", f"output_dir={folder}")
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
    from benchlib.cli import repo_root

    with tempfile.TemporaryDirectory() as folder:
        runs = Path(folder) / "runs"
        sweep_s = _benchlib("sweep", str(repo_root() / "params" / "local-cpu.yaml"), "--quiet", "--set", f"output_dir={runs}")
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
    from benchlib.cli import repo_root
    from benchlib.power import Ina2xxReader

    return Ina2xxReader(root=repo_root() / "tests" / "fixtures" / "power" / "sysfs" / "pi5_ina226")


def sampler_cost(rates_hz: tuple[float, ...] = (10.0, 100.0), duration_s: float = 10.0) -> dict[str, Any]:
    """CPU time the power sampler uses, as a fraction of one core, at each rate.

    The process's CPU time over ``duration_s`` of sleeping with the sampler
    running, minus the same without it.
    """
    from benchlib.power import PowerSampler

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


def sampler_slowdown(pairs: int = 10, rate_hz: float = 10.0, output_tokens: int = 128) -> dict[str, Any]:
    """Decode tokens/s with the sampler running over without it, alternating generations."""
    from benchlib.metrics import request_metrics
    from benchlib.models import DEFAULT_MODEL, resolve_model
    from benchlib.power import PowerSampler
    from benchlib.runtimes.base import GenerationRequest
    from benchlib.runtimes.llamacpp import LlamaCppRuntime
    from benchlib.workload import PROMPT_SETS

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


BENCHMARKS = {
    "decode_accuracy": decode_accuracy,
    "notebook_overhead": notebook_overhead,
    "report_wall_time": report_wall_time,
    "sampler_cost": sampler_cost,
    "sampler_slowdown": sampler_slowdown,
}
"""Every benchmark, by name (``benchlib bench --only NAME``)."""


def run_benchmarks(output_dir: str | Path = "data/bench", only: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmarks (all, or ``only`` these), print the results and save them as JSON.

    Returns:
        The results.
    """
    from benchlib.env import fingerprint
    from benchlib.errors import ParameterError

    unknown = sorted(set(only or []) - set(BENCHMARKS))
    if unknown:
        raise ParameterError(f"Unknown benchmark(s) {', '.join(unknown)}; valid: {', '.join(BENCHMARKS)}.")
    results: dict[str, Any] = {"started_at": now_iso(), "machine": fingerprint()}
    steps = [(name, step) for name, step in BENCHMARKS.items() if not only or name in only]
    for name, step in steps:
        print(f"[bench] {name} ...", flush=True)
        results[name] = step()
        for key, value in results[name].items():
            shown = f"{value:.4g}" if isinstance(value, float) else value
            print(f"    {key}: {shown}")
    path = Path(output_dir) / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    atomic_write_json(path, results)
    print(f"[bench] saved {path}")
    return results
