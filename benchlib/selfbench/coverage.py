"""Do the intervals hold from one run to the next? Coverage of the default sweep's intervals over repeats.

``make bench`` (``interval_coverage``) runs the default sweep as 6 independent
repeats on this machine. For every split of the 6 runs into 3 + 3 (20 ordered
splits), it asks whether the hierarchical interval of the median from 3 runs
(:func:`benchlib.metrics.summarize`, runs then requests) covers the other 3 runs'
pooled median; and, as the baseline, for every ordered pair of runs, whether one
run's interval (within-run variation only) covers the other run's median. It
reports the coverage rates (goal: at least 80% of the splits) and the median
interval widths relative to the median, per metric. A measurement, not a test.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchlib.analysis.tables import summary_requests
from benchlib.metrics import successful_requests, summarize, summarize_clusters
from benchlib.metrics.run import prompt_strata
from benchlib.paths import params_dir
from benchlib.records import StoredRun, load_runs

__all__ = ["COVERAGE_METRICS", "coverage_of_runs", "interval_coverage"]

COVERAGE_METRICS = ("tpot_s", "ttft_s", "itl_s")


def _rows(runs: list[StoredRun]) -> pd.DataFrame:
    return pd.concat([successful_requests(summary_requests(run)).assign(run_id=run.run_id) for run in runs],
                     ignore_index=True)  # fmt: skip


def _summary(rows: pd.DataFrame, metric: str):
    strata, runs = prompt_strata(rows), rows["run_id"].to_numpy()
    if metric == "itl_s":
        return summarize_clusters(list(rows["itl_s"]), strata=strata, runs=runs, resamples=1000)
    return summarize(pd.to_numeric(rows[metric], errors="coerce"), strata=strata, runs=runs, resamples=1000)


def _pooled_median(rows: pd.DataFrame, metric: str) -> float:
    if metric == "itl_s":
        return float(np.median(np.concatenate([np.asarray(g, dtype=float) for g in rows["itl_s"]])))
    return float(np.median(pd.to_numeric(rows[metric], errors="coerce").dropna()))


def coverage_of_runs(runs: list[StoredRun], group: int = 3) -> dict[str, Any]:
    """Coverage of ``group``-run hierarchical intervals and of single-run intervals, per metric, over these runs."""
    rows = {run.run_id: _rows([run]) for run in runs}
    ids = list(rows)
    result: dict[str, Any] = {"runs": len(ids), "requests_per_run": int(np.median([len(r) for r in rows.values()]))}
    for metric in COVERAGE_METRICS:
        hits, widths = [], []
        for chosen in itertools.combinations(ids, group):
            rest = [i for i in ids if i not in chosen]
            summary = _summary(pd.concat([rows[i] for i in chosen], ignore_index=True), metric)
            other = _pooled_median(pd.concat([rows[i] for i in rest], ignore_index=True), metric)
            hits.append(summary.ci_low <= other <= summary.ci_high)
            widths.append((summary.ci_high - summary.ci_low) / summary.median)
        single_hits, single_widths = [], []
        singles = {i: _summary(rows[i], metric) for i in ids}
        medians = {i: _pooled_median(rows[i], metric) for i in ids}
        for a, b in itertools.permutations(ids, 2):
            single_hits.append(singles[a].ci_low <= medians[b] <= singles[a].ci_high)
            single_widths.append((singles[a].ci_high - singles[a].ci_low) / singles[a].median)
        result[f"{metric}_coverage_{group}_runs"] = float(np.mean(hits))
        result[f"{metric}_coverage_one_run"] = float(np.mean(single_hits))
        result[f"{metric}_relative_width_{group}_runs"] = float(np.median(widths))
        result[f"{metric}_relative_width_one_run"] = float(np.median(single_widths))
        result[f"{metric}_run_medians"] = [round(medians[i], 6) for i in ids]
    return result


def interval_coverage(repeats: int = 6, params: str | Path | None = None) -> dict[str, Any]:
    """Run the default sweep ``repeats`` times (one condition) and measure the intervals' coverage."""
    params = Path(params) if params is not None else params_dir() / "local-cpu.yaml"
    with tempfile.TemporaryDirectory() as folder:
        runs_dir = Path(folder) / "runs"
        subprocess.run([sys.executable, "-m", "benchlib.cli", "sweep", str(params), "--quiet", "--repeat", str(repeats),
                        "--set", f"output_dir={runs_dir}"], check=True)  # fmt: skip
        runs = load_runs(runs_dir)
        return {"params": str(params), **coverage_of_runs(runs)}
