"""Figures of the cost-model notebook: cost per million tokens against utilization, and break-even."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchlib.analysis.basis import BASIS_IMPORTED
from benchlib.analysis.figure_style import MIN_FONT_PT, pyplot
from benchlib.cost.pricing import cost_per_million_tokens_usd
from benchlib.cost.profiles import HostedApi, Profile

__all__ = ["plot_break_even", "plot_cost_curves"]

_LINE_STYLES = {"measured": "-", "predicted": "--", BASIS_IMPORTED: "-.", "list price": ":"}
"""Line style of a platform's curve by the source of its throughput (anything else: dashed, as a prediction)."""


def plot_cost_curves(curves: pd.DataFrame, platforms: pd.DataFrame) -> Any:
    """Cost per million tokens against utilization, one line per platform (:func:`~benchlib.cost.report.cost_curves`).

    Solid: measured throughput; dashed: predicted; dash-dot: imported; dotted: a
    hosted API's list price, flat because it costs the same per token at any
    volume (its label says so). Every line is a throughput priced at its price
    profile's assumed prices, and the title says so.
    """
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(9, 5.5))
    for _, row in platforms.iterrows():
        data = curves[curves["platform"] == row["platform"]]
        style = _LINE_STYLES.get(row["source"], "--")
        width = 2.5 if row["source"] == "measured" else 1.5
        label = row["platform"] + (" · per token, flat in utilization" if row["kind"] == HostedApi.kind else "")
        axes.plot(data["utilization"], data["cost_per_million_usd"], style, linewidth=width, label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("utilization (busy fraction of each hour, log scale)")
    axes.set_ylabel("USD per million output tokens (log scale)")
    axes.set_title(
        "Cost per million tokens against utilization: throughput × assumed price (price profiles)\n"
        "solid: measured throughput · dashed: predicted · dash-dot: imported · dotted: hosted API list price",
        fontsize=10,
    )  # fmt: skip
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=MIN_FONT_PT, loc="upper right")
    figure.tight_layout()
    return figure


def plot_break_even(
    table: pd.DataFrame, platforms: pd.DataFrame, profiles: dict[str, Profile], grid: np.ndarray
) -> Any:
    """Cloud cost over edge cost per million tokens against utilization (linear axes), dots at the break-evens.

    Rows of :func:`~benchlib.cost.report.break_even_table`. One colour per pair: the
    solid line is the main comparison, both sides at the same utilization; the
    dashed line is the second one, against a cloud instance kept 100% busy. A
    hosted API has no utilization: one solid line, its flat price against the edge.
    """
    from matplotlib.lines import Line2D

    plt = pyplot()
    figure, axes = plt.subplots(figsize=(10, 9))
    by_label = platforms.set_index("platform")
    top = 1.0
    for _, row in table.iterrows():
        edge, cloud = by_label.loc[row["edge"]], by_label.loc[row["cloud"]]
        edge_cost = np.asarray(cost_per_million_tokens_usd(profiles[row["edge"]], edge["throughput_tps"], grid))
        hosted = isinstance(profiles[row["cloud"]], HostedApi)
        busy_ratio = row["cloud_usd_per_million_full"] / edge_cost
        equal_ratio = busy_ratio if hosted else (
            np.asarray(cost_per_million_tokens_usd(profiles[row["cloud"]], cloud["throughput_tps"], grid)) / edge_cost
        )  # fmt: skip
        line = axes.plot(grid, equal_ratio, "-", linewidth=2, label=f"{row['cloud']}\n  vs {row['edge']}")[0]
        if np.isfinite(row["equal_utilization_break_even"]):
            axes.plot([row["equal_utilization_break_even"]], [1.0], "o", color=line.get_color(), markersize=7)
        if not hosted:
            axes.plot(grid, busy_ratio, "--", linewidth=1.2, color=line.get_color())
            if np.isfinite(row["fully_busy_cloud_break_even"]):
                axes.plot([row["fully_busy_cloud_break_even"]], [1.0], "o", mfc="white", color=line.get_color())
        top = max(top, float(np.nanmax(equal_ratio)))
    axes.axhline(1.0, color="black", linewidth=1)
    axes.text(0.99, 1.02, "above this line the edge is cheaper", fontsize=9, va="bottom", ha="right")
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.15 * top)
    axes.set_xlabel("utilization (busy fraction of each hour; linear)", fontsize=10)
    axes.set_ylabel("cloud cost / edge cost per million tokens (linear)", fontsize=10)
    axes.set_title(
        "Break-even: where owned edge hardware and each cloud class or hosted API cost the same (dots)\n"
        "solid: both at the same utilization (main) · dashed: cloud kept 100% busy, edge at the utilization shown "
        "(second)",
        fontsize=10,
    )  # fmt: skip
    axes.grid(True, alpha=0.3)
    handles, _ = axes.get_legend_handles_labels()
    styles = [
        Line2D([], [], color="grey", linewidth=2,
               label="solid: equal utilization (main comparison; a hosted API has no utilization: its only line)"),
        Line2D([], [], color="grey", linewidth=1.2, linestyle="--", label="dashed: cloud kept 100% busy (second)"),
    ]
    axes.legend(handles=[*styles, *handles], fontsize=MIN_FONT_PT, loc="upper center", bbox_to_anchor=(0.5, -0.08),
                ncol=1)  # fmt: skip
    figure.tight_layout()
    return figure
