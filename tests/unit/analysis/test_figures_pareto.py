"""Pareto view: a hand-computed frontier, every run and published point placed, published points hollow."""

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd

from benchlib.analysis.groups import add_group_columns
from benchlib.analysis.pareto import PUBLISHED_LATENCY_NOTE, pareto_frontier, pareto_points, plot_pareto
from benchlib.analysis.tables import load_reference

matplotlib.use("Agg")
REFERENCE = Path(__file__).resolve().parents[3] / "data" / "reference" / "article-2026-01.csv"


def test_the_frontier_of_a_hand_made_set():
    points = pd.DataFrame({
        "name": ["a", "b", "c", "d", "e", "f", "g"],
        "x": [1.0, 2.0, 3.0, 4.0, 2.0, 5.0, np.nan],
        "y": [5.0, 3.0, 4.0, 1.0, 3.0, 0.5, 0.1],
    })  # fmt: skip
    # c is dominated by b (2 <= 3, 3 <= 4); nothing is below a on x, d on y among x <= 4; f has the lowest y;
    # b and e are equal, neither dominates the other; g has no x.
    frontier = pareto_frontier(points, "x", "y")
    assert frontier["name"].tolist() == ["a", "b", "e", "d", "f"]


def _runs() -> pd.DataFrame:
    rows = []
    for run_id, params_m, cost, energy, kind in (
        ("run-aaaaaaaaaa", 134.5, 0.4, 0.25, "estimated"),
        ("run-bbbbbbbbbb", 1700.0, 0.9, 0.5, "measured"),
        ("run-cccccccccc", 134.5, np.nan, np.nan, None),
    ):
        rows.append({
            "run_id": run_id, "platform": "CPU", "runtime": "llama.cpp", "architecture": "llama",
            "model_params_m": params_m, "quantization": "Q4_1", "model_sha256": run_id * 4, "prompts": "tiny",
            "prompt_tokens_median": 5.0, "output_tokens_per_request": 8, "tpot_ms_p95": 10.0 + params_m / 100,
            "cost_per_million_usd": cost, "energy_per_token_j": energy, "energy_kind": kind,
        })  # fmt: skip
    return add_group_columns(pd.DataFrame(rows))


def test_points_join_the_published_latency_cost_and_energy_of_each_platform_and_size():
    points = pareto_points(_runs(), load_reference(REFERENCE))
    published = points[points["latency_kind"] == PUBLISHED_LATENCY_NOTE].set_index(["label", "model_label"])
    assert len(published) == 5
    pi_7b = published.loc[("Raspberry Pi 5 + AI HAT+ 2", "7B q4 (published)")]
    assert (pi_7b["latency_ms"], pi_7b["cost_per_million_usd"], pi_7b["energy_per_token_j"]) == (120.0, 0.33, 0.96)
    pi_2b = published.loc[("Raspberry Pi 5 + AI HAT+ 2", "2B q4 (published)")]
    assert (pi_2b["latency_ms"], pi_2b["cost_per_million_usd"]) == (40.0, 0.12) and np.isnan(pi_2b["energy_per_token_j"])
    measured = points[points["latency_kind"] == "measured p95"]
    assert measured["latency_ms"].tolist() == [10.0 + 1.345, 10.0 + 17.0, 10.0 + 1.345]
    assert measured["energy_kind"].tolist() == ["estimated", "measured", "unknown"]


def test_every_point_with_both_values_is_drawn_published_ones_hollow_and_the_frontier_is_the_computed_one():
    points = pareto_points(_runs(), load_reference(REFERENCE))
    figure = plot_pareto(points)
    cost_axes, energy_axes = figure.axes
    for axes, column, expected in ((cost_axes, "cost_per_million_usd", 2 + 5), (energy_axes, "energy_per_token_j", 2 + 4)):
        drawn = [c for c in axes.collections if (c.get_gid() or "").startswith("point:")]
        assert len(drawn) == expected
        hollow = [c for c in drawn if c.get_facecolors().size == 0 or np.allclose(c.get_facecolors()[:, 3], 0)]
        assert len(hollow) == (5 if column == "cost_per_million_usd" else 4)
        frontier_line = next(line for line in axes.lines if line.get_gid() == "frontier")
        finite = points[np.isfinite(points[column])]
        frontier = pareto_frontier(finite, "latency_ms", column)
        assert np.allclose(frontier_line.get_xdata(), frontier["latency_ms"])
        assert np.allclose(frontier_line.get_ydata(), frontier[column])
        assert axes.get_xscale() == "log" and axes.get_yscale() == "log"
    legend = " | ".join(t.get_text() for t in figure.legends[0].get_texts())
    for phrase in ("measured here", "estimated", PUBLISHED_LATENCY_NOTE, "Pareto frontier", "model: 7B q4 (published)"):
        assert phrase in legend
