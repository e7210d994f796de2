"""The statistical summary in long form: one row per run (or published figure) and metric.

Every row has n, the median (or the single value), its 95% CI, p95 and p99
where the metric has a distribution, and a ``basis``:

- ``measured``: computed here from the requests of a run (latencies, rates)
  or from a power sensor (energy);
- ``estimated``: a run's energy from the hardware profile's assumed power, not a sensor;
- ``measured throughput × assumed price`` (``imported throughput × …``): a
  cost per million tokens, the run's throughput priced at its price profile's
  assumed prices; ``…, power estimated`` when the price bills electricity at
  the profile's assumed power (:func:`~benchlib.analysis.basis.cost_basis`);
- ``published``: the article's number (its own ``kind``, measured or
  estimated by the article, is kept in ``published_kind``);
- ``imported``: another tool's number (llama-bench, vLLM, guidellm, AIPerf),
  from its per-request rows when it gave them, else its aggregates without an
  interval (``benchlib import``).

Per-request metrics come from the rows a run's summary describes
(:func:`~benchlib.analysis.tables.summary_requests`); run-level metrics
(system throughput, energy and cost per token) from the run table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchlib.analysis.basis import BASIS_ESTIMATED, BASIS_IMPORTED, BASIS_MEASURED, BASIS_PUBLISHED, cost_basis
from benchlib.analysis.groups import COMPARISON_GROUP, MODEL_LABEL, published_model_label
from benchlib.analysis.tables import float_or_nan, summary_requests
from benchlib.metrics import successful_requests, summarize_requests
from benchlib.metrics.summary import SCOPE_ONE_RUN
from benchlib.metrics.throughput import THROUGHPUT_METHOD
from benchlib.records import IMPORTED_KIND, StoredRun

__all__ = [
    "BASIS_ESTIMATED",
    "BASIS_MEASURED",
    "BASIS_PUBLISHED",
    "METRICS",
    "STATISTICS_COLUMNS",
    "MetricSpec",
    "statistics_table",
]



@dataclass(frozen=True)
class MetricSpec:
    """One metric of the summary.

    Attributes:
        name: Metric name in the table (unit in the name).
        label: What a reader calls it.
        unit: Unit of its values.
        request_metric: Key of :func:`~benchlib.metrics.summarize_requests` for a
            per-request distribution, or ``None`` for a run-level value.
        table_column: Run-table column of a run-level value (``None``: per request).
        published_metric: ``metric`` of the reference CSV with the same meaning, if any.
        published_scale: Multiplies a published value into ``unit`` (ms -> s: 1e-3).
    """

    name: str
    label: str
    unit: str
    request_metric: str | None = None
    table_column: str | None = None
    published_metric: str | None = None
    published_scale: float = 1.0


METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("ttft_s", "time to first token", "s", request_metric="ttft_s"),
    MetricSpec("tpot_s", "per-token latency (time per output token)", "s", request_metric="tpot_s",
               published_metric="per_token_latency", published_scale=1e-3),  # fmt: skip
    MetricSpec("itl_s", "inter-token gap", "s", request_metric="itl_s"),
    MetricSpec("e2e_s", "end-to-end latency", "s", request_metric="e2e_s", published_metric="e2e_128_tokens"),
    MetricSpec("decode_tps", "decode rate of one request", "tok/s", request_metric="decode_tps"),
    MetricSpec("throughput_tps", "output throughput", "tok/s", table_column="throughput_tps",
               published_metric="throughput"),  # fmt: skip
    MetricSpec("energy_per_token_j", "energy per output token (gross)", "J/token", table_column="energy_per_token_j",
               published_metric="energy_per_token"),  # fmt: skip
    MetricSpec("cost_per_million_usd", "cost per million output tokens", "USD/M tokens",
               table_column="cost_per_million_usd", published_metric="cost_per_million_tokens"),  # fmt: skip
)

STATISTICS_COLUMNS = (
    "source", "basis", "platform", "model", "comparison_group", "metric", "label", "unit",
    "n", "median", "ci_low", "ci_high", "p95", "p95_ci_low", "p95_ci_high", "p99", "p99_ci_low", "p99_ci_high",
    "interval", "tail_note", "published_kind", "plausibility", "note",
)  # fmt: skip
_NUMBERS = {"n", "median", "ci_low", "ci_high", "p95", "p95_ci_low", "p95_ci_high", "p99", "p99_ci_low", "p99_ci_high"}

_PLAUSIBILITY_METRICS = {"per_token_latency": "tpot_s", "throughput": "throughput_tps"}
"""Published metrics the plausibility check reads -> this table's metric of the same figure."""
_JUDGED_RUN_METRICS = ("tpot_s", "itl_s", "decode_tps", "throughput_tps")
"""A run's metrics the decode ceiling speaks to."""


def _row(**values: Any) -> dict[str, Any]:
    nan = float("nan")
    return {column: values.get(column, nan if column in _NUMBERS else None) for column in STATISTICS_COLUMNS}


def _interval_words(stats: dict[str, Any]) -> str | None:
    """``bootstrap of requests within prompt; one run: interval covers within-run variation only``."""
    method, scope = stats.get("method"), stats.get("scope")
    return "; ".join(part for part in (method, scope) if part) or None


