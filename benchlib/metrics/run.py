"""A run's summary from its ``requests.parquet`` rows, and the prompt-cache state of those rows.

A run whose prompt tokens were served from a prompt (prefix) cache at a share
reaching :data:`PROMPT_CACHE_HIT_SHARE` measured cache hits: its TTFT is not prefill.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchlib.metrics.summary import summarize, summarize_clusters
from benchlib.metrics.throughput import THROUGHPUT_METHOD, throughput_bootstrap
from benchlib.stats import DEFAULT_CONFIDENCE

__all__ = [
    "PROMPT_CACHE_HIT_SHARE",
    "error_summary",
    "prompt_cache_summary",
    "prompt_strata",
    "retried_requests",
    "successful_requests",
    "summarize_requests",
]

PROMPT_CACHE_HIT_SHARE = 0.5
"""Share of prompt tokens served from a prompt cache at which a run counts as measuring cache hits."""


def successful_requests(requests: pd.DataFrame) -> pd.DataFrame:
    """The rows of requests that did not fail (all rows when the runtime records no ``error`` column)."""
    return requests[requests["error"].isna()] if "error" in requests else requests


def summarize_requests(requests: pd.DataFrame) -> dict[str, Any]:
    """Aggregate a run's requests: medians, p95, p99 and 95% CIs of the median.

    The system throughput is computed per attempt (a resumed run has a gap
    between attempts that is not part of any measured window) and combined as
    total tokens over the sum of the attempt windows.

    Args:
        requests: Rows as written to ``requests.parquet``.
    """
    requests = successful_requests(requests)  # failed requests never enter latency statistics
    if requests.empty:
        return {"requests": 0}
    summary: dict[str, Any] = {"requests": int(len(requests))}
    strata = prompt_strata(requests)
    for column in ("ttft_s", "e2e_s", "tpot_s", "decode_tps", "runtime_decode_tps"):
        if column in requests:
            summary[column] = summarize(pd.to_numeric(requests[column], errors="coerce"), strata=strata).to_dict()
        else:
            summary[column] = summarize([]).to_dict()
    summary["itl_s"] = summarize_clusters(list(requests["itl_s"]), strata=strata).to_dict()
    windows_s = 0.0
    for _, attempt_rows in requests.groupby("attempt"):
        windows_s += float(attempt_rows["last_token_unix_s"].max() - attempt_rows["sent_unix_s"].min())
    tokens = int(requests["output_tokens"].sum())
    summary["output_tokens"] = tokens
    summary["measured_window_s"] = windows_s
    throughput = throughput_bootstrap(requests, DEFAULT_CONFIDENCE)
    summary["system_throughput_tps"] = {
        "value": tokens / windows_s if windows_s > 0 else float("nan"),
        "ci_low": throughput.ci_low,
        "ci_high": throughput.ci_high,
        "confidence": DEFAULT_CONFIDENCE,
        "n": int(len(requests)),
        "attempts": int(requests["attempt"].nunique()),
        "method": THROUGHPUT_METHOD,
    }
    ratio = pd.to_numeric(requests["decode_tps"], errors="coerce") / pd.to_numeric(
        requests["runtime_decode_tps"], errors="coerce"
    )
    summary["harness_vs_runtime_decode_ratio"] = summarize(ratio, strata=strata).to_dict()
    summary["prompt_cache"] = prompt_cache_summary(requests)
    summary["retried_requests"] = retried_requests(requests)
    return summary


def prompt_strata(rows: pd.DataFrame) -> pd.Series | None:
    """The prompt of each request (``prompt_index``), the stratum its resampling stays within; ``None`` without it."""
    if "prompt_index" not in rows or rows["prompt_index"].isna().all():
        return None
    return rows["prompt_index"].fillna(-1)


def error_summary(rows: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Failed requests by kind (``error_kind``, else ``error``): ``{kind: {"count": n, "first": its first reason}}``."""
    if "error" not in rows:
        return {}
    failed = rows[rows["error"].notna()]
    kinds = failed["error_kind"] if "error_kind" in failed else pd.Series("error", index=failed.index)
    summary: dict[str, dict[str, Any]] = {}
    for kind, reason in zip(kinds.fillna("error"), failed["error"], strict=True):
        entry = summary.setdefault(str(kind), {"count": 0, "first": str(reason)})
        entry["count"] += 1
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
