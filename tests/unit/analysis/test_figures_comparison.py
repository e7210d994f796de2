"""Comparison bars: one panel per model, published values in their model size's panel, readable log ticks."""

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from benchlib.analysis.figure_style import overlapping_tick_labels
from benchlib.analysis.figures import (
    ESTIMATED_COLOR,
    FIGURES,
    MEASURED_COLOR,
    PUBLISHED_COLOR,
    comparison_panels,
    plot_comparison,
)
from benchlib.analysis.groups import add_group_columns
from benchlib.analysis.tables import load_reference

matplotlib.use("Agg")
REFERENCE = Path(__file__).resolve().parents[3] / "data" / "reference" / "article-2026-01.csv"
SPECS = {spec.filename: spec for spec in FIGURES}


def _run(run_id: str, params_m: float, energy_j: float, energy_kind: str = "measured", sha: str = "a" * 64) -> dict:
    return {
        "run_id": run_id, "status": "complete", "platform": "this machine (CPU)", "runtime": "llama.cpp",
        "model": f"model-{params_m:g}m", "architecture": "llama", "model_params_m": params_m, "quantization": "Q4_1",
        "model_sha256": sha, "prompts": "tiny", "prompt_tokens_median": 5.0, "output_tokens_per_request": 8,
        "requests": 4, "tpot_ms_median": 9.6, "tpot_ms_ci_low": 9.5, "tpot_ms_ci_high": 9.8,
        "energy_per_token_j": energy_j, "energy_per_token_j_ci_low": energy_j * 0.9,
        "energy_per_token_j_ci_high": energy_j * 1.1, "energy_kind": energy_kind, "energy_source": "rapl",
    }  # fmt: skip


def _runs(*rows: dict) -> pd.DataFrame:
    return add_group_columns(pd.DataFrame(list(rows)))


def _panel_axes(figure) -> dict[str, object]:
    return {axes.get_title(loc="left").removeprefix("model: "): axes for axes in figure.axes if axes.get_title(loc="left")}


def test_a_135m_run_and_a_published_7b_value_are_in_different_panels():
    runs = _runs(_run("r135", 134.5, 0.25))
    reference = load_reference(REFERENCE)
    bars = comparison_panels(SPECS["per_token_latency.png"], runs, reference)
    measured_panel = f"{runs['model_label'].iloc[0]} · measured here"
    assert list(dict.fromkeys(bars["panel"])) == [measured_panel, "7B q4 (published)", "2B q4 (published)"]
    assert bars.loc[bars["panel"] == measured_panel, "kind"].tolist() == ["measured"]
    published_7b = bars[bars["panel"] == "7B q4 (published)"]
    assert sorted(published_7b["value"]) == [2.0, 4.0, 8.0, 120.0]
    assert (published_7b["kind"] == "published").all()

    figure = plot_comparison(SPECS["per_token_latency.png"], runs, reference)
    panels = _panel_axes(figure)
    assert set(panels) == {measured_panel, "7B q4 (published)", "2B q4 (published)"}
    measured_labels = [t.get_text() for t in panels[measured_panel].get_yticklabels()]
    published_labels = [t.get_text() for t in panels["7B q4 (published)"].get_yticklabels()]
    assert len(measured_labels) == 1 and "measured" in measured_labels[0] and "published" not in measured_labels[0]
    assert len(published_labels) == 4 and all("published" in label for label in published_labels)
    assert len(panels["7B q4 (published)"].patches) == 4 and len(panels[measured_panel].patches) == 1


def test_two_models_measured_here_get_two_panels_smaller_first():
    runs = _runs(_run("big", 1700.0, 0.5, sha="b" * 64), _run("small", 134.5, 0.2))
    bars = comparison_panels(SPECS["energy_per_token.png"], runs, load_reference(REFERENCE).iloc[:0])
    assert bars["panel"].str.contains("134.5M").tolist() == [True, False]
    assert bars["panel"].nunique() == 2


