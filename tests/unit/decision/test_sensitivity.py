"""Sensitivity: each input's range moves the top candidates' daily cost as hand-computed, and flips are marked."""

import dataclasses
import math

import matplotlib
import pandas as pd
import pytest

from benchlib.decision import load_decision_inputs, make_decision
from benchlib.decision.sensitivity import (
    ALL,
    COLUMNS,
    EACH,
    RANGES,
    plot_sensitivity,
    sensitivity_table,
    write_sensitivity,
)
from benchlib.paths import params_dir

matplotlib.use("Agg")
PARAMS = params_dir() / "decision" / "decision.yaml"
HOSTED = params_dir() / "prices" / "hosted-example.yaml"
HOSTED_NAME = "workers-ai-llama-3.1-8b"
# A10G at $0.80/h instead of $1.50: 2 instances * 0.8 * 24 h = $38.40/day, so at half its price ($19.20) it beats
# the L4 (2 * $0.50 * 24 h = $24/day plus electricity, which this file bills: 2 * 72 W * 24 h * $0.15/kWh).
FLIP_PRICES = """schema_version: 1
profiles:
  a10g-cheap: {extends: a10g, price_per_hour_usd: 0.8}
  l4: {extends: l4, include_electricity: true, electricity_usd_per_kwh: 0.15}
"""


@pytest.fixture(scope="module")
def result():
    return make_decision(load_decision_inputs(PARAMS, runs=False))


@pytest.fixture(scope="module")
def frame(result):
    return sensitivity_table(result)


@pytest.fixture(scope="module")
def flip_result(tmp_path_factory):
    prices = tmp_path_factory.mktemp("prices") / "flip.yaml"
    prices.write_text(FLIP_PRICES, encoding="utf-8")
    inputs = load_decision_inputs(PARAMS, runs=False, price_files=[str(prices), str(HOSTED)],
                                  price_profiles={"A10G": "a10g-cheap"},
                                  candidates=["L4", "A10G", HOSTED_NAME])  # fmt: skip
    return make_decision(inputs)


@pytest.fixture(scope="module")
def flip_frame(flip_result):
    return sensitivity_table(flip_result)


def _row(frame, name, end, candidate):
    rows = frame[(frame["input"] == name) & (frame["end"] == end) & (frame["candidate"] == candidate)]
    assert len(rows) == 1
    return rows.iloc[0]


def _by_gid(figure):
    return {artist.get_gid(): artist for axes in figure.axes for artist in axes.get_children() if artist.get_gid()}


def test_every_input_of_ranges_appears_at_both_ends_for_each_top_candidate(result, frame):
    assert list(frame.columns) == list(COLUMNS)
    top = [v.candidate.name for v in result.verdicts if v.costings][:3]
    assert len(top) == 3 and set(frame["candidate"]) == set(top)
    assert list(dict.fromkeys(frame["input"])) == list(RANGES)
    assert len(frame) == len(RANGES) * 2 * len(top)
    assert all(r.scope in (EACH, ALL) and r.basis for r in RANGES.values())
    assert "assumption" in RANGES["price"].basis and "95%" in RANGES["throughput"].basis


def test_the_base_cost_is_the_verdicts_and_the_base_cheapest_is_the_recommendation(result, frame):
    for name, rows in frame.groupby("candidate"):
        assert (rows["base_cost_per_day_usd"] == result.verdict(name).cost_per_day_usd).all()
    assert (frame["base_cheapest"] == result.recommended.candidate.name).all()


def test_price_1_5x_of_an_all_rental_candidate_costs_exactly_1_5x(result, frame):
    verdict = result.verdict("L4")
    best = verdict.best
    assert best.rental_usd_per_day == verdict.cost_per_day_usd and verdict.candidate.price_profile.kind == "rented"
    # by hand: its peak fleet all day at 1.5 * $0.50/h
    by_hand = best.device_hours * 1.5 * verdict.candidate.price_profile.price_per_hour_usd
    assert _row(frame, "price", "high", "L4")["cost_per_day_usd"] == pytest.approx(1.5 * verdict.cost_per_day_usd)
    assert _row(frame, "price", "high", "L4")["cost_per_day_usd"] == pytest.approx(by_hand)
    assert _row(frame, "price", "low", "L4")["cost_per_day_usd"] == pytest.approx(0.5 * verdict.cost_per_day_usd)


def test_inputs_that_do_not_apply_to_a_rented_instance_leave_its_cost_unchanged(result, frame):
    for name in ("electricity", "lifetime", "power"):
        for end in ("low", "high"):
            row = _row(frame, name, end, "L4")
            assert not result.verdict("L4").candidate.price_profile.include_electricity
            assert not row["applies"] and row["cost_per_day_usd"] == row["base_cost_per_day_usd"]
    assert _row(frame, "electricity", "high", "L4")["value_shown"] == "$0.30/kWh"


def test_twice_the_volume_never_lowers_a_cost_and_the_flat_end_of_a_flat_day_is_the_base(frame):
    rows = frame[(frame["input"] == "request volume") & (frame["end"] == "high")]
    assert (rows["value_shown"] == "2x").all() and (rows["cost_per_day_usd"] >= rows["base_cost_per_day_usd"]).all()
    flat = frame[(frame["input"] == "utilization") & (frame["end"] == "low")]
    assert (flat["value_shown"] == "flat").all() and (flat["cost_per_day_usd"] == flat["base_cost_per_day_usd"]).all()


