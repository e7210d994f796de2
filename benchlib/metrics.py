"""Per-request and aggregate metrics, with one name for one meaning.

Definitions (from DESIGN.md):

* ``ttft_s``: first non-empty token received minus request sent, seconds.
* ``e2e_s``: last token received minus request sent, seconds.
* ``tpot_s``: ``(e2e_s - ttft_s) / (output_tokens - 1)``, seconds per token.
* ``itl_s``: the gaps between successive tokens (a distribution), seconds.
* ``decode_tps``: per-request decode rate, ``1 / tpot_s``, tokens per second.
* system throughput: output tokens / (last response - first request) over the
  measured window, tokens per second.
* prompt-cache state: prompt tokens a runtime served from its prefix cache
  (``cached_prompt_tokens``); a run whose cached share reaches
  :data:`PROMPT_CACHE_HIT_SHARE` measured cache hits, and its TTFT is not prefill.

Aggregates give the median, p95 and p99 and a percentile-bootstrap confidence
interval of the median.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchlib.runtimes.base import TokenTrace

__all__ = [
    "RequestMetrics",
    "Summary",
    "bootstrap_ci",
    "bootstrap_replicates",
    "prompt_cache_summary",
    "request_metrics",
    "retried_requests",
    "summarize",
    "summarize_requests",
    "system_throughput_tps",
    "throughput_replicates",
    "system_throughput_replicates",
    "system_throughput_summary",
]

DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95
PROMPT_CACHE_HIT_SHARE = 0.5
"""Share of prompt tokens served from a prompt cache at which a run counts as measuring cache hits."""


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


@dataclass(frozen=True)
class Summary:
    """Distribution summary of one metric.

    Attributes:
        n: Number of values.
        median: Median (p50).
        p95: 95th percentile.
        p99: 99th percentile.
        mean: Arithmetic mean.
        ci_low: Lower end of the bootstrap confidence interval of the median.
        ci_high: Upper end of that interval.
        confidence: Confidence level of the interval (0.95).
    """

    n: int
    median: float
    p95: float
    p99: float
    mean: float
    ci_low: float
    ci_high: float
    confidence: float

    def to_dict(self) -> dict:
        """Plain dictionary (for JSON)."""
        return asdict(self)


def bootstrap_replicates(
    values: np.ndarray,
    statistic=np.median,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> np.ndarray:
    """Bootstrap replicates of a statistic (resampling with replacement).

    Args:
        values: 1-D sample, or 2-D array whose rows are resampled together.
        statistic: Function applied along axis 1 of a (resamples, n) array
            (or to a (resamples, n, k) array for 2-D input) returning one value
            per resample.
        resamples: Number of bootstrap resamples.
        seed: Seed of the resampling, so results are reproducible.

    Returns:
        One value of the statistic per resample (empty for an empty sample).
    """
    values = np.asarray(values, dtype=float)
    n = values.shape[0]
    if n == 0:
        return np.zeros(0)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, n, size=(resamples, n))
    return np.asarray(statistic(values[index], axis=1), dtype=float)


def bootstrap_ci(
    values: np.ndarray,
    statistic=np.median,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile-bootstrap confidence interval of a statistic.

    Args:
        values: 1-D sample, or 2-D array whose rows are resampled together.
        statistic: See :func:`bootstrap_replicates`.
        confidence: Confidence level, e.g. 0.95.
        resamples: Number of bootstrap resamples.
        seed: Seed of the resampling, so intervals are reproducible.

    Returns:
        ``(low, high)``; both equal the value itself for a single observation.
    """
    stats = bootstrap_replicates(values, statistic, resamples, seed)
    if stats.size == 0:
        return (float("nan"), float("nan"))
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return (float(low), float(high))