def test_measured_estimated_and_published_keep_their_styles_and_say_so_in_the_legend():
    runs = _runs(_run("m", 134.5, 0.3), _run("e", 134.5, 0.4, energy_kind="estimated"))
    figure = plot_comparison(SPECS["energy_per_token.png"], runs, load_reference(REFERENCE))
    colours = {to_hex(patch.get_facecolor()) for axes in figure.axes for patch in axes.patches}
    assert colours == {MEASURED_COLOR, ESTIMATED_COLOR, PUBLISHED_COLOR}
    legend = " ".join(t.get_text() for t in figure.legends[0].get_texts())
    for word in ("measured", "estimated", "published"):
        assert word in legend


@pytest.mark.parametrize("values", [(0.3, 0.45, 0.9), (0.002, 40.0, 9000.0), (9.61, 9.62, 9.63)])
def test_log_axis_tick_labels_never_overlap(values):
    reference = pd.DataFrame({
        "platform": [f"P{i}" for i in range(len(values))], "platform_class": "cloud", "model_size": "7B q4",
        "metric": "energy_per_token", "value": values, "unit": "J/token", "kind": "measured", "source": "test",
    })  # fmt: skip
    figure = plot_comparison(SPECS["energy_per_token.png"], _runs(_run("r", 134.5, values[0])), reference)
    figure.canvas.draw()
    bottom = figure.axes[-1]
    labels = [t.get_text() for t in bottom.get_xticklabels() if t.get_text()]
    low, high = bottom.get_xlim()
    in_view = [float(text) for text in labels if low <= float(text) <= high]
    assert len(in_view) >= 2, f"a log axis needs at least two labels to be read, got {labels}"
    assert overlapping_tick_labels(bottom, "x") == []


def test_the_overlap_check_finds_matplotlibs_default_minor_labels_on_a_narrow_range():
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(4, 2))
    axes.barh([0, 1, 2], [0.3, 0.56, 0.9])
    axes.set_xscale("log")
    axes.set_xlim(0.25, 2.0)
    figure.canvas.draw()
    assert overlapping_tick_labels(axes, "x"), "the default labels 2×10⁻¹ ... 6×10⁻¹ collide on a 4-inch axis"
    with pytest.raises(ValueError, match="'x' or 'y'"):
        overlapping_tick_labels(axes, "z")
    plt.close(figure)


def test_no_measured_run_says_so_and_still_draws_the_published_values():
    figure = plot_comparison(SPECS["e2e_128_tokens.png"], _runs(_run("r", 134.5, 0.3)), load_reference(REFERENCE))
    texts = [t.get_text() for axes in figure.axes for t in axes.texts]
    assert any("no complete measured run with 128 output tokens" in text for text in texts)
    assert sum(len(axes.patches) for axes in figure.axes) == 4
    assert np.isclose(sorted(p.get_width() for a in figure.axes for p in a.patches)[-1], 15.4)


def test_claims_the_plausibility_check_rejects_are_marked_in_every_figure():
    """Issue 22: a rejected claim is never shown as plain 'measured': its label says REJECTED, its outline is red."""
    reference = load_reference(REFERENCE)
    runs = _runs(_run("r135", 134.5, 0.25))
    latency = comparison_panels(SPECS["per_token_latency.png"], runs, reference)
    pi = latency[latency["value"] == 120.0]["label"].iloc[0]
    assert pi.startswith("Raspberry Pi 5 + AI HAT+ 2")
    assert "published claim" in pi and "REJECTED: above the bandwidth ceiling" in pi and "measured" not in pi
    h100 = latency[latency["label"].str.startswith("H100-class GPU")]["label"].iloc[0]
    assert "REJECTED: beyond any published measurement" in h100
    energy = comparison_panels(SPECS["energy_per_token.png"], runs, reference)
    published = energy[energy["kind"] == "published"]
    assert published["label"].str.contains("REJECTED: derived from a rejected throughput").all()
    figure = plot_comparison(SPECS["per_token_latency.png"], runs, reference)
    edges = [to_hex(bar.get_edgecolor()) for axes in figure.axes for bar in axes.patches]
    assert "#cc0000" in edges
