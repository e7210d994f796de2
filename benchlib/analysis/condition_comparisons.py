"""Conditions measured as repeats, compared at run level: one number per run, Welch's t on their logarithms.

Two runs differ by more than their requests' spread predicts (on the shared
2-core VM this was built on, two runs of one condition differ by 6–20% in
per-token latency), so a test of two single runs' requests answers "do these
two runs differ?", not "do these two conditions differ?". When each of two
conditions of one comparison group was measured at least
:data:`MIN_RUNS_PER_CONDITION` times (``benchlib sweep --repeat N``,
:func:`benchlib.records.repeats.runs_by_condition`), the conditions are
compared instead of their runs, one row per metric:

- each run gives one number: the median of its requests' values, or for
  energy per token and cost per million tokens the run table's value
  (:func:`~benchlib.analysis.comparison_samples.run_value`);
- the ratio A / B is the median of A's run values over the median of B's;
- the test is Welch's t on the logarithms of the run values
  (:func:`scipy.stats.ttest_ind`, ``equal_var=False``): between-run variation
  is the noise, whatever its source, and a ratio is a difference of logs;
- the interval is the exponential of that test's confidence interval of the
  difference of mean logs (``.confidence_interval(confidence_level)``): a
  ratio of geometric means, which with 3 runs a side is wide (t with about 2–4
  degrees of freedom), as it should be.

``n_a`` and ``n_b`` are then numbers of runs, and the row's ``scope`` says so
(:func:`condition_scope`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats

from benchlib.analysis.basis import rests_on_estimate
from benchlib.analysis.comparison_samples import ComparedMetric, estimate_reason, pair_basis, run_value
from benchlib.errors import ParameterError
from benchlib.records import StoredRun

__all__ = ["MIN_RUNS_PER_CONDITION", "compare_conditions", "condition_name", "condition_scope", "welch_log_ratio"]

MIN_RUNS_PER_CONDITION = 3
"""Runs each of two conditions needs for them to be compared at run level (fewer: their runs are compared)."""

Condition = tuple[str, Sequence[tuple[StoredRun, pd.Series]]]
"""A condition id and its runs, each with its row of the run table."""


def condition_scope(n_a: int, n_b: int) -> str:
    """What a run-level comparison's test covers: ``3 vs 4 runs: run-level variation (…)``."""
    return f"{n_a} vs {n_b} runs: run-level variation (Welch t on log run medians)"


def condition_name(condition: Condition) -> str:
    """How a condition is named in a verdict: ``platform (condition ID, 3 runs)``."""
    condition_id, members = condition
    platforms = ", ".join(dict.fromkeys(str(row.get("platform")) for _, row in members))
    return f"{platforms} (condition {condition_id}, {len(members)} runs)"


def welch_log_ratio(
    values_a: Sequence[float], values_b: Sequence[float], *, confidence: float, test: bool = True
) -> dict[str, float]:
    """Ratio of medians A / B of run values, the exp of Welch's interval on log values, and Welch's p-value.

    Args:
        values_a: One positive value per run of condition A (at least two).
        values_b: One positive value per run of condition B (at least two).
        confidence: Coverage of the interval.
        test: ``False`` leaves the p-value NaN (a comparison described, not tested).

    Returns:
        ``{"n_a", "n_b", "median_a", "median_b", "ratio", "ci_low", "ci_high", "p_value"}``.

    Raises:
        ParameterError: fewer than two values on a side, a value that is not positive, or no
            variation on either side (Welch's t is then undefined).
    """
    a, b = np.asarray(values_a, dtype=float), np.asarray(values_b, dtype=float)
    if min(a.size, b.size) < 2:
        raise ParameterError(f"Welch's t needs at least two runs a side, got {a.size} and {b.size}")
    if not (np.all(a > 0) and np.all(b > 0)):
        raise ParameterError("a ratio of run values needs positive values")
    log_a, log_b = np.log(a), np.log(b)
    if np.ptp(log_a) == 0 and np.ptp(log_b) == 0:
        raise ParameterError("the run values do not vary within either condition, so Welch's t is undefined")
    result = scipy_stats.ttest_ind(log_a, log_b, equal_var=False)
    interval = result.confidence_interval(confidence_level=confidence)
    median_a, median_b = float(np.median(a)), float(np.median(b))
    return {
        "n_a": int(a.size), "n_b": int(b.size), "median_a": median_a, "median_b": median_b,
        "ratio": median_a / median_b, "ci_low": float(np.exp(interval.low)), "ci_high": float(np.exp(interval.high)),
        "p_value": float(result.pvalue) if test else float("nan"),
    }  # fmt: skip


