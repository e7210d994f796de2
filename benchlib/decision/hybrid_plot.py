"""The hybrid what-if figure and files: cost per day and edge share against the number of edge devices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchlib.analysis.figure_style import MIN_FONT_PT, pyplot, save_figure

__all__ = ["CLOUD_COLOR", "EDGE_COLOR", "MISSED_ALPHA", "plot_hybrid", "write_hybrid"]

EDGE_COLOR = "#2ca02c"
CLOUD_COLOR = "#1f77b4"
MISSED_ALPHA = 0.35
"""Bars of an N that does not qualify (scored per request) are drawn this pale and hatched."""
_NEEDED = ("n_edge", "edge_share", "edge_cost_per_day_usd", "cloud_cost_per_day_usd", "total_cost_per_day_usd",
           "meets_targets", "cheapest")  # fmt: skip


def plot_hybrid(frame: pd.DataFrame):
    """Stacked edge + cloud cost per day against N, the edge share on a twin axis, the cheapest N marked.

    Args:
        frame: :func:`~benchlib.decision.hybrid.hybrid_sweep` (its ``attrs`` name the sides and the seed).

    Returns:
        The matplotlib ``Figure``. Bars carry gids ``edge:N`` and ``cloud:N``
        (pale and hatched where the split does not qualify), the edge-share line
        ``edge_share``, the cheapest-N marker ``cheapest``.

    Raises:
        ValueError: ``frame`` lacks a column of :func:`hybrid_sweep` or has no row.
    """
    missing = [column for column in _NEEDED if column not in frame.columns]
    if missing or frame.empty:
        raise ValueError(f"plot_hybrid needs a hybrid_sweep frame with rows; missing columns: {missing}.")
    from matplotlib.patches import Patch
    from matplotlib.ticker import MaxNLocator

    plt = pyplot()
    attrs = frame.attrs
    figure, axes = plt.subplots(figsize=(10, 5.6))
    n = frame["n_edge"].to_numpy()
    edge_cost = frame["edge_cost_per_day_usd"].to_numpy(dtype=float)
    cloud_cost = frame["cloud_cost_per_day_usd"].to_numpy(dtype=float)
    meets = frame["meets_targets"].to_numpy(dtype=bool)
    width = 0.8 if len(frame) <= 60 else 1.0
    for index, count in enumerate(n):
        style = {} if meets[index] else {"alpha": MISSED_ALPHA, "hatch": "///"}
        axes.bar(count, edge_cost[index], width=width, color=EDGE_COLOR, linewidth=0, gid=f"edge:{count}", **style)
        axes.bar(count, cloud_cost[index], width=width, bottom=edge_cost[index], color=CLOUD_COLOR, linewidth=0,
                 gid=f"cloud:{count}", **style)  # fmt: skip
    axes.set_xlabel("edge devices N (0 = everything in the cloud)")
    axes.set_ylabel("cost per day, USD (edge + cloud, stacked)")
    axes.set_xlim(n.min() - 0.6, n.max() + 0.6)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(True, axis="y", alpha=0.3)
    share_axes = axes.twinx()
    share_axes.plot(n, 100 * frame["edge_share"].to_numpy(dtype=float), color="black", linewidth=1.6, gid="edge_share")
    share_axes.set_ylim(0, 105)
    share_axes.set_ylabel("requests served at the edge, %")
    handles = [Patch(color=EDGE_COLOR, label=f"edge: {attrs.get('edge', 'edge side')}"),
               Patch(color=CLOUD_COLOR, label=f"cloud overflow: {attrs.get('cloud', 'cloud side')}"),
               plt.Line2D([], [], color="black", label="edge share (right axis)")]  # fmt: skip
    if not meets.all():
        missed = "N that does not qualify (requests within every limit, per side and day)"
        handles.append(Patch(facecolor="#999999", alpha=MISSED_ALPHA, hatch="///", label=missed))
    chosen = frame[frame["cheapest"].astype(bool)]
    if len(chosen):
        row = chosen.iloc[0]
        axes.plot([row["n_edge"]], [row["total_cost_per_day_usd"]], marker="*", markersize=16, color="#d62728",
                  markeredgecolor="black", linestyle="none", gid="cheapest", zorder=5)  # fmt: skip
        label = f"cheapest N meeting the targets: {int(row['n_edge'])} ({row['total_cost_per_day_usd']:.2f} USD/day)"
        handles.append(plt.Line2D([], [], marker="*", markersize=12, color="#d62728", markeredgecolor="black",
                                  linestyle="none", label=label))  # fmt: skip
    else:
        axes.text(0.5, 0.96, "no N meets the targets", transform=axes.transAxes, ha="center", va="top",
                  color="#aa0000", fontsize=10, gid="no_cheapest")  # fmt: skip
    top = np.nanmax(edge_cost + cloud_cost) if np.isfinite(edge_cost + cloud_cost).any() else 1.0
    axes.set_ylim(0, 1.12 * top if top > 0 else 1.0)
    axes.legend(handles=handles, fontsize=MIN_FONT_PT, loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    targets = attrs.get("targets") or {}
    share = attrs.get("required_share", 0.95)
    limits = ", ".join(f"{metric} ≤ {limit:g} s" for metric, limit in targets.items()) or "no latency target"
    wanted = f"{share:.3g} of requests within {limits}"
    axes.set_title(f"Hybrid what-if, seeded simulation (Poisson arrivals per second, seed {attrs.get('seed', '?')}); "
                   f"targets: {wanted}", fontsize=9)  # fmt: skip
    figure.tight_layout()
    return figure


def write_hybrid(frame: pd.DataFrame, figures_dir: str | Path) -> list[Path]:
    """Write ``hybrid.csv`` (the sweep, one row per N) and ``hybrid.png`` (:func:`plot_hybrid`) into ``figures_dir``.

    Returns:
        The paths written.
    """
    out = Path(figures_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path, png_path = out / "hybrid.csv", out / "hybrid.png"
    frame.to_csv(csv_path, index=False)
    return [csv_path, save_figure(plot_hybrid(frame), png_path)]
