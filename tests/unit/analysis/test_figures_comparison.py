"""Comparison figures: one panel per model, published values in their model size's panel, points (never bars) on
readable log ticks, implausible claims marked."""

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_hex

from benchlib.analysis.figure_checks import bars_on_log_axes
from benchlib.analysis.figure_style import (
    IMPLAUSIBLE_MARKER,
    REJECTED_EDGE_COLOR,
    overlapping_tick_labels,
)
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


def _points(axes) -> list:
    """The point markers :func:`plot_comparison` drew in one panel (gid ``point:KIND``)."""
    return [line for line in axes.lines if (line.get_gid() or "").startswith("point:")]


def _all_points(figure) -> list:
    return [line for axes in figure.axes for line in _points(axes)]


def _claims(values, platform_prefix: str = "P") -> pd.DataFrame:
    """Published energy figures of platforms the plausibility check does not know: not checked, so not rejected."""
    return pd.DataFrame({
        "platform": [f"{platform_prefix}{i}" for i in range(len(values))], "platform_class": "cloud",
        "model_size": "7B q4", "metric": "energy_per_token", "value": values, "unit": "J/token", "kind": "measured",
        "source": "test",
    })  # fmt: skip


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
    assert len(_points(panels["7B q4 (published)"])) == 4 and len(_points(panels[measured_panel])) == 1


def test_two_models_measured_here_get_two_panels_smaller_first():
    runs = _runs(_run("big", 1700.0, 0.5, sha="b" * 64), _run("small", 134.5, 0.2))
    bars = comparison_panels(SPECS["energy_per_token.png"], runs, load_reference(REFERENCE).iloc[:0])
    assert bars["panel"].str.contains("134.5M").tolist() == [True, False]
    assert bars["panel"].nunique() == 2


def test_measured_estimated_and_published_keep_their_styles_and_say_so_in_the_legend():
    runs = _runs(_run("m", 134.5, 0.3), _run("e", 134.5, 0.4, energy_kind="estimated"))
    reference = pd.concat([load_reference(REFERENCE), _claims([0.5])], ignore_index=True)
    figure = plot_comparison(SPECS["energy_per_token.png"], runs, reference)
    colours = {to_hex(line.get_markerfacecolor()) for line in _all_points(figure)}
    assert colours == {MEASURED_COLOR, ESTIMATED_COLOR, PUBLISHED_COLOR, REJECTED_EDGE_COLOR}
    assert {line.get_gid() for line in _all_points(figure)} == {
        "point:measured", "point:estimated", "point:published", "point:implausible"}
    legend = " ".join(t.get_text() for t in figure.legends[0].get_texts())
    for word in ("measured", "estimated", "published", "implausible"):
        assert word in legend


def test_values_are_points_with_their_interval_as_whiskers_never_bars_on_the_log_axis():
    """Issue 24: on a log axis a bar's length means nothing (the 8 ms bar looked half the 120 ms one)."""
    figure = plot_comparison(SPECS["per_token_latency.png"], _runs(_run("r", 134.5, 0.3)), load_reference(REFERENCE))
    assert bars_on_log_axes(figure) == []
    assert all(axes.get_xscale() == "log" and not axes.patches for axes in figure.axes)
    assert sorted(float(line.get_xdata()[0]) for line in _all_points(figure)) == [2.0, 4.0, 8.0, 9.6, 40.0, 120.0]
    measured = _panel_axes(figure)[f"{_runs(_run('r', 134.5, 0.3))['model_label'].iloc[0]} · measured here"]
    whiskers = [segment for collection in measured.collections for segment in collection.get_segments()]
    assert len(whiskers) == 1 and np.allclose(sorted(whiskers[0][:, 0]), [9.5, 9.8])


@pytest.mark.parametrize("values", [(0.3, 0.45, 0.9), (0.002, 40.0, 9000.0), (9.61, 9.62, 9.63)])
def test_log_axis_tick_labels_never_overlap(values):
    reference = _claims(values)
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
    assert len(_all_points(figure)) == 4
    assert np.isclose(max(float(line.get_xdata()[0]) for line in _all_points(figure)), 15.4)


def test_claims_the_plausibility_check_rejects_are_marked_in_every_figure():
    """Issues 22 and 24: a rejected claim is never shown as plain 'measured': its label says REJECTED, it is a red
    cross, and the legend calls it implausible."""
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
    assert published["implausible"].all() and not energy.loc[energy["kind"] != "published", "implausible"].any()
    figure = plot_comparison(SPECS["per_token_latency.png"], runs, reference)
    crosses = [line for line in _all_points(figure) if line.get_gid() == "point:implausible"]
    assert len(crosses) == 5
    assert all(line.get_marker() == IMPLAUSIBLE_MARKER and to_hex(line.get_markerfacecolor()) == REJECTED_EDGE_COLOR
               for line in crosses)  # fmt: skip
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert any(text.startswith("published claim, implausible") for text in legend)
    assert not any(text.startswith("published claim (") for text in legend), "no plausible claim is drawn here"


def test_a_cost_says_measured_throughput_at_an_assumed_price_not_measured():
    run = {**_run("r", 134.5, 0.3), "cost_per_million_usd": 0.22, "cost_per_million_usd_ci_low": 0.21,
           "cost_per_million_usd_ci_high": 0.23, "price_profile": "local-cpu",
           "cost_basis": "measured throughput × assumed price"}  # fmt: skip
    figure = plot_comparison(SPECS["cost_per_million_tokens.png"], _runs(run), load_reference(REFERENCE).iloc[:0])
    label = figure.axes[0].get_yticklabels()[0].get_text()
    assert "measured throughput × assumed price, n=4, price profile local-cpu" in label
    legend = " ".join(t.get_text() for t in figure.legends[0].get_texts())
    assert "measured throughput × assumed price (point: median" in legend and "measured here" not in legend
