"""guidellm's per-request records (``benchmarks[i].requests``) as ``requests.parquet`` rows in benchlib's terms.

guidellm keeps, per request, the timestamps its OpenAI HTTP backend took
(``info.timings``, Unix seconds; guidellm ``src/guidellm/backends/openai/http.py``):
``request_start`` before the request is sent, ``first_token_iteration`` and
``last_token_iteration`` at the first and last stream chunk that carried text,
``request_end`` after the stream's end (``[DONE]``), and ``token_iterations``,
the number of chunks with text. From them, benchlib's definitions:

* ``ttft_s = first_token_iteration - request_start``;
* ``e2e_s = last_token_iteration - request_start`` (to the last token; guidellm's
  ``request_latency``, to ``request_end``, is kept as ``guidellm_request_latency_s``);
* ``tpot_s = (e2e_s - ttft_s) / (output_tokens - 1)``, the first token excluded
  (equal to guidellm's per-request ``inter_token_latency_ms`` / 1000);
* ``decode_tps = 1 / tpot_s``;
* ``guidellm_tpot_incl_first_s = e2e_s / output_tokens``, guidellm's own TPOT
  (``time_per_output_token_ms`` / 1000), which counts the TTFT in.

Per-gap ``itl_s`` lists cannot be had: guidellm keeps only the first and last
chunk times. A request that is not successful keeps its token counts, send
time and error, with no latencies (as benchlib's own failed rows). ``measured``
says whether guidellm counted the request in its metrics (not in warmup or cooldown).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from benchlib.importers.base import ImportFormatError

__all__ = ["KNOWN_REQUEST_FIELDS", "STATUSES", "chunked_requests", "request_rows"]

STATUSES = ("successful", "errored", "incomplete")
"""guidellm's request status groups, in the order rows are written."""

KNOWN_REQUEST_FIELDS = frozenset(
    {
        "type_", "request_id", "response_id", "request_args", "output", "reasoning_output", "tool_calls", "info",
        "input_metrics", "output_metrics", "response_metrics", "request_start_time", "request_end_time",
        "request_latency", "request_dispatch_delay", "turn_predecessor_delay", "turn_scheduling_delay",
        "request_scheduled_latency", "prompt_tokens", "cached_tokens", "output_tokens", "total_tokens",
        "time_to_first_token_ms", "time_to_last_round_trip_ms", "avg_round_trip_time_ms",
        "time_per_output_token_ms", "inter_token_latency_ms", "tokens_per_second", "output_tokens_per_second",
        "time_to_first_output_token_ms", "iter_tokens_per_iteration", "output_tokens_per_iteration",
    }
)  # fmt: skip
"""Fields of a guidellm 0.8.1 request record; others draw a warning."""


def _diff(later: float | None, earlier: float | None) -> float | None:
    return later - earlier if later is not None and earlier is not None else None


def _measured(sent: float | None, end: float | None, window: tuple[Any, Any]) -> bool:
    """guidellm's rule for a request in the measured window (outside warmup and cooldown)."""
    start, stop = window
    if not isinstance(start, (int, float)) or not isinstance(stop, (int, float)) or end is None:
        return True
    return end >= start and (sent <= stop if sent is not None else end <= stop)


def _row(record: Any, status: str, path: Path, where: str, window: tuple[Any, Any]) -> dict[str, Any]:
    """One request record as a row; a record without ``request_id`` or ``info.timings`` is refused."""
    if not isinstance(record, dict) or "request_id" not in record:
        raise ImportFormatError(path, "guidellm", "request record without request_id", f"{where}.request_id")
    info = record.get("info")
    timings = info.get("timings") if isinstance(info, dict) else None
    if not isinstance(timings, dict):
        raise ImportFormatError(path, "guidellm", "request record without its timings", f"{where}.info.timings")
    sent, first, last = timings.get("request_start"), timings.get("first_token_iteration"), timings.get("last_token_iteration")
    out = record.get("output_tokens")
    ok = status == "successful"
    ttft, e2e = (_diff(first, sent), _diff(last, sent)) if ok else (None, None)
    tpot = (e2e - ttft) / (out - 1) if e2e is not None and ttft is not None and out and out > 1 else None
    usage = (record.get("output_metrics") or {}).get("total_tokens")
    return {
        "request_id": str(record["request_id"]),
        "guidellm_status": status,
        "prompt_tokens": record.get("prompt_tokens"),
        "output_tokens": out,
        "token_count_source": "server usage" if usage is not None else "stream",
        "cached_prompt_tokens": record.get("cached_tokens"),
        "sent_unix_s": sent,
        "first_token_unix_s": first if ok else None,
        "last_token_unix_s": last if ok else None,
        "ttft_s": ttft,
        "e2e_s": e2e,
        "tpot_s": tpot,
        "decode_tps": 1.0 / tpot if tpot else None,
        "token_chunks": timings.get("token_iterations"),
        "guidellm_request_latency_s": _diff(timings.get("request_end"), sent) if ok else None,
        "guidellm_tpot_incl_first_s": e2e / out if e2e is not None and out else None,
        "measured": _measured(
            sent if sent is not None else timings.get("resolve_start"),
            timings.get("request_end") or timings.get("resolve_end"),
            window,
        ),
        "error": None if ok else str(info.get("error") or status),
    }


def request_rows(groups: Any, path: Path, where: str, window: tuple[Any, Any] = (None, None)) -> pd.DataFrame | None:
    """The rows of one benchmark's ``requests`` (``successful``, ``errored``, ``incomplete`` lists).

    Args:
        groups: The benchmark's ``requests`` object.
        path: The report, for errors.
        where: The benchmark's place in the report (``benchmarks[0]``), for errors.
        window: The benchmark's measured window (``start_time``, ``end_time``), Unix s: rows outside it
            (warmup, cooldown) get ``measured`` False, as guidellm leaves them out of its metrics.

    Returns:
        One row per request record, or ``None`` when the report kept none (``sample_size`` 0).

    Raises:
        ImportFormatError: a record lacks ``request_id`` or ``info.timings``.
    """
    if not isinstance(groups, dict):
        return None
    rows = [
        _row(record, status, path, f"{where}.requests.{status}[{i}]", window)
        for status in STATUSES
        for i, record in enumerate(groups.get(status) or [])
    ]
    return pd.DataFrame(rows) if rows else None


def chunked_requests(rows: pd.DataFrame | None) -> int:
    """Successful requests whose stream chunks carried several tokens each: their tpot_s measures chunk delivery."""
    if rows is None:
        return 0
    ok = rows[rows["guidellm_status"] == "successful"]
    return int((ok["token_chunks"].fillna(0) < ok["output_tokens"].fillna(0)).sum())
