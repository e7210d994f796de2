"""Figures of the analysis notebook: measured runs beside published values, power timeline, load steps.

The comparison bars live here; the distributions (:mod:`~benchlib.analysis.distributions`),
the serving curve and load steps (:mod:`~benchlib.analysis.serving`) and the
Pareto view (:mod:`~benchlib.analysis.pareto`) beside it; :func:`write_figures` writes them all.

Measured runs (``data/runs/``) and the article's published numbers
(``data/reference/``) are drawn in visibly different styles; every bar says
whether it is measured, estimated or published.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchlib.analysis.figure_style import (
    ESTIMATED_COLOR,
    IMPORTED_COLOR,
    MEASURED_COLOR,
    PUBLISHED_COLOR,
    REJECTED_EDGE_COLOR,
    layout_above_legend,
    pyplot,
    save_figure,
)
from benchlib.analysis.claims import REJECTED, claim_status, claim_statuses
from benchlib.analysis.groups import MODEL_LABEL, model_label, published_model_label
from benchlib.analysis.distributions import latency_samples, plot_latency_ecdf
from benchlib.analysis.pareto import pareto_points, plot_pareto
from benchlib.analysis.serving import plot_load_steps, plot_serving_curve, serving_points
from benchlib.analysis.tables import step_table
from benchlib.analysis.thermal import thermal_samples, thermal_trace
from benchlib.records import STATUS_COMPLETE, StoredRun, scan_runs
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
    return row.get("source") == "imported"


def _measured_label(row: pd.Series, extra_column: str | None = None, estimated: bool = False) -> str:
    status = "" if row["status"] == STATUS_COMPLETE else f", {row['status']}"
    extra = f", {extra_column.replace('_', ' ')} {row[extra_column]}" if extra_column else ""
    what = "run here, power ESTIMATED from profile" if estimated else "measured"
    if _is_imported(row):
        version = f" {row['source_tool_version']}" if isinstance(row.get("source_tool_version"), str) else ""
        what = f"IMPORTED from {row['source_tool']}{version}" + (", aggregates only" if row.get("aggregates_only") else "")
    return f"{row['platform']} · {row['model']} · {row['runtime']}\n{what}, n={row['requests']}{status}{extra}"


def comparison_panels(spec: FigureSpec, runs: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """The bars of one comparison figure, one panel per model: what :func:`plot_comparison` draws.

    Measured runs go to the panel of their ``model_label``; published values to
    the panel of their model size (``7B q4 (published)``), so a 135M run and a
    7B published figure never share an unlabelled axis.

    Returns:
        One row per bar: ``panel``, ``label``, ``value``, ``err_low``, ``err_high``
        (whisker lengths, NaN for published) and ``kind`` (``measured``,
        ``estimated`` or ``published``); measured panels first, smaller models first.
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
        kind = "imported" if _is_imported(row) else "estimated" if estimated else "measured"
        where = "imported" if kind == "imported" else "measured here"
        rows.append((f"{panel} · {where}", _measured_label(row, spec.label_column, estimated), value, *whiskers, kind))
    claims = reference[reference["metric"] == spec.reference_metric]
    statuses = claim_statuses(reference) if not claims.empty else {}
    for _, row in claims.iterrows():
        status = claim_status(statuses, row["platform"], row["model_size"], row["metric"])
        label = f"{row['platform']}\npublished claim (article, Jan 2026): {status}"
        rows.append((published_model_label(row["model_size"]), label, float(row["value"]), np.nan, np.nan, "published"))
    return pd.DataFrame(rows, columns=["panel", "label", "value", "err_low", "err_high", "kind"])


_STYLES = {  # kind -> (colour, hatch, legend label)
    "measured": (MEASURED_COLOR, "", "measured here (bar: median or value; whisker: 95% CI)"),
    "estimated": (ESTIMATED_COLOR, "..", "run here, power estimated from the profile (not measured)"),
    "published": (PUBLISHED_COLOR, "//", "published claim (benchmark article, Jan 2026; not measured here, no "
                                         "interval; REJECTED where the plausibility check rejects it)"),
    "imported": (IMPORTED_COLOR, "xx", "imported from llama-bench, vLLM, guidellm or AIPerf (no interval from aggregates)"),
}


