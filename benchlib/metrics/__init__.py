"""Per-request and aggregate metrics, with one name for one meaning.

Definitions (from DESIGN.md):

* ``ttft_s``: first non-empty token received minus request sent, seconds.
* ``e2e_s``: last token received minus request sent, seconds.
* ``tpot_s``: ``(e2e_s - ttft_s) / (output_tokens - 1)``, seconds per token.
* ``itl_s``: the gaps between successive tokens (a distribution), seconds.
* ``decode_tps``: per-request decode rate, ``1 / tpot_s``, tokens per second.
* system throughput: output tokens / (last response - first request) over the
  measured window, tokens per second.
* goodput: requests meeting every SLO target / step duration, requests per second.
* prompt-cache state: prompt tokens a runtime served from its prefix cache
  (``cached_prompt_tokens``); a run whose cached share reaches
  :data:`PROMPT_CACHE_HIT_SHARE` measured cache hits, and its TTFT is not prefill.

Aggregates give the median, p95 and p99, each with a 95% interval resampled the way
the data were made: requests within prompt, inter-token gaps by request, runs then
requests for repeats, throughput in blocks of time (:mod:`benchlib.metrics.summary`
says which method goes with which metric).

Modules: :mod:`~benchlib.metrics.request` (one request),
:mod:`~benchlib.metrics.summary` (one distribution),
:mod:`~benchlib.metrics.throughput` (system throughput and its bootstrap),
:mod:`~benchlib.metrics.run` (a run's summary), :mod:`~benchlib.metrics.steps`
(a load step's statistics and goodput).
"""

from benchlib.metrics.request import RequestMetrics, request_metrics
from benchlib.metrics.run import (
    PROMPT_CACHE_HIT_SHARE,
    prompt_cache_summary,
    retried_requests,
    successful_requests,
    summarize_requests,
)
from benchlib.metrics.steps import STEP_DISTRIBUTIONS, goodput_rps, meets_slo, step_statistics
from benchlib.metrics.summary import Summary, summarize, summarize_clusters
from benchlib.metrics.throughput import (
    system_throughput_bootstrap,
    system_throughput_replicates,
    system_throughput_summary,
    system_throughput_tps,
    throughput_bootstrap,
    throughput_replicates,
)
from benchlib.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, bootstrap_ci, bootstrap_replicates

__all__ = [
    "DEFAULT_CONFIDENCE",
    "DEFAULT_RESAMPLES",
    "PROMPT_CACHE_HIT_SHARE",
    "STEP_DISTRIBUTIONS",
    "RequestMetrics",
    "Summary",
    "bootstrap_ci",
    "bootstrap_replicates",
    "goodput_rps",
    "meets_slo",
    "prompt_cache_summary",
    "request_metrics",
    "retried_requests",
    "step_statistics",
    "successful_requests",
    "summarize",
    "summarize_clusters",
    "summarize_requests",
    "system_throughput_bootstrap",
    "system_throughput_replicates",
    "system_throughput_summary",
    "system_throughput_tps",
    "throughput_bootstrap",
    "throughput_replicates",
]
