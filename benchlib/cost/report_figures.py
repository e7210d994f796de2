"""Figures of the cost-model notebook: cost per million tokens against utilization, and break-even."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchlib.cost.pricing import cost_per_million_tokens_usd
from benchlib.cost.profiles import HostedApi, Profile

__all__ = ["plot_break_even", "plot_cost_curves"]


def plot_cost_curves(curves: pd.DataFrame, platforms: pd.DataFrame) -> Any:
    """Cost per million tokens against utilization, one line per platform (:func:`~benchlib.cost.report.cost_curves`).

    Dashed: published throughput; solid: measured; dotted: a hosted API's list price,
    flat because it costs the same per token at any volume (its label says so).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.5))
    for _, row in platforms.iterrows():
        data = curves[curves["platform"] == row["platform"]]
        style = {"published": "--", "list price": ":", "imported": "-."}.get(row["source"], "-")
        width = 2.5 if row["source"] == "measured" else 1.5
        label = row["platform"] + (" · per token, flat in utilization" if row["kind"] == HostedApi.kind else "")
        axes.plot(data["utilization"], data["cost_per_million_usd"], style, linewidth=width, label=label)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("utilization (busy fraction of each hour, log scale)")
    axes.set_ylabel("USD per million output tokens (log scale)")
    axes.set_title(
        "Cost per million tokens against utilization\n"
        "dashed: published throughput (article, Jan 2026) · solid: measured here · dotted: hosted API list price",
        fontsize=10,
    )  # fmt: skip
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="upper right")
    figure.tight_layout()
    return figure


def plot_break_even(
    table: pd.DataFrame, platforms: pd.DataFrame, profiles: dict[str, Profile], grid: np.ndarray
) -> Any:
    """Cloud cost over edge cost per million tokens against edge utilization, dots at the break-evens.

    Rows of :func:`~benchlib.cost.report.break_even_table`; a hosted API enters with
    its flat price per million output tokens, as an instance enters fully busy.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.5))
    by_label = platforms.set_index("platform")
    for _, row in table.iterrows():
        edge, cloud = by_label.loc[row["edge"]], by_label.loc[row["cloud"]]
        edge_cost = cost_per_million_tokens_usd(profiles[row["edge"]], edge["throughput_tps"], grid)
        ratio = row["cloud_usd_per_million"] / np.asarray(edge_cost)
        line = axes.plot(grid, ratio, label=f"{row['cloud']}\n  vs {row['edge']}")[0]
        if np.isfinite(row["break_even_utilization"]):
            axes.plot([row["break_even_utilization"]], [1.0], "o", color=line.get_color())
    axes.axhline(1.0, color="black", linewidth=1)
    axes.text(grid[0], 1.05, "above this line the edge is cheaper", fontsize=8, va="bottom")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("edge utilization (log scale); the cloud instance is fully busy, a hosted API costs the same per token at any volume")
    axes.set_ylabel("cloud cost / edge cost per million tokens (log scale)")
    axes.set_title("Break-even: where owned edge hardware and each cloud class or hosted API cost the same (dots)", fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=6, loc="lower right")
    figure.tight_layout()
    return figure