def test_the_throughput_ends_are_the_decisions_cost_interval(result, frame):
    for name, rows in frame[frame["input"] == "throughput"].groupby("candidate"):
        low, high = result.verdict(name).cost_interval_usd
        assert (rows["cost_per_day_usd"].min(), rows["cost_per_day_usd"].max()) == pytest.approx((low, high))


@pytest.mark.parametrize("which", ["frame", "flip_frame"])
def test_ranking_flips_exactly_where_the_cheapest_differs_from_the_base(request, which):
    frame = request.getfixturevalue(which)
    assert (frame["ranking_flips"] == (frame["cheapest_at_this_end"] != frame["base_cheapest"])).all()
    if which == "frame":  # the L4 is cheapest at every end of every range of the shipped example
        assert not frame["ranking_flips"].any()


def test_half_the_runner_ups_price_makes_it_cheapest_and_that_is_marked(flip_result, flip_frame):
    base = {v.candidate.name: v.cost_per_day_usd for v in flip_result.verdicts if v.qualifies}
    assert flip_result.recommended.candidate.name == "L4" and base["A10G"] == pytest.approx(38.4)
    row = _row(flip_frame, "price", "low", "A10G")
    must_flip = 0.5 * base["A10G"] < base["L4"]  # $19.20 < $24.52: only the A10G's price moves (each alone)
    assert must_flip and row["ranking_flips"] and row["cheapest_at_this_end"] == "A10G"
    assert not _row(flip_frame, "price", "high", "L4")["ranking_flips"]  # $36.78 < $38.40: the L4 stays cheapest
    figure = plot_sensitivity(flip_frame)
    drawn = _by_gid(figure)
    assert "flip:price:low:A10G" in drawn and "ranking flips" in drawn["label:price"].get_text()
    assert "ranking flips" not in drawn["label:lifetime"].get_text()


def test_a_billed_tariff_and_power_move_the_cost_by_the_electricity_bill(flip_result, flip_frame):
    best = flip_result.verdict("L4").best
    kw = flip_result.verdict("L4").candidate.billed_power_w / 1000.0
    low, high = (_row(flip_frame, "electricity", end, "L4")["cost_per_day_usd"] for end in ("low", "high"))
    assert high - low == pytest.approx(best.device_hours * kw * (0.30 - 0.08))  # the draw is the same idle or busy
    power = _row(flip_frame, "power", "high", "L4")
    assert power["applies"] and power["cost_per_day_usd"] - best.cost_per_day_usd == pytest.approx(
        0.25 * best.electricity_usd_per_day)


def test_a_non_qualifying_hosted_api_fills_the_top_and_scales_with_price_and_volume(flip_result, flip_frame):
    rows = flip_frame[flip_frame["candidate"] == HOSTED_NAME]
    base = flip_result.verdict(HOSTED_NAME).cost_per_day_usd
    assert not rows["qualifies"].any() and math.isfinite(base)
    assert _row(flip_frame, "price", "low", HOSTED_NAME)["cost_per_day_usd"] == pytest.approx(0.5 * base)
    assert _row(flip_frame, "request volume", "high", HOSTED_NAME)["cost_per_day_usd"] == pytest.approx(2 * base)
    for name in ("throughput", "power", "electricity", "lifetime"):
        assert not rows[rows["input"] == name]["applies"].any()
    # it does not qualify (its latency is not known): it is never the cheapest, wherever its cost goes
    assert (flip_frame["cheapest_at_this_end"] != HOSTED_NAME).all()


def test_the_cheapest_is_chosen_among_the_qualifying_candidates_only(result):
    l4, a10g, h100 = (result.verdict(name) for name in ("L4", "A10G", "H100"))
    only_h100 = dataclasses.replace(result, verdicts=(h100, dataclasses.replace(l4, qualifies=False),
                                                      dataclasses.replace(a10g, qualifies=False)))  # fmt: skip
    frame = sensitivity_table(only_h100, top=2)
    assert list(dict.fromkeys(frame["candidate"])) == ["H100", "L4"]
    assert (frame["cheapest_at_this_end"] == "H100").all() and not frame["ranking_flips"].any()


def test_the_tornado_is_sorted_by_swing_linear_and_its_legend_readable(frame):
    figure = plot_sensitivity(frame)
    axes = figure.axes[0]
    assert axes.get_xscale() == "linear"
    assert all(text.get_fontsize() >= 8 for text in axes.get_legend().get_texts())
    drawn = _by_gid(figure)
    rows = sorted((label.get_position()[1], gid) for gid, label in drawn.items() if gid.startswith("label:"))
    assert rows[-1][1] == "label:price"  # the widest swing on top: $12 to $36 (L4) ... $96 to $288 (H100)
    bar = drawn["high:price:H100"]
    assert (bar.get_x(), bar.get_x() + bar.get_width()) == pytest.approx((192.0, 288.0))
    assert drawn["low:lifetime:L4"].get_width() == 0  # does not apply: zero width


def test_plot_refuses_a_frame_without_its_columns():
    with pytest.raises(ValueError, match="missing columns"):
        plot_sensitivity(pd.DataFrame({"input": ["price"]}))


def test_write_sensitivity_writes_the_csv_and_a_non_empty_png(result, tmp_path):
    paths = write_sensitivity(result, tmp_path / "figures")
    assert [p.name for p in paths] == ["decision_sensitivity.csv", "decision_sensitivity.png"]
    assert paths[1].stat().st_size > 10_000 and paths[1].read_bytes()[:4] == b"\x89PNG"
    written = pd.read_csv(paths[0])
    assert list(written.columns) == list(COLUMNS) and len(written) == len(RANGES) * 2 * 3
