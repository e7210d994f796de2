"""The ``summary`` of an imported run's ``run.json``: from its per-request rows, else from the tool's aggregates.

With per-request rows, the statistics are benchlib's own (medians with
bootstrap intervals, :func:`~benchlib.metrics.run.summarize_requests`); the
tool's run-level throughput stays the one the tool measured. With aggregates
only, each metric keeps what the tool stated (n, median, mean, p95, p99) and no
interval: an interval benchlib did not compute is never shown.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from benchlib.importers.base import Aggregate, ImportedRun
from benchlib.metrics.run import summarize_requests

__all__ = ["REQUEST_COLUMNS", "complete_rows", "imported_summary", "throughput_tps"]

REQUEST_COLUMNS = (
    "ttft_s", "e2e_s", "tpot_s", "decode_tps", "runtime_decode_tps", "output_tokens", "prompt_tokens", "sent_unix_s", "error",
)
"""Columns every imported per-request row has (missing values are NaN or None)."""


def complete_rows(requests: pd.DataFrame) -> pd.DataFrame:
    """Per-request rows with every column the analysis reads (``attempt`` 0, ``itl_s`` lists, timestamps when derivable).

    Rows a tool marks as outside its measured window (``measured`` false) are left out: the original file keeps them.
    """
    rows = requests.copy()
    if "measured" in rows:  # a tool's warm-up and cool-down requests (guidellm): outside its measured window
        rows = rows[rows["measured"].fillna(True).astype(bool)]
    for column in REQUEST_COLUMNS:
        if column not in rows:
            rows[column] = None if column == "error" else np.nan
    rows["attempt"] = rows["attempt"] if "attempt" in rows else 0
    if "itl_s" not in rows:
        rows["itl_s"] = [[] for _ in range(len(rows))]
    rows["itl_s"] = [list(v) if isinstance(v, (list, tuple, np.ndarray)) else [] for v in rows["itl_s"]]
    if "last_token_unix_s" not in rows:
        rows["last_token_unix_s"] = pd.to_numeric(rows["sent_unix_s"], errors="coerce") + pd.to_numeric(rows["e2e_s"], errors="coerce")
    if "request_id" not in rows:
        rows["request_id"] = [f"imported-{i:05d}" for i in range(len(rows))]
    return rows.reset_index(drop=True)


def _distribution(aggregate: Aggregate) -> dict[str, Any]:
    return {
        "n": aggregate.n or 0, "median": aggregate.median, "mean": aggregate.mean, "p95": aggregate.p95,
        "p99": aggregate.p99, "ci_low": None, "ci_high": None, "confidence": None,
    }  # fmt: skip


def throughput_tps(run: ImportedRun) -> tuple[float | None, str | None]:
    """The run's output tokens per second as the tool states it, and where it came from.

    A single-stream tool (llama-bench's ``tg`` test, one request at a time) states a
    decode rate; with nothing else running, that is the run's throughput.
    """
    stated = run.aggregates.get("system_throughput_tps")
    if stated is not None and (stated.mean or stated.median):
        return float(stated.mean if stated.mean is not None else stated.median), "the tool's own output throughput"
    decode = run.aggregates.get("decode_tps")
    if decode is not None and run.workload.get("concurrency", 1) == 1 and (decode.mean or decode.median):
        value = decode.mean if decode.mean is not None else decode.median
        return float(value), "the decode rate of a single stream (the tool ran one request at a time)"
    if run.output_tokens and run.duration_s:
        return run.output_tokens / run.duration_s, "output tokens / duration"
    return None, None


def imported_summary(run: ImportedRun, requests: pd.DataFrame | None) -> dict[str, Any]:
    """``run.json``'s summary of an imported run (energy and cost are added by the writer).

    Args:
        run: The imported run.
        requests: Its per-request rows (:func:`complete_rows`), or ``None`` (aggregates only).
    """
    value, basis = throughput_tps(run)
    if requests is not None and not requests.empty:
        timed = bool(pd.to_numeric(requests["sent_unix_s"], errors="coerce").notna().all())
        # Rows without send times have no measured window: their latency statistics are
        # benchlib's, their throughput is the tool's (the placeholder window is discarded).
        rows = requests if timed else requests.assign(sent_unix_s=0.0, last_token_unix_s=requests["e2e_s"])
        with np.errstate(divide="ignore", invalid="ignore"):  # the placeholder window's throughput is discarded below
            summary = summarize_requests(rows)
        if timed:
            basis = "output tokens / the requests' own window (benchlib's definition)"
        else:
            summary["measured_window_s"] = run.duration_s
            summary["system_throughput_tps"] = {"value": value, "ci_low": None, "ci_high": None, "n": summary["requests"]}
    else:
        summary = {"requests": max((a.n or 0 for a in run.aggregates.values()), default=0)}
        for metric in ("ttft_s", "e2e_s", "tpot_s", "itl_s", "decode_tps"):
            if metric in run.aggregates:
                summary[metric] = _distribution(run.aggregates[metric])
        summary["output_tokens"] = run.output_tokens
        summary["measured_window_s"] = run.duration_s
        summary["system_throughput_tps"] = {"value": value, "ci_low": None, "ci_high": None, "n": summary["requests"]}
    summary["system_throughput_tps"]["basis"] = basis
    if "prefill_tps" in run.aggregates:
        summary["prefill_tps"] = _distribution(run.aggregates["prefill_tps"])
    summary["aggregates_only"] = requests is None or requests.empty
    summary["tool_aggregates"] = {k: a.to_dict() for k, a in run.aggregates.items()}
    return _finite(summary)


def _finite(value: Any) -> Any:
    """NaN and infinities as ``None`` (JSON has neither)."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
