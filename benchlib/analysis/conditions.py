"""Repeats of one condition pooled: intervals that cover run-to-run variation, and the runs and requests behind them.

A condition measured as independent repeats (``benchlib sweep --repeat N``,
:mod:`benchlib.records.repeats`) is summarized over all its runs at once:

* per-request metrics and inter-token gaps with the hierarchical bootstrap of
  :mod:`benchlib.metrics.summary` (runs drawn first, then requests within each
  drawn run, within prompt);
* system throughput as the mean of the runs' throughputs, its interval from
  drawing runs with replacement and, for each drawn run, one replicate of its
  own moving-block bootstrap (:func:`benchlib.metrics.throughput_bootstrap`), as an
  expanded percentile interval and at least Student's t over the runs' throughputs.

Every row states its runs and requests, and what its interval covers. A
condition of one run keeps the within-run interval and says so
(:data:`benchlib.metrics.summary.SCOPE_ONE_RUN`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchlib.analysis.tables import summary_requests
from benchlib.metrics import successful_requests, summarize, summarize_clusters, throughput_bootstrap
from benchlib.metrics.run import prompt_strata
from benchlib.metrics.summary import scope_words
from benchlib.metrics.throughput import system_throughput_tps
from benchlib.records import IMPORTED_KIND, StoredRun
from benchlib.records.repeats import runs_by_condition
from benchlib.resampling import at_least, expanded_interval, t_half_width
from benchlib.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES

__all__ = ["CONDITION_COLUMNS", "POOLED_METRICS", "conditions_table", "pooled_throughput", "write_conditions"]

POOLED_METRICS = ("ttft_s", "tpot_s", "e2e_s", "decode_tps")
"""Per-request metrics pooled over a condition's runs (inter-token gaps, ``itl_s``, are pooled by request too)."""

CONDITION_COLUMNS = [
    "condition_id", "metric", "runs", "requests", "median", "ci_low", "ci_high", "p95", "p95_ci_low", "p95_ci_high",
    "p99", "p99_ci_low", "p99_ci_high", "method", "scope", "tail_note", "run_ids",
]  # fmt: skip


def _rows_of(runs: list[StoredRun]) -> pd.DataFrame:
    frames = []
    for run in runs:
        rows = successful_requests(summary_requests(run))
        if not rows.empty:
            frames.append(rows.assign(run_id=run.run_id))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def pooled_throughput(runs: list[StoredRun], confidence: float = DEFAULT_CONFIDENCE,
                      resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> tuple[float, float, float]:  # fmt: skip
    """Mean throughput of the runs, tokens/s, with its hierarchical interval: ``(value, low, high)``."""
    values, replicates = [], []
    for run in runs:
        rows = successful_requests(summary_requests(run))
        if rows.empty:
            continue
        values.append(system_throughput_tps(rows["sent_unix_s"], rows["last_token_unix_s"], rows["output_tokens"]))
        replicates.append(throughput_bootstrap(rows, resamples=resamples, seed=seed).replicates)
    if not values:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    drawn_runs = rng.integers(0, len(values), size=(resamples, len(values)))
    drawn_replicates = rng.integers(0, resamples, size=(resamples, len(values)))
    stacked = np.stack(replicates)  # (runs, resamples)
    interval = expanded_interval(stacked[drawn_runs, drawn_replicates].mean(axis=1), len(values), confidence)
    mean = float(np.mean(values))
    half = t_half_width(values, confidence)  # at least Student's t over the runs, as for the other metrics
    low, high = at_least(interval, (mean - half, mean + half))
    return mean, low, high


def _condition_rows(condition_id: str, runs: list[StoredRun]) -> list[dict[str, Any]]:
    rows = _rows_of(runs)
    if rows.empty:
        return []
    labels, strata = rows["run_id"].to_numpy(), prompt_strata(rows)
    ids = ", ".join(run.run_id for run in runs)
    summaries = {metric: summarize(pd.to_numeric(rows[metric], errors="coerce"), strata=strata, runs=labels)
                 for metric in POOLED_METRICS if metric in rows}  # fmt: skip
    summaries["itl_s"] = summarize_clusters(list(rows["itl_s"]), strata=strata, runs=labels)
    table = [{"condition_id": condition_id, "metric": metric, "runs": summary.runs, "requests": int(len(rows)),
              **{column: getattr(summary, column) for column in CONDITION_COLUMNS[4:16]}, "run_ids": ids}
             for metric, summary in summaries.items()]  # fmt: skip
    value, low, high = pooled_throughput(runs)
    nan = float("nan")
    table.append({"condition_id": condition_id, "metric": "throughput_tps", "runs": len(runs),
                  "requests": int(len(rows)), "median": value, "ci_low": low, "ci_high": high,
                  "p95": nan, "p95_ci_low": nan, "p95_ci_high": nan, "p99": nan, "p99_ci_low": nan, "p99_ci_high": nan,
                  "method": "mean of the runs; runs drawn, then a moving-block replicate of each; at least the t interval over "
                            "runs" if len(runs) > 1
                  else "moving-block bootstrap of requests in send order",
                  "scope": scope_words(len(runs), int(len(rows))), "tail_note": "", "run_ids": ids})  # fmt: skip
    return table


def conditions_table(runs: list[StoredRun]) -> pd.DataFrame:
    """One row per condition and metric, every condition of two or more measured runs pooled over its repeats."""
    rows: list[dict[str, Any]] = []
    for condition_id, group in runs_by_condition(run for run in runs if run.record.kind != IMPORTED_KIND).items():
        if len(group) >= 2:
            rows += _condition_rows(condition_id, group)
    return pd.DataFrame(rows, columns=CONDITION_COLUMNS)


def write_conditions(runs: list[StoredRun], figures_dir: str | Path) -> Path:
    """``figures/conditions.csv``: :func:`conditions_table` (a header only when no condition has repeats)."""
    path = Path(figures_dir) / "conditions.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    conditions_table(runs).to_csv(path, index=False)
    return path
