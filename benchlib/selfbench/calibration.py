"""Benchmark: the performance model calibrated on one model on this machine, predicting another.

Both embedded models are measured the same way:

* in-process llama.cpp decode at 1 and 2 threads (synthetic prompts of
  ``prompt_tokens``, ``output_tokens`` per request, one repetition of 4 requests
  per run);
* llama.cpp's own ``llama-server`` (``make native``; ``-np 8`` slots) under a
  closed loop at concurrency 1, 2, 4 and 8.

Runs are bracketed (ABBA): in-process sweeps, server sweeps, server sweeps in
reverse order, in-process sweeps in reverse order; each condition thus has two
runs, combined by their median. The server runs on ``server_threads`` threads
(default 1): on this 2-vCPU machine, shared with other work, a 2-thread
``llama-server`` beside its own client stalls at its thread barriers whenever a
core is taken (TPOT at concurrency 8 jumped from ~70 ms to 180-240 ms in trials),
while one thread leaves the other core to the client.

Equal output lengths keep the server's clients in lockstep (each round sent together):
:mod:`benchlib.predict.local` detects it from the send times and the model then prefills a
round's prompts together (``Scenario.lockstep``); the table marks those steps ``L``.

The model is calibrated on ``smollm2-135m-q4_1``'s observations alone
(:func:`benchlib.predict.calibrate.calibrate`), then predicts
``gemma3-270m-q4_k_m`` (its GGUF geometry, the same hardware figures) at the
same scenarios; :mod:`benchlib.selfbench.calibration_report` compares.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from benchlib.config import SweepConfig
from benchlib.models import resolve_model
from benchlib.paths import BENCH_DEFAULT
from benchlib.predict.calibrate import calibrate
from benchlib.predict.local import collect_observations
from benchlib.records import atomic_write_json, scan_runs
from benchlib.selfbench.calibration_report import (
    calibration_summary,
    compare,
    format_table,
    plot_comparison,
    write_figure,
)
from benchlib.sweep import run_sweep
from benchlib.testing.local_servers import reserve_port, native_llama_server

__all__ = ["CALIBRATION_MODEL", "PREDICTED_MODEL", "prediction_from_calibration"]

CALIBRATION_MODEL = "smollm2-135m-q4_1"
PREDICTED_MODEL = "gemma3-270m-q4_k_m"
_ALIAS = "served"


def _in_process(runs_dir: Path, bracket: int, order: list[tuple[int, str]], prompt_tokens: int,
                output_tokens: int) -> dict[str, str]:  # fmt: skip
    """One in-process sweep per (threads, model) in ``order``; run id -> how it measured."""
    kinds = {}
    for threads, model in order:
        started = time.perf_counter()
        result = run_sweep(SweepConfig.from_mapping({
            "profile": f"bench-calibration-b{bracket}", "runtime": "llama.cpp", "model": model, "threads": threads,
            "seed": bracket, "prompts": "synthetic", "prompt_tokens": prompt_tokens, "output_tokens": output_tokens,
            "repetitions": 1, "warmup": 1, "power": "none", "output_dir": str(runs_dir),
        }), progress=False)  # fmt: skip
        kinds[result.meta["run_id"]] = "in-process"
        print(f"    in-process {model} t={threads}: {time.perf_counter() - started:.0f} s", flush=True)
    return kinds


def _served(runs_dir: Path, bracket: int, models: list[str], threads: int, concurrency: list[int], prompt_tokens: int,
            output_tokens: int, step_min_requests: int) -> dict[str, str]:  # fmt: skip
    """One closed-loop sweep per model against its own ``llama-server``; run id -> how it measured."""
    kinds = {}
    for model in models:
        started = time.perf_counter()
        slots = max(concurrency)
        context = slots * (prompt_tokens + output_tokens + 64)
        server = native_llama_server(resolve_model(model).path, reserve_port(), runs_dir / f"llama-server-{model}-b{bracket}.log",
                                     threads=threads, parallel=slots, context_tokens=context, alias=_ALIAS).start()  # fmt: skip
        try:
            result = run_sweep(SweepConfig.from_mapping({
                "profile": f"bench-calibration-server-b{bracket}", "runtime": "http", "url": server.url,
                "model": model, "served_model": _ALIAS, "seed": bracket, "prompts": "synthetic",
                "prompt_tokens": prompt_tokens, "output_tokens": output_tokens, "concurrency": concurrency,
                "step_min_requests": step_min_requests, "warmup": 1, "power": "none", "output_dir": str(runs_dir),
            }), progress=False)  # fmt: skip
        finally:
            server.stop()
        kinds[result.meta["run_id"]] = "llama-server"
        print(f"    llama-server {model} -t {threads}: {time.perf_counter() - started:.0f} s", flush=True)
    return kinds


def prediction_from_calibration(output_dir: str | Path = BENCH_DEFAULT, threads: tuple[int, ...] = (1, 2),
                                server_threads: int = 1, concurrency: tuple[int, ...] = (1, 2, 4, 8),
                                prompt_tokens: int = 64, output_tokens: int = 128,
                                step_min_requests: int = 8) -> dict[str, Any]:  # fmt: skip
    """Calibrate on smollm2's runs, predict gemma3's, compare with gemma3's runs; write JSON and a figure.

    Args:
        output_dir: Where ``prediction-from-calibration-STAMP.json`` and ``.png`` go.
        threads: In-process thread counts.
        server_threads: ``llama-server -t``.
        concurrency: Closed-loop steps against the server.
        prompt_tokens: Synthetic prompt length, tokens.
        output_tokens: Tokens per request.
        step_min_requests: Requests per load step.

    Returns:
        A flat summary (the full comparison is in the JSON file).
    """
    import tempfile

    wall0 = time.perf_counter()
    order = [(t, m) for t in threads for m in (CALIBRATION_MODEL, PREDICTED_MODEL)]
    models = [CALIBRATION_MODEL, PREDICTED_MODEL]
    with tempfile.TemporaryDirectory(prefix="bench-calibration-") as folder:
        runs_dir = Path(folder)
        kinds = _in_process(runs_dir, 0, order, prompt_tokens, output_tokens)
        for bracket, served in ((0, models), (1, models[::-1])):
            kinds |= _served(runs_dir, bracket, served, server_threads, list(concurrency), prompt_tokens, output_tokens,
                             step_min_requests)  # fmt: skip
        kinds |= _in_process(runs_dir, 1, order[::-1], prompt_tokens, output_tokens)
        scan = scan_runs(runs_dir)
        collected = collect_observations(scan.runs, server_threads=server_threads)
        model_of = {run.run_id: run.record.parameters.get("model") for run in scan.runs}
    if collected.skipped:
        raise RuntimeError(f"runs of the benchmark gave no observations: {collected.skipped}")
    measured_here = [obs for obs in collected.observations if model_of[obs.source] == CALIBRATION_MODEL]
    target = [obs for obs in collected.observations if model_of[obs.source] == PREDICTED_MODEL]
    calibration = calibrate(measured_here)
    predicted = compare(calibration, target, kinds)
    fitted = compare(calibration, measured_here, kinds)
    pools = calibration_summary(calibration, measured_here)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    title = (f"Calibrated on {CALIBRATION_MODEL} alone, predicting {PREDICTED_MODEL} "
             f"(this machine; llama-server -t {server_threads}, -np {max(concurrency)})")  # fmt: skip
    figure_path = write_figure(plot_comparison(predicted, fitted, title), out / f"prediction-from-calibration-{stamp}.png")
    hardware = {obs.hardware_id: obs.hardware.to_dict() for obs in collected.observations}
    json_path = out / f"prediction-from-calibration-{stamp}.json"
    atomic_write_json(json_path, {
        "calibrated_on": CALIBRATION_MODEL, "predicted": PREDICTED_MODEL, "server_threads": server_threads,
        "prompt_tokens": prompt_tokens, "output_tokens": output_tokens, "step_min_requests": step_min_requests,
        "pools": pools, "hardware": hardware, "predicted_points": predicted, "calibration_points_in_sample": fitted,
        "runs": kinds, "wall_s": time.perf_counter() - wall0,
    })  # fmt: skip
    print(f"  calibrated pools ({CALIBRATION_MODEL}):")
    for pool in pools:
        print(f"    {pool['pool']}: n={pool['observations']} e_bw={pool['bandwidth']:.3f} e_c={pool['decode_compute']:.3f} "
              f"e_p={pool['prefill_compute']:.3f} t0={pool['step_overhead_s'] * 1e3:.2f} ms")  # fmt: skip
    print(f"  {CALIBRATION_MODEL}, in sample:\n" + format_table(fitted))
    print(f"  {PREDICTED_MODEL}, predicted:\n" + format_table(predicted))
    errors = [abs(row["error"]) for row in predicted]
    return {
        "calibrated_on": CALIBRATION_MODEL, "predicted": PREDICTED_MODEL, "points": len(predicted),
        "median_abs_error": statistics.median(errors) if errors else float("nan"),
        "worst_abs_error": max(errors, default=float("nan")),
        "within_interval": f"{sum(row['within_interval'] for row in predicted)}/{len(predicted)}",
        "in_sample_median_abs_error": statistics.median(abs(r["error"]) for r in fitted) if fitted else float("nan"),
        "json": str(json_path), "figure": str(figure_path), "wall_s": time.perf_counter() - wall0,
    }  # fmt: skip
