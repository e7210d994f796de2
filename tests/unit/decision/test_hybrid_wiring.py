"""The hybrid what-if of a decision: its two sides chosen and priced with benchlib.cost, on the article's platforms."""

import numpy as np
import pytest

from benchlib.decision import load_decision_inputs, make_decision
from benchlib.decision.hybrid_wiring import choose_sides, cloud_cost_function, decision_hybrid, edge_cost_function, side_of
from benchlib.decision.inputs import DIURNAL_PARAMS, FLAT_PARAMS
from benchlib.errors import ParameterError

PI, L4 = "Raspberry Pi 5 + AI HAT+ 2", "L4-class GPU"


@pytest.fixture(scope="module")
def flat():
    return make_decision(load_decision_inputs(FLAT_PARAMS, runs=False))


def test_the_sides_are_the_cheapest_edge_box_and_the_recommended_cloud(flat):
    edge, cloud = choose_sides(flat)
    assert (edge.name, cloud.name) == (PI, L4)
    side = side_of(edge)
    assert side.capacity_rps == pytest.approx(edge.capacity.requests_per_s) and side.concurrency == 1
    # predicted sides carry the model's typical latencies (TTFT included), one value each
    assert side.latency_samples["tpot_s"].tolist() == [pytest.approx(edge.p95_s["tpot_s"])]
    assert side.latency_samples["ttft_s"].tolist() == [pytest.approx(edge.p95_s["ttft_s"])]
    assert side_of(cloud).concurrency == cloud.capacity.streams > 1
    with pytest.raises(ParameterError, match=r"hybrid_edge 'L4-class GPU' is not an edge candidate; edge candidates: Raspberry"):
        choose_sides(flat, edge=L4)


def test_each_side_is_priced_by_hand(flat):
    edge, cloud = choose_sides(flat)
    # pi5 in data/reference/prices.yaml: $230 over 26,280 h at $0.15/kWh; busy at the predicted power
    pi_usd_per_h = 230 / 26280 + edge.power_w / 1000 * 0.15
    assert edge.power_basis == "predicted" and 8 < edge.power_w < 16
    assert edge_cost_function(edge)(20, np.ones(24)) == pytest.approx(20 * 24 * pi_usd_per_h)
    assert edge_cost_function(edge)(0, np.zeros(24)) == 0.0
    # 10 requests/s every hour: ceil(10 / capacity) L4 instances x $0.50 x 24 h
    instances = -(-10.0 // cloud.capacity.requests_per_s)
    assert cloud_cost_function(cloud, flat.inputs.workload)(np.full(24, 10.0), np.full(24, 14.0)) == pytest.approx(
        instances * 0.5 * 24)


def test_on_a_flat_day_all_cloud_is_cheapest_and_the_pi_share_breaks_the_target(flat):
    frame = decision_hybrid(flat)
    assert frame.attrs["cheapest_n"] == 0
    on_demand = next(c for c in flat.recommended.costings if c.variant == "on-demand")
    assert frame.loc[0, "total_cost_per_day_usd"] == pytest.approx(on_demand.cost_per_day_usd)
    # more than 5% of requests at the Pi's 400 ms a token: the mix's p95 is the Pi's
    edge, _ = choose_sides(flat)
    busy = frame[frame["edge_share"] > 0.06]
    assert busy["tpot_s_p95"].tolist() == pytest.approx([edge.p95_s["tpot_s"]] * len(busy))
    assert not busy["meets_targets"].any()


def test_a_diurnal_day_is_seeded_and_reproducible():
    result = make_decision(load_decision_inputs(DIURNAL_PARAMS, runs=False))
    first, again = decision_hybrid(result, seed=3), decision_hybrid(result, seed=3)
    assert first.equals(again) and first.attrs["cheapest_n"] == again.attrs["cheapest_n"]
    cheapest = first[first["cheapest"]]
    assert len(cheapest) == 1 and bool(cheapest["meets_targets"].iloc[0])
    assert cheapest["edge_share"].iloc[0] <= 0.05  # a p95 target lets at most 5% go to a side that misses it
