"""The hybrid what-if of a decision: its two sides chosen, queued and priced with benchlib.cost, on the default inputs."""

import numpy as np
import pytest

from benchlib.decision import load_decision_inputs, make_decision
from benchlib.decision.hybrid_sides import (
    HOPELESS_EDGE_SIZES,
    choose_sides,
    cloud_cost_function,
    decision_hybrid,
    edge_cost_function,
    side_of,
)
from benchlib.decision.inputs import DIURNAL_PARAMS, FLAT_PARAMS
from benchlib.decision.load_capacity import size_level
from benchlib.decision.sizing import queue_devices
from benchlib.errors import ParameterError

PI, L4 = "Raspberry Pi 5 (CPU)", "L4"


@pytest.fixture(scope="module")
def flat():
    return make_decision(load_decision_inputs(FLAT_PARAMS, runs=False))


def test_the_sides_are_the_cheapest_edge_box_and_the_recommended_cloud(flat):
    edge, cloud = choose_sides(flat)
    assert (edge.name, cloud.name) == (PI, L4)
    # no Pi fleet meets the targets: its side takes what its slots complete, at its own latencies
    side = side_of(edge)
    assert edge.sizing.devices is None
    assert side.capacity_rps == pytest.approx(edge.sizing.level.requests_per_s)
    assert side.latency_samples["tpot_s"].tolist() == pytest.approx(edge.sizing.level.tpot_s.tolist())
    # the L4 fleet: what each instance serves at the peak with the targets met, TTFT with the simulated wait
    cloud_side = side_of(cloud)
    assert cloud_side.concurrency == cloud.sizing.level.slots > 1
    assert cloud_side.capacity_rps == pytest.approx(flat.inputs.workload.peak_rate_per_s / cloud.sizing.devices)
    waits = cloud.sizing.stats.waits_s
    assert cloud_side.latency_samples["ttft_s"].size == waits.size
    assert np.all(cloud_side.latency_samples["ttft_s"] >= waits)
    with pytest.raises(ParameterError, match=r"hybrid_edge 'L4' is not an edge candidate; edge candidates: Raspberry"):
        choose_sides(flat, edge=L4)


def test_each_side_is_priced_by_hand(flat):
    edge, cloud = choose_sides(flat)
    # pi5 in data/reference/prices.yaml: $230 over 26,280 h at $0.15/kWh; busy at the predicted power
    pi_usd_per_h = 230 / 26280 + edge.power_w / 1000 * 0.15
    assert edge.power_basis == "predicted" and 3 < edge.power_w < 16
    assert edge_cost_function(edge)(20, np.ones(24)) == pytest.approx(20 * 24 * pi_usd_per_h)
    assert edge_cost_function(edge)(0, np.zeros(24)) == 0.0
    # 10 requests/s every hour: the instances the queueing model needs at 10/s, x $0.50 x 24 h
    instances = queue_devices(cloud, flat.inputs)(10.0)
    assert 1 <= instances <= cloud.sizing.devices
    assert cloud_cost_function(cloud, flat.inputs)(np.full(24, 10.0), np.full(24, 14.0)) == pytest.approx(
        instances * 0.5 * 24)  # fmt: skip


def test_a_rate_bracketed_by_two_equal_sizes_gets_the_size_a_simulation_gives(flat):
    _, cloud = choose_sides(flat)
    targets, seed = flat.inputs.targets, flat.inputs.workload.seed
    devices_at = queue_devices(cloud, flat.inputs)
    rates = np.random.default_rng(7).uniform(0.5, cloud.sizing.rate_per_s, 40)  # any order: brackets form as it goes
    sized = [devices_at(float(rate)) for rate in rates]
    simulated = [size_level(cloud.sizing.level, float(rate), targets.set_targets(), targets.quantile,
                            attainment=targets.slo_attainment, seed=seed).devices for rate in rates]  # fmt: skip
    assert sized == simulated
    assert len(set(sized)) > 1  # the rates span more than one fleet size: some were not bracketed


def test_on_a_flat_day_all_cloud_is_cheapest_and_no_split_with_a_pi_qualifies(flat):
    frame = decision_hybrid(flat)
    assert frame.attrs["cheapest_n"] == 0
    # the Pi misses on every request, so a few sizes show the cost and none qualifies
    assert frame["n_edge"].tolist() == list(range(HOPELESS_EDGE_SIZES + 1))
    assert frame["meets_targets"].tolist() == [True] + [False] * HOPELESS_EDGE_SIZES
    on_demand = next(c for c in flat.recommended.costings if c.variant == "on-demand")
    assert frame.loc[0, "total_cost_per_day_usd"] == pytest.approx(on_demand.cost_per_day_usd)


def test_a_diurnal_day_is_seeded_and_reproducible():
    result = make_decision(load_decision_inputs(DIURNAL_PARAMS, runs=False))
    first, again = decision_hybrid(result, seed=3), decision_hybrid(result, seed=3)
    assert first.equals(again) and first.attrs["cheapest_n"] == again.attrs["cheapest_n"]
    cheapest = first[first["cheapest"]]
    assert len(cheapest) == 1 and bool(cheapest["meets_targets"].iloc[0])
    assert first.attrs["cheapest_n"] == 0  # no split that sends requests to the Pi qualifies
