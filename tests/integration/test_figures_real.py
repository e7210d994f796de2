"""write_figures on a real run: a smoke sweep through llama.cpp on this machine, analysed with the article's numbers."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchlib import analysis
from benchlib.analysis.distributions import ECDF_METRICS, latency_samples, plot_latency_ecdf
from benchlib.analysis.figure_style import overlapping_tick_labels
from benchlib.analysis.figures import FIGURES, plot_comparison, write_figures
from benchlib.cli import run_sweep_notebook

pytestmark = [pytest.mark.model]

ROOT = Path(__file__).resolve().parents[2]
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def smoke_runs(tmp_path_factory) -> Path:
    runs_dir = tmp_path_factory.mktemp("figures") / "runs"
    run_sweep_notebook(ROOT / "params" / "smoke.yaml", {"output_dir": str(runs_dir)}, progress=False)
    return runs_dir


def test_write_figures_writes_the_distributions_and_pareto_view_of_a_real_run(smoke_runs, tmp_path):
    runs = analysis.run_table(smoke_runs)
    reference = analysis.load_reference(ROOT / "data" / "reference" / "article-2026-01.csv")
    figures_dir = tmp_path / "figures"
    (figures_dir).mkdir()
    (figures_dir / "serving_curve.png").write_bytes(b"stale")  # from an earlier report that had load steps

    written = write_figures(runs, reference, figures_dir, smoke_runs)

    names = {path.name for path in written}
    assert {spec.filename for spec in FIGURES} | {"pareto.png", "latency_ecdf.png", "power_timeline.png"} <= names
    for path in written:
        assert path.exists() and path.read_bytes()[:8] == PNG and path.stat().st_size > 10_000, path
    # a smoke sweep has no load steps: no serving curve, the stale one gone, and the result says why
    assert "serving_curve.png" not in names and not (figures_dir / "serving_curve.png").exists()
    assert written.skipped == {
        "serving_curve.png": "no load-step run with a complete closed-loop step",
        "ttft_by_turn.png": "no run with conversations (prompts: conversation)",
        "rates_by_depth.png": "no run with several context_depth values",
    }


def test_the_real_runs_ecdf_has_one_line_per_metric_and_every_gap_it_recorded(smoke_runs):
    runs = analysis.run_table(smoke_runs)
    samples = latency_samples(smoke_runs, runs)
    requests = pd.read_parquet(next(smoke_runs.iterdir()) / "requests.parquet")
    gaps = samples[samples["metric"] == ECDF_METRICS[2]]
    assert len(gaps) == sum(len(row) for row in requests["itl_s"])
    assert np.isclose(np.median(gaps["value_ms"]), np.median(np.concatenate(list(requests["itl_s"]))) * 1e3)
    figure = plot_latency_ecdf(samples)
    assert len(figure.axes) == len(ECDF_METRICS)
    for axes in figure.axes:
        assert [line.get_gid() for line in axes.lines if (line.get_gid() or "").startswith("ecdf:")] == [
            f"ecdf:{runs['run_id'].iloc[0]}"
        ]


def test_the_real_runs_comparison_figures_keep_the_published_7b_apart_and_their_ticks_readable(smoke_runs):
    runs = analysis.run_table(smoke_runs)
    reference = analysis.load_reference(ROOT / "data" / "reference" / "article-2026-01.csv")
    for spec in FIGURES:
        figure = plot_comparison(spec, runs, reference)
        figure.canvas.draw()
        titles = [axes.get_title(loc="left") for axes in figure.axes]
        assert "model: 7B q4 (published)" in titles
        if spec.output_tokens is None:  # the smoke run's 8 tokens have no place in the 128-token figure
            assert any("134.5M" in title and "measured here" in title for title in titles), spec.filename
        assert overlapping_tick_labels(figure.axes[-1], "x") == [], spec.filename
