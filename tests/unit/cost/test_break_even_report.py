"""The cost report's break-even: equal utilization first, the fully busy cloud second and labelled (issue 23)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchlib.analysis import load_reference
from benchlib.cost import OwnedHardware, RentedInstance, load_prices
from benchlib.cost.report import break_even_table, platform_table, utilization_grid, write_cost_report
from benchlib.cost.report_figures import plot_break_even
from benchlib.paths import repo_root

REFERENCE = repo_root() / "data" / "reference" / "article-2026-01.csv"
PI_USD_PER_HOUR = 230 / 26280 + 8 / 1000 * 0.15  # the article's Pi: amortization + 8 W at $0.15/kWh, busy or idle
# the article's clouds: hourly price, claimed tok/s, the ratio, the old fully-busy break-even and requests/day
CLAIMED = {"l4": (0.50, 125.0, 3.3, 0.29976, 1679), "a10g": (1.50, 250.0, 5.0, 0.19984, 1120),
           "h100": (8.00, 500.0, 13.3, 0.07494, 420)}  # fmt: skip


@pytest.fixture(scope="module")
def claims():
    platforms, profiles = platform_table(load_prices(), load_reference(REFERENCE), claims=True)
    table = break_even_table(platforms, profiles, tokens_per_request=128)
    return platforms, profiles, table.assign(name=[profiles[c].name for c in table["cloud"]]).set_index("name")


def test_the_equal_utilization_comparison_comes_first(claims):
    _, _, table = claims
    columns = list(table.columns)
    assert columns.index("equal_utilization_break_even") < columns.index("fully_busy_cloud_break_even")
    assert columns.index("equal_utilization_explanation") < columns.index("fully_busy_cloud_explanation")
    assert "break_even_utilization" not in columns and "explanation" not in columns  # no unlabelled single figure


@pytest.mark.parametrize("name", list(CLAIMED))
def test_no_break_even_at_equal_utilization_for_the_articles_inputs(claims, name):
    _, _, table = claims
    price, cloud_tps, quoted, _, _ = CLAIMED[name]
    row = table.loc[name]
    ratio = (price / cloud_tps) / (PI_USD_PER_HOUR / 8.3)
    assert round(ratio, 1) == quoted
    assert np.isnan(row["equal_utilization_break_even"]) and np.isnan(row["equal_utilization_requests_per_day"])
    assert row["equal_utilization_cost_ratio"] == pytest.approx(ratio, rel=1e-12)
    assert row["equal_utilization_ratio_constant"]
    text = row["equal_utilization_explanation"]
    assert text.startswith(f"No break-even at equal utilization: at any utilization both share, 'pi5' costs "
                           f"{quoted:.1f}x less per million tokens than '{name}'")  # fmt: skip
    assert "requests/day" not in text and ". " not in text and text.endswith(".")


@pytest.mark.parametrize("name", list(CLAIMED))
def test_the_fully_busy_cloud_comparison_keeps_its_values_and_says_what_it_is(claims, name):
    _, _, table = claims
    _, _, _, utilization, per_day = CLAIMED[name]
    row = table.loc[name]
    assert row["fully_busy_cloud_break_even"] == pytest.approx(utilization, abs=1e-5)
    assert round(row["fully_busy_cloud_requests_per_day"]) == per_day
    assert f"'{name}' kept 100% busy (a cloud instance serving the edge's traffic would not be)" in (
        row["fully_busy_cloud_explanation"]
    )
    assert f"{per_day:,} requests/day of 128 tokens" in row["fully_busy_cloud_explanation"]


def test_a_crossing_at_equal_utilization_in_the_table():
    # a + b u = 0.15 + 0.10 u $/h at 40 tok/s against $1.20/h at 250 tok/s: 48 / (37.5 + 25 u) = 1 at u = 0.42
    box = OwnedHardware("box", hardware_usd=876, amortization_h=8760, power_w=300, idle_power_w=100,
                        electricity_usd_per_kwh=0.5)  # fmt: skip
    gpu = RentedInstance("gpu", price_per_hour_usd=1.2)
    platforms = pd.DataFrame(
        {"platform": ["box", "gpu"], "kind": ["owned", "rented"], "throughput_tps": [40.0, 250.0],
         "prompt_tokens_per_request": np.nan, "output_tokens_per_request": np.nan}
    )  # fmt: skip
    row = break_even_table(platforms, {"box": box, "gpu": gpu}).iloc[0]
    assert row["equal_utilization_break_even"] == pytest.approx(0.42, abs=1e-12)
    assert row["equal_utilization_requests_per_day"] == pytest.approx(11_340)
    assert row["equal_utilization_cost_ratio"] == pytest.approx(0.768) and not row["equal_utilization_ratio_constant"]
    assert "u = 0.420 (11,340 requests/day" in row["equal_utilization_explanation"]
    assert np.isnan(row["fully_busy_cloud_break_even"])  # 0.15 / 0.092 > 1


def test_the_figure_draws_equal_utilization_solid_and_the_fully_busy_cloud_dashed(claims):
    platforms, profiles, table = claims
    grid = utilization_grid(0.01, 20)
    figure = plot_break_even(table.reset_index(drop=True), platforms, profiles, grid)
    axes = figure.axes[0]
    assert axes.get_xscale() == "linear" and axes.get_yscale() == "linear"
    lines = [line for line in axes.get_lines() if len(line.get_xdata()) == len(grid)]
    solid = [line for line in lines if line.get_linestyle() == "-"]
    dashed = [line for line in lines if line.get_linestyle() == "--"]
    assert len(solid) == len(dashed) == 3
    for line in solid:  # equal utilization: the constant 3.3x / 5.0x / 13.3x
        assert np.ptp(line.get_ydata()) == pytest.approx(0, abs=1e-9)
    legend = axes.get_legend()
    assert min(text.get_fontsize() for text in legend.get_texts()) >= 8
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels[0].startswith("solid: equal utilization (main") and labels[1].startswith("dashed: cloud kept 100% busy")
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_the_markdown_shows_equal_utilization_before_the_fully_busy_cloud(tmp_path):
    paths = write_cost_report(load_prices(), load_reference(REFERENCE), None, utilization_grid(0.01, 4), 128, tmp_path)
    text = paths["cost_model_md"].read_text()
    claims = text[text.index("## The article's claims"):]
    equal, busy = claims.index("At equal utilization"), claims.index("Second comparison, against a cloud instance")
    assert equal < busy
    sentences = claims[equal:busy]
    assert sentences.count("- No break-even at equal utilization") == 3 and "requests/day" not in sentences
    assert "1,679 requests/day" in claims[busy:]
    written = pd.read_csv(paths["break_even_csv"])
    assert list(written.columns[2:4]) == ["equal_utilization_break_even", "equal_utilization_requests_per_day"]


def test_a_profile_extending_another_gets_its_own_row_and_break_even(tmp_path):
    # l4-spot extends l4 (same article platform): it used to share l4's label, so both rows priced as l4-spot
    mine = tmp_path / "mine.yaml"
    mine.write_text("schema_version: 1\nprofiles:\n  l4-spot:\n    extends: l4\n    discount: 0.6\n")
    platforms, profiles = platform_table(load_prices(mine), load_reference(REFERENCE), claims=True)
    assert platforms["platform"].is_unique and profiles[platforms["platform"].iloc[-1]].name == "l4-spot"
    table = break_even_table(platforms, profiles).set_index("cloud")["cloud_usd_per_million_full"]
    assert table.tolist() == pytest.approx([0.5 / 0.45, 1.5 / 0.9, 8.0 / 1.8, 0.2 / 0.45])  # $/h over M tokens/h
