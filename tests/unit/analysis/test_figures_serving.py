"""Serving curve: closed-loop steps only, one line per platform, points annotated with their concurrency."""

import matplotlib
import numpy as np
import pandas as pd

from benchlib.analysis.serving import SERVING_PERCENTILES, plot_serving_curve, serving_points

matplotlib.use("Agg")


def _steps() -> pd.DataFrame:
    rows = []
    for run_id, platform, base_ms in (("run-l4", "L4", 8.0), ("run-cpu", "CPU", 30.0)):
        for concurrency in (1, 2, 4):
            rows.append({
                "run_id": run_id, "platform": platform, "model": "smollm2", "step": f"c{concurrency}",
                "status": "complete", "mode": "closed", "concurrency": concurrency,
                "throughput_tps": 1e3 / base_ms * concurrency * 0.8,
                "tpot_s_median": base_ms * (1 + 0.2 * concurrency) / 1e3,
                "tpot_s_p95": base_ms * (1.3 + 0.3 * concurrency) / 1e3,
            })  # fmt: skip
        rows.append({**rows[-1], "step": "r4", "mode": "poisson", "concurrency": None})  # open loop: not on the curve
        rows.append({**rows[-2], "step": "c8", "concurrency": 8, "status": "interrupted"})
    return pd.DataFrame(rows)


def test_points_are_the_complete_closed_loop_steps_in_ms():
    points = serving_points(_steps())
    assert len(points) == 6
    assert points.groupby("line")["concurrency"].apply(list).to_dict() == {
        "CPU · smollm2": [1, 2, 4], "L4 · smollm2": [1, 2, 4]
    }
    l4_c2 = points[(points["line"] == "L4 · smollm2") & (points["concurrency"] == 2)].iloc[0]
    assert np.isclose(l4_c2["tpot_ms_p50"], 8.0 * 1.4) and np.isclose(l4_c2["tpot_ms_p95"], 8.0 * 1.9)
    assert np.isclose(l4_c2["throughput_tps"], 200.0)


def test_two_runs_of_one_platform_and_model_are_told_apart():
    steps = _steps()
    steps.loc[steps["run_id"] == "run-cpu", "platform"] = "L4"
    lines = set(serving_points(steps)["line"])
    assert lines == {"L4 · smollm2 · run-l4", "L4 · smollm2 · run-cpu"}


def test_one_line_per_platform_in_each_panel_with_concurrency_annotations():
    figure = plot_serving_curve(_steps())
    assert len(figure.axes) == len(SERVING_PERCENTILES)
    for axes, percentile in zip(figure.axes, SERVING_PERCENTILES):
        lines = [line for line in axes.lines if (line.get_gid() or "").startswith("serving:")]
        assert sorted(line.get_gid() for line in lines) == ["serving:CPU · smollm2", "serving:L4 · smollm2"]
        assert all(len(line.get_xdata()) == 3 for line in lines)
        l4 = next(line for line in lines if "L4" in line.get_gid())
        expected = 8.0 * (np.array([1.2, 1.4, 1.8]) if percentile == "p50" else np.array([1.6, 1.9, 2.5]))
        assert np.allclose(l4.get_xdata(), expected)
        assert sorted(t.get_text() for t in axes.texts) == ["c=1", "c=1", "c=2", "c=2", "c=4", "c=4"]
        assert percentile in axes.get_xlabel()
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend == ["CPU · smollm2 (measured)", "L4 · smollm2 (measured)"]


def test_no_closed_loop_step_gives_an_empty_curve_that_says_so():
    steps = _steps()
    steps["mode"] = "poisson"
    assert serving_points(steps).empty and serving_points(pd.DataFrame()).empty
    figure = plot_serving_curve(steps)
    assert all("no load-step run" in axes.texts[0].get_text() for axes in figure.axes)
    assert not any(axes.lines for axes in figure.axes)