def _run_rows(run: StoredRun, table_row: pd.Series) -> list[dict[str, Any]]:
    imported = run.meta.get("kind") == IMPORTED_KIND
    if imported:  # summarized at import, from its rows or the tool's aggregates
        summary = run.record.summary.model_dump()
    else:
        summary = summarize_requests(successful_requests(summary_requests(run)))
    run_basis = BASIS_IMPORTED if imported else BASIS_MEASURED
    energy_basis = BASIS_ESTIMATED if table_row.get("energy_kind") == "estimated" else BASIS_MEASURED
    common = {
        "source": run.run_id,
        "platform": table_row.get("platform"),
        "model": table_row.get(MODEL_LABEL),
        "comparison_group": table_row.get(COMPARISON_GROUP),
    }
    rows = []
    for spec in METRICS:
        if spec.request_metric is not None:
            stats = summary.get(spec.request_metric) or {}
            rows.append(_row(**common, basis=run_basis, metric=spec.name, label=spec.label, unit=spec.unit,
                             interval=_interval_words(stats), tail_note=stats.get("tail_note") or None,
                             **{k: float_or_nan(stats.get(k)) for k in _NUMBERS}))  # fmt: skip
            continue
        column = spec.table_column
        value = float(table_row.get(column, float("nan")))
        basis, note = run_basis, None
        if spec.name == "energy_per_token_j":
            basis = energy_basis
            note = f"{table_row.get('energy_source')}, boundary {table_row.get('energy_boundary')}" if np.isfinite(value) else "no energy"
        elif spec.name == "cost_per_million_usd":
            # the run's throughput at the profile's assumed price (power estimated when it bills estimated electricity)
            stated = table_row.get("cost_basis")
            basis = stated if isinstance(stated, str) and stated else cost_basis(run_basis)
            note = f"price profile {table_row.get('price_profile')}" if np.isfinite(value) else "no price profile"
        rows.append(_row(**common, basis=basis, metric=spec.name, label=spec.label, unit=spec.unit,
                         n=table_row.get("requests"), median=value, ci_low=float(table_row.get(f"{column}_ci_low", float("nan"))),
                         ci_high=float(table_row.get(f"{column}_ci_high", float("nan"))), note=note,
                         interval=THROUGHPUT_WORDS if np.isfinite(value) and not imported else None))  # fmt: skip
    return rows


THROUGHPUT_WORDS = f"from {THROUGHPUT_METHOD}; {SCOPE_ONE_RUN}"
"""What a run-level value's interval is (throughput, and the energy and cost computed from its replicates)."""


def _published_rows(reference: pd.DataFrame) -> list[dict[str, Any]]:
    by_metric = {spec.published_metric: spec for spec in METRICS if spec.published_metric}
    rows = []
    for _, ref in reference.iterrows():
        spec = by_metric.get(ref["metric"])
        if spec is None:  # power: an input of the article's energy, kept in its own table
            continue
        rows.append(_row(source=ref["platform"], basis=BASIS_PUBLISHED, platform=ref["platform"],
                         model=published_model_label(ref["model_size"]), metric=spec.name, label=spec.label,
                         unit=spec.unit, median=float(ref["value"]) * spec.published_scale,
                         published_kind=ref["kind"], note=ref["source"]))  # fmt: skip
    return rows


def _add_plausibility(frame: pd.DataFrame, plausibility: pd.DataFrame) -> None:
    """Put each plausibility verdict on the rows it judges: a run's decode figures; a published figure's own row."""
    verdicts = plausibility.dropna(subset=["verdict"])
    measured = verdicts[verdicts["label"] == "measured"].groupby("run_id")["verdict"]
    by_run = measured.agg(lambda v: "; ".join(dict.fromkeys(v)))
    is_run = frame["basis"] != BASIS_PUBLISHED
    judged = is_run & frame["metric"].isin(_JUDGED_RUN_METRICS)
    frame.loc[judged, "plausibility"] = frame.loc[judged, "source"].map(by_run)
    for ref in verdicts[verdicts["label"] == "published"].itertuples():
        metric = _PLAUSIBILITY_METRICS.get(ref.metric)
        rows = (~is_run) & (frame["platform"] == ref.platform) & (frame["metric"] == metric) & (
            frame["model"] == published_model_label(ref.model))
        frame.loc[rows, "plausibility"] = ref.verdict


def statistics_table(
    runs: list[StoredRun],
    table: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    plausibility: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """n, median, 95% CI, p95 and p99 of every metric of every run, then the published figures.

    Args:
        runs: The stored runs of the report (:func:`~benchlib.analysis.tables.report_runs`).
        table: Their run table (:func:`~benchlib.analysis.tables.run_table`), for run-level values.
        reference: The published numbers (:func:`~benchlib.analysis.tables.load_reference`), or ``None``.
        plausibility: :func:`~benchlib.analysis.plausibility.plausibility_table`: its verdicts go in
            the ``plausibility`` column (a run's decode figures; a published figure's own row).

    Returns:
        One row per (run or published figure, metric), columns :data:`STATISTICS_COLUMNS`.
    """
    by_id = {row["run_id"]: row for _, row in table.iterrows()} if not table.empty else {}
    rows: list[dict[str, Any]] = []
    for run in runs:
        if run.run_id in by_id:
            rows.extend(_run_rows(run, by_id[run.run_id]))
    if reference is not None:
        rows.extend(_published_rows(reference))
    frame = pd.DataFrame(rows, columns=list(STATISTICS_COLUMNS)).astype({"plausibility": object})
    if plausibility is not None and not plausibility.empty and not frame.empty:
        _add_plausibility(frame, plausibility)
    return frame
