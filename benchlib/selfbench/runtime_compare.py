"""llama.cpp against ONNX Runtime on this machine: same model, same prompts, side by side.

:func:`compare_runtimes` (``make bench``, benchmark ``onnx_vs_llamacpp``) runs
each configuration — llama.cpp on the GGUF, then ONNX Runtime on its conversion
at each precision — in a fresh Python process, so that every one starts cold
and its peak memory (``ru_maxrss``, resident set size) is its own. Each process
loads the model, runs one warm-up request, then ``generations`` requests over
the ``short`` prompts with exactly ``output_tokens`` tokens, and reports the
median time to first token, the median decode rate (``1 / tpot_s``) and its
runtime's own decode rate, the load time and the peak RSS. Results come with
ratios to llama.cpp (ONNX / llama.cpp).

:func:`batch_throughput` measures ONNX Runtime's in-process batching
(:meth:`~benchlib.runtimes.onnx.OnnxRuntime.generate_batch`): system
throughput, output tokens per second, at each batch size.

Conversions happen before, in the parent (cached), never inside a measured process.
"""

from __future__ import annotations

import json
import resource
import statistics
import subprocess
import sys
import time
from typing import Any, Sequence

__all__ = ["batch_throughput", "compare_runtimes", "measure_runtime"]


def warm_generations(runtime, generations: int, output_tokens: int) -> list:
    """One warm-up generation, then ``generations`` more over the short prompts; their traces.

    Args:
        runtime: A loaded runtime.
        generations: Measured generations.
        output_tokens: Tokens per generation.
    """
    # heavy: the measured child process (python -m) loads only its runtime: its peak RSS is a result
    from benchlib.runtimes.base import GenerationRequest
    from benchlib.workload import PROMPT_SETS

    prompts = PROMPT_SETS["short"]
    runtime.generate(GenerationRequest("warmup", prompts[0], output_tokens))
    return [
        runtime.generate(GenerationRequest(f"g{index}", prompts[index % len(prompts)], output_tokens))
        for index in range(generations)
    ]


