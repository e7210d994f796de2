"""Pairwise comparisons of runs on the same model and workload: ratio of medians, bootstrap CI, Mann–Whitney U, Holm.

Runs are paired only inside one :data:`~benchlib.analysis.groups.COMPARISON_GROUP`
(same model file, same prompts and output length). Every unordered pair is
compared; run A is the one whose run id sorts first, run B the other, and the
ratio is always A / B.

For each metric of :data:`METRICS` the per-request samples of the two runs give

- the ratio of medians A / B, with a percentile bootstrap interval from
  :func:`scipy.stats.bootstrap` on the two independent samples
  (:func:`benchlib.stats.bootstrap_two_samples`, seeded);
- a two-sided Mann–Whitney U p-value (:func:`scipy.stats.mannwhitneyu`),
  Holm-corrected over every tested row of the report
  (:func:`statsmodels.stats.multitest.multipletests`);
- a verdict: the difference is significant when the Holm p-value is below
  ``1 - confidence``, the interval excludes 1 *and* the ratio is outside the
  run-to-run noise margin (:data:`DEFAULT_NOISE_MARGIN`, 10%: two runs of the
  same parameters on one machine differ by a few percent between runs, more
  than the spread inside a run predicts, so a 6% shift between two repeats is
  statistically detectable yet means nothing; asv uses the same rule with the
  same default factor). The verdict then names the winner with a factor ≥ 1 in
  its favour (``… is 1.8× faster per token [1.7, 1.9]``), else it says
  ``no significant difference (ratio …, Holm p = …)`` and, when only the
  margin held it back, says so.

Energy per token and cost per million tokens have one value per run, not per
request. Their per-request samples scale each request's seconds per output
token (``e2e_s / output_tokens``) by a constant of the run: its power (J/s)
or its price (USD/s, ``cost_per_million_usd × throughput / 1e6``), the
constant chosen so that the sample's median equals the run table's value
exactly (the table divides by the system throughput, whose reciprocal is close
to, not equal to, the median seconds per token). The ratio of medians is
therefore the ratio of the run table's values; its interval and test reflect
the request-to-request variation of time per token.

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
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as scipy_stats
from statsmodels.stats.multitest import multipletests

from benchlib.analysis.basis import BASIS_ESTIMATED, cost_basis, rests_on_estimate
from benchlib.analysis.groups import COMPARISON_GROUP
from benchlib.analysis.tables import summary_requests
from benchlib.metrics import successful_requests
from benchlib.records import StoredRun
from benchlib.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, bootstrap_two_samples

__all__ = [
    "COLUMNS",
    "DEFAULT_NOISE_MARGIN",
    "METRICS",
    "ComparedMetric",
    "compare_runs",
    "compare_samples",
    "holm",
    "ratio_of_medians",
    "scaled_samples",
    "verdict",
]


@dataclass(frozen=True)
class ComparedMetric:
    """A metric compared between runs.

    Attributes:
        name: Column name in ``comparisons.csv`` (``tpot_s``, ``energy_per_token_j``, …).
        label: Words for a reader (``per-token latency``).
        unit: Unit of the medians (``s``, ``tok/s``, ``J/token``, ``USD/M tokens``).
        better: ``"lower"`` or ``"higher"``.
        phrase: The winner's verb phrase, ``{factor}`` replaced (``is {factor}× faster per token``).
        source: ``"requests"`` (a requests.parquet column), ``"energy"`` or ``"cost"`` (a run-table value).
    """

    name: str
    label: str
    unit: str
    better: str
    phrase: str
    source: str = "requests"


METRICS: tuple[ComparedMetric, ...] = (
    ComparedMetric("tpot_s", "per-token latency", "s", "lower", "is {factor}× faster per token"),
    ComparedMetric("ttft_s", "time to first token", "s", "lower", "is {factor}× faster to first token"),
    ComparedMetric("e2e_s", "end-to-end latency", "s", "lower", "is {factor}× faster end to end"),
    ComparedMetric(
        "decode_tps", "per-request decode throughput", "tok/s", "higher", "has {factor}× higher throughput"
    ),
    ComparedMetric(
        "energy_per_token_j", "energy per token", "J/token", "lower", "uses {factor}× less energy per token", "energy"
    ),
    ComparedMetric(
        "cost_per_million_usd", "cost per million tokens", "USD/M tokens", "lower",
        "is {factor}× cheaper per million tokens", "cost",
    ),  # fmt: skip
)
"""Every metric compared, in the order of the report."""

COLUMNS = [
    "comparison_group", "run_a", "run_b", "platform_a", "platform_b", "metric", "unit", "better", "n_a", "n_b",
    "median_a", "median_b", "ratio", "ci_low", "ci_high", "p_value", "p_holm", "significant", "verdict", "basis",
]  # fmt: skip
"""Columns of :func:`compare_runs`' frame and of ``comparisons.csv``."""


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


DEFAULT_NOISE_MARGIN = 0.10
"""Relative difference below which two runs are not called different, whatever the p-value (10%)."""


