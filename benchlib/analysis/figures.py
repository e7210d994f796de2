"""Figures of the analysis notebook: measured runs beside published values, power timeline, load steps.

The comparison figures live here; the distributions (:mod:`~benchlib.analysis.distributions`),
the serving curve and load steps (:mod:`~benchlib.analysis.serving`), the
Pareto view (:mod:`~benchlib.analysis.pareto`) and the power timeline
(:mod:`~benchlib.analysis.power_timeline`) beside it; :func:`write_figures` writes them all.

Measured runs (``data/runs/``) and the article's published numbers
(``data/reference/``) are drawn in visibly different styles; every point says
whether it is measured, estimated, imported or published, and a published claim
the plausibility check rejects is a red cross named implausible. Values are
points with interval whiskers on a log axis, never bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchlib.analysis.basis import BASIS_ESTIMATED, BASIS_IMPORTED, BASIS_MEASURED, BASIS_PUBLISHED, cost_basis
from benchlib.analysis.claims import REJECTED, claim_status, claim_statuses
from benchlib.analysis.distributions import latency_samples, plot_latency_ecdf
from benchlib.analysis.figure_style import (
    ESTIMATED_COLOR,
    IMPLAUSIBLE_LABEL,
    IMPLAUSIBLE_MARKER,
    IMPORTED_COLOR,
    MEASURED_COLOR,
    MIN_FONT_PT,
    PUBLISHED_COLOR,
    REJECTED_EDGE_COLOR,
    layout_above_legend,
    pyplot,
    save_figure,
)
from benchlib.analysis.groups import MODEL_LABEL, model_label, published_model_label
from benchlib.analysis.pareto import pareto_points, plot_pareto
from benchlib.analysis.power_timeline import plot_power_timeline
from benchlib.analysis.serving import plot_load_steps, plot_serving_curve, serving_points
from benchlib.analysis.tables import step_table
from benchlib.analysis.workload_figures import cell_table, plot_rates_by_depth, plot_ttft_by_turn, turn_table
from benchlib.records import IMPORTED_KIND, RunStatus, scan_runs
from benchlib.records.directory import THERMAL_FILE

__all__ = [
    "E2E_OUTPUT_TOKENS",
    "ESTIMATED_COLOR",
    "FIGURES",
    "MEASURED_COLOR",
    "PUBLISHED_COLOR",
    "FigureSpec",
    "WrittenFigures",
    "comparison_panels",
    "plot_comparison",
    "plot_load_steps",
    "plot_power_timeline",
    "write_figures",
]

E2E_OUTPUT_TOKENS = 128


@dataclass(frozen=True)
class FigureSpec:
    """One comparison figure.

    Attributes:
        filename: PNG file name under the figures folder.
        title: Figure title.
        axis_label: Label of the value axis, with its unit.
        reference_metric: ``metric`` in the reference CSV.
        measured_column: Column of :func:`run_table` with the median or value.
        measured_ci: Columns with the interval ends.
        output_tokens: Only runs with this many output tokens per request are
            comparable (``None``: any).
        label_column: A run-table column whose value is added to measured labels.
        kind_column: A run-table column saying ``measured`` or ``estimated``;
            estimated values are drawn in a distinct style and labelled so.
        priced: The values are a throughput priced at a price profile's assumed
            prices; labels and legend say ``measured throughput × assumed price``, never ``measured``.
    """

    filename: str
    title: str
    axis_label: str
    reference_metric: str
    measured_column: str
    measured_ci: tuple[str, str]
    output_tokens: int | None = None
    label_column: str | None = None
    kind_column: str | None = None
    priced: bool = False


FIGURES: tuple[FigureSpec, ...] = (
    FigureSpec(
        "per_token_latency.png",
        "Per-token latency (time per output token; lower is better)",
        "ms per token (log scale)",
        "per_token_latency",
        "tpot_ms_median",
        ("tpot_ms_ci_low", "tpot_ms_ci_high"),
    ),
    FigureSpec(
        "e2e_128_tokens.png",
        f"End-to-end latency of a {E2E_OUTPUT_TOKENS}-token response (lower is better)",
        "seconds (log scale)",
        "e2e_128_tokens",
        "e2e_s_median",
        ("e2e_s_ci_low", "e2e_s_ci_high"),
        output_tokens=E2E_OUTPUT_TOKENS,
    ),
    FigureSpec(
        "throughput.png",
        "Throughput, one stream (higher is better)",
        "output tokens per second (log scale)",
        "throughput",
        "throughput_tps",
        ("throughput_tps_ci_low", "throughput_tps_ci_high"),
    ),
    FigureSpec(
        "cost_per_million_tokens.png",
        "Cost per million output tokens at full utilization (lower is better)",
        "USD per million tokens (log scale)",
        "cost_per_million_tokens",
        "cost_per_million_usd",
        ("cost_per_million_usd_ci_low", "cost_per_million_usd_ci_high"),
        label_column="price_profile",
        priced=True,
    ),
    FigureSpec(
        "energy_per_token.png",
        "Energy per output token, gross (lower is better)",
        "joules per token (log scale)",
        "energy_per_token",
        "energy_per_token_j",
        ("energy_per_token_j_ci_low", "energy_per_token_j_ci_high"),
        label_column="energy_source",
        kind_column="energy_kind",
    ),
)

def _is_imported(row: pd.Series) -> bool:
    return row.get("source") == IMPORTED_KIND


def _measured_label(row: pd.Series, extra_column: str | None = None, estimated: bool = False, priced: bool = False) -> str:
    status = "" if row["status"] == RunStatus.COMPLETE else f", {row['status']}"
    extra = f", {extra_column.replace('_', ' ')} {row[extra_column]}" if extra_column else ""
    what = "run here, power ESTIMATED from profile" if estimated else "measured"
    if _is_imported(row):
        version = f" {row['source_tool_version']}" if isinstance(row.get("source_tool_version"), str) else ""
        what = f"IMPORTED from {row['source_tool']}{version}" + (", aggregates only" if row.get("aggregates_only") else "")
    if priced:  # a cost is a throughput at an assumed price, never simply measured
        basis = row.get("cost_basis")
        priced_as = basis if isinstance(basis, str) and basis else cost_basis()
        what = f"{what.split(',')[0]}: {priced_as}" if _is_imported(row) else priced_as
    return f"{row['platform']} · {row['model']} · {row['runtime']}\n{what}, n={row['requests']}{status}{extra}"


def comparison_panels(spec: FigureSpec, runs: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """The points of one comparison figure, one panel per model: what :func:`plot_comparison` draws.

    Measured runs go to the panel of their ``model_label``; published values to
    the panel of their model size (``7B q4 (published)``), so a 135M run and a
    7B published figure never share an unlabelled axis.

    Returns:
        One row per point: ``panel``, ``label``, ``value``, ``err_low``, ``err_high``
        (whisker lengths, NaN for published), ``kind`` (``measured``,
        ``estimated``, ``imported`` or ``published``) and ``implausible`` (a
        published claim the plausibility check rejects); measured panels first, smaller models first.
    """
    measured = runs
    if not measured.empty and spec.output_tokens is not None:
        measured = measured[measured["output_tokens_per_request"] == spec.output_tokens]
    if not measured.empty:
        measured = measured[np.isfinite(measured[spec.measured_column].astype(float))]
        measured = measured.sort_values(["model_params_m", "run_id"], kind="stable")
    rows = []
    for _, row in measured.iterrows():
        value = float(row[spec.measured_column])
        low, high = (float(row[c]) for c in spec.measured_ci)
        estimated = spec.kind_column is not None and row[spec.kind_column] == "estimated"
        whiskers = (max(value - low, 0.0), max(high - value, 0.0)) if np.isfinite(low) else (0.0, 0.0)
        panel = row[MODEL_LABEL] if MODEL_LABEL in row.index else model_label(row)
        kind = BASIS_IMPORTED if _is_imported(row) else BASIS_ESTIMATED if estimated else BASIS_MEASURED
        where = "imported" if kind == BASIS_IMPORTED else "measured here"
        label = _measured_label(row, spec.label_column, estimated, priced=spec.priced)
        rows.append((f"{panel} · {where}", label, value, *whiskers, kind, False))
    claims = reference[reference["metric"] == spec.reference_metric]
    statuses = claim_statuses(reference) if not claims.empty else {}
    for _, row in claims.iterrows():
        status = claim_status(statuses, row["platform"], row["model_size"], row["metric"])
        label = f"{row['platform']}\npublished claim (article, Jan 2026): {status}"
        rows.append((published_model_label(row["model_size"]), label, float(row["value"]), np.nan, np.nan, BASIS_PUBLISHED,
                     REJECTED in status))  # fmt: skip
    return pd.DataFrame(rows, columns=["panel", "label", "value", "err_low", "err_high", "kind", "implausible"])


_STYLES = {  # kind -> (colour, marker, legend label)
    "measured": (MEASURED_COLOR, "o", "measured here (point: median or value; whisker: 95% CI)"),
    "estimated": (ESTIMATED_COLOR, "s", "run here, power estimated from the profile (not measured)"),
    BASIS_IMPORTED: (IMPORTED_COLOR, "D", "imported from llama-bench, vLLM, guidellm or AIPerf (no interval from aggregates)"),
    BASIS_PUBLISHED: (PUBLISHED_COLOR, "d", "published claim (benchmark article, Jan 2026; not measured here, no interval)"),
    "implausible": (REJECTED_EDGE_COLOR, IMPLAUSIBLE_MARKER, IMPLAUSIBLE_LABEL),
}
_MARKER_SIZE = 8


def _style_key(point: pd.Series) -> str:
    return "implausible" if point["kind"] == BASIS_PUBLISHED and point["implausible"] else point["kind"]


def _draw_panel(axes, points: pd.DataFrame) -> None:
    """One point per row, whiskers where there is an interval, its value beside it: no bar (the axis is logarithmic)."""
    positions = np.arange(len(points))[::-1]
    for position, (_, point) in zip(positions, points.iterrows()):
        key = _style_key(point)
        colour, marker, _ = _STYLES[key]
        whiskers = None
        if np.isfinite(point["err_low"]) and (point["err_low"] > 0 or point["err_high"] > 0):
            whiskers = [[point["err_low"]], [point["err_high"]]]
        drawn = axes.errorbar([point["value"]], [position], xerr=whiskers, fmt=marker, color="#333333", ecolor="#333333",
                              markerfacecolor=colour, markeredgecolor="#333333" if key != "implausible" else colour,
                              markersize=_MARKER_SIZE, capsize=4, elinewidth=1.2)  # fmt: skip
        drawn.lines[0].set_gid(f"point:{key}")
        end = point["value"] + (point["err_high"] if np.isfinite(point["err_high"]) else 0.0)
        axes.annotate(f"{point['value']:.3g}", (end, position), xytext=(8, 0), textcoords="offset points", va="center",
                      fontsize=MIN_FONT_PT)  # fmt: skip
    axes.set_yticks(positions, points["label"], fontsize=MIN_FONT_PT)
    axes.set_ylim(-0.6, len(points) - 0.4)
    axes.grid(True, axis="x", which="major", alpha=0.3)


def plot_comparison(spec: FigureSpec, runs: pd.DataFrame, reference: pd.DataFrame):
    """Draw one figure: measured runs (points with 95% CI whiskers) beside the published values, one panel per model.

    Panels share the log value axis (tick labels fitted by
    :func:`~benchlib.analysis.figure_style.fit_log_ticks`) and are titled with
    the model; see :func:`comparison_panels`. Values are points, never bars: a
    bar's length on a log axis would misstate every ratio. A published claim
    the plausibility check rejects is a red cross, named implausible in the legend.

    Returns:
        The matplotlib ``Figure``; each point's line has the gid ``point:KIND``
        (``measured``, ``estimated``, ``imported``, ``published`` or ``implausible``).
    """
    from matplotlib.lines import Line2D

    plt = pyplot()
    points = comparison_panels(spec, runs, reference)
    panels = list(dict.fromkeys(points["panel"])) or ["no measured run and no published value"]
    counts = [max(int((points["panel"] == p).sum()), 1) for p in panels]
    height = 0.55 * sum(counts) + 0.55 * len(panels) + 1.9
    figure, axes_list = plt.subplots(len(panels), 1, figsize=(9, height), sharex=True, squeeze=False,
                                     gridspec_kw={"height_ratios": counts})  # fmt: skip
    axes_list = list(axes_list[:, 0])
    for axes, panel in zip(axes_list, panels):
        _draw_panel(axes, points[points["panel"] == panel])
        axes.set_title(f"model: {panel}", fontsize=MIN_FONT_PT, loc="left")
        axes.set_xscale("log")
    values = points["value"].to_numpy(dtype=float)
    if len(values):
        lows = values - np.nan_to_num(points["err_low"].to_numpy(dtype=float))
        highs = values + np.nan_to_num(points["err_high"].to_numpy(dtype=float))
        axes_list[0].set_xlim(max(lows.min(), values.min() / 10) / 1.5, highs.max() * 2.5)
    axes_list[-1].set_xlabel(spec.axis_label)
    figure.suptitle(spec.title, fontsize=10)
    keys = {_style_key(point) for _, point in points.iterrows()} | {"measured"}
    labels = {k: label for k, (_, _, label) in _STYLES.items()}
    if spec.priced:
        labels["measured"] = f"{cost_basis()} (point: median or value; whisker: 95% CI)"
    handles = [Line2D([], [], linestyle="none", marker=_STYLES[k][1], markersize=_MARKER_SIZE, markerfacecolor=_STYLES[k][0],
                      markeredgecolor=_STYLES[k][0] if k == "implausible" else "#333333", label=labels[k])
               for k in _STYLES if k in keys]  # fmt: skip
    figure.legend(handles=handles, fontsize=MIN_FONT_PT, loc="lower center", bbox_to_anchor=(0.5, 0.0))
    if not (points["kind"] != BASIS_PUBLISHED).any():
        note = "no complete measured run"
        if spec.output_tokens is not None:
            note += f" with {spec.output_tokens} output tokens per request"
        axes_list[0].text(0.99, 0.99, note, transform=axes_list[0].transAxes, ha="right", va="top", fontsize=MIN_FONT_PT,
                          color="#aa0000")  # fmt: skip
    layout_above_legend(figure, 0.2 * len(handles) + 0.15)
    return figure


class WrittenFigures(list):
    """The paths :func:`write_figures` wrote (a ``list[Path]``), and in ``skipped`` the figures it did not write, with why."""

    def __init__(self, paths=(), skipped: dict[str, str] | None = None) -> None:
        super().__init__(paths)
        self.skipped: dict[str, str] = dict(skipped or {})


def _save(figure, path: Path, paths: list[Path], tight: bool = True) -> None:
    paths.append(save_figure(figure, path, tight))


def _workload_figures(runs_dir: str | Path, figures_dir: Path, paths: list[Path], skipped: dict[str, str]) -> None:
    """``ttft_by_turn.png`` and ``rates_by_depth.png`` when some run has conversations or a depth grid."""
    turns = turn_table(runs_dir)
    cells = cell_table(runs_dir)
    if not cells.empty:
        cells = cells[cells.groupby("run_id")["context_depth"].transform("nunique") > 1]
    for name, table, plot, why in (
        ("ttft_by_turn.png", turns, plot_ttft_by_turn, "no run with conversations (prompts: conversation)"),
        ("rates_by_depth.png", cells, plot_rates_by_depth, "no run with several context_depth values"),
    ):
        if table.empty:
            skipped[name] = why
            (figures_dir / name).unlink(missing_ok=True)
        else:
            _save(plot(table), figures_dir / name, paths)


def write_figures(
    runs: pd.DataFrame, reference: pd.DataFrame, figures_dir: str | Path, runs_dir: str | Path | None = None
) -> WrittenFigures:
    """Write the report's figures for complete runs and return their paths.

    Always: every figure of :data:`FIGURES` (one panel per model) and
    ``pareto.png``. With ``runs_dir``: ``latency_ecdf.png``; for runs with
    load steps ``load_steps.png``, ``load_steps.csv`` and, with a complete
    closed-loop step, ``serving_curve.png``; with conversations
    ``ttft_by_turn.png``, with a context-depth grid ``rates_by_depth.png``
    (:mod:`~benchlib.analysis.workload_figures`); and the power timeline of the
    latest complete run that has power samples (else thermal samples, else the latest).

    A figure with nothing to show is not written, and a stale copy from an
    earlier report is removed: the result's ``skipped`` maps its file name to why
    (``{"serving_curve.png": "no load-step run with a complete closed-loop step"}``).

    Returns:
        :class:`WrittenFigures`: the written paths, with ``skipped``.
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    complete = runs[runs["status"] == RunStatus.COMPLETE] if not runs.empty else runs
    paths: list[Path] = []
    skipped: dict[str, str] = {}
    for spec in FIGURES:
        _save(plot_comparison(spec, complete, reference), figures_dir / spec.filename, paths)
    _save(plot_pareto(pareto_points(complete, reference)), figures_dir / "pareto.png", paths)
    if runs_dir is None:
        skipped.update(dict.fromkeys(("latency_ecdf.png", "serving_curve.png", "power_timeline.png", "ttft_by_turn.png",
                                      "rates_by_depth.png"), "no runs_dir given"))  # fmt: skip
        return WrittenFigures(paths, skipped)
    _save(plot_latency_ecdf(latency_samples(runs_dir, complete)), figures_dir / "latency_ecdf.png", paths)
    steps = step_table(runs_dir)
    if not steps.empty:
        _save(plot_load_steps(steps), figures_dir / "load_steps.png", paths, tight=False)
        steps.to_csv(figures_dir / "load_steps.csv", index=False)
        paths.append(figures_dir / "load_steps.csv")
    if serving_points(steps).empty:
        skipped["serving_curve.png"] = "no load-step run with a complete closed-loop step"
        (figures_dir / "serving_curve.png").unlink(missing_ok=True)
    else:
        _save(plot_serving_curve(steps), figures_dir / "serving_curve.png", paths)
    _workload_figures(runs_dir, figures_dir, paths, skipped)
    stored = [run for run in scan_runs(runs_dir).runs if run.status == RunStatus.COMPLETE]
    with_power = [run for run in stored if (run.path / "power.parquet").exists()]
    with_thermal = [run for run in stored if (run.path / THERMAL_FILE).exists()]
    for run in (with_power or with_thermal or stored)[-1:]:
        _save(plot_power_timeline(run), figures_dir / "power_timeline.png", paths, tight=False)
    return WrittenFigures(paths, skipped)
