"""Statistics of one load step (servers under concurrent load): latency distributions, throughput, goodput, errors.

* goodput: requests meeting every SLO target / step duration, requests per second.
* request rate: successful requests / step duration, requests per second.
* throughput: output tokens of the successful requests over their window (first
  request sent to last token received), tokens per second, with an interval
  that keeps time order (:func:`benchlib.metrics.throughput.step_throughput_bootstrap`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchlib.metrics.run import prompt_cache_summary, prompt_strata, retried_requests
from benchlib.metrics.summary import summarize, summarize_clusters
from benchlib.metrics.throughput import STEP_THROUGHPUT_METHOD, step_throughput_bootstrap, system_throughput_tps

__all__ = ["STEP_DISTRIBUTIONS", "goodput_rps", "meets_slo", "step_statistics"]

STEP_DISTRIBUTIONS = ("ttft_s", "ttfh_s", "headers_to_first_token_s", "tpot_s", "e2e_s", "decode_tps")
"""Per-request columns a step summarizes as distributions (besides the pooled ``itl_s``)."""


def meets_slo(rows: pd.DataFrame, targets: dict[str, float]) -> pd.Series:
    """Whether each request meets every target (``{"ttft_s": 0.5, ...}``, seconds); True with no targets."""
    meets = pd.Series(True, index=rows.index)
    for metric, target in targets.items():
        meets &= pd.to_numeric(rows[metric], errors="coerce") <= target
    return meets


def goodput_rps(requests_meeting_slo: int, duration_s: float) -> float:
    """Requests that met every SLO target per second of the step; NaN for a step without duration."""
    return float(requests_meeting_slo) / duration_s if duration_s > 0 else float("nan")


def step_statistics(rows: pd.DataFrame, duration_s: float, slo: dict[str, float]) -> dict[str, Any]:
    """Statistics of one step's rows: outcome counts, and when some succeeded, distributions, throughput, goodput.

    Args:
        rows: The step's rows (as written to ``requests.parquet``), failed ones included.
        duration_s: The step's duration, seconds.
        slo: Targets ``{"ttft_s": ..., "tpot_s": ..., "e2e_s": ...}``, seconds; 0 or missing means none.

    Returns:
        ``requests_ok``, ``requests_failed``, ``errors_by_kind``, ``retried_requests``
        and, when a request succeeded, the summaries of :data:`STEP_DISTRIBUTIONS`
        and ``itl_s``, ``output_tokens``, ``throughput_tps``, ``request_rate_rps``,
        ``slo`` (the targets in force), ``requests_meeting_slo``, ``goodput_rps``,
        ``token_count_sources`` and ``prompt_cache``.
    """
    ok = rows[rows["error"].isna()] if not rows.empty else rows
    failed = rows[rows["error"].notna()] if not rows.empty else rows
    statistics: dict[str, Any] = {
        "requests_ok": int(len(ok)),
        "requests_failed": int(len(failed)),
        "errors_by_kind": {str(k): int(v) for k, v in failed["error_kind"].value_counts().items()} if len(failed) else {},
        "retried_requests": retried_requests(rows),
    }
    if ok.empty:
        return statistics
    strata = prompt_strata(ok)
    for column in STEP_DISTRIBUTIONS:
        statistics[column] = summarize(pd.to_numeric(ok[column], errors="coerce"), strata=strata).to_dict()
    statistics["itl_s"] = summarize_clusters(list(ok["itl_s"]), strata=strata).to_dict()
    statistics["output_tokens"] = int(ok["output_tokens"].sum())
    statistics["throughput_tps"] = system_throughput_tps(ok["sent_unix_s"], ok["last_token_unix_s"], ok["output_tokens"])
    interval = step_throughput_bootstrap(ok["sent_unix_s"], ok["last_token_unix_s"], ok["output_tokens"])
    statistics["throughput_tps_ci_low"], statistics["throughput_tps_ci_high"] = interval.ci_low, interval.ci_high
    statistics["throughput_method"] = STEP_THROUGHPUT_METHOD
    statistics["request_rate_rps"] = len(ok) / duration_s if duration_s > 0 else float("nan")
    targets = {k: float(v) for k, v in slo.items() if v}
    meeting = int(meets_slo(ok, targets).sum())
    statistics["slo"] = targets
    statistics["requests_meeting_slo"] = meeting
    statistics["goodput_rps"] = goodput_rps(meeting, duration_s)
    statistics["token_count_sources"] = sorted(set(ok["token_count_source"]))
    statistics["prompt_cache"] = prompt_cache_summary(ok)
    return statistics