def summarize(
    values, confidence: float = DEFAULT_CONFIDENCE, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> Summary:
    """Median, p95, p99, mean and a bootstrap CI of the median of ``values``.

    NaN values (undefined metrics) are dropped first.
    """
    array = np.asarray(values, dtype=float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        nan = float("nan")
        return Summary(0, nan, nan, nan, nan, nan, nan, confidence)
    low, high = bootstrap_ci(array, np.median, confidence, resamples, seed)
    p50, p95, p99 = np.percentile(array, [50, 95, 99])
    return Summary(
        n=int(array.size),
        median=float(p50),
        p95=float(p95),
        p99=float(p99),
        mean=float(array.mean()),
        ci_low=low,
        ci_high=high,
        confidence=confidence,
    )


def system_throughput_tps(sent_s, last_token_s, output_tokens) -> float:
    """Output tokens over the measured window, tokens per second.

    The window runs from the first request sent to the last token received.

    Args:
        sent_s: When each request was sent, seconds (one clock for all).
        last_token_s: When each request's last token arrived, seconds.
        output_tokens: Output tokens of each request.
    """
    sent = np.asarray(sent_s, dtype=float)
    last = np.asarray(last_token_s, dtype=float)
    tokens = np.asarray(output_tokens, dtype=float)
    if sent.size == 0:
        return float("nan")
    window_s = float(last.max() - sent.min())
    return float(tokens.sum() / window_s) if window_s > 0 else float("nan")


def _sequential_occupancy_s(sent_s: np.ndarray, last_token_s: np.ndarray) -> np.ndarray:
    """Time each request of a one-at-a-time run holds the window.

    A request holds the window from its send until the next request's send (its
    own e2e plus the harness's gap after it); the last one until its last token.
    The occupancies add up to the window exactly.
    """
    order = np.argsort(sent_s)
    sent = sent_s[order]
    occupancy = np.empty_like(sent)
    occupancy[:-1] = np.diff(sent)
    occupancy[-1] = last_token_s[order][-1] - sent[-1]
    result = np.empty_like(occupancy)
    result[order] = occupancy
    return result


def _throughput_ratio(samples: np.ndarray, axis: int) -> np.ndarray:
    sums = samples.sum(axis=axis)
    return sums[..., 0] / sums[..., 1]


def system_throughput_replicates(
    sent_s, last_token_s, output_tokens, groups=None, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> np.ndarray:
    """Bootstrap replicates of the system throughput of a one-request-at-a-time run.

    Requests are resampled, each carrying its tokens and the time it held the
    window, and each replicate is ``sum(tokens) / sum(occupancy)`` (which equals
    the throughput over the windows on the original sample). Cost and energy
    intervals are computed from these replicates.

    Args:
        sent_s: When each request was sent, seconds.
        last_token_s: When its last token arrived, seconds.
        output_tokens: Its output tokens.
        groups: Optional label per request (the attempt of a resumed run): each
            group is its own window, and the time between groups is not counted.
        resamples: Number of bootstrap resamples.
        seed: Seed of the resampling.
    """
    sent = np.asarray(sent_s, dtype=float)
    last = np.asarray(last_token_s, dtype=float)
    tokens = np.asarray(output_tokens, dtype=float)
    if sent.size == 0:
        return np.zeros(0)
    labels = np.zeros(sent.size) if groups is None else np.asarray(groups)
    occupancy = np.empty_like(sent)
    for label in np.unique(labels):
        members = labels == label
        occupancy[members] = _sequential_occupancy_s(sent[members], last[members])
    pairs = np.column_stack([tokens, occupancy])
    return bootstrap_replicates(pairs, _throughput_ratio, resamples, seed)


def system_throughput_summary(
    sent_s,
    last_token_s,
    output_tokens,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict:
    """System throughput of a one-request-at-a-time run, with a bootstrap CI.

    The point value is :func:`system_throughput_tps`; the interval is the
    percentile interval of :func:`system_throughput_replicates`. Valid for
    closed-loop runs with one request in flight.

    Returns:
        ``{"value": tps, "ci_low": ..., "ci_high": ..., "confidence": ..., "n": ...}``.
    """
    replicates = system_throughput_replicates(sent_s, last_token_s, output_tokens, None, resamples, seed)
    if replicates.size == 0:
        nan = float("nan")
        return {"value": nan, "ci_low": nan, "ci_high": nan, "confidence": confidence, "n": 0}
    alpha = (1.0 - confidence) / 2.0
    low, high = np.quantile(replicates, [alpha, 1.0 - alpha])
    return {
        "value": system_throughput_tps(sent_s, last_token_s, output_tokens),
        "ci_low": float(low),
        "ci_high": float(high),
        "confidence": confidence,
        "n": int(np.asarray(sent_s).size),
    }


def summarize_requests(requests: pd.DataFrame) -> dict[str, Any]:
    """Aggregate a run's requests: medians, p95, p99 and 95% CIs of the median.

    The system throughput is computed per attempt (a resumed run has a gap
    between attempts that is not part of any measured window) and combined as
    total tokens over the sum of the attempt windows.

    Args:
        requests: Rows as written to ``requests.parquet``.
    """
    if "error" in requests:
        requests = requests[requests["error"].isna()]  # failed requests never enter latency statistics
    if requests.empty:
        return {"requests": 0}
    summary: dict[str, Any] = {"requests": int(len(requests))}
    for column in ("ttft_s", "e2e_s", "tpot_s", "decode_tps", "runtime_decode_tps"):
        values = pd.to_numeric(requests[column], errors="coerce") if column in requests else []
        summary[column] = summarize(values).to_dict()
    pooled_itl = [gap for gaps in requests["itl_s"] for gap in gaps]
    summary["itl_s"] = summarize(pooled_itl).to_dict()
    windows_s = 0.0
    for _, attempt_rows in requests.groupby("attempt"):
        windows_s += float(attempt_rows["last_token_unix_s"].max() - attempt_rows["sent_unix_s"].min())
    tokens = int(requests["output_tokens"].sum())
    summary["output_tokens"] = tokens
    summary["measured_window_s"] = windows_s
    replicates = throughput_replicates(requests)
    low, high = np.quantile(replicates, [0.025, 0.975])
    summary["system_throughput_tps"] = {
        "value": tokens / windows_s if windows_s > 0 else float("nan"),
        "ci_low": float(low),
        "ci_high": float(high),
        "confidence": DEFAULT_CONFIDENCE,
        "n": int(len(requests)),
        "attempts": int(requests["attempt"].nunique()),
    }
    ratio = pd.to_numeric(requests["decode_tps"], errors="coerce") / pd.to_numeric(
        requests["runtime_decode_tps"], errors="coerce"
    )
    summary["harness_vs_runtime_decode_ratio"] = summarize(ratio).to_dict()
    summary["prompt_cache"] = prompt_cache_summary(requests)
    summary["retried_requests"] = retried_requests(requests)
    return summary


def retried_requests(rows: pd.DataFrame) -> int:
    """Requests sent again on a fresh connection after a stale pooled one failed (HTTP rows; 0 otherwise)."""
    return int((rows["retries"] > 0).sum()) if "retries" in rows else 0


def prompt_cache_summary(requests: pd.DataFrame) -> dict[str, Any]:
    """How much of the prompts a runtime served from its prompt (prefix) cache.

    Args:
        requests: Successful rows with ``prompt_tokens`` and ``cached_prompt_tokens``.

    Returns:
        ``{"reported": False}`` when the runtime says nothing about its cache;
        else the cached and total prompt tokens, the cached share, the number
        of requests with any cached token and ``hit``: whether the share
        reaches :data:`PROMPT_CACHE_HIT_SHARE` (TTFT then measured cache
        lookups, not prefill).
    """
    if "cached_prompt_tokens" not in requests:
        return {"reported": False}
    cached = pd.to_numeric(requests["cached_prompt_tokens"], errors="coerce")
    known = cached.notna()
    if not known.any():
        return {"reported": False}
    prompt_tokens = int(pd.to_numeric(requests.loc[known, "prompt_tokens"], errors="coerce").fillna(0).sum())
    cached_tokens = int(cached[known].sum())
    share = cached_tokens / prompt_tokens if prompt_tokens else 0.0
    return {
        "reported": True,
        "requests": int(known.sum()),
        "requests_with_cached_tokens": int((cached[known] > 0).sum()),
        "prompt_tokens": prompt_tokens,
        "cached_prompt_tokens": cached_tokens,
        "cached_share": share,
        "hit": share >= PROMPT_CACHE_HIT_SHARE,
    }


def throughput_replicates(requests: pd.DataFrame, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """Bootstrap replicates of a run's system throughput from its ``requests.parquet`` rows.

    Each attempt of a resumed run is its own window (see :func:`system_throughput_replicates`).
    """
    return system_throughput_replicates(
        requests["sent_unix_s"], requests["last_token_unix_s"], requests["output_tokens"],
        groups=requests["attempt"], resamples=resamples, seed=seed,
    )  # fmt: skip
