"""The hybrid what-if of a decision: its two sides chosen and priced with benchlib.cost, on the article's platforms."""

import numpy as np
import pytest

from benchlib.decision import load_decision_inputs, make_decision
from benchlib.decision.hybrid_wiring import choose_sides, cloud_cost_function, decision_hybrid, edge_cost_function, side_of
from benchlib.decision.inputs import DIURNAL_PARAMS, FLAT_PARAMS
from benchlib.errors import ParameterError

PI, L4 = "Raspberry Pi 5 + AI HAT+ 2", "L4-class GPU"
# pi5 in data/reference/prices.yaml: $230 over 26,280 h, 8 W busy and idle at $0.15/kWh
PI_USD_PER_H = 230 / 26280 + 8 / 1000 * 0.15


@pytest.fixture(scope="module")
def flat():
    return make_decision(load_decision_inputs(FLAT_PARAMS, runs=False))


def test_the_sides_are_the_cheapest_edge_box_and_the_recommended_cloud(flat):
    edge, cloud = choose_sides(flat)
    assert (edge.name, cloud.name) == (PI, L4)
    side = side_of(edge)
    assert side.capacity_rps == pytest.approx(8.3 / 128) and side.concurrency == 1
    assert side.latency_samples["tpot_s"].tolist() == [0.12] and "ttft_s" not in side.latency_samples  # not published
    with pytest.raises(ParameterError, match=r"hybrid_edge 'L4-class GPU' is not an edge candidate; edge candidates: Raspberry"):
        choose_sides(flat, edge=L4)


def test_each_side_is_priced_by_hand(flat):
    edge, cloud = choose_sides(flat)
    assert edge_cost_function(edge)(20, np.zeros(24)) == pytest.approx(20 * 24 * PI_USD_PER_H)
    assert edge_cost_function(edge)(0, np.zeros(24)) == 0.0
    # 10 requests/s every hour at 0.9766 requests/s per L4: 11 instances x $0.50 x 24 h
    assert cloud_cost_function(cloud, flat.inputs.workload)(np.full(24, 10.0), np.full(24, 14.0)) == pytest.approx(132.0)


def test_on_a_flat_day_all_cloud_is_cheapest_and_the_pi_share_breaks_the_target(flat):
    frame = decision_hybrid(flat)
    assert frame.attrs["cheapest_n"] == 0 and frame.loc[0, "total_cost_per_day_usd"] == pytest.approx(144.0)
    # more than 5% of requests at 120 ms/token: the mix's p95 is the Pi's
    busy = frame[frame["edge_share"] > 0.06]
    assert busy["tpot_s_p95"].tolist() == pytest.approx([0.12] * len(busy)) and not busy["meets_targets"].any()
    assert frame["edge_share"].iloc[-1] == pytest.approx(1.0, abs=1e-3)


def test_a_diurnal_day_is_seeded_and_reproducible():
    result = make_decision(load_decision_inputs(DIURNAL_PARAMS, runs=False))
    first, again = decision_hybrid(result, seed=3), decision_hybrid(result, seed=3)
    assert first.equals(again) and first.attrs["cheapest_n"] == again.attrs["cheapest_n"]
    cheapest = first[first["cheapest"]]
    assert len(cheapest) == 1 and bool(cheapest["meets_targets"].iloc[0])
    assert cheapest["edge_share"].iloc[0] <= 0.05  # a p95 target lets at most 5% go to a side that misses it