def _side(condition: Condition, metric: ComparedMetric) -> tuple[np.ndarray, str, str | None]:
    """A condition's run values, their basis, and the first reason one cannot be compared (``None``)."""
    values, bases, problems = [], [], []
    for run, row in condition[1]:
        value, basis, problem = run_value(run, row, metric)
        values.append(value)
        bases.append(basis)
        if problem is not None:
            problems.append(problem)
    basis = functools.reduce(pair_basis, bases)
    return np.asarray(values, dtype=float), basis, problems[0] if problems else None


def compare_conditions(group: str, condition_a: Condition, condition_b: Condition, metric: ComparedMetric,
                       confidence: float) -> dict[str, Any]:  # fmt: skip
    """One row of ``comparisons.csv`` comparing two conditions on one metric at run level.

    Args:
        group: The comparison group both conditions belong to.
        condition_a: Condition A (its id sorts first) and its runs.
        condition_b: Condition B and its runs.
        metric: The metric.
        confidence: Coverage of the interval.

    Returns:
        The row's columns (:data:`benchlib.analysis.comparisons.COLUMNS` but the Holm p-value,
        the verdict and the margin), ``reason`` (why it is not tested, or ``None``), and
        ``name_a``/``name_b`` for the verdict.
    """
    (id_a, members_a), (id_b, members_b) = condition_a, condition_b
    values_a, basis_a, problem_a = _side(condition_a, metric)
    values_b, basis_b, problem_b = _side(condition_b, metric)
    finite_a, finite_b = values_a[np.isfinite(values_a)], values_b[np.isfinite(values_b)]
    result: dict[str, Any] = {
        "comparison_group": group, "run_a": id_a, "run_b": id_b,
        "platform_a": ", ".join(dict.fromkeys(str(row.get("platform")) for _, row in members_a)),
        "platform_b": ", ".join(dict.fromkeys(str(row.get("platform")) for _, row in members_b)),
        "metric": metric.name, "unit": metric.unit, "better": metric.better,
        "n_a": int(finite_a.size), "n_b": int(finite_b.size),
        "median_a": float(np.median(finite_a)) if finite_a.size else np.nan,
        "median_b": float(np.median(finite_b)) if finite_b.size else np.nan,
        "ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan,
        "basis": pair_basis(basis_a, basis_b), "scope": condition_scope(len(members_a), len(members_b)),
        "reason": problem_a or problem_b,
        "name_a": condition_name(condition_a), "name_b": condition_name(condition_b),
    }  # fmt: skip
    if result["reason"] is not None:
        return result
    measured = not rests_on_estimate(result["basis"])
    try:
        result.update(welch_log_ratio(values_a, values_b, confidence=confidence, test=measured))
    except ParameterError as exc:
        result["reason"] = f"{metric.label}: {exc}"
        return result
    if not measured:
        estimated = [f"condition {cid}" for cid, basis in ((id_a, basis_a), (id_b, basis_b))
                     if rests_on_estimate(basis)]  # fmt: skip
        result["reason"] = estimate_reason(metric, estimated, result["ratio"], result["ci_low"], result["ci_high"])
    return result
