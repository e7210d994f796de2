"""Statistics of the richer workloads: by conversation turn, shared-prefix cache hits, by grid cell, lateness.

* **By turn** (``prompts: conversation``): per turn, TTFT (median with its
  interval, :func:`benchlib.metrics.summary.summarize`), the history tokens it
  carried and the prompt tokens served from the cache.
* **Shared prefix** (``prefix_tokens``): the intended share of requests that
  start with the prefix beside the observed cache-hit rate. A request *hits*
  when the runtime reports at least :data:`PREFIX_HIT_SHARE` of the prefix's
  tokens as cached; the rate's 95% interval is Wilson's (scipy's
  ``binomtest``). A runtime that reports no cached tokens gives no rate.
* **By cell** (length grids, ``context_depth``): prefill rate (prompt tokens
  the runtime evaluated / its prompt-evaluation time, so cached tokens are not
  counted as work) and decode rate, each per request with the median's interval.
* **Lateness** (open loop, trace replay): how long after its scheduled time
  each request was sent; a client that cannot keep up shows here.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from benchlib.metrics.summary import summarize
from benchlib.stats import DEFAULT_CONFIDENCE

__all__ = [
    "LATE_S",
    "PREFIX_HIT_SHARE",
    "by_cell",
    "by_turn",
    "lateness_summary",
    "shared_prefix_summary",
    "workload_statistics",
]

PREFIX_HIT_SHARE = 0.9
"""A request hits the shared prefix when at least this share of the prefix's tokens came from the cache."""

LATE_S = 0.1
"""A request sent more than this long after its scheduled time counts as late, seconds."""


def _numbers(rows: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(rows[column], errors="coerce") if column in rows else pd.Series(np.nan, index=rows.index)


def _median(summary: dict[str, Any]) -> dict[str, Any]:
    """The median of a summary with its interval (what a table row shows)."""
    return {key: summary.get(key) for key in ("n", "median", "ci_low", "ci_high", "method")}


def by_turn(rows: pd.DataFrame) -> list[dict[str, Any]] | None:
    """TTFT, history and cached tokens per conversation turn (``None`` without conversations)."""
    if "turn" not in rows or rows["turn"].isna().all():
        return None
    table = []
    for turn, group in rows.groupby("turn", sort=True):
        table.append({
            "turn": int(turn),
            "requests": int(len(group)),
            "ttft_s": _median(summarize(_numbers(group, "ttft_s")).to_dict()),
            "history_tokens_median": float(_numbers(group, "history_tokens").median()),
            "prompt_tokens_median": float(_numbers(group, "prompt_tokens").median()),
            "cached_prompt_tokens_median": float(_numbers(group, "cached_prompt_tokens").median()),
        })  # fmt: skip
    return table


def shared_prefix_summary(rows: pd.DataFrame, prefix_tokens: int, prefix_share: float) -> dict[str, Any] | None:
    """The intended share of requests with the shared prefix beside the observed cache-hit rate (``None`` without one)."""
    if not prefix_tokens or "shared_prefix" not in rows or rows.empty:
        return None
    conversations = "turn" in rows and rows["turn"].notna().any()
    if conversations:  # a later turn's cached tokens are its own history: the shared prompt shows in first turns
        rows = rows[rows["turn"] == 0]
    shared = rows["shared_prefix"].fillna(False).astype(bool)
    cached = _numbers(rows, "cached_prompt_tokens")
    summary: dict[str, Any] = {
        "prefix_tokens": int(prefix_tokens),
        "prefix_share": float(prefix_share),
        "requests": int(len(rows)),
        "requests_with_prefix": int(shared.sum()),
        "intended_hit_rate": float(shared.mean()),
        "hit_rule": f"cached prompt tokens >= {PREFIX_HIT_SHARE:g} x prefix_tokens"
                    + (", first turns of the conversations only" if conversations else ""),
    }
    if cached.isna().all():
        summary.update(observed_hit_rate=None, note="the runtime reports no cached prompt tokens: no hit rate")
        return summary
    hits = int((cached >= PREFIX_HIT_SHARE * prefix_tokens).sum())
    interval = binomtest(hits, int(cached.notna().sum())).proportion_ci(DEFAULT_CONFIDENCE, method="wilson")
    summary.update(
        hits=hits,
        observed_hit_rate=hits / int(cached.notna().sum()),
        observed_hit_rate_ci=[float(interval.low), float(interval.high)],
        misses_with_prefix=int((shared & (cached < PREFIX_HIT_SHARE * prefix_tokens)).sum()),
    )
    return summary


def by_cell(rows: pd.DataFrame) -> list[dict[str, Any]] | None:
    """Prefill and decode rates per grid cell (``None`` without a grid)."""
    if "cell" not in rows or rows["cell"].isna().all():
        return None
    table = []
    for cell, group in rows.groupby("cell", sort=False):
        evaluated = _numbers(group, "runtime_prompt_eval_tokens")
        prefill_s = _numbers(group, "runtime_prompt_eval_s")
        prefill_tps = (evaluated / prefill_s).where(prefill_s > 0)
        table.append({
            "cell": str(cell),
            "target_prompt_tokens": _first(group, "target_prompt_tokens"),
            "target_output_tokens": _first(group, "target_output_tokens"),
            "context_depth": _first(group, "context_depth") or 0,
            "requests": int(len(group)),
            "cached_prompt_tokens_median": float(_numbers(group, "cached_prompt_tokens").median()),
            "prefill_tps": _median(summarize(prefill_tps).to_dict()),
            "decode_tps": _median(summarize(_numbers(group, "decode_tps")).to_dict()),
            "runtime_decode_tps": _median(summarize(_numbers(group, "runtime_decode_tps")).to_dict()),
            "ttft_s": _median(summarize(_numbers(group, "ttft_s")).to_dict()),
        })  # fmt: skip
    return table


def _first(rows: pd.DataFrame, column: str) -> int | None:
    values = _numbers(rows, column).dropna()
    return int(values.iloc[0]) if len(values) else None


def lateness_summary(rows: pd.DataFrame) -> dict[str, Any] | None:
    """How late requests were sent after their scheduled time (``None`` when nothing was scheduled)."""
    lateness = _numbers(rows, "lateness_s").dropna()
    if lateness.empty:
        return None
    summary = summarize(lateness).to_dict()
    return {
        **{key: summary.get(key) for key in ("n", "median", "ci_low", "ci_high", "p95", "p99")},
        "max": float(lateness.max()),
        "late_share": float((lateness > LATE_S).mean()),
        "late_rule": f"sent more than {LATE_S:g} s after its scheduled time",
    }


def workload_statistics(rows: pd.DataFrame, prefix_tokens: int = 0, prefix_share: float = 0.0) -> dict[str, Any]:
    """Each of the statistics above that applies to these rows, by name: lateness over every request (a failed one
    was scheduled too), the others over the successful ones."""
    ok = rows[rows["error"].isna()] if "error" in rows else rows  # in-process rows: a failure raises, no column
    found = {
        "by_turn": by_turn(ok),
        "shared_prefix": shared_prefix_summary(ok, prefix_tokens, prefix_share),
        "by_cell": by_cell(ok),
        "lateness_s": lateness_summary(rows),
    }
    return {name: value for name, value in found.items() if value is not None}