def _fmt(value: float) -> str:
    return f"{value:.3g}"


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
        name_a: How run A is named (``platform (run id)``).
        name_b: How run B is named.
        ratio: Ratio of medians A / B.
        ci_low: Lower end of the ratio's interval.
        ci_high: Upper end of the ratio's interval.
        p_holm: Holm-adjusted p-value.
        significant: Whether the difference is significant.
        within_margin: The noise margin (0.10) when the test alone would call the difference
            significant but the ratio is inside the margin; the verdict then says so.
    """
    if not significant:
        interval = f"[{_fmt(ci_low)}, {_fmt(ci_high)}]"
        if within_margin is not None:
            return (f"no significant difference (ratio {_fmt(ratio)} {interval} is within the ±{within_margin:.0%} "
                    f"run-to-run noise margin; Holm p = {p_holm:.2g})")  # fmt: skip
        return f"no significant difference (ratio {_fmt(ratio)} {interval}, Holm p = {p_holm:.2g})"
    lower_is_better = metric.better == "lower"
    a_wins = (ratio < 1) == lower_is_better
    invert = a_wins == lower_is_better  # the ratio A / B is below 1 in the winner's favour: turn it over
    factor, low, high = (1 / ratio, 1 / ci_high, 1 / ci_low) if invert else (ratio, ci_low, ci_high)
    winner = name_a if a_wins else name_b
    phrase = metric.phrase.format(factor=_fmt(factor))
    return f"{winner} {phrase} [{_fmt(low)}, {_fmt(high)}] (Holm p = {p_holm:.2g})"


def scaled_samples(requests: pd.DataFrame, run_value: float) -> np.ndarray:
    """Per-request samples of a per-run value (J/token or USD/M tokens) whose median is that value.

    Each request's seconds per output token (``e2e_s / output_tokens``) times
    the run's constant rate, the rate set so that the median is ``run_value``:
    ``run_value × s_i / median(s)``.

    Args:
        requests: The successful requests the run table's value describes.
        run_value: The run table's value (``energy_per_token_j`` or ``cost_per_million_usd``).
    """
    tokens = pd.to_numeric(requests["output_tokens"], errors="coerce").to_numpy(dtype=float)
    e2e_s = pd.to_numeric(requests["e2e_s"], errors="coerce").to_numpy(dtype=float)
    seconds_per_token = np.divide(e2e_s, tokens, out=np.full(tokens.shape, np.nan), where=tokens > 0)
    seconds_per_token = seconds_per_token[np.isfinite(seconds_per_token)]
    if seconds_per_token.size == 0:
        return seconds_per_token
    return run_value * seconds_per_token / np.median(seconds_per_token)


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


def _sample(run: StoredRun, row: pd.Series, metric: ComparedMetric) -> tuple[np.ndarray, str, str | None]:
    """A run's sample of a metric, its basis, and why it cannot be compared (``None`` when it can)."""
    requests = successful_requests(summary_requests(run))
    if requests.empty and (run.meta.get("summary") or {}).get("aggregates_only"):
        tool = (run.meta.get("source") or {}).get("tool")
        return np.zeros(0), "unavailable", f"{run.run_id} was imported from {tool} as aggregates only: no per-request samples"
    if metric.source == "requests":
        values = pd.to_numeric(requests.get(metric.name, pd.Series(dtype=float)), errors="coerce").to_numpy(float)
        return values[np.isfinite(values)], "measured", None
    value = float(row.get(metric.name, np.nan))
    if metric.source == "energy":
        if not np.isfinite(value):
            return np.zeros(0), "unavailable", f"{run.run_id} has no valid energy summary"
        basis = "measured" if row.get("energy_kind") == "measured" else "estimated"
    else:
        if not np.isfinite(value):
            return np.zeros(0), "unavailable", f"{run.run_id} has no price profile"
        stated = row.get("cost_basis")  # measured throughput × assumed price (, power estimated)
        basis = stated if isinstance(stated, str) and stated else cost_basis()
    return scaled_samples(requests, value), basis, None


def _pair_basis(basis_a: str, basis_b: str) -> str:
    """The basis of a comparison: ``unavailable``, ``estimated`` when either side rests on an estimate, else theirs."""
    if "unavailable" in (basis_a, basis_b):
        return "unavailable"
    if rests_on_estimate(basis_a) or rests_on_estimate(basis_b):
        return BASIS_ESTIMATED
    return basis_a if basis_a == basis_b else f"{basis_a}; {basis_b}"


def _run_name(row: pd.Series) -> str:
    return f"{row.get('platform')} ({row['run_id']})"


