"""The Pareto view: cost and energy per token against p95 per-token latency, every run and published point.

Lower is better on both axes; a point is on the Pareto frontier when no other
point is at least as good on both and better on one. Runs contribute their
p95 time per output token; the article publishes one per-token latency per
platform and model size, which stands in for its p95 and is labelled
``published, single value not p95`` (hollow markers).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchlib.analysis.figure_style import layout_above_legend, pyplot
from benchlib.analysis.claims import REJECTED, claim_status, claim_statuses
from benchlib.analysis.groups import MODEL_LABEL, published_model_label

__all__ = ["PARETO_VIEWS", "pareto_frontier", "pareto_points", "plot_pareto"]

PARETO_VIEWS: tuple[tuple[str, str], ...] = (
    ("cost_per_million_usd", "USD per million output tokens (log scale)"),
    ("energy_per_token_j", "joules per output token, gross (log scale)"),
)
"""The panels of :func:`plot_pareto`: (column of :func:`pareto_points`, axis label)."""

PUBLISHED_LATENCY_NOTE = "published, single value not p95"

_POINT_COLUMNS = ["label", "model_label", "latency_ms", "latency_kind", "cost_per_million_usd", "cost_kind",
                  "energy_per_token_j", "energy_kind", "claim_status"]  # fmt: skip


def pareto_points(runs: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """One row per run and per published (platform, model size): latency, cost and energy per token.

    Args:
        runs: :func:`~benchlib.analysis.tables.run_table` (``tpot_ms_p95``,
            ``cost_per_million_usd``, ``energy_per_token_j``, ``energy_kind``, ``model_label``).
        reference: :func:`~benchlib.analysis.tables.load_reference` (metrics
            ``per_token_latency``, ``cost_per_million_tokens``, ``energy_per_token``).

    Returns:
        Columns ``label``, ``model_label``, ``latency_ms``, ``latency_kind``
        (``measured p95`` or :data:`PUBLISHED_LATENCY_NOTE`),
        ``cost_per_million_usd``, ``cost_kind``, ``energy_per_token_j`` and
        ``energy_kind`` (``measured``, ``estimated`` or ``published``) and ``claim_status`` (a published
        point's plausibility verdict, :mod:`benchlib.analysis.claims`; empty for a run); NaN where a value is unknown.
    """
    rows = []
    for _, run in runs.iterrows():
        energy_kind = run.get("energy_kind") if isinstance(run.get("energy_kind"), str) else "unknown"
        rows.append((f"{run['platform']} · {run['run_id'][-10:]}", run[MODEL_LABEL], float(run["tpot_ms_p95"]),
                     "measured p95", float(run["cost_per_million_usd"]), "measured", float(run["energy_per_token_j"]),
                     energy_kind, ""))  # fmt: skip
    statuses = claim_statuses(reference)
    wide = reference.pivot_table(index=["platform", "model_size"], columns="metric", values="value", aggfunc="first")
    for (platform, size), values in wide.iterrows():
        latency = values.get("per_token_latency", np.nan)
        if not np.isfinite(latency):
            continue  # no latency: no place on either panel
        rows.append((f"{platform}", published_model_label(size), float(latency), PUBLISHED_LATENCY_NOTE,
                     float(values.get("cost_per_million_tokens", np.nan)), "published",
                     float(values.get("energy_per_token", np.nan)), "published",
                     claim_status(statuses, platform, size, "per_token_latency")))  # fmt: skip
    return pd.DataFrame(rows, columns=_POINT_COLUMNS)


def pareto_frontier(points: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """The points no other point dominates, lower being better on ``x`` and ``y``, sorted by ``x``.

    A point is dominated when another is at least as low on both columns and
    lower on one; equal points are both kept. Rows with a non-finite value are left out.
    """
    finite = points[np.isfinite(points[x].astype(float)) & np.isfinite(points[y].astype(float))]
    xs, ys = finite[x].to_numpy(dtype=float), finite[y].to_numpy(dtype=float)
    keep = [
        not np.any((xs <= xs[i]) & (ys <= ys[i]) & ((xs < xs[i]) | (ys < ys[i])))
        for i in range(len(finite))
    ]  # fmt: skip
    return finite[keep].sort_values([x, y])


_MARKERS = {  # kind -> (marker, filled, legend label)
    "measured": ("o", True, "measured here (latency: p95)"),
    "estimated": ("s", True, "run here, energy estimated from the profile (latency: p95 measured)"),
    "published": ("o", False, f"the article's claims, Jan 2026 ({PUBLISHED_LATENCY_NOTE}; marked REJECTED where the "
                              "plausibility check rejects them)"),
    "unknown": ("X", True, "run here, energy source unknown"),
}


def plot_pareto(points: pd.DataFrame):
    """Two panels (:data:`PARETO_VIEWS`) of cost and energy per token against p95 per-token latency.

    Colour is the model, marker the kind (filled: run here; hollow: published),
    the dashed staircase the Pareto frontier of the panel's points.

    Args:
        points: :func:`pareto_points`.

    Returns:
        The matplotlib ``Figure``; each point is one scatter collection with
        gid ``point:LABEL``, each frontier a line with gid ``frontier``.
    """
    import seaborn as sns
    from matplotlib.lines import Line2D

    plt = pyplot()
    models = list(dict.fromkeys(points["model_label"]))
    colours = dict(zip(models, sns.color_palette("tab10", max(len(models), 1))))
    figure, panels = plt.subplots(1, len(PARETO_VIEWS), figsize=(13, 5.4))
    kinds_drawn: set[str] = set()
    for axes, (column, axis_label) in zip(panels, PARETO_VIEWS):
        kind_column = "cost_kind" if column == "cost_per_million_usd" else "energy_kind"
        data = points[np.isfinite(points["latency_ms"].astype(float)) & np.isfinite(points[column].astype(float))]
        for _, point in data.iterrows():
            kind = point[kind_column] if point[kind_column] in _MARKERS else "unknown"
            kinds_drawn.add(kind)
            marker, filled, _ = _MARKERS[kind]
            colour = colours[point["model_label"]]
            sns.scatterplot(x=[point["latency_ms"]], y=[point[column]], ax=axes, marker=marker, s=70, linewidth=1.5,
                            color=colour if filled else "none", edgecolor=colour if not filled else "black")  # fmt: skip
            axes.collections[-1].set_gid(f"point:{point['label']}")
            rejected = REJECTED in str(point["claim_status"])
            axes.annotate(point["label"] + (f" ({REJECTED} claim)" if rejected else ""), (point["latency_ms"], point[column]),
                          fontsize=6.5, color="#cc0000" if rejected else "black",
                          textcoords="offset points", xytext=(5, 3))  # fmt: skip
        frontier = pareto_frontier(data, "latency_ms", column)
        if len(frontier):
            axes.plot(frontier["latency_ms"], frontier[column], "--", color="black", linewidth=1, drawstyle="steps-post",
                      gid="frontier", zorder=0)  # fmt: skip
        if data.empty:
            axes.text(0.5, 0.5, "no point with both values", transform=axes.transAxes, ha="center", color="#aa0000")
        else:
            axes.set_xscale("log")
            axes.set_yscale("log")
            axes.margins(0.15)
        axes.set_xlabel("time per output token, ms (log scale): p95 for runs, the single published value for the article")
        axes.xaxis.label.set_fontsize(7.5)
        axes.set_ylabel(axis_label)
        axes.grid(True, alpha=0.3, which="both")
    panels[0].set_title("Cost per million tokens against latency (lower left is better)", fontsize=9)
    panels[1].set_title("Energy per token against latency (lower left is better)", fontsize=9)
    handles = [Line2D([], [], marker="o", linestyle="none", color=colours[m], label=f"model: {m}") for m in models]
    handles += [Line2D([], [], marker=_MARKERS[k][0], linestyle="none", markerfacecolor="grey" if _MARKERS[k][1] else "none",
                       markeredgecolor="black", label=_MARKERS[k][2]) for k in _MARKERS if k in kinds_drawn]  # fmt: skip
    frontier_label = "Pareto frontier of all points (none lower on both axes; models differ, see colour)"
    handles.append(Line2D([], [], linestyle="--", color="black", label=frontier_label))
    figure.legend(handles=handles, fontsize=7, loc="lower center", ncol=2)
    layout_above_legend(figure, 0.2 * ((len(handles) + 1) // 2) + 0.25)
    return figure
