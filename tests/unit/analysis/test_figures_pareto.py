"""Pareto view: a hand-computed frontier, one per model, every run and published point placed, implausible claims
marked and left off the frontiers, every label readable."""

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import to_hex

from benchlib.analysis.figure_checks import readability_problems
from benchlib.analysis.figure_labels import POINT_LABEL_GID
from benchlib.analysis.figure_style import REJECTED_EDGE_COLOR
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


def _point_collections(axes) -> list:
    return [c for c in axes.collections if (c.get_gid() or "").startswith("point:")]


def test_every_point_with_both_values_is_drawn_and_implausible_claims_are_red_crosses():
    points = pareto_points(_runs(), load_reference(REFERENCE))
    figure = plot_pareto(points)
    cost_axes, energy_axes = figure.axes
    for axes, column, expected in ((cost_axes, "cost_per_million_usd", 2 + 5), (energy_axes, "energy_per_token_j", 2 + 4)):
        drawn = _point_collections(axes)
        assert len(drawn) == expected
        # every claim of the article is rejected by the plausibility check: a cross outlined in red, on no frontier
        crosses = [c for c in drawn if to_hex(c.get_edgecolor()[0]) == REJECTED_EDGE_COLOR]
        assert len(crosses) == (5 if column == "cost_per_million_usd" else 4)
        assert not [line for line in axes.lines if (line.get_gid() or "").startswith("frontier")]
        assert axes.get_xscale() == "log" and axes.get_yscale() == "log"
        labels = [t.get_text() for t in axes.texts if t.get_gid() == POINT_LABEL_GID]
        assert sum(text.endswith("(implausible)") for text in labels) == len(crosses)
    legend = " | ".join(t.get_text() for t in figure.legends[0].get_texts())
    for phrase in ("measured here", "estimated", "published claim, implausible", "model: 7B q4 (published)"):
        assert phrase in legend
    assert "Pareto frontier" not in legend, "no model has two plausible points: there is no frontier to draw"
    assert readability_problems(figure) == []


def test_each_model_has_its_own_frontier_and_points_of_different_models_are_never_joined():
    """Issue 24: one frontier through 135M, 2B and 7B points compared models that answer different questions."""
    rows = [  # label, model, latency ms, cost, claim status
        ("a1", "135M", 10.0, 1.0, ""), ("a2", "135M", 20.0, 0.5, ""), ("a3", "135M", 30.0, 0.8, ""),
        ("b1", "7B", 5.0, 2.0, ""), ("b2", "7B", 40.0, 0.1, ""),
        ("claim", "2B (published)", 1.0, 0.01, "REJECTED: above the bandwidth ceiling"),
    ]  # fmt: skip
    points = pd.DataFrame([
        {"label": label, "model_label": model, "latency_ms": latency, "latency_kind": "measured p95",
         "cost_per_million_usd": cost, "cost_kind": "published" if status else "measured",
         "energy_per_token_j": cost, "energy_kind": "published" if status else "measured", "claim_status": status}
        for label, model, latency, cost, status in rows
    ])  # fmt: skip
    figure = plot_pareto(points)
    for axes in figure.axes:
        frontiers = {line.get_gid(): line for line in axes.lines if (line.get_gid() or "").startswith("frontier")}
        assert set(frontiers) == {"frontier:135M", "frontier:7B"}  # the implausible claim dominates all, yet is on none
        assert list(frontiers["frontier:135M"].get_xdata()) == [10.0, 20.0]  # a3 is dominated by a2
        assert list(frontiers["frontier:7B"].get_xdata()) == [5.0, 40.0]
    legend = " | ".join(t.get_text() for t in figure.legends[0].get_texts())
    assert "Pareto frontier of one model" in legend and "never joined" in legend
    assert readability_problems(figure) == []
