"""benchlib's own benchmarks (``make bench``): how much the harness adds to what it measures.

1. Decode-rate accuracy: on the same generations, benchlib's decode rate
   (``1 / tpot_s``) against llama.cpp's own decode counter, as a ratio (goal: at
   least 0.98).
2. Notebook overhead: the wall time of one papermill execution of the smoke
   sweep beyond the model load, warm-up and generation it contains.
3. Report wall time: the commands of ``make report`` after setup (a fresh
   default sweep plus the analysis notebook), into a temporary folder.

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

__all__ = ["decode_accuracy", "notebook_overhead", "report_wall_time", "run_benchmarks"]


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


def run_benchmarks(output_dir: str | Path = "data/bench") -> dict[str, Any]:
    """Run every benchmark, print the results and save them as JSON.

    Returns:
        The results.
    """
    from benchlib.env import fingerprint

    results: dict[str, Any] = {"started_at": now_iso(), "machine": fingerprint()}
    steps = (
        ("decode_accuracy", decode_accuracy),
        ("notebook_overhead", notebook_overhead),
        ("report_wall_time", report_wall_time),
    )
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