def _compare_pair(
    pair: tuple[tuple[StoredRun, pd.Series], tuple[StoredRun, pd.Series]], metric: ComparedMetric,
    options: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    (run_a, row_a), (run_b, row_b) = pair
    sample_a, basis_a, problem_a = _sample(run_a, row_a, metric)
    sample_b, basis_b, problem_b = _sample(run_b, row_b, metric)
    result: dict[str, Any] = {
        "comparison_group": row_a[COMPARISON_GROUP], "run_a": run_a.run_id, "run_b": run_b.run_id,
        "platform_a": row_a.get("platform"), "platform_b": row_b.get("platform"), "metric": metric.name,
        "unit": metric.unit, "better": metric.better, "n_a": int(sample_a.size), "n_b": int(sample_b.size),
        "median_a": float(np.median(sample_a)) if sample_a.size else np.nan,
        "median_b": float(np.median(sample_b)) if sample_b.size else np.nan,
        "ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan,
        "basis": _pair_basis(basis_a, basis_b),
        "reason": problem_a or problem_b,
    }  # fmt: skip
    if result["reason"] is None and min(sample_a.size, sample_b.size) < 2:
        result["reason"] = f"fewer than two requests with {metric.name} in a run ({sample_a.size} and {sample_b.size})"
    if result["reason"] is None:
        measured = not rests_on_estimate(result["basis"])
        result.update(compare_samples(sample_a, sample_b, test=measured, **options))
        if not measured:
            result["reason"] = (
                f"{metric.label} rests on estimated power (a profile's watts × time) in "
                f"{' and '.join(r.run_id for r, b in ((run_a, basis_a), (run_b, basis_b)) if rests_on_estimate(b))}; "
                f"a ratio of two estimates is not a measurement (ratio {_fmt(result['ratio'])} "
                f"[{_fmt(result['ci_low'])}, {_fmt(result['ci_high'])}] restates the throughput ratio)"
            )
    return result


def compare_runs(
    runs: Sequence[StoredRun],
    table: pd.DataFrame,
    *,
    confidence: float = DEFAULT_CONFIDENCE,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    noise_margin: float = DEFAULT_NOISE_MARGIN,
) -> pd.DataFrame:
    """Every pair of runs in one comparison group, compared on every metric of :data:`METRICS`.

    Args:
        runs: The stored runs (:func:`~benchlib.analysis.tables.report_runs`); runs absent from ``table`` are ignored.
        table: :func:`~benchlib.analysis.tables.run_table` of those runs (needs ``run_id``, ``platform``,
            ``comparison_group``, ``energy_per_token_j``, ``energy_kind``, ``cost_per_million_usd``).
        confidence: Coverage of the intervals; ``1 - confidence`` is the significance level of the Holm p-values.
        n_resamples: Bootstrap resamples per comparison.
        seed: Seed of every bootstrap, so the report is the same to the last digit when rebuilt.
        noise_margin: Relative difference a significant ratio must exceed (0.10: beyond 1.1 or below 1 / 1.1).

    Returns:
        One row per pair × metric with :data:`COLUMNS` (the verdict says why when a row is not tested).
        ``frame.attrs`` holds ``run_groups`` (every group of ``table`` and its run ids, single-run groups
        included), ``confidence``, ``n_resamples``, ``seed`` and ``noise_margin``, which :func:`write_comparisons` reports.
    """
    rows_by_id = {row["run_id"]: row for _, row in table.iterrows()}
    by_group: dict[str, list[tuple[StoredRun, pd.Series]]] = {}
    for run in sorted(runs, key=lambda r: r.run_id):
        if run.run_id in rows_by_id:
            row = rows_by_id[run.run_id]
            by_group.setdefault(str(row[COMPARISON_GROUP]), []).append((run, row))
    options = {"confidence": confidence, "n_resamples": n_resamples, "seed": seed}
    rows = [
        _compare_pair(pair, metric, options)
        for group in sorted(by_group)
        for pair in itertools.combinations(by_group[group], 2)
        for metric in METRICS
    ]
    frame = pd.DataFrame(rows, columns=[*COLUMNS, "reason"])
    frame["p_holm"] = holm(frame["p_value"].to_numpy(dtype=float))
    alpha = 1.0 - confidence
    excludes_one = (frame["ci_low"] > 1) | (frame["ci_high"] < 1)
    if noise_margin < 0:
        raise ValueError(f"noise_margin must be 0 or more (a relative difference such as 0.10), got {noise_margin}")
    tested_significant = (frame["p_holm"] < alpha) & excludes_one
    beyond_margin = (frame["ratio"] >= 1 + noise_margin) | (frame["ratio"] <= 1 / (1 + noise_margin))
    frame["significant"] = tested_significant & beyond_margin
    held_back = tested_significant & ~beyond_margin
    names = {run_id: _run_name(row) for run_id, row in rows_by_id.items()}
    metrics = {metric.name: metric for metric in METRICS}
    frame["verdict"] = [
        f"not tested: {row.reason}" if isinstance(row.reason, str) else verdict(
            metrics[row.metric], names[row.run_a], names[row.run_b], row.ratio, row.ci_low, row.ci_high,
            row.p_holm, bool(row.significant), noise_margin if held else None,
        )
        for row, held in zip(frame.itertuples(), held_back)
    ]  # fmt: skip
    frame = frame[COLUMNS].astype({"significant": bool})
    frame.attrs.update(
        run_groups={group: [run.run_id for run, _ in members] for group, members in sorted(by_group.items())},
        confidence=confidence, n_resamples=n_resamples, seed=seed, noise_margin=noise_margin,
    )  # fmt: skip
    return frame