def _draw_panel(axes, bars: pd.DataFrame) -> None:
    positions = np.arange(len(bars))[::-1]
    errors = bars[["err_low", "err_high"]].to_numpy().T
    drawn = axes.barh(positions, bars["value"], xerr=errors, color=[_STYLES[k][0] for k in bars["kind"]],
                      edgecolor="#333333", capsize=4)  # fmt: skip
    for bar, kind, label in zip(drawn, bars["kind"], bars["label"]):
        bar.set_hatch(_STYLES[kind][1])
        if REJECTED in label:  # a rejected claim: a red outline as well as the word
            bar.set_edgecolor(REJECTED_EDGE_COLOR)
            bar.set_linewidth(1.5)
    for position, value, above in zip(positions, bars["value"], bars["err_high"]):
        end = value + (above if np.isfinite(above) else 0.0)
        axes.annotate(f"  {value:.3g}", (end, position), va="center", fontsize=8)
    axes.set_yticks(positions, bars["label"], fontsize=8)
    axes.set_ylim(-0.6, len(bars) - 0.4)


def plot_comparison(spec: FigureSpec, runs: pd.DataFrame, reference: pd.DataFrame):
    """Draw one figure: measured runs (with 95% CIs) beside the published values, one panel per model.

    Panels share the log value axis (tick labels fitted by
    :func:`~benchlib.analysis.figure_style.fit_log_ticks`) and are titled with
    the model; see :func:`comparison_panels`.

    Returns:
        The matplotlib ``Figure``.
    """
    from matplotlib.patches import Patch

    plt = pyplot()
    bars = comparison_panels(spec, runs, reference)
    panels = list(dict.fromkeys(bars["panel"])) or ["no measured run and no published value"]
    counts = [max(int((bars["panel"] == p).sum()), 1) for p in panels]
    height = 0.55 * sum(counts) + 0.55 * len(panels) + 1.9
    figure, axes_list = plt.subplots(len(panels), 1, figsize=(9, height), sharex=True, squeeze=False,
                                     gridspec_kw={"height_ratios": counts})  # fmt: skip
    axes_list = list(axes_list[:, 0])
    for axes, panel in zip(axes_list, panels):
        _draw_panel(axes, bars[bars["panel"] == panel])
        axes.set_title(f"model: {panel}", fontsize=8, loc="left")
        axes.set_xscale("log")
    values = bars["value"].to_numpy(dtype=float)
    if len(values):
        lows = values - np.nan_to_num(bars["err_low"].to_numpy(dtype=float))
        axes_list[0].set_xlim(max(lows.min(), values.min() / 10) / 1.5, values.max() * 2.5)
    axes_list[-1].set_xlabel(spec.axis_label)
    figure.suptitle(spec.title, fontsize=10)
    kinds = [k for k in _STYLES if k in set(bars["kind"]) or k not in ("estimated", "imported")]
    legend = [Patch(facecolor=_STYLES[k][0], edgecolor="#333333", hatch=_STYLES[k][1], label=_STYLES[k][2]) for k in kinds]
    figure.legend(handles=legend, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 0.0))
    if not (bars["kind"] != "published").any():
        note = "no complete measured run"
        if spec.output_tokens is not None:
            note += f" with {spec.output_tokens} output tokens per request"
        axes_list[0].text(0.99, 0.99, note, transform=axes_list[0].transAxes, ha="right", va="top", fontsize=8,
                          color="#aa0000")  # fmt: skip
    layout_above_legend(figure, 0.2 * len(kinds) + 0.15)
    return figure


