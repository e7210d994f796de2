"""Latency ECDFs: samples from requests (gaps exploded, failures left out), one line per run, p50/p95 marked."""

import matplotlib
import numpy as np
import pandas as pd

from benchlib.analysis.distributions import ECDF_METRICS, latency_samples_of, plot_latency_ecdf

matplotlib.use("Agg")


def _requests(tpot_s: list[float], gaps: list[list[float]], failed: int = 0) -> pd.DataFrame:
    n = len(tpot_s)
    frame = pd.DataFrame({
        "ttft_s": [0.03 + 0.001 * i for i in range(n)],
        "tpot_s": tpot_s,
        "itl_s": gaps,
        "error": [None] * n,
    })  # fmt: skip
    if failed:
        frame.loc[: failed - 1, "error"] = "timeout"
    return frame


def test_samples_explode_the_gaps_and_leave_failed_requests_out():
    requests = _requests([0.010, 0.011, 0.012], [[0.01, 0.02, 0.03], [0.01, 0.02], [0.011, 0.012, 0.013, 0.014]], failed=1)
    samples = latency_samples_of(requests, "run-a", "A", "model x")
    counts = samples.groupby("metric").size().to_dict()
    assert counts == {ECDF_METRICS[0]: 2, ECDF_METRICS[1]: 2, ECDF_METRICS[2]: 6}
    gaps = samples.loc[samples["metric"] == ECDF_METRICS[2], "value_ms"].sort_values().tolist()
    assert np.allclose(gaps, [10.0, 11.0, 12.0, 13.0, 14.0, 20.0])
    assert set(samples["run_id"]) == {"run-a"} and set(samples["model_label"]) == {"model x"}


def _samples() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    frames = []
    for run_id, model, scale in (("r1", "135M", 10.0), ("r2", "135M", 12.0), ("r3", "1.7B", 40.0)):
        tpot = list(rng.lognormal(np.log(scale / 1e3), 0.1, 20))
        gaps = [list(rng.lognormal(np.log(scale / 1e3), 0.2, 7)) for _ in range(20)]
        frames.append(latency_samples_of(_requests(tpot, gaps), run_id, f"CPU · {run_id}", model))
    return pd.concat(frames, ignore_index=True)


def test_one_ecdf_line_per_run_in_each_models_row_with_p50_and_p95_marked():
    samples = _samples()
    figure = plot_latency_ecdf(samples)
    grid = np.array(figure.axes).reshape(2, len(ECDF_METRICS))
    for row, (model, runs) in enumerate((("135M", {"r1", "r2"}), ("1.7B", {"r3"}))):
        for column, metric in enumerate(ECDF_METRICS):
            axes = grid[row, column]
            assert model in axes.get_title() and metric in axes.get_title()
            ecdfs = {line.get_gid().removeprefix("ecdf:") for line in axes.lines if (line.get_gid() or "").startswith("ecdf:")}
            assert ecdfs == runs
            markers = [line for line in axes.lines if (line.get_gid() or "").startswith("p50-p95:")]
            assert len(markers) == 2 * len(runs)
            values = samples[(samples["run_id"] == sorted(runs)[0]) & (samples["metric"] == metric)]["value_ms"]
            p50 = next(m for m in markers if m.get_gid() == f"p50-p95:{sorted(runs)[0]}" and m.get_ydata()[0] == 0.5)
            assert np.isclose(p50.get_xdata()[0], np.median(values))
            assert axes.get_xscale() == "log"
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert [text for text in legend if text.endswith("(measured)")] == [f"CPU · r{i} (measured)" for i in (1, 2, 3)]
    assert "p50 of the run" in legend and "p95 of the run" in legend


def test_a_model_without_samples_says_so():
    samples = latency_samples_of(_requests([0.01], [[]]), "r", "CPU · r", "135M")
    figure = plot_latency_ecdf(samples)
    gap_axes = figure.axes[2]
    assert [t.get_text() for t in gap_axes.texts] == ["no samples"]
    assert not [line for line in gap_axes.lines if (line.get_gid() or "").startswith("ecdf:")]
