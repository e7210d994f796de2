"""Comparisons of runs, and of conditions measured as repeats, on the same model and workload.

Runs are paired only inside one :data:`~benchlib.analysis.groups.COMPARISON_GROUP`
(same model file, same prompts and output length). Inside a group the runs are
grouped by condition (:func:`benchlib.records.repeats.runs_by_condition`: the
repeats of one sweep share a condition id):

- two conditions with at least :data:`~benchlib.analysis.condition_comparisons.MIN_RUNS_PER_CONDITION`
  (3) runs each are compared as conditions, one row per metric, at run level
  (:mod:`benchlib.analysis.condition_comparisons`): each run's median of the
  metric (for energy and cost, each run's table value) is one sample, the
  ratio is the ratio of the medians of those run medians, the test Welch's t
  on their logarithms (:func:`scipy.stats.ttest_ind`, ``equal_var=False``)
  and the interval the exponential of its confidence interval of the
  difference of mean logs. ``run_a``/``run_b`` then hold the condition ids,
  ``n_a``/``n_b`` the numbers of runs, and ``scope`` says
  ``3 vs 3 runs: run-level variation (Welch t on log run medians)``;
- every other pair of runs of different conditions is compared run against
  run (conditions of fewer than 3 runs, also against a condition of 3 or
  more), scope :data:`SCOPE_RUN_PAIR`: the test then covers the variation
  inside the two runs only, not the 6–20% by which whole runs differ;
- two runs of one condition (its repeats) are not compared with each other:
  they measure the same thing, and ``conditions.csv`` pools them.

A is the run (or condition) whose id sorts first, B the other, and the ratio is
always A / B. For each metric of :data:`METRICS` a run-against-run row gives

- the ratio of medians A / B of the two runs' per-request samples, with a
  percentile bootstrap interval from :func:`scipy.stats.bootstrap` on the two
  independent samples (:func:`benchlib.stats.bootstrap_two_samples`, seeded);
- a two-sided Mann–Whitney U p-value (:func:`scipy.stats.mannwhitneyu`).

Every p-value of the report, run-level and run-against-run, is Holm-corrected
as one family (:func:`statsmodels.stats.multitest.multipletests`). The test
alone decides ``significant``: the Holm p-value is below ``1 - confidence``
and the interval excludes 1.

**The practical-equivalence margin** is separate from the test and is stated
as a margin, not a test: ``practically_equivalent`` says whether the ratio lies
within ``[1 / (1 + m), 1 + m]``, ``m`` = :data:`PRACTICAL_EQUIVALENCE_MARGIN`
(10%; ``False`` where there is no ratio, whether or not the row was tested). Why 10%: two runs of one condition on the shared 2-core VM this was
built on differ by 6–20% in per-token latency (:data:`MARGIN_WHY`), so a
difference smaller than that between two runs can be real for those runs and
still say nothing about the platforms; asv (airspeed velocity) calls a
benchmark changed only beyond the same factor, 1.1, by default. The margin
judges the ratio, not its interval: it is not an equivalence test (such as two
one-sided tests) and proves nothing by itself.

The verdict names the winner with a factor ≥ 1 in its favour:

- not significant: ``no significant difference (ratio 1.02 [0.97, 1.08], Holm p = 0.41)``;
- significant, beyond the margin: ``… is 1.8× faster per token [1.7, 1.9] (Holm p = 0.001)``;
- significant, within the margin: the same sentence followed by
  ``, within the ±10% practical-equivalence margin (a margin, not a test: …)``.

Energy per token and cost per million tokens have one value per run, not per
request; run against run, their per-request samples are
:func:`~benchlib.analysis.comparison_samples.scaled_samples`, so the ratio of
medians is the ratio of the run table's values and the interval and test
reflect the request-to-request variation of time per token.

A comparison is not tested (its row keeps the medians, p-values are NaN,
and the verdict says why) when a run lacks the value (no energy summary, no
price profile, fewer than two requests), or when it rests on estimated power
(``basis == "estimated"``): the energy of a run without a sensor is a
profile's watts times time, so a ratio of two estimates restates the
throughput ratio and is not a measurement of energy; the cost of owned
hardware billed at such a power is likewise estimated. Rented prices are the
profile's assumed prices, so a cost ratio under them is a measured throughput
ratio at assumed prices (``basis == "measured throughput × assumed price"``,
:func:`~benchlib.analysis.basis.cost_basis`).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

from benchlib.analysis.basis import rests_on_estimate
from benchlib.analysis.comparison_samples import (
    METRICS,
    ComparedMetric,
    estimate_reason,
    pair_basis,
    run_sample,
    scaled_samples,
    three_figures,
)
from benchlib.analysis.condition_comparisons import MIN_RUNS_PER_CONDITION, compare_conditions
from benchlib.analysis.groups import COMPARISON_GROUP
from benchlib.records import StoredRun
from benchlib.records.repeats import runs_by_condition
from benchlib.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, bootstrap_two_samples

__all__ = [
    "COLUMNS",
    "MARGIN_WHY",
    "METRICS",
    "PRACTICAL_EQUIVALENCE_MARGIN",
    "SCOPE_RUN_PAIR",
    "ComparedMetric",
    "compare_runs",
    "compare_samples",
    "holm",
    "ratio_of_medians",
    "scaled_samples",
    "verdict",
]

COLUMNS = [
    "comparison_group", "run_a", "run_b", "platform_a", "platform_b", "metric", "unit", "better", "n_a", "n_b",
    "median_a", "median_b", "ratio", "ci_low", "ci_high", "p_value", "p_holm", "significant",
    "practically_equivalent", "verdict", "basis", "scope",
]  # fmt: skip
"""Columns of :func:`compare_runs`' frame and of ``comparisons.csv``."""