def plot_power_timeline(run: StoredRun):
    """Power samples of one run against time, with its idle and measured windows shaded, and its
    temperature (or, without a temperature sensor, its clock) on a second axis from ``thermal.parquet``.

    A run without power samples (no sensor: its energy is an estimate) says so
    instead of drawing a made-up curve, and still shows its thermal timeline if it has one.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples_file = run.path / "power.parquet"
    samples = pd.read_parquet(samples_file) if samples_file.exists() else pd.DataFrame()
    trace = thermal_trace(thermal_samples(run))
    figure, axes = plt.subplots(figsize=(9, 3.8))
    energy = run.record.summary.energy.model_dump() if run.record.summary.energy is not None else {}
    title = f"Power timeline of run {run.run_id}"
    no_power = (
        "no power samples: this machine has no power sensor\n"
        f"energy figures of this run are {energy.get('kind') or 'not available'}"
        + (f" ({energy.get('source')}, {energy.get('mean_power_w', float('nan')):.3g} W)" if energy.get("valid") else "")
    )
    if samples.empty and trace is None:
        axes.text(0.5, 0.5, no_power, transform=axes.transAxes, ha="center", va="center", fontsize=10, color="#aa0000")
        axes.set_axis_off()
        axes.set_title(title, fontsize=10)
        figure.tight_layout()
        return figure
    latest = samples[samples["attempt"] == samples["attempt"].max()] if not samples.empty else samples
    origin = float(latest["unix_s"].min()) if not latest.empty else float(trace.unix_s.min())
    if latest.empty:  # thermal only: the thermal series takes the main axis
        thermal_axes = axes
        axes.text(0.01, 0.98, no_power, transform=axes.transAxes, ha="left", va="top", fontsize=7, color="#aa0000")
    else:
        column = "power_w" if latest["power_w"].notna().any() else None
        if column is None:  # energy counters: power from the counter's differences
            power = np.diff(latest["energy_j"].to_numpy()) / np.diff(latest["unix_s"].to_numpy())
            times = latest["unix_s"].to_numpy()[1:] - origin
        else:
            power, times = latest["power_w"].to_numpy(), latest["unix_s"].to_numpy() - origin
        axes.plot(times, power, color=MEASURED_COLOR, linewidth=1.2, label=f"{latest['source'].iloc[0]} ({latest['kind'].iloc[0]})")
        axes.set_ylabel("power, W")
        thermal_axes = axes.twinx() if trace is not None else None
    if trace is not None and thermal_axes is not None:
        thermal_axes.plot(trace.unix_s - origin, trace.values, color="#c44e52", linewidth=1.0, marker=".",
                          label=f"{trace.label} (measured)")  # fmt: skip
        thermal_axes.set_ylabel(trace.label)
        if thermal_axes is not axes:
            thermal_axes.legend(fontsize=7, loc="upper right")
    idle = (run.record.power or {}).get("idle")
    if idle:
        axes.axvspan(idle["start_unix_s"] - origin, idle["end_unix_s"] - origin, color="#cccccc", alpha=0.6, label="idle baseline")
    window = energy if energy.get("start_unix_s") is not None else (run.meta.get("thermal") or {}).get("window") or {}
    if window.get("start_unix_s") is not None:
        axes.axvspan(window["start_unix_s"] - origin, window["end_unix_s"] - origin, color="#ffdd99", alpha=0.5,
                     label="measured window (energy per token)")  # fmt: skip
    axes.set_xlabel("seconds since the first sample (model load and warm-up come before the windows)")
    boundary = f" · boundary: {latest['boundary'].iloc[0]}" if not latest.empty else " · no power sensor"
    axes.set_title(f"{title}{boundary}", fontsize=9)
    axes.legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    return figure



class WrittenFigures(list):
    """The paths :func:`write_figures` wrote (a ``list[Path]``), and in ``skipped`` the figures it did not write, with why."""

    def __init__(self, paths=(), skipped: dict[str, str] | None = None) -> None:
        super().__init__(paths)
        self.skipped: dict[str, str] = dict(skipped or {})


def _save(figure, path: Path, paths: list[Path], tight: bool = True) -> None:
    paths.append(save_figure(figure, path, tight))


def write_figures(
    runs: pd.DataFrame, reference: pd.DataFrame, figures_dir: str | Path, runs_dir: str | Path | None = None
) -> WrittenFigures:
    """Write the report's figures for complete runs and return their paths.

    Always: every figure of :data:`FIGURES` (one panel per model) and
    ``pareto.png``. With ``runs_dir``: ``latency_ecdf.png``; for runs with
    load steps ``load_steps.png``, ``load_steps.csv`` and, with a complete
    closed-loop step, ``serving_curve.png``; and the power timeline of the
    latest complete run that has power samples (else thermal samples, else the latest).

    A figure with nothing to show is not written, and a stale copy from an
    earlier report is removed: the result's ``skipped`` maps its file name to why
    (``{"serving_curve.png": "no load-step run with a complete closed-loop step"}``).

    Returns:
        :class:`WrittenFigures`: the written paths, with ``skipped``.
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    complete = runs[runs["status"] == STATUS_COMPLETE] if not runs.empty else runs
    paths: list[Path] = []
    skipped: dict[str, str] = {}
    for spec in FIGURES:
        _save(plot_comparison(spec, complete, reference), figures_dir / spec.filename, paths)
    _save(plot_pareto(pareto_points(complete, reference)), figures_dir / "pareto.png", paths)
    if runs_dir is None:
        skipped.update(dict.fromkeys(("latency_ecdf.png", "serving_curve.png", "power_timeline.png"), "no runs_dir given"))
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
    stored = [run for run in scan_runs(runs_dir).runs if run.status == STATUS_COMPLETE]
    with_power = [run for run in stored if (run.path / "power.parquet").exists()]
    with_thermal = [run for run in stored if (run.path / THERMAL_FILE).exists()]
    for run in (with_power or with_thermal or stored)[-1:]:
        _save(plot_power_timeline(run), figures_dir / "power_timeline.png", paths, tight=False)
    return WrittenFigures(paths, skipped)
