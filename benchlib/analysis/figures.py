"""Figures of the analysis notebook: measured runs beside published values, power timeline, load steps.

Measured runs (``data/runs/``) and the article's published numbers
(``data/reference/``) are drawn in visibly different styles; every bar says
whether it is measured, estimated or published.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchlib.analysis.tables import step_table
from benchlib.analysis.thermal import thermal_samples, thermal_trace
from benchlib.records import STATUS_COMPLETE, StoredRun, scan_runs

__all__ = [
    "E2E_OUTPUT_TOKENS",
    "ESTIMATED_COLOR",
    "FIGURES",
    "MEASURED_COLOR",
    "PUBLISHED_COLOR",
    "FigureSpec",
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

MEASURED_COLOR = "#1f77b4"
ESTIMATED_COLOR = "#9ecae1"
PUBLISHED_COLOR = "#bbbbbb"


def _measured_label(row: pd.Series, extra_column: str | None = None, estimated: bool = False) -> str:
    status = "" if row["status"] == STATUS_COMPLETE else f", {row['status']}"
    extra = f", {extra_column.replace('_', ' ')} {row[extra_column]}" if extra_column else ""
    what = "run here, power ESTIMATED from profile" if estimated else "measured"
    return (
        f"{row['platform']} · {row['model']} ({row['model_params_m']:g}M {row['quantization']})"
        f"\n{what}, n={row['requests']}{status}{extra}"
    )


def plot_comparison(spec: FigureSpec, runs: pd.DataFrame, reference: pd.DataFrame):
    """Draw one figure: measured runs (with 95% CIs) beside the published values.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = runs
    if not measured.empty and spec.output_tokens is not None:
        measured = measured[measured["output_tokens_per_request"] == spec.output_tokens]
    if not measured.empty:
        measured = measured[np.isfinite(measured[spec.measured_column].astype(float))]
    published = reference[reference["metric"] == spec.reference_metric]

    labels: list[str] = []
    values: list[float] = []
    errors: list[tuple[float, float]] = []
    colors: list[str] = []
    hatches: list[str] = []
    for _, row in measured.iterrows():
        value = float(row[spec.measured_column])
        low, high = (float(row[c]) for c in spec.measured_ci)
        estimated = spec.kind_column is not None and row[spec.kind_column] == "estimated"
        labels.append(_measured_label(row, spec.label_column, estimated))
        values.append(value)
        errors.append((max(value - low, 0.0), max(high - value, 0.0)) if np.isfinite(low) else (0.0, 0.0))
        colors.append(ESTIMATED_COLOR if estimated else MEASURED_COLOR)
        hatches.append(".." if estimated else "")
    for _, row in published.iterrows():
        labels.append(f"{row['platform']} · {row['model_size']}\npublished (article, Jan 2026, {row['kind']})")
        values.append(float(row["value"]))
        errors.append((np.nan, np.nan))  # published values carry no interval: no whisker
        colors.append(PUBLISHED_COLOR)
        hatches.append("//")

    height = max(3.0, 0.62 * len(labels) + 1.8)
    figure, axes = plt.subplots(figsize=(9, height))
    positions = np.arange(len(labels))[::-1]
    bars = axes.barh(
        positions,
        values,
        xerr=np.array(errors).T if errors else None,
        color=colors,
        edgecolor="#333333",
        capsize=4,
    )
    for bar, hatch in zip(bars, hatches):
        bar.set_hatch(hatch)
    for position, value, (_, above) in zip(positions, values, errors):
        end = value + (above if np.isfinite(above) else 0.0)
        axes.annotate(f"  {value:.3g}", (end, position), va="center", fontsize=8)
    axes.set_yticks(positions, labels, fontsize=8)
    axes.set_xscale("log")
    if values:
        axes.set_xlim(right=max(values) * 2.5)
    axes.set_xlabel(spec.axis_label)
    axes.set_title(spec.title, fontsize=10)
    from matplotlib.patches import Patch

    legend = [
        Patch(facecolor=MEASURED_COLOR, edgecolor="#333333", label="measured here (bar: median or value; whisker: 95% CI)"),
        Patch(facecolor=PUBLISHED_COLOR, edgecolor="#333333", hatch="//", label="published (benchmark article, Jan 2026)"),
    ]
    if ESTIMATED_COLOR in colors:
        legend.insert(1, Patch(facecolor=ESTIMATED_COLOR, edgecolor="#333333", hatch="..",
                               label="run here, power estimated from the profile (not measured)"))  # fmt: skip
    axes.legend(handles=legend, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.12 * 5 / height), ncol=1)
    if measured.empty:
        note = "no complete measured run"
        if spec.output_tokens is not None:
            note += f" with {spec.output_tokens} output tokens per request"
        axes.text(0.99, 0.99, note, transform=axes.transAxes, ha="right", va="top", fontsize=8, color="#aa0000")
    figure.tight_layout()
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



