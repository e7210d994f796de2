"""Hybrid what-if: admission by hand, edge share against its Poisson value, a hand-derived optimum, the mix's p95."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchlib.decision.hybrid import Side, hybrid_sweep, simulate_hybrid
from benchlib.decision.hybrid_token_bucket import admitted_per_second
from benchlib.errors import ParameterError
from benchlib.units import SECONDS_PER_DAY

RATE_RPS = 3.0
FLAT = np.full(24, RATE_RPS)
EDGE_TPOT_S, CLOUD_TPOT_S = 0.05, 0.2
EDGE = Side("edge box", 1.0, {"tpot_s": [EDGE_TPOT_S]})
CLOUD = Side("cloud gpu", 4.0, {"tpot_s": [CLOUD_TPOT_S]})


def edge_usd(n_edge, utilization):
    """$1 per device per day, whatever its utilization."""
    assert utilization.shape == (24,)
    return 1.0 * n_edge


def cloud_usd(mean_rps, peak_rps):
    """$0.5 per instance-hour of 4 requests/s, billed for the instance-hours the overflow uses."""
    assert mean_rps.shape == peak_rps.shape == (24,) and np.all(peak_rps >= mean_rps)
    return 0.5 * float(np.sum(mean_rps / CLOUD.capacity_rps))


@pytest.fixture(scope="module")
def untargeted():
    return hybrid_sweep(FLAT, EDGE, CLOUD, edge_cost_per_day=edge_usd, cloud_cost_per_day=cloud_usd,
                        targets={"tpot_s": None})  # fmt: skip


@pytest.fixture(scope="module")
def targeted():
    return hybrid_sweep(FLAT, EDGE, CLOUD, edge_cost_per_day=edge_usd, cloud_cost_per_day=cloud_usd,
                        targets={"tpot_s": 0.1})  # fmt: skip


def test_admission_by_hand():
    # Half a request per second: a token every two seconds, a bucket of one; idle seconds refill it.
    assert admitted_per_second([1, 1, 1, 1, 0, 0, 0, 0, 3], 0.5).tolist() == [1, 0, 1, 0, 0, 0, 0, 0, 1]
    # 2.5 per second, bucket of 3, full at the start: 3; refill to 2.5, then 3 (capped); 3; 2.5 -> 2.
    assert admitted_per_second([0, 0, 3, 0, 3, 3], 2.5).tolist() == [0, 0, 3, 0, 3, 2]
    # An integer capacity admits min(arrivals, C) every second.
    assert admitted_per_second([0, 5, 2, 7, 1], 2.0).tolist() == [0, 2, 2, 2, 1]
    assert admitted_per_second([4, 4], 0.0).tolist() == [0, 0]
    # 0.1 request/s, one arrival every second: the bucket (full at the start) refills by ten additions of 0.1,
    # which sum to 0.9999999999999999 in floats: still one whole request in the eleventh second.
    assert admitted_per_second([1] * 11, 0.1).tolist() == [1] + [0] * 9 + [1]
    assert 0.1 * 0 + sum([0.1] * 10) < 1.0


def test_an_idle_fleet_absorbs_a_burst_of_its_slots():
    # 0.5 request/s and 4 slots (a device running 4 requests of 8 s): 4 at once, then one token per 2 s;
    # five idle seconds refill 2.5 tokens on top of 0.5: 3 of the next 4.
    assert admitted_per_second([4, 1, 1, 0, 0, 0, 0, 0, 4], 0.5, fleet_slots=4).tolist() == [4, 0, 1, 0, 0, 0, 0, 0, 3]
    assert admitted_per_second([4, 1, 1, 0, 0, 0, 0, 0, 4], 0.5).tolist() == [1, 0, 1, 0, 0, 0, 0, 0, 1]
    slow = Side("slow edge", 0.5, {"tpot_s": [0.05]}, concurrency=4)
    one_slot = Side("slow edge", 0.5, {"tpot_s": [0.05]})
    rates = np.full(24, 1.0)
    assert simulate_hybrid(2, rates, slow, CLOUD).edge_share > simulate_hybrid(2, rates, one_slot, CLOUD).edge_share
    # The all-edge size is the smallest N that sends nothing to the cloud, below the N covering the busiest second.
    frame = hybrid_sweep(rates, slow, CLOUD, edge_cost_per_day=edge_usd, cloud_cost_per_day=cloud_usd, targets={})
    busiest_second = int(frame.attrs["busiest_second_requests"])
    assert frame.iloc[-1]["cloud_requests"] == 0 and frame.iloc[-2]["cloud_requests"] > 0
    assert frame.attrs["all_edge_n"] == frame.iloc[-1]["n_edge"] < math.ceil(busiest_second / 0.5)


def test_a_rate_one_device_always_covers_is_all_edge_and_none_is_all_cloud():
    big = Side("big edge", 100.0, {"tpot_s": [0.01]})  # Poisson(0.5) never brings 100 requests in a second
    one = simulate_hybrid(1, np.full(24, 0.5), big, CLOUD)
    assert one.edge_share == 1.0 and one.overflow.sum() == 0 and one.overflow_rps_peak.max() == 0
    assert np.array_equal(one.edge_utilization, one.arrivals / (100.0 * 3600))
    assert one.p95_s["tpot_s"] == 0.01
    none = simulate_hybrid(0, np.full(24, 0.5), big, CLOUD)
    assert none.edge_share == 0.0 and np.array_equal(none.overflow, none.arrivals)
    assert np.all(none.edge_utilization == 0) and none.p95_s["tpot_s"] == CLOUD_TPOT_S
    assert np.array_equal(one.arrivals, none.arrivals)  # same seed, same day
    assert none.hourly_table()["arrivals"].sum() == none.arrivals.sum()


def test_edge_share_on_a_flat_profile_matches_poisson_within_five_standard_errors(untargeted):
    # With C = 3 requests/s the edge serves min(X, 3) of X ~ Poisson(3) each second:
    # share = E[min(X, 3)] / 3 = (P(X>=1) + P(X>=2) + P(X>=3)) / 3.
    k = np.arange(0, 60)
    pmf = stats.poisson.pmf(k, RATE_RPS)
    share = np.sum(np.minimum(k, 3) * pmf) / RATE_RPS
    assert share == pytest.approx(sum(stats.poisson.sf(j - 1, RATE_RPS) for j in (1, 2, 3)) / RATE_RPS)
    # The estimate sum(min(X,3)) / sum(X) over 86,400 seconds: delta method, variance of min(X,3) - share·X.
    residual = np.minimum(k, 3) - share * k
    standard_error = math.sqrt(np.sum(residual**2 * pmf) / SECONDS_PER_DAY) / RATE_RPS
    row = untargeted.set_index("n_edge").loc[3]
    assert abs(row["edge_share"] - share) < 5 * standard_error
    assert standard_error < 0.002  # the tolerance is tight enough to mean something


def test_the_cheapest_n_on_a_flat_profile_with_linear_costs(untargeted):
    # The N-th device costs $1/day and takes P(X >= N) requests/s off the cloud, saving
    # 24 h × $0.5 × P(X >= N) / 4 = 3·P(X >= N) $/day: worth it while P(X >= N) > 1/3.
    # P(X>=4) = 0.353 > 1/3 > P(X>=5) = 0.185 for X ~ Poisson(3): the cheapest N is 4.
    assert stats.poisson.sf(3, RATE_RPS) > 1 / 3 > stats.poisson.sf(4, RATE_RPS)
    assert untargeted.attrs["cheapest_n"] == 4
    assert untargeted.loc[untargeted["cheapest"], "n_edge"].tolist() == [4]
    row = untargeted.set_index("n_edge").loc[4]
    assert row["edge_cost_per_day_usd"] == 4.0
    assert row["cloud_cost_per_day_usd"] == pytest.approx(0.5 * row["cloud_requests"] / (4.0 * 3600))
    assert row["total_cost_per_day_usd"] == row["edge_cost_per_day_usd"] + row["cloud_cost_per_day_usd"]
    assert untargeted["meets_targets"].all()  # no target set
    assert "4 × edge box" in untargeted.attrs["note"]


def test_the_all_edge_size_is_the_smallest_n_covering_the_busiest_second(untargeted):
    last = untargeted.iloc[-1]
    assert last["n_edge"] == untargeted.attrs["all_edge_n"] and last["edge_share"] == 1.0
    assert last["cloud_requests"] == 0 and untargeted.iloc[-2]["edge_share"] < 1.0
    assert untargeted["n_edge"].tolist() == list(range(int(last["n_edge"]) + 1))
    assert untargeted.iloc[0]["edge_share"] == 0.0
    assert untargeted["edge_share"].is_monotonic_increasing
    assert (untargeted["requests_per_day"] == untargeted["edge_requests"] + untargeted["cloud_requests"]).all()


def test_a_split_qualifies_only_when_every_side_with_traffic_meets_the_target_on_95_percent(targeted):
    # Cloud share: E[(X - N)+] / 3 = 10.7% at N = 4, 4.5% at N = 5 (see test_edge_share...). The pooled p95 of the
    # mix (shown for reading) meets 0.1 s from N = 5, but the cloud misses on every request it serves: a p95
    # target does not let 4.5% of requests go to a side that misses them all (issue 23's loophole).
    by_n = targeted.set_index("n_edge")
    for n, row in by_n.iterrows():
        cloud_share = row["cloud_requests"] / row["requests_per_day"]
        assert row["tpot_s_p95"] == (CLOUD_TPOT_S if cloud_share > 0.05 else EDGE_TPOT_S), n
        assert row["meets_targets"] == (row["cloud_requests"] == 0), n
    assert by_n.loc[5, "tpot_s_p95"] == EDGE_TPOT_S and not by_n.loc[5, "meets_targets"]
    assert targeted.attrs["cheapest_n"] == targeted.attrs["all_edge_n"]


def test_a_side_within_the_target_on_90_percent_fails_a_p95_target_however_little_it_serves():
    ninety = Side("cloud 90%", 4.0, {"tpot_s": [EDGE_TPOT_S] * 9 + [CLOUD_TPOT_S]})
    ninety_six = Side("cloud 96%", 4.0, {"tpot_s": [EDGE_TPOT_S] * 24 + [CLOUD_TPOT_S]})
    for cloud, qualifies in ((ninety, False), (ninety_six, True)):
        outcome = simulate_hybrid(5, FLAT, EDGE, cloud, targets={"tpot_s": 0.1})
        assert outcome.side_attainment == (1.0, 0.9 if cloud is ninety else 0.96)
        assert outcome.attainment > 0.99  # the day as a whole is within the target on 99% of requests
        assert outcome.meets_targets is qualifies
    assert not simulate_hybrid(5, FLAT, EDGE, ninety_six, targets={"tpot_s": 0.1}, required_share=0.99).meets_targets


def test_the_p95_of_a_measured_distribution_is_its_inverted_cdf_percentile():
    measured = Side("measured edge", 100.0, {"tpot_s": np.arange(1, 101) / 100})
    outcome = simulate_hybrid(1, np.full(24, 0.5), measured, CLOUD, targets={"tpot_s": 0.95})
    assert outcome.p95_s["tpot_s"] == 0.95 and outcome.meets_targets  # 95 of the 100 values are <= 0.95
    assert not simulate_hybrid(1, np.full(24, 0.5), measured, CLOUD, targets={"tpot_s": 0.94}).meets_targets


def test_no_n_meets_an_impossible_target_which_is_an_answer_not_an_error():
    frame = hybrid_sweep(FLAT, EDGE, CLOUD, edge_cost_per_day=edge_usd, cloud_cost_per_day=cloud_usd,
                         targets={"tpot_s": 0.01}, n_max=3)  # fmt: skip
    assert frame["n_edge"].tolist() == [0, 1, 2, 3]
    assert not frame["meets_targets"].any() and not frame["cheapest"].any()
    assert frame.attrs["cheapest_n"] is None and "no hybrid split qualifies" in frame.attrs["note"]


def test_the_same_seed_gives_the_same_frame_and_a_row_equals_its_single_simulation(untargeted):
    again = hybrid_sweep(FLAT, EDGE, CLOUD, edge_cost_per_day=edge_usd, cloud_cost_per_day=cloud_usd,
                         targets={"tpot_s": None})  # fmt: skip
    pd.testing.assert_frame_equal(again, untargeted)
    other = hybrid_sweep(FLAT, EDGE, CLOUD, edge_cost_per_day=edge_usd, cloud_cost_per_day=cloud_usd,
                         targets={}, n_max=2, seed=1)  # fmt: skip
    assert other.iloc[0]["requests_per_day"] != untargeted.iloc[0]["requests_per_day"]
    single = simulate_hybrid(3, FLAT, EDGE, CLOUD)
    row = untargeted.set_index("n_edge").loc[3]
    assert single.edge_served.sum() == row["edge_requests"] and single.edge_share == row["edge_share"]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: simulate_hybrid(1, np.full(23, 1.0), EDGE, CLOUD), "must have 24 entries"),
        (lambda: simulate_hybrid(1, np.full(24, -1.0), EDGE, CLOUD), "finite rates >= 0"),
        (lambda: simulate_hybrid(1, np.zeros(24), EDGE, CLOUD), "no traffic"),
        (lambda: simulate_hybrid(-1, FLAT, EDGE, CLOUD), "n_edge must be a whole number"),
        (lambda: Side("pi", -0.5, {}), "capacity_rps must be > 0"),
        (lambda: Side("pi", 1.0, {"tpot_s": []}), "one or more finite values"),
        (lambda: Side("pi", 1.0, {}, concurrency=0), "concurrency must be a whole number >= 1"),
        (lambda: simulate_hybrid(1, FLAT, EDGE, CLOUD, targets={"itl_s": 0.1}), r"valid: \['tpot_s'\]"),
        (lambda: simulate_hybrid(1, FLAT, EDGE, CLOUD, targets={"tpot_s": -1}), "p95 limit > 0"),
        (lambda: simulate_hybrid(1, FLAT, Side("x", math.inf, {}), CLOUD), "finite capacity_rps"),
    ],
)
def test_bad_inputs_say_what_to_fix(call, message):
    with pytest.raises(ParameterError, match=message):
        call()
