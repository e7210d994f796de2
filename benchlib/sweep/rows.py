"""Rows of ``requests.parquet``: one per measured request, from its :class:`TokenTrace`.

Times in a trace are ``time.perf_counter`` readings; a row stores Unix times,
``unix_minus_perf_s + perf_s``, with the offset fixed once per attempt.
"""

from __future__ import annotations

from typing import Any

from benchlib.metrics import request_metrics
from benchlib.runtimes.base import GenerationRequest, TokenTrace
from benchlib.sweep.steps import LoadStep

__all__ = ["load_step_row", "sequential_row"]

_LATENCY_COLUMNS = ("first_token_unix_s", "last_token_unix_s", "ttft_s", "e2e_s", "tpot_s", "decode_tps")


def _runtime_columns(trace: TokenTrace) -> dict[str, Any]:
    """What the runtime itself reported (llama.cpp's timings), ``None`` where it reported nothing."""
    timings = trace.runtime_timings
    return {
        "runtime_prompt_eval_s": timings.prompt_eval_s if timings else None,
        "runtime_prompt_eval_tokens": timings.prompt_eval_tokens if timings else None,
        "runtime_decode_s": timings.decode_s if timings else None,
        "runtime_decode_tokens": timings.decode_tokens if timings else None,
        "runtime_decode_tps": timings.decode_tps if timings else None,
    }


def _latency_columns(trace: TokenTrace, unix_minus_perf_s: float) -> dict[str, Any]:
    metrics = request_metrics(trace)
    return {
        "first_token_unix_s": unix_minus_perf_s + trace.token_times_s[0],
        "last_token_unix_s": unix_minus_perf_s + trace.token_times_s[-1],
        "ttft_s": metrics.ttft_s,
        "e2e_s": metrics.e2e_s,
        "tpot_s": metrics.tpot_s,
        "decode_tps": metrics.decode_tps,
        "itl_s": list(metrics.itl_s),
    }


def _workload_columns(request: GenerationRequest) -> dict[str, Any]:
    """What the workload says about the request (conversation, turn, cell, shared prefix, lateness ...)."""
    return dict(request.row_columns)


def sequential_row(trace: TokenTrace, request: GenerationRequest, attempt: int, unix_minus_perf_s: float) -> dict[str, Any]:
    """The row of one request of an in-process runtime (``rep002-p01``: repetition 2, prompt 1)."""
    columns = _workload_columns(request)
    if "repetition" not in columns:
        repetition, prompt_index = request.request_id.removeprefix("rep").split("-p")
        columns.update(repetition=int(repetition), prompt_index=int(prompt_index))
    return {
        "request_id": request.request_id,
        **columns,
        "attempt": attempt,
        "prompt_tokens": trace.prompt_tokens,
        "output_tokens": int(trace.output_tokens),
        "sent_unix_s": unix_minus_perf_s + trace.sent_s,
        **_latency_columns(trace, unix_minus_perf_s),
        **_runtime_columns(trace),
        "cached_prompt_tokens": trace.cached_prompt_tokens,
        "output_text": trace.text,
    }


def load_step_row(
    trace: TokenTrace, request: GenerationRequest, step: LoadStep, attempt: int, unix_minus_perf_s: float
) -> dict[str, Any]:
    """The row of one request of a load step, failed or not (a failed one has NaN latencies and its error)."""
    row: dict[str, Any] = {
        "request_id": request.request_id,
        "step": step.step_id,
        "mode": step.mode,
        "concurrency": step.concurrency,
        "rate_rps": step.rate_rps,
        "attempt": attempt,
        "prompt_index": int(request.request_id.rsplit("-p", 1)[1]) if "-p" in request.request_id else None,
        **_workload_columns(request),
        "prompt_tokens": trace.prompt_tokens or None,
        "output_tokens": trace.output_tokens,
        "token_count_source": trace.token_count_source,
        "sent_unix_s": unix_minus_perf_s + trace.sent_s,
        "headers_unix_s": unix_minus_perf_s + trace.headers_s if trace.headers_s is not None else None,
        "ttfh_s": trace.headers_s - trace.sent_s if trace.headers_s is not None else None,
        "error": trace.error,
        "error_kind": trace.error_kind,
        "retries": trace.retries,
        "cached_prompt_tokens": trace.cached_prompt_tokens,
        "output_text": trace.text,
        **_runtime_columns(trace),
    }
    if trace.error is not None or not trace.token_times_s:
        if trace.error is None:
            row["error"], row["error_kind"] = "the server sent no tokens", "truncated"
        row.update({column: float("nan") for column in (*_LATENCY_COLUMNS, "headers_to_first_token_s")})
        row["itl_s"] = []
        return row
    row.update(_latency_columns(trace, unix_minus_perf_s))
    row["headers_to_first_token_s"] = trace.token_times_s[0] - trace.headers_s if trace.headers_s else None
    return row
