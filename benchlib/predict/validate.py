"""Leave-one-out validation of the performance model over the evidence library.

Each observation is predicted by a calibration that never saw it (every
pool refitted without it), and its error is ``predicted / published - 1``.
:func:`validation_summary` gives the median and worst absolute error per
hardware class; :func:`plot_validation` draws predicted against published,
log-log, with ``y = x`` and a band of ``±`` :data:`BAND`. The goal
(:data:`GOAL_MEDIAN`, :data:`GOAL_WORST`) is what the tests assert: an entry
off by more than :data:`GOAL_WORST` must carry an ``outlier_reason``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchlib.analysis.figure_style import MIN_FONT_PT, fit_log_ticks, save_figure
from benchlib.predict.calibrate import Calibration, Observation, predict_metric

__all__ = [
    "BAND",
    "GOAL_MEDIAN",
    "GOAL_WORST",
    "VALIDATION_COLUMNS",
    "leave_one_out",
    "plot_validation",
    "validation_summary",
    "write_validation",
]

BAND = 0.25
"""Half-width of the band drawn around ``y = x`` (±25%)."""
GOAL_MEDIAN = 0.20
"""Median |predicted / published - 1| the model must reach."""
GOAL_WORST = 0.50
"""|predicted / published - 1| above which an entry must say why (``outlier_reason``)."""
VALIDATION_COLUMNS = [
    "key", "hardware", "hardware_class", "runtime_class", "model", "metric", "concurrency", "published",
    "predicted", "error", "abs_error", "outlier_reason", "source",
]  # fmt: skip


def leave_one_out(calibration: Calibration, observations: list[Observation] | None = None) -> pd.DataFrame:
    """Predict each observation from a calibration without it.

    Args:
        calibration: The full calibration.
        observations: Which to validate (default: all of the calibration's).

    Returns:
        One row per observation with :data:`VALIDATION_COLUMNS`.
    """
    rows = []
    for obs in calibration.observations:  # fit every pool once: leaving one out refits only its family's pools
        calibration.efficiencies(obs.hardware, obs.hardware_id, obs.runtime_class)
    for obs in observations if observations is not None else calibration.observations:
        fit = calibration.without([obs.key]).efficiencies(obs.hardware, obs.hardware_id, obs.runtime_class)
        predicted = predict_metric(obs, fit.efficiencies)
        error = predicted / obs.value - 1 if np.isfinite(predicted) else float("nan")
        rows.append({
            "key": obs.key, "hardware": obs.hardware_id, "hardware_class": obs.hardware.hardware_class,
            "runtime_class": obs.runtime_class, "model": obs.model.name, "metric": obs.metric,
            "concurrency": obs.scenario.concurrency, "published": obs.value, "predicted": predicted,
            "error": error, "abs_error": abs(error), "outlier_reason": obs.outlier_reason, "source": obs.source,
        })  # fmt: skip
    return pd.DataFrame(rows, columns=VALIDATION_COLUMNS)


def validation_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per hardware class (and ``all``): count, median and worst |error|, and the worst entry."""
    rows = []
    groups = [(name, group) for name, group in table.groupby("hardware_class", sort=True)] + [("all", table)]
    for name, group in groups:
        valid = group.dropna(subset=["abs_error"])
        if valid.empty:
            continue
        worst = valid.loc[valid["abs_error"].idxmax()]
        rows.append({
            "hardware_class": name, "n": len(valid), "median_abs_error": float(valid["abs_error"].median()),
            "worst_abs_error": float(worst["abs_error"]), "worst_entry": worst["key"],
            "within_25pct": float((valid["abs_error"] <= BAND).mean()),
        })  # fmt: skip
    return pd.DataFrame(rows)


def plot_validation(table: pd.DataFrame):
    """Predicted against published, log-log, one panel per metric unit, ``y = x`` and a ±25% band."""
    import matplotlib.pyplot as plt

    units = {"decode_tps": "tokens/s", "prefill_tps": "tokens/s", "output_tps": "tokens/s", "ttft_s": "s",
             "tpot_s": "s", "power_w": "W", "j_per_token": "J/token"}  # fmt: skip
    shown = table.dropna(subset=["predicted"]).assign(unit=lambda t: t["metric"].map(units))
    panels = [unit for unit in ("tokens/s", "s", "W", "J/token") if unit in set(shown["unit"])]
    figure, axes = plt.subplots(1, max(len(panels), 1), figsize=(5.2 * max(len(panels), 1), 5), squeeze=False)
    classes = sorted(shown["hardware_class"].unique())
    colors = dict(zip(classes, plt.get_cmap("tab10").colors, strict=False))
    for axis, unit in zip(axes[0], panels, strict=False):
        part = shown[shown["unit"] == unit]
        for name, group in part.groupby("hardware_class"):
            axis.scatter(group["published"], group["predicted"], s=22, color=colors[name], label=name, alpha=0.85,
                         edgecolor="black", linewidth=0.3)  # fmt: skip
        low = float(min(part["published"].min(), part["predicted"].min())) / 1.5
        high = float(max(part["published"].max(), part["predicted"].max())) * 1.5
        line = np.geomspace(low, high, 50)
        axis.plot(line, line, color="black", linewidth=1, label="y = x")
        axis.fill_between(line, line * (1 - BAND), line * (1 + BAND), color="grey", alpha=0.2, label="±25%")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlim(low, high)
        axis.set_ylim(low, high)
        axis.set_xlabel(f"published ({unit})")
        axis.set_ylabel(f"predicted, leave-one-out ({unit})")
        metrics = ", ".join(sorted(part["metric"].unique()))
        axis.set_title(metrics, fontsize=9)
        axis.legend(fontsize=MIN_FONT_PT, loc="upper left")
    figure.suptitle("Performance model, leave-one-out: each published figure predicted from all the others")
    figure.tight_layout()
    fit_log_ticks(figure)
    return figure


def write_validation(table: pd.DataFrame, figures_dir: str | Path) -> list[Path]:
    """Write ``prediction_validation.csv``, ``prediction_validation_summary.csv`` and ``prediction_validation.png``."""
    out = Path(figures_dir)
    out.mkdir(parents=True, exist_ok=True)
    table_path = out / "prediction_validation.csv"
    table.to_csv(table_path, index=False)
    summary_path = out / "prediction_validation_summary.csv"
    validation_summary(table).to_csv(summary_path, index=False)
    return [table_path, summary_path, save_figure(plot_validation(table), out / "prediction_validation.png")]
