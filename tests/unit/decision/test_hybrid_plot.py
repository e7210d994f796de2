"""Hybrid figure: stacked bars are the frame's costs, missed-target N pale and hatched, the cheapest N starred."""

import matplotlib
import numpy as np
import pandas as pd
import pytest

from benchlib.decision.hybrid import Side, hybrid_sweep
from benchlib.decision.hybrid_plot import MISSED_ALPHA, plot_hybrid, write_hybrid

matplotlib.use("Agg")
EDGE = Side("edge box", 1.0, {"tpot_s": [0.2]})
CLOUD = Side("cloud gpu", 4.0, {"tpot_s": [0.05]})
"""Under a 0.1 s target the edge misses on every request: only N = 0 (all cloud) qualifies."""


def _sweep(limit_s: float) -> pd.DataFrame:
    return hybrid_sweep(np.full(24, 3.0), EDGE, CLOUD, edge_cost_per_day=lambda n, u: 1.0 * n,
                        cloud_cost_per_day=lambda mean, peak: 0.5 * float(np.sum(mean / 4.0)),
                        targets={"tpot_s": limit_s}, n_max=8)  # fmt: skip


@pytest.fixture(scope="module")
def frame():
    return _sweep(0.1)


def _by_gid(figure):
    return {artist.get_gid(): artist for axes in figure.axes for artist in axes.get_children() if artist.get_gid()}


def test_bars_line_and_marker_are_the_frames_numbers(frame):
    figure = plot_hybrid(frame)
    drawn = _by_gid(figure)
    for _, row in frame.iterrows():
        n = int(row["n_edge"])
        edge, cloud = drawn[f"edge:{n}"], drawn[f"cloud:{n}"]
        assert edge.get_height() == row["edge_cost_per_day_usd"] and cloud.get_y() == row["edge_cost_per_day_usd"]
        assert cloud.get_height() == pytest.approx(row["cloud_cost_per_day_usd"])
        missed = not row["meets_targets"]
        assert (edge.get_hatch() == "///") == missed and (cloud.get_alpha() == MISSED_ALPHA) == missed
    assert frame["meets_targets"].tolist() == [True] + [False] * 8  # both kinds drawn
    x, y = drawn["cheapest"].get_data()
    assert (x[0], y[0]) == (0, frame.set_index("n_edge").loc[0, "total_cost_per_day_usd"])
    share_x, share_y = drawn["edge_share"].get_data()
    assert list(share_x) == list(range(9)) and np.allclose(share_y, 100 * frame["edge_share"])
    assert "seeded simulation" in figure.axes[0].get_title() and "seed 0" in figure.axes[0].get_title()


def test_no_qualifying_n_is_said_on_the_figure():
    drawn = _by_gid(plot_hybrid(_sweep(0.01)))
    assert "cheapest" not in drawn and drawn["no_cheapest"].get_text() == "no N meets the targets"


def test_write_hybrid_writes_the_csv_and_png(frame, tmp_path):
    paths = write_hybrid(frame, tmp_path / "figures")
    assert [p.name for p in paths] == ["hybrid.csv", "hybrid.png"]
    assert paths[1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    back = pd.read_csv(paths[0])
    assert back["n_edge"].tolist() == frame["n_edge"].tolist()
    assert back["cheapest"].tolist() == frame["cheapest"].tolist()


def test_a_frame_without_the_sweep_columns_is_refused():
    with pytest.raises(ValueError, match="missing columns"):
        plot_hybrid(pd.DataFrame({"n_edge": [0]}))


def test_the_legend_names_missed_targets_only_when_an_n_misses_one(frame):
    def legend_texts(figure):
        return [text.get_text() for text in figure.axes[0].get_legend().get_texts()]

    assert "N that does not qualify (requests within every limit, per side and day)" in legend_texts(plot_hybrid(frame))
    assert "N that does not qualify (requests within every limit, per side and day)" not in legend_texts(plot_hybrid(_sweep(1.0)))