PRACTICAL_EQUIVALENCE_MARGIN = 0.10
"""Relative difference within which a ratio is called practically equivalent (10%: ``[1 / 1.1, 1.1]``)."""

MARGIN_WHY = (
    "two runs of one condition on the shared 2-core VM this was built on differ by 6–20% in per-token latency"
)
"""Why the margin is 10%, in the words of the verdicts (asv's default factor is the same 1.1)."""

SCOPE_RUN_PAIR = "one run each: the test covers within-run variation only"
"""What a run-against-run comparison's test covers (the ``scope`` column)."""


def ratio_of_medians(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    """Median of ``a`` over median of ``b`` along ``axis`` (vectorized, for :func:`scipy.stats.bootstrap`)."""
    return np.median(a, axis=axis) / np.median(b, axis=axis)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm-adjusted p-values of a family (:func:`statsmodels.stats.multitest.multipletests`, ``method="holm"``).

    NaN entries (comparisons not tested) stay NaN and do not count in the family.
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    tested = np.isfinite(p)
    if tested.any():
        adjusted[tested] = multipletests(p[tested], method="holm")[1]
    return adjusted


def verdict(
    metric: ComparedMetric,
    name_a: str,
    name_b: str,
    ratio: float,
    ci_low: float,
    ci_high: float,
    p_holm: float,
    significant: bool,
    within_margin: float | None = None,
) -> str:
    """The verdict of one comparison in words, the factor ≥ 1 in the winner's favour.

    Args:
        metric: The metric compared.
        name_a: How run (or condition) A is named (``platform (run id)``).
        name_b: How B is named.
        ratio: Ratio of medians A / B.
        ci_low: Lower end of the ratio's interval.
        ci_high: Upper end of the ratio's interval.
        p_holm: Holm-adjusted p-value.
        significant: Whether the test calls the difference significant.
        within_margin: The practical-equivalence margin (0.10) when the difference is significant
            but the ratio lies within that margin; the verdict then says so after the winner's sentence.
    """
    if not significant:
        interval = f"[{three_figures(ci_low)}, {three_figures(ci_high)}]"
        return f"no significant difference (ratio {three_figures(ratio)} {interval}, Holm p = {p_holm:.2g})"
    lower_is_better = metric.better == "lower"
    a_wins = (ratio < 1) == lower_is_better
    invert = a_wins == lower_is_better  # the ratio A / B is below 1 in the winner's favour: turn it over
    factor, low, high = (1 / ratio, 1 / ci_high, 1 / ci_low) if invert else (ratio, ci_low, ci_high)
    winner = name_a if a_wins else name_b
    phrase = metric.phrase.format(factor=three_figures(factor))
    text = f"{winner} {phrase} [{three_figures(low)}, {three_figures(high)}] (Holm p = {p_holm:.2g})"
    if within_margin is None:
        return text
    return f"{text}, within the ±{within_margin:.0%} practical-equivalence margin (a margin, not a test: {MARGIN_WHY})"


def compare_samples(
    sample_a: Any, sample_b: Any, *, confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES, seed: int = 0, test: bool = True,
) -> dict[str, float]:  # fmt: skip
    """Ratio of medians A / B with its bootstrap interval, and the Mann–Whitney U p-value, of two samples.

    Args:
        sample_a: Values of run A (NaN-free, at least two).
        sample_b: Values of run B.
        confidence: Coverage of the interval.
        n_resamples: Bootstrap resamples.
        seed: Seed of the resampling.
        test: ``False`` leaves the p-value NaN (a comparison described, not tested).

    Returns:
        ``{"n_a", "n_b", "median_a", "median_b", "ratio", "ci_low", "ci_high", "p_value"}``.
    """
    a, b = np.asarray(sample_a, dtype=float), np.asarray(sample_b, dtype=float)
    boot = bootstrap_two_samples(a, b, ratio_of_medians, confidence=confidence, resamples=n_resamples, seed=seed)
    p_value = float(scipy_stats.mannwhitneyu(a, b, alternative="two-sided").pvalue) if test else float("nan")
    return {
        "n_a": int(a.size), "n_b": int(b.size), "median_a": float(np.median(a)), "median_b": float(np.median(b)),
        "ratio": float(ratio_of_medians(a, b)), "ci_low": boot.ci_low, "ci_high": boot.ci_high, "p_value": p_value,
    }  # fmt: skip


def _run_name(row: pd.Series) -> str:
    return f"{row.get('platform')} ({row['run_id']})"


def _compare_pair(
    pair: tuple[tuple[StoredRun, pd.Series], tuple[StoredRun, pd.Series]], metric: ComparedMetric,
    options: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    (run_a, row_a), (run_b, row_b) = pair
    sample_a, basis_a, problem_a = run_sample(run_a, row_a, metric)
    sample_b, basis_b, problem_b = run_sample(run_b, row_b, metric)
    result: dict[str, Any] = {
        "comparison_group": row_a[COMPARISON_GROUP], "run_a": run_a.run_id, "run_b": run_b.run_id,
        "platform_a": row_a.get("platform"), "platform_b": row_b.get("platform"), "metric": metric.name,
        "unit": metric.unit, "better": metric.better, "n_a": int(sample_a.size), "n_b": int(sample_b.size),
        "median_a": float(np.median(sample_a)) if sample_a.size else np.nan,
        "median_b": float(np.median(sample_b)) if sample_b.size else np.nan,
        "ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan,
        "basis": pair_basis(basis_a, basis_b), "scope": SCOPE_RUN_PAIR,
        "reason": problem_a or problem_b, "name_a": _run_name(row_a), "name_b": _run_name(row_b),
    }  # fmt: skip
    if result["reason"] is None and min(sample_a.size, sample_b.size) < 2:
        result["reason"] = f"fewer than two requests with {metric.name} in a run ({sample_a.size} and {sample_b.size})"
    if result["reason"] is None:
        measured = not rests_on_estimate(result["basis"])
        result.update(compare_samples(sample_a, sample_b, test=measured, **options))
        if not measured:
            estimated = [r.run_id for r, b in ((run_a, basis_a), (run_b, basis_b)) if rests_on_estimate(b)]
            result["reason"] = estimate_reason(metric, estimated, result["ratio"], result["ci_low"], result["ci_high"])
    return result


def _group_rows(group: str, members: list[tuple[StoredRun, pd.Series]], options: dict[str, Any]) -> list[dict]:
    """The rows of one comparison group: run against run, then condition against condition (module docstring)."""
    conditions = runs_by_condition(run for run, _ in members)
    condition_of = {run.run_id: condition_id for condition_id, runs in conditions.items() for run in runs}
    row_of = {run.run_id: row for run, row in members}
    large = sorted(cid for cid, runs in conditions.items() if len(runs) >= MIN_RUNS_PER_CONDITION)
    rows = []
    for pair in itertools.combinations(members, 2):
        condition_a, condition_b = (condition_of[run.run_id] for run, _ in pair)
        if condition_a != condition_b and not (condition_a in large and condition_b in large):
            rows += [_compare_pair(pair, metric, options) for metric in METRICS]
    paired = {cid: (cid, [(run, row_of[run.run_id]) for run in conditions[cid]]) for cid in large}
    for id_a, id_b in itertools.combinations(large, 2):
        confidence = options["confidence"]
        rows += [compare_conditions(group, paired[id_a], paired[id_b], metric, confidence) for metric in METRICS]
    return rows


def compare_runs(
    runs: Sequence[StoredRun],
    table: pd.DataFrame,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    equivalence_margin: float = PRACTICAL_EQUIVALENCE_MARGIN,
) -> pd.DataFrame:
    """Runs, and conditions of 3 or more runs, of one comparison group compared on every metric of :data:`METRICS`.

    Args:
        runs: The stored runs (:func:`~benchlib.analysis.tables.report_runs`); runs absent from ``table`` are ignored.
        table: :func:`~benchlib.analysis.tables.run_table` of those runs (needs ``run_id``, ``platform``,
            ``comparison_group``, ``energy_per_token_j``, ``energy_kind``, ``cost_per_million_usd``).
        confidence: Coverage of the intervals; ``1 - confidence`` is the significance level of the Holm p-values.
        n_resamples: Bootstrap resamples per run-against-run comparison.
        seed: Seed of every bootstrap, so the report is the same to the last digit when rebuilt.
        equivalence_margin: The practical-equivalence margin ``m`` (0.10: a ratio within ``[1 / 1.1, 1.1]``);
            it sets ``practically_equivalent`` and the verdict's words, never ``significant``.

    Returns:
        One row per compared pair × metric with :data:`COLUMNS` (the verdict says why when a row is not tested).
        ``frame.attrs`` holds ``run_groups`` (every group of ``table`` and its run ids, single-run groups
        included), ``run_conditions`` (each run id's condition id), ``confidence``, ``n_resamples``, ``seed``
        and ``equivalence_margin``, which :func:`~benchlib.analysis.comparisons_report.write_comparisons` reports.

    Raises:
        ValueError: a negative ``equivalence_margin``.
    """
    if equivalence_margin < 0:
        raise ValueError(
            f"equivalence_margin must be 0 or more (a relative difference such as 0.10), got {equivalence_margin}"
        )
    rows_by_id = {row["run_id"]: row for _, row in table.iterrows()}
    by_group: dict[str, list[tuple[StoredRun, pd.Series]]] = {}
    for run in sorted(runs, key=lambda r: r.run_id):
        if run.run_id in rows_by_id:
            row = rows_by_id[run.run_id]
            by_group.setdefault(str(row[COMPARISON_GROUP]), []).append((run, row))
    options = {"confidence": confidence, "n_resamples": n_resamples, "seed": seed}
    rows = [row for group in sorted(by_group) for row in _group_rows(group, by_group[group], options)]
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "reason", "name_a", "name_b"])
    frame["p_holm"] = holm(frame["p_value"].to_numpy(dtype=float))
    excludes_one = (frame["ci_low"] > 1) | (frame["ci_high"] < 1)
    frame["significant"] = (frame["p_holm"] < 1.0 - confidence) & excludes_one
    ratio = frame["ratio"].astype(float)
    frame["practically_equivalent"] = (ratio >= 1 / (1 + equivalence_margin)) & (ratio <= 1 + equivalence_margin)
    metrics = {metric.name: metric for metric in METRICS}
    frame["verdict"] = [
        f"not tested: {row.reason}" if isinstance(row.reason, str) else verdict(
            metrics[row.metric], row.name_a, row.name_b, row.ratio, row.ci_low, row.ci_high, row.p_holm,
            bool(row.significant), equivalence_margin if row.significant and row.practically_equivalent else None,
        )
        for row in frame.itertuples()
    ]  # fmt: skip
    frame = frame[COLUMNS].astype({"significant": bool, "practically_equivalent": bool})
    frame.attrs.update(
        run_groups={group: [run.run_id for run, _ in members] for group, members in sorted(by_group.items())},
        run_conditions={run.run_id: run.record.condition_id for members in by_group.values() for run, _ in members},
        confidence=confidence, n_resamples=n_resamples, seed=seed, equivalence_margin=equivalence_margin,
    )  # fmt: skip
    return frame
