"""What the HTML report shows, section by section: the tables (and the columns kept), the figures and their captions.

:mod:`benchlib.report_html.build` reads the files named here from the figures folder; the order of
:data:`REPORT_SECTIONS` is the order of the report.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["FIGURE_CAPTIONS", "FIGURE_SECTION", "REPORT_SECTIONS", "WRITTEN_BY", "SectionSpec", "TableSpec"]


@dataclass(frozen=True)
class TableSpec:
    """One CSV of the figures folder shown as a table: ``columns`` kept in this order (those present), all if empty."""

    file: str
    title: str
    columns: tuple[str, ...] = ()
    max_rows: int = 200


@dataclass(frozen=True)
class SectionSpec:
    """One ``<section>`` of the report: its id, heading, the Markdown file whose prose opens it, its tables."""

    id: str
    title: str
    intro_md: str = ""
    tables: tuple[TableSpec, ...] = field(default_factory=tuple)


WRITTEN_BY: dict[str, str] = {
    "decision": "notebooks/decision.ipynb (benchlib.decision)",
    "hybrid": "notebooks/decision.ipynb (benchlib.decision.hybrid_plot)",
    "cost_model": "notebooks/cost_model.ipynb (benchlib.cost)",
    "break_even": "notebooks/cost_model.ipynb (benchlib.cost)",
}
"""Which notebook writes the files whose name starts with the key (the rest: notebooks/analysis.ipynb)."""

_DECISION_COLUMNS = (
    "rank", "candidate", "class", "source", "model", "variant", "qualifies", "recommended", "why",
    "capacity_streams", "peak_devices", "peak_utilization", "peak_wait_p95_s", "ttft_at_percentile_s",
    "tpot_at_percentile_s", "cost_per_day_usd", "cost_per_day_usd_ci_low", "cost_per_day_usd_ci_high",
    "usd_per_million_output_tokens", "evidence_doubt",
)  # fmt: skip

REPORT_SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec("decision", "Decision"),
    SectionSpec("candidates", "Candidates and their evidence basis",
                tables=(TableSpec("decision.csv", "Every candidate and variant (decision.csv)", _DECISION_COLUMNS),
                        TableSpec("decision_sensitivity.csv", "Sensitivity of the ranking (decision_sensitivity.csv)"),
                        TableSpec("prediction_validation_summary.csv",
                                  "How well the performance model predicts published measurements "
                                  "(prediction_validation_summary.csv)"))),
    SectionSpec("runs", "Measured runs and their intervals", intro_md="summary.md",
                tables=(TableSpec("summary.csv", "Medians, p95 and p99 with their 95% intervals (summary.csv)",
                                  ("source", "basis", "platform", "model", "label", "unit", "n", "median", "ci_low",
                                   "ci_high", "p95", "p95_ci_low", "p95_ci_high", "p99", "p99_ci_low", "p99_ci_high",
                                   "interval", "tail_note", "plausibility", "note")),
                        TableSpec("conditions.csv", "Conditions measured as repeats (conditions.csv)"))),
    SectionSpec("plausibility", "Plausibility verdicts",
                tables=(TableSpec("plausibility.csv", "Every figure against its bandwidth ceiling (plausibility.csv)",
                                  ("label", "name", "platform", "model", "metric", "figure_tps", "figure_kind",
                                   "bandwidth_gb_s", "bandwidth_basis", "ceiling_tps", "percent_of_ceiling", "verdict",
                                   "evidence_ceiling_tps", "evidence_tps", "evidence_tps_low", "evidence_tps_high",
                                   "evidence_basis")),)),
    SectionSpec("comparisons", "Comparisons", intro_md="comparisons.md",
                tables=(TableSpec("comparisons.csv", "Run against run, metric by metric (comparisons.csv)"),)),
    SectionSpec("cost", "Cost and break-even", intro_md="cost_model.md",
                tables=(TableSpec("cost_model.csv", "Cost at full utilization (cost_model.csv)"),
                        TableSpec("break_even.csv", "Break-even of edge against cloud (break_even.csv)"),
                        TableSpec("cost_model_article_claims.csv",
                                  "The article's own arithmetic, reproduced (cost_model_article_claims.csv)"))),
    SectionSpec("hybrid", "Hybrid what-if: edge devices in front of the cloud",
                tables=(TableSpec("hybrid.csv", "Edge devices, share served at the edge, cost and targets (hybrid.csv)"),)),
    SectionSpec("provenance", "Provenance of every number"),
)  # fmt: skip

FIGURE_SECTION: dict[str, str] = {
    "decision_sensitivity.png": "candidates",
    "prediction_validation.png": "candidates",
    "plausibility.png": "plausibility",
    "cost_per_million_tokens.png": "cost",
    "cost_vs_utilization.png": "cost",
    "break_even.png": "cost",
    "hybrid.png": "hybrid",
}
"""The section a figure belongs to; any other PNG goes with the measured runs."""

FIGURE_CAPTIONS: dict[str, str] = {
    "break_even.png": "cost per million tokens of edge and cloud against utilization, and where they cross",
    "cost_per_million_tokens.png": "cost per million output tokens, measured runs beside the published values",
    "cost_vs_utilization.png": "cost per million tokens as the devices' utilization falls",
    "decision_sensitivity.png": "tornado: the daily cost of each candidate at the ends of each input's range",
    "e2e_128_tokens.png": "end-to-end time for 128 output tokens, with 95% intervals, beside the published values",
    "energy_per_token.png": "energy per output token, with 95% intervals, beside the published values",
    "hybrid.png": "total daily cost and attainment of the targets as edge devices take a share of the requests",
    "latency_ecdf.png": "empirical distribution of the per-request latencies of each run",
    "load_steps.png": "latency and throughput at each load step of the load-step runs",
    "pareto.png": "cost against speed: the platforms no other beats on both",
    "per_token_latency.png": "per-token latency, with 95% intervals, beside the published values",
    "plausibility.png": "each throughput figure as a share of its memory-bandwidth ceiling",
    "power_timeline.png": "power (or temperature) over the latest complete run",
    "prediction_validation.png": "the performance model's predictions against published measurements",
    "rates_by_depth.png": "rates at each context depth of a depth-grid run",
    "serving_curve.png": "throughput against latency over the closed-loop load steps",
    "throughput.png": "decode throughput, with 95% intervals, beside the published values",
    "ttft_by_turn.png": "time to first token by conversation turn",
}
"""What each figure of the report notebooks shows (the caption after the file name)."""
