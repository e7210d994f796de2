"""Every shipped figure, drawn from small real inputs: no text over other text, no font under 8 pt, no bar on a log axis.

The inputs are the ones the report uses, kept small: the two run directories of
``tests/fixtures/runs/`` (a sequential smoke run and a load-step run of
llama.cpp's server), the article's reference CSV, the shipped price book, the
evidence library and the default decision file. Each figure is drawn by the
same function the report calls and checked with
:func:`~benchlib.analysis.figure_checks.readability_problems`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import matplotlib
import pytest

from benchlib.analysis import load_reference, report_runs, run_table, step_table
from benchlib.analysis.distributions import latency_samples, plot_latency_ecdf
from benchlib.analysis.figure_checks import readability_problems
from benchlib.analysis.figure_style import MIN_FONT_PT
from benchlib.analysis.figures import FIGURES, plot_comparison, plot_power_timeline
from benchlib.analysis.pareto import pareto_points, plot_pareto
from benchlib.analysis.plausibility import plausibility_table, plot_plausibility
from benchlib.analysis.serving import plot_load_steps, plot_serving_curve
from benchlib.analysis.workload_figures import cell_table, plot_rates_by_depth, plot_ttft_by_turn, turn_table
from benchlib.cost import load_prices
from benchlib.cost.report import break_even_table, cost_curves, platform_table, utilization_grid
from benchlib.cost.report_figures import plot_break_even, plot_cost_curves
from benchlib.decision import load_decision_inputs, make_decision
from benchlib.decision.hybrid_plot import plot_hybrid
from benchlib.decision.hybrid_sides import decision_hybrid
from benchlib.decision.sensitivity import plot_sensitivity, sensitivity_table
from benchlib.paths import params_dir, reference_csv
from benchlib.predict.predictor import load_library
from benchlib.predict.validate import leave_one_out, plot_validation

matplotlib.use("Agg")
ROOT = Path(__file__).resolve().parents[3]
RUNS = ROOT / "tests" / "fixtures" / "runs"
WORKLOAD_RUNS = ROOT / "tests" / "fixtures" / "workload_runs"
TOKENS_PER_REQUEST = 128


@pytest.fixture(scope="module")
def inputs() -> dict:
    """What the report reads, once for the module."""
    reference = load_reference(reference_csv())
    runs = run_table(RUNS)
    library = load_library()
    decision = make_decision(load_decision_inputs(params_dir() / "decision" / "decision.yaml", runs=False))
    return {"reference": reference, "runs": runs, "library": library, "decision": decision}


def _cost_figures(inputs: dict, name: str):
    grid = utilization_grid(0.01, 12)
    platforms, profiles = platform_table(load_prices(), inputs["reference"], RUNS, tokens_per_request=TOKENS_PER_REQUEST)
    if name == "cost_vs_utilization.png":
        return plot_cost_curves(cost_curves(platforms, profiles, grid), platforms)
    return plot_break_even(break_even_table(platforms, profiles, TOKENS_PER_REQUEST), platforms, profiles, grid)


def _hybrid(inputs: dict):
    frame = decision_hybrid(inputs["decision"], seed=0)
    assert not isinstance(frame, str), frame
    return plot_hybrid(frame)


def _prediction_validation(inputs: dict):
    """The figure over one entry of each hardware class and metric: the same panels and legend as the report's
    (tests/unit/predict/test_leave_one_out.py validates every entry; here, 20 refits instead of 176)."""
    observations = inputs["library"].observations()
    one_each = list({(o.hardware.hardware_class, o.metric): o for o in observations}.values())
    return plot_validation(leave_one_out(inputs["library"].calibration(), one_each))


def _power_timeline(_inputs: dict):
    return plot_power_timeline(report_runs(RUNS).runs[-1])


BUILDERS: dict[str, Callable[[dict], object]] = {
    **{spec.filename: (lambda inputs, spec=spec: plot_comparison(spec, inputs["runs"], inputs["reference"]))
       for spec in FIGURES},
    "pareto.png": lambda inputs: plot_pareto(pareto_points(inputs["runs"], inputs["reference"])),
    "latency_ecdf.png": lambda inputs: plot_latency_ecdf(latency_samples(RUNS, inputs["runs"])),
    "serving_curve.png": lambda inputs: plot_serving_curve(step_table(RUNS)),
    "load_steps.png": lambda inputs: plot_load_steps(step_table(RUNS)),
    "power_timeline.png": _power_timeline,
    "plausibility.png": lambda inputs: plot_plausibility(
        plausibility_table(RUNS, inputs["reference"], library=inputs["library"])),
    "prediction_validation.png": _prediction_validation,
    "cost_vs_utilization.png": lambda inputs: _cost_figures(inputs, "cost_vs_utilization.png"),
    "break_even.png": lambda inputs: _cost_figures(inputs, "break_even.png"),
    "decision_sensitivity.png": lambda inputs: plot_sensitivity(sensitivity_table(inputs["decision"])),
    "hybrid.png": _hybrid,
    "ttft_by_turn.png": lambda inputs: plot_ttft_by_turn(turn_table(WORKLOAD_RUNS)),
    "rates_by_depth.png": lambda inputs: plot_rates_by_depth(cell_table(WORKLOAD_RUNS)),
}  # fmt: skip
"""Every figure the report writes, by file name, and how to draw it from :func:`inputs`."""


def _report_figure_names() -> set[str]:
    """Every PNG the report code names: the literals of benchlib and the notebooks, and the comparison figures.

    Read from the code, not from ``figures/``: that folder is a report's output, not in git.
    """
    sources = [*(ROOT / "benchlib").rglob("*.py"), *(ROOT / "notebooks").glob("*.ipynb")]
    names = {name for path in sources for name in re.findall(r"[\"']([a-z_0-9]+\.png)[\"']", path.read_text())}
    return names | {spec.filename for spec in FIGURES}


def test_every_figure_the_report_writes_is_checked():
    names = _report_figure_names()
    assert {"pareto.png", "hybrid.png", "ttft_by_turn.png"} <= names  # the scan finds them
    assert names <= set(BUILDERS), f"add a builder for {sorted(names - set(BUILDERS))}"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_the_figure_reads_at_its_saved_size(name, inputs):
    figure = BUILDERS[name](inputs)
    assert readability_problems(figure, MIN_FONT_PT) == [], name


def test_the_checks_find_small_text_overlapping_text_and_bars_on_a_log_axis():
    from benchlib.analysis.figure_style import pyplot

    figure, (bars, clean) = pyplot().subplots(1, 2, figsize=(8, 3))
    bars.barh([0, 1], [8.0, 120.0])
    bars.set_xscale("log")
    bars.set_title("bars")
    bars.text(0.5, 0.5, "tiny", fontsize=6, transform=bars.transAxes)
    bars.text(0.1, 0.2, "one text", fontsize=10, transform=bars.transAxes)
    bars.text(0.12, 0.21, "over another", fontsize=10, transform=bars.transAxes)
    clean.plot([1, 2], [1, 2], "o")
    clean.set_xlim(1.5, 2.5)  # the tick labels of 1.0 and 1.4 are out of view: not drawn, not counted
    problems = readability_problems(figure)
    assert "'tiny' is 6 pt, under 8 pt" in problems
    assert "'one text' overlaps 'over another'" in problems
    assert "bars on a log axis in 'bars'" in problems
    assert len(problems) == 3, problems


def test_labels_of_points_close_together_are_moved_apart_and_stay_in_their_panel():
    from benchlib.analysis.figure_checks import overlapping_texts
    from benchlib.analysis.figure_labels import label_point, place_point_labels
    from benchlib.analysis.figure_style import pyplot

    figure, axes = pyplot().subplots(figsize=(5, 3))
    xs, ys = [1.0, 1.05, 1.1, 9.9], [1.0, 1.02, 0.98, 5.0]
    axes.plot(xs, ys, "o")
    axes.set_xlim(0.5, 10.0)
    labels = [label_point(axes, f"a long label of point {i}", (x, y)) for i, (x, y) in enumerate(zip(xs, ys))]
    assert overlapping_texts(figure), "the first-choice positions collide"
    place_point_labels(figure)
    assert overlapping_texts(figure) == []
    frame = axes.get_window_extent(figure.canvas.get_renderer())
    for label in labels:
        box = label.get_window_extent(figure.canvas.get_renderer())
        assert frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1, label.get_text()
        assert label.get_fontsize() >= MIN_FONT_PT