def _rss_mb() -> float:
    """Peak resident set size of this process so far, MB (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure_runtime(
    runtime: str,
    model: str,
    model_dir: str = "",
    precision: str = "int4",
    generations: int = 8,
    output_tokens: int = 128,
    threads: int = 0,
) -> dict[str, Any]:
    """Load one runtime in this process, run the requests and measure them (the worker of :func:`compare_runtimes`).

    Args:
        runtime: ``llama.cpp`` or ``onnx``.
        model: Catalogue name or GGUF path.
        model_dir: The converted folder (``onnx``).
        precision: Its precision (``onnx``, for the record).
        generations: Measured requests (after one warm-up).
        output_tokens: Tokens per request.
        threads: CPU threads; 0 means one per physical core.

    Returns:
        Medians of ``ttft_s``, ``decode_tps`` and the runtime's own decode rate,
        ``load_s``, ``rss_before_load_mb`` and ``peak_rss_mb``.
    """
    # heavy: the measured child process (python -m) loads only its runtime: its peak RSS is a result
    from benchlib.metrics import request_metrics
    from benchlib.models import resolve_model
    from benchlib.runtimes import create_runtime

    info = resolve_model(model)
    settings: dict[str, Any] = {"threads": threads}
    if runtime == "onnx":
        settings.update(precision=precision, model_dir=model_dir)
        import onnxruntime_genai  # noqa: F401  (library import outside the load time and the baseline RSS)
    else:
        import llama_cpp  # noqa: F401
    instance = create_runtime(runtime, info, settings)
    rss_before = _rss_mb()
    started = time.perf_counter()
    instance.load()
    load_s = time.perf_counter() - started
    ttft, decode, own = [], [], []
    for trace in warm_generations(instance, generations, output_tokens):
        metrics = request_metrics(trace)
        ttft.append(metrics.ttft_s)
        decode.append(metrics.decode_tps)
        own.append(trace.runtime_timings.decode_tps)
    instance.close()
    return {
        "runtime": runtime,
        "precision": precision if runtime == "onnx" else info.quantization,
        "generations": generations,
        "output_tokens": output_tokens,
        "ttft_s_median": statistics.median(ttft),
        "decode_tps_median": statistics.median(decode),
        "runtime_decode_tps_median": statistics.median(own),
        "load_s": load_s,
        "rss_before_load_mb": rss_before,
        "peak_rss_mb": _rss_mb(),
    }


def _in_subprocess(**kwargs: Any) -> dict[str, Any]:
    command = [sys.executable, "-m", "benchlib.selfbench.runtime_compare", json.dumps(kwargs)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"measuring {kwargs.get('runtime')} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def compare_runtimes(
    model: str = "smollm2-135m-q4_1",
    precisions: Sequence[str] = ("int4", "int8", "fp32"),
    generations: int = 8,
    output_tokens: int = 128,
    threads: int = 0,
) -> dict[str, Any]:
    """llama.cpp on the GGUF against ONNX Runtime at each precision, each in its own process.

    Args:
        model: Catalogue name or GGUF path.
        precisions: ONNX precisions (CPU provider).
        generations: Measured requests per configuration.
        output_tokens: Tokens per request.
        threads: CPU threads for both; 0 means one per physical core.

    Returns:
        ``rows`` (one per configuration, llama.cpp first) with ratios to llama.cpp.
    """
    # heavy: the measured child process (python -m) loads only its runtime: its peak RSS is a result
    from benchlib.runtimes.onnx.conversion import convert

    folders = {p: convert(model, p, "cpu").path for p in precisions}
    common = {"model": model, "generations": generations, "output_tokens": output_tokens, "threads": threads}
    reference = _in_subprocess(runtime="llama.cpp", **common)
    rows = [reference]
    for precision in precisions:
        row = _in_subprocess(runtime="onnx", model_dir=folders[precision], precision=precision, **common)
        row["ttft_ratio_to_llamacpp"] = row["ttft_s_median"] / reference["ttft_s_median"]
        row["decode_tps_ratio_to_llamacpp"] = row["decode_tps_median"] / reference["decode_tps_median"]
        row["peak_rss_ratio_to_llamacpp"] = row["peak_rss_mb"] / reference["peak_rss_mb"]
        rows.append(row)
    return {"model": model, "rows": rows}


def batch_throughput(
    model: str = "smollm2-135m-q4_1",
    precision: str = "int4",
    batch_sizes: Sequence[int] = (1, 4, 16, 64),
    output_tokens: int = 128,
    threads: int = 0,
) -> dict[str, Any]:
    """System throughput of ONNX Runtime's generator batching, tokens per second, at each batch size.

    One warm-up batch, then one measured batch per size over the ``short``
    prompts (cycled); throughput = output tokens / (last token - sent).
    """
    # heavy: the measured child process (python -m) loads only its runtime: its peak RSS is a result
    from benchlib.models import resolve_model
    from benchlib.runtimes.base import GenerationRequest
    from benchlib.runtimes.onnx import OnnxRuntime, OnnxSettings
    from benchlib.workload import PROMPT_SETS

    prompts = PROMPT_SETS["short"]
    runtime = OnnxRuntime(resolve_model(model), OnnxSettings(threads=threads, precision=precision))
    runtime.load()
    runtime.generate_batch([GenerationRequest("w", prompts[0], 16)])
    results: dict[str, Any] = {"precision": precision, "output_tokens": output_tokens}
    for size in batch_sizes:
        requests = [GenerationRequest(f"b{i}", prompts[i % len(prompts)], output_tokens) for i in range(size)]
        traces = runtime.generate_batch(requests)
        window_s = max(t.token_times_s[-1] for t in traces) - traces[0].sent_s
        results[f"throughput_tps_batch_{size}"] = sum(t.output_tokens for t in traces) / window_s
    runtime.close()
    base = results[f"throughput_tps_batch_{batch_sizes[0]}"]
    results[f"speedup_batch_{batch_sizes[-1]}_over_{batch_sizes[0]}"] = results[f"throughput_tps_batch_{batch_sizes[-1]}"] / base
    return results


if __name__ == "__main__":
    print(json.dumps(measure_runtime(**json.loads(sys.argv[1]))))
