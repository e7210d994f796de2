"""Metrics of one request from its token timestamps: ``ttft_s``, ``e2e_s``, ``tpot_s``, ``decode_tps``, ``itl_s``."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchlib.runtimes.base import TokenTrace

__all__ = ["RequestMetrics", "request_metrics"]


@dataclass(frozen=True)
class RequestMetrics:
    """Metrics of one request.

    Attributes:
        ttft_s: Time to first token, seconds.
        e2e_s: End-to-end time to the last token, seconds.
        tpot_s: Time per output token after the first, seconds; ``None`` with
            fewer than two output tokens.
        decode_tps: ``1 / tpot_s``, tokens per second; ``None`` when undefined.
        itl_s: Inter-token gaps, seconds (``output_tokens - 1`` values; gaps
            between chunks when a server's chunks carry several tokens).
        prompt_tokens: Prompt length, tokens.
        output_tokens: Output length, tokens.
    """

    ttft_s: float
    e2e_s: float
    tpot_s: float | None
    decode_tps: float | None
    itl_s: tuple[float, ...]
    prompt_tokens: int
    output_tokens: int


def request_metrics(trace: TokenTrace) -> RequestMetrics:
    """Compute the per-request metrics of a trace.

    Args:
        trace: A trace with at least one token.

    Raises:
        ValueError: the trace has no tokens or its timestamps go backwards.
    """
    times = np.asarray(trace.token_times_s, dtype=float)
    if times.size == 0:
        raise ValueError(f"Request {trace.request_id} produced no tokens; ttft_s is undefined.")
    gaps = np.diff(np.concatenate(([trace.sent_s], times)))
    if np.any(gaps < 0):
        raise ValueError(f"Request {trace.request_id} has token timestamps that go backwards.")
    ttft_s = float(times[0] - trace.sent_s)
    e2e_s = float(times[-1] - trace.sent_s)
    n = int(trace.output_tokens)
    tpot_s = (e2e_s - ttft_s) / (n - 1) if n > 1 else None
    decode_tps = 1.0 / tpot_s if tpot_s is not None and tpot_s > 0 else None
    return RequestMetrics(
        ttft_s=ttft_s,
        e2e_s=e2e_s,
        tpot_s=tpot_s,
        decode_tps=decode_tps,
        itl_s=tuple(float(g) for g in np.diff(times)),
        prompt_tokens=trace.prompt_tokens,
        output_tokens=n,
    )
