"""The power timeline of one run: its power samples, idle and measured windows, and its temperature or clock."""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchlib.analysis.figure_style import MEASURED_COLOR, MIN_FONT_PT, pyplot
from benchlib.analysis.thermal import thermal_samples, thermal_trace
from benchlib.records import StoredRun

__all__ = ["plot_power_timeline"]


def plot_power_timeline(run: StoredRun):
    """Power samples of one run against time, with its idle and measured windows shaded, and its
    temperature (or, without a temperature sensor, its clock) on a second axis from ``thermal.parquet``.

    A run without power samples (no sensor: its energy is an estimate) says so
    instead of drawing a made-up curve, and still shows its thermal timeline if it has one.

    Returns:
        The matplotlib ``Figure``.
    """
    plt = pyplot()
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
        axes.text(0.01, 0.98, no_power, transform=axes.transAxes, ha="left", va="top", fontsize=MIN_FONT_PT,
                  color="#aa0000")  # fmt: skip
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
            thermal_axes.legend(fontsize=MIN_FONT_PT, loc="upper right")
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
    axes.legend(fontsize=MIN_FONT_PT, loc="lower right")
    figure.tight_layout()
    return figure
