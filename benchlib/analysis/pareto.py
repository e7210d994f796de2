"""The Pareto view: cost and energy per token against p95 per-token latency, every run and published point.

Lower is better on both axes; a point is on the Pareto frontier when no other
point is at least as good on both and better on one. Runs contribute their
p95 time per output token; the article publishes one per-token latency per
platform and model size, which stands in for its p95 and is labelled
``published, single value not p95`` (hollow markers); a claim the plausibility
check rejects is a cross, named implausible in the legend, and never on a
frontier. Each model has its own frontier: points of different models are
never joined. A run's cost is its measured throughput at an assumed price.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchlib.analysis.basis import BASIS_PUBLISHED, cost_basis
from benchlib.analysis.claims import REJECTED, claim_status, claim_statuses
from benchlib.analysis.figure_labels import label_point, place_point_labels
from benchlib.analysis.figure_style import (
    IMPLAUSIBLE_LABEL,
    IMPLAUSIBLE_MARKER,
    MIN_FONT_PT,
    REJECTED_EDGE_COLOR,
    layout_above_legend,
    pyplot,
)
from benchlib.analysis.groups import MODEL_LABEL, published_model_label

__all__ = ["FRONTIER_LABEL", "PARETO_VIEWS", "pareto_frontier", "pareto_points", "plot_pareto"]

PARETO_VIEWS: tuple[tuple[str, str], ...] = (
    ("cost_per_million_usd", f"USD per million output tokens (log scale)\nruns: {cost_basis()}"),
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
                     float(values.get("cost_per_million_tokens", np.nan)), BASIS_PUBLISHED,
                     float(values.get("energy_per_token", np.nan)), BASIS_PUBLISHED,
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
    BASIS_PUBLISHED: ("o", False, f"published claim (article, Jan 2026; {PUBLISHED_LATENCY_NOTE})"),
    "unknown": ("P", True, "run here, energy source unknown"),
}
_TAB10_RED = 3
"""tab10's red is left out of the model colours: red marks an implausible claim."""
FRONTIER_LABEL = ("Pareto frontier of one model (its colour; implausible claims left out): "
                  "points of different models are never joined")  # fmt: skip


def _implausible(point: pd.Series) -> bool:
    return REJECTED in str(point["claim_status"])


def _draw_point(axes, point: pd.Series, column: str, kind: str, colour) -> None:
    """One point: the kind's marker in the model's colour, or the implausible cross; its label beside it."""
    import seaborn as sns

    marker, filled, _ = _MARKERS[kind]
    face, edge = (colour if filled else "none"), ("black" if filled else colour)
    if _implausible(point):
        marker, face, edge = IMPLAUSIBLE_MARKER, colour, REJECTED_EDGE_COLOR
    sns.scatterplot(x=[point["latency_ms"]], y=[point[column]], ax=axes, marker=marker, s=70, linewidth=1.5,
                    color=face, edgecolor=edge)  # fmt: skip
    axes.collections[-1].set_gid(f"point:{point['label']}")
    text = point["label"] + (" (implausible)" if _implausible(point) else "")
    label_point(axes, text, (point["latency_ms"], point[column]), color=REJECTED_EDGE_COLOR if _implausible(point) else "black")


def _draw_frontiers(axes, data: pd.DataFrame, column: str, colours: dict) -> bool:
    """The frontier of each model's own points (implausible claims left out), in the model's colour; whether any is drawn."""
    plausible = data[[not _implausible(point) for _, point in data.iterrows()]] if not data.empty else data
    drawn = False
    for model, points in plausible.groupby("model_label", sort=False):
        frontier = pareto_frontier(points, "latency_ms", column)
        if len(frontier) >= 2:  # one point is its own frontier: nothing to join
            drawn = True
            axes.plot(frontier["latency_ms"], frontier[column], "--", color=colours[model], linewidth=1.2,
                      drawstyle="steps-post", gid=f"frontier:{model}", zorder=0)  # fmt: skip
    return drawn


def plot_pareto(points: pd.DataFrame):
    """Two panels (:data:`PARETO_VIEWS`) of cost and energy per token against p95 per-token latency.

    Colour is the model, marker the kind (filled: run here; hollow: published;
    a cross: a published claim the plausibility check rejects, named implausible
    in the legend). Each model has its own frontier, a dashed staircase in its
    colour through its plausible points: a 135M run and a 7B claim answer
    different questions and are never joined.

    Args:
        points: :func:`pareto_points`.

    Returns:
        The matplotlib ``Figure``; each point is one scatter collection with
        gid ``point:LABEL``, each frontier (a model with two or more plausible
        points on it) a line with gid ``frontier:MODEL``.
    """
    import seaborn as sns
    from matplotlib.lines import Line2D

    plt = pyplot()
    models = list(dict.fromkeys(points["model_label"]))
    palette = [colour for index, colour in enumerate(sns.color_palette("tab10", 10)) if index != _TAB10_RED]
    colours = {model: palette[index % len(palette)] for index, model in enumerate(models)}
    figure, panels = plt.subplots(1, len(PARETO_VIEWS), figsize=(13, 5.4))
    kinds_drawn: set[str] = set()
    implausible_drawn = frontier_drawn = False
    for axes, (column, axis_label) in zip(panels, PARETO_VIEWS):
        kind_column = "cost_kind" if column == "cost_per_million_usd" else "energy_kind"
        data = points[np.isfinite(points["latency_ms"].astype(float)) & np.isfinite(points[column].astype(float))]
        for _, point in data.iterrows():
            kind = point[kind_column] if point[kind_column] in _MARKERS else "unknown"
            implausible_drawn |= _implausible(point)
            kinds_drawn.update([] if _implausible(point) else [kind])
            _draw_point(axes, point, column, kind, colours[point["model_label"]])
        frontier_drawn |= _draw_frontiers(axes, data, column, colours)
        if data.empty:
            axes.text(0.5, 0.5, "no point with both values", transform=axes.transAxes, ha="center", color="#aa0000")
        else:
            axes.set_xscale("log")
            axes.set_yscale("log")
            axes.margins(0.15)
        axes.set_xlabel("time per output token, ms (log scale; runs: p95, claims: their single value)")
        axes.set_ylabel(axis_label)
        axes.grid(True, alpha=0.3, which="both")
    panels[0].set_title("Cost per million tokens against latency (lower left is better)", fontsize=10)
    panels[1].set_title("Energy per token against latency (lower left is better)", fontsize=10)
    handles = [Line2D([], [], marker="o", linestyle="none", color=colours[m], label=f"model: {m}") for m in models]
    handles += [Line2D([], [], marker=_MARKERS[k][0], linestyle="none", markerfacecolor="grey" if _MARKERS[k][1] else "none",
                       markeredgecolor="black", label=_MARKERS[k][2]) for k in _MARKERS if k in kinds_drawn]  # fmt: skip
    if implausible_drawn:
        handles.append(Line2D([], [], marker=IMPLAUSIBLE_MARKER, linestyle="none", markerfacecolor="grey",
                              markeredgecolor=REJECTED_EDGE_COLOR, markersize=9, label=IMPLAUSIBLE_LABEL))  # fmt: skip
    if frontier_drawn:
        handles.append(Line2D([], [], linestyle="--", color="black", label=FRONTIER_LABEL))
    figure.legend(handles=handles, fontsize=MIN_FONT_PT, loc="lower center", ncol=2)
    layout_above_legend(figure, 0.22 * ((len(handles) + 1) // 2) + 0.25)
    place_point_labels(figure)
    return figure