def plot_load_steps(steps: pd.DataFrame):
    """Throughput and latency percentiles against concurrency (closed loop) for every http run.

    Returns:
        The matplotlib ``Figure``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    closed = steps[(steps["mode"] == "closed") & (steps["status"] == "complete")]
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4))
    for run_id, data in closed.groupby("run_id"):
        data = data.sort_values("concurrency")
        label = f"{data['platform'].iloc[0]} · {data['model'].iloc[0]} ({run_id[-10:]})"
        left.plot(data["concurrency"], data["throughput_tps"], "o-", label=label)
        for axes, metric, scale in ((middle, "ttft_s", 1e3), (right, "tpot_s", 1e3)):
            line = axes.plot(data["concurrency"], data[f"{metric}_median"] * scale, "o-", label=f"{label} p50")[0]
            for field, style in (("p95", "--"), ("p99", ":")):
                axes.plot(data["concurrency"], data[f"{metric}_{field}"] * scale, style, color=line.get_color(),
                          label=f"p{field[1:]}")  # fmt: skip
    left.set_title("output throughput (measured)", fontsize=9)
    left.set_ylabel("tokens per second")
    middle.set_title("time to first token: p50 (solid), p95 (dashed), p99 (dotted)", fontsize=9)
    middle.set_ylabel("ms")
    right.set_title("time per output token: p50, p95, p99", fontsize=9)
    right.set_ylabel("ms")
    for axes in (left, middle, right):
        axes.set_xscale("log", base=2)
        axes.set_xlabel("concurrent streams (closed loop)")
        axes.grid(True, alpha=0.3)
    if closed.empty:
        middle.text(0.5, 0.5, "no http run with closed-loop steps", transform=middle.transAxes, ha="center")
    else:
        left.legend(fontsize=6)
    figure.tight_layout()
    return figure


def write_figures(
    runs: pd.DataFrame, reference: pd.DataFrame, figures_dir: str | Path, runs_dir: str | Path | None = None
) -> list[Path]:
    """Write every figure of :data:`FIGURES` for complete runs, and with ``runs_dir`` the power
    timeline of the latest complete run that has power samples (else the latest); return the paths."""
    import matplotlib.pyplot as plt

    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    complete = runs[runs["status"] == STATUS_COMPLETE] if not runs.empty else runs
    paths = []
    for spec in FIGURES:
        figure = plot_comparison(spec, complete, reference)
        path = figures_dir / spec.filename
        figure.savefig(path, dpi=120, bbox_inches="tight")
        plt.close(figure)
        paths.append(path)
    if runs_dir is not None:
        steps = step_table(runs_dir)
        if not steps.empty:
            figure = plot_load_steps(steps)
            path = figures_dir / "load_steps.png"
            figure.savefig(path, dpi=120)
            plt.close(figure)
            paths.append(path)
            steps.to_csv(figures_dir / "load_steps.csv", index=False)
            paths.append(figures_dir / "load_steps.csv")
        stored = [run for run in scan_runs(runs_dir).runs if run.status == STATUS_COMPLETE]
        with_samples = [run for run in stored if (run.path / "power.parquet").exists()]
        chosen = (with_samples or stored)[-1:] if stored else []
        for run in chosen:
            figure = plot_power_timeline(run)
            path = figures_dir / "power_timeline.png"
            figure.savefig(path, dpi=120)
            plt.close(figure)
            paths.append(path)
    return paths
