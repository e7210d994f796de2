"""What the comparisons compare: the metrics, each run's sample or value of one, and the basis of a pair.

Shared by the run-against-run comparisons (:mod:`benchlib.analysis.comparisons`)
and the comparisons of conditions measured as repeats
(:mod:`benchlib.analysis.condition_comparisons`).

Energy per token and cost per million tokens have one value per run, not per
request. Their per-request samples (:func:`scaled_samples`) scale each
request's seconds per output token (``e2e_s / output_tokens``) by a constant of
the run: its power (J/s) or its price (USD/s, ``cost_per_million_usd ×
throughput / 1e6``), the constant chosen so that the sample's median equals the
run table's value exactly (the table divides by the system throughput, whose
reciprocal is close to, not equal to, the median seconds per token).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchlib.analysis.basis import BASIS_ESTIMATED, cost_basis, rests_on_estimate
from benchlib.analysis.tables import summary_requests
from benchlib.metrics import successful_requests
from benchlib.records import StoredRun

__all__ = [
    "METRICS",
    "ComparedMetric",
    "estimate_reason",
    "pair_basis",
    "run_sample",
    "run_value",
    "scaled_samples",
    "three_figures",
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


def three_figures(value: float) -> str:
    """A number as the verdicts write it: three significant figures (``1.06``, ``0.943``, ``2``)."""
    return f"{value:.3g}"


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


def _table_value(run: StoredRun, row: pd.Series, metric: ComparedMetric) -> tuple[float, str, str | None]:
    """A run-table value (energy or cost), its basis, and why it cannot be compared (``None`` when it can)."""
    value = float(row.get(metric.name, np.nan))
    if metric.source == "energy":
        if not np.isfinite(value):
            return value, "unavailable", f"{run.run_id} has no valid energy summary"
        return value, "measured" if row.get("energy_kind") == "measured" else BASIS_ESTIMATED, None
    if not np.isfinite(value):
        return value, "unavailable", f"{run.run_id} has no price profile"
    stated = row.get("cost_basis")  # measured throughput × assumed price (, power estimated)
    return value, stated if isinstance(stated, str) and stated else cost_basis(), None


def run_sample(run: StoredRun, row: pd.Series, metric: ComparedMetric) -> tuple[np.ndarray, str, str | None]:
    """A run's per-request sample of a metric, its basis, and why it cannot be compared (``None`` when it can).

    Args:
        run: The stored run.
        row: The run's row of :func:`~benchlib.analysis.tables.run_table`.
        metric: The metric.

    Returns:
        ``(sample, basis, problem)``: the finite per-request values (energy and cost as
        :func:`scaled_samples`), ``measured``, ``estimated``, a cost basis or ``unavailable``,
        and the reason the run cannot be compared on this metric, or ``None``.
    """
    requests = successful_requests(summary_requests(run))
    if requests.empty and (run.meta.get("summary") or {}).get("aggregates_only"):
        tool = (run.meta.get("source") or {}).get("tool")
        problem = f"{run.run_id} was imported from {tool} as aggregates only: no per-request samples"
        return np.zeros(0), "unavailable", problem
    if metric.source == "requests":
        values = pd.to_numeric(requests.get(metric.name, pd.Series(dtype=float)), errors="coerce").to_numpy(float)
        return values[np.isfinite(values)], "measured", None
    value, basis, problem = _table_value(run, row, metric)
    if problem is not None:
        return np.zeros(0), basis, problem
    return scaled_samples(requests, value), basis, None


def run_value(run: StoredRun, row: pd.Series, metric: ComparedMetric) -> tuple[float, str, str | None]:
    """One number per run: the median of its requests' values, or the run table's energy or cost.

    Args:
        run: The stored run.
        row: The run's row of :func:`~benchlib.analysis.tables.run_table`.
        metric: The metric.

    Returns:
        ``(value, basis, problem)`` as :func:`run_sample`, the value NaN when there is a problem.
    """
    if metric.source != "requests":
        return _table_value(run, row, metric)
    sample, basis, problem = run_sample(run, row, metric)
    if problem is None and sample.size == 0:
        problem = f"{run.run_id} has no request with {metric.name}"
    return (float(np.median(sample)) if problem is None else float("nan")), basis, problem


def pair_basis(basis_a: str, basis_b: str) -> str:
    """The basis of a comparison: ``unavailable``, ``estimated`` when either side rests on an estimate, else theirs."""
    if "unavailable" in (basis_a, basis_b):
        return "unavailable"
    if rests_on_estimate(basis_a) or rests_on_estimate(basis_b):
        return BASIS_ESTIMATED
    return basis_a if basis_a == basis_b else f"{basis_a}; {basis_b}"


def estimate_reason(metric: ComparedMetric, estimated: list[str], ratio: float, ci_low: float, ci_high: float) -> str:
    """Why a comparison resting on estimated power is described, not tested.

    Args:
        metric: The metric.
        estimated: The runs or conditions whose value is an estimate.
        ratio: The ratio A / B, shown all the same.
        ci_low: Lower end of its interval.
        ci_high: Upper end of its interval.
    """
    return (
        f"{metric.label} rests on estimated power (a profile's watts × time) in {' and '.join(estimated)}; "
        f"a ratio of two estimates is not a measurement (ratio {three_figures(ratio)} "
        f"[{three_figures(ci_low)}, {three_figures(ci_high)}] restates the throughput ratio)"
    )
