"""Distributions, not only medians: ECDFs of per-token latency, TTFT and inter-token gaps per run.

The samples are the successful requests a run's summary describes
(:func:`~benchlib.analysis.tables.summary_requests`: every request of a
sequential run, the first load step of an ``http`` run); inter-token gaps are
each request's ``itl_s`` list exploded into one row per gap.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from textwrap import fill

import numpy as np
import pandas as pd

from benchlib.analysis.figure_style import MIN_FONT_PT, layout_above_legend, pyplot
from benchlib.analysis.groups import MODEL_LABEL
from benchlib.analysis.tables import report_runs, summary_requests
from benchlib.metrics import successful_requests

__all__ = ["ECDF_METRICS", "latency_samples", "latency_samples_of", "plot_latency_ecdf"]

ECDF_METRICS: tuple[str, ...] = ("per-token latency", "time to first token", "inter-token gap")
"""The panels of :func:`plot_latency_ecdf`, left to right (values in ms)."""
_TITLE_CHARS = 60
"""A panel title's model line is wrapped at this many characters (a third of the figure's width at 8 pt)."""


def latency_samples_of(requests: pd.DataFrame, run_id: str, run_label: str, model: str) -> pd.DataFrame:
    """Long-form latency samples (ms) of one run's successful requests.

    Args:
        requests: Rows of ``requests.parquet`` (``ttft_s``, ``tpot_s``, ``itl_s``).
        run_id: The run's id.
        run_label: How the figure names the run (``platform · runtime · run id``).
        model: The run's model label (one panel row per model).

    Returns:
        Columns ``run_id``, ``run_label``, ``model_label``, ``metric`` (one of
        :data:`ECDF_METRICS`) and ``value_ms``; non-finite values dropped.
    """
    requests = successful_requests(requests)
    columns = ["run_id", "run_label", "model_label", "metric", "value_ms"]
    if requests.empty:  # a run imported as aggregates only has no samples to draw
        return pd.DataFrame(columns=columns)
    parts = [
        pd.DataFrame({"metric": ECDF_METRICS[0], "value_ms": pd.to_numeric(requests["tpot_s"], errors="coerce") * 1e3}),
        pd.DataFrame({"metric": ECDF_METRICS[1], "value_ms": pd.to_numeric(requests["ttft_s"], errors="coerce") * 1e3}),
    ]
    if "itl_s" in requests and not requests.empty:
        gaps = requests["itl_s"].explode()
        parts.append(pd.DataFrame({"metric": ECDF_METRICS[2], "value_ms": pd.to_numeric(gaps, errors="coerce") * 1e3}))
    samples = pd.concat(parts, ignore_index=True)
    samples = samples[np.isfinite(samples["value_ms"].astype(float))]
    return samples.assign(run_id=run_id, run_label=run_label, model_label=model)[columns].reset_index(drop=True)


def latency_samples(runs_dir: str | Path, runs: pd.DataFrame) -> pd.DataFrame:
    """Latency samples of every run under ``runs_dir`` that is a row of ``runs`` (see :func:`latency_samples_of`).

    Args:
        runs_dir: Folder of run directories.
        runs: :func:`~benchlib.analysis.tables.run_table` rows to include
            (``run_id``, ``platform``, ``runtime``, ``model_label``).
    """
    rows = runs.set_index("run_id") if not runs.empty else pd.DataFrame()
    frames = []
    for run in report_runs(runs_dir).runs:
        if run.run_id not in rows.index:
            continue
        row = rows.loc[run.run_id]
        label = f"{row['platform']} · {row['runtime']} · {run.run_id[-10:]}"
        frames.append(latency_samples_of(summary_requests(run), run.run_id, label, str(row[MODEL_LABEL])))
    if not frames:
        return pd.DataFrame(columns=["run_id", "run_label", "model_label", "metric", "value_ms"])
    return pd.concat(frames, ignore_index=True)


def plot_latency_ecdf(samples: pd.DataFrame):
    """ECDFs (seaborn ``ecdfplot``) of :data:`ECDF_METRICS`, one line per run, one panel row per model.

    Each run's p50 and p95 are marked on its line (circle, triangle). The x
    axes are logarithmic; a panel without samples says so.

    Args:
        samples: :func:`latency_samples` (or :func:`latency_samples_of` frames, concatenated).

    Returns:
        The matplotlib ``Figure``; every ECDF line has the gid ``ecdf:RUN_ID``,
        every percentile marker pair ``p50-p95:RUN_ID``.
    """
    import seaborn as sns
    from matplotlib.lines import Line2D

    plt = pyplot()
    models = list(dict.fromkeys(samples["model_label"])) or ["no run"]
    run_labels = list(dict.fromkeys(samples["run_label"]))
    colours = dict(zip(run_labels, sns.color_palette("tab10", max(len(run_labels), 1))))
    figure, grid = plt.subplots(len(models), len(ECDF_METRICS), figsize=(13, 3.0 * len(models) + 1.4), squeeze=False)
    for row, model in enumerate(models):
        for column, metric in enumerate(ECDF_METRICS):
            axes = grid[row, column]
            data = samples[(samples["model_label"] == model) & (samples["metric"] == metric)]
            data = data[data["value_ms"] > 0]  # a log axis; a zero gap (tokens in one chunk) has no place on it
            for run_id, run_data in data.groupby("run_id", sort=False):
                label = run_data["run_label"].iloc[0]
                values = run_data["value_ms"].to_numpy(dtype=float)
                with warnings.catch_warnings():  # one distinct value: matplotlib widens the axis, as we do below
                    warnings.filterwarnings("ignore", "Attempting to set identical", UserWarning)
                    sns.ecdfplot(x=values, ax=axes, color=colours[label], log_scale=True)
                axes.lines[-1].set_gid(f"ecdf:{run_id}")
                p50, p95 = np.percentile(values, [50, 95])
                axes.plot([p50], [0.5], "o", color=colours[label], markeredgecolor="black", gid=f"p50-p95:{run_id}")
                axes.plot([p95], [0.95], "^", color=colours[label], markeredgecolor="black", gid=f"p50-p95:{run_id}")
            if data.empty:
                axes.text(0.5, 0.5, "no samples", transform=axes.transAxes, ha="center", color="#aa0000")
            elif data["value_ms"].max() < data["value_ms"].min() * 1.02:  # one value: give the axis a width
                with warnings.catch_warnings():
                    warnings.filterwarnings("ignore", "Attempting to set identical", UserWarning)
                    axes.set_xlim(data["value_ms"].min() / 1.05, data["value_ms"].max() * 1.05)
            axes.set_title(f"{metric}\n" + fill(f"model: {model}", _TITLE_CHARS), fontsize=MIN_FONT_PT)
            axes.set_xlabel(f"{metric}, ms (log scale)", fontsize=MIN_FONT_PT)
            axes.set_ylabel("share of samples ≤ x" if column == 0 else "")
            axes.grid(True, alpha=0.3)
    handles = [Line2D([], [], color=colours[label], label=f"{label} (measured)") for label in run_labels]
    handles += [
        Line2D([], [], marker="o", linestyle="none", color="grey", markeredgecolor="black", label="p50 of the run"),
        Line2D([], [], marker="^", linestyle="none", color="grey", markeredgecolor="black", label="p95 of the run"),
    ]
    figure.legend(handles=handles, fontsize=MIN_FONT_PT, loc="lower center", ncol=min(len(handles), 3))
    figure.suptitle("Latency distributions per run (ECDF; measured here)", fontsize=10)
    layout_above_legend(figure, 0.22 * ((len(handles) + 2) // 3) + 0.25)
    return figure
