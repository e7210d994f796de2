"""Queueing by hand: M/D/1 and M/M/c formulas against the simulation, the issue's Erlang C case, fleet sizing."""

import math

import numpy as np
import pytest

from benchlib.decision.queueing import erlang_c, mmc_wait, simulate_mgc, size_fleet
from benchlib.errors import ParameterError


def _exponential(mean_s: float = 1.0, size: int = 20_000, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).exponential(mean_s, size)


def test_a_server_for_almost_every_request_means_almost_no_wait_and_an_overloaded_queue_waits_forever():
    # M/D/1 at rho = 1e-4: P(wait) = rho, mean wait (Pollaczek-Khinchine) = rho * 1 s / (2 (1 - rho)) = 5e-5 s.
    stats = simulate_mgc(1e-4, 1, np.array([1.0]))
    assert stats.requests == 18_000 and stats.utilization == pytest.approx(1e-4)
    assert stats.p_wait < 2e-3 and stats.mean_wait_s < 1e-3 and stats.wait_p99_s == 0.0
    for rate in (1.0, 2.5):  # utilization exactly 1 and above: not simulated
        unstable = simulate_mgc(rate, 1, np.array([1.0]))
        assert (unstable.p_wait, unstable.requests, unstable.waits_s.size) == (1.0, 0, 0)
        assert math.isinf(unstable.mean_wait_s) and math.isinf(unstable.wait_p95_s)
        assert math.isinf(unstable.first_token_quantile_s(0.1, 0.5)) and unstable.attainment(0.1, 10.0) == 0.0


def test_m_d_1_at_half_load_waits_as_pollaczek_khinchine_says():
    # M/G/1: P(wait) = rho = 0.5 exactly; mean wait = lambda E[S^2] / (2 (1 - rho)) = 0.5 * 1 / (2 * 0.5) = 0.5 s.
    # 200,000 requests at rho 0.5: the standard error of either is under 1%; 5% leaves room for five of them.
    stats = simulate_mgc(0.5, 1, np.array([1.0]), requests=200_000, seed=3)
    assert stats.p_wait == pytest.approx(0.5, rel=0.05)
    assert stats.mean_wait_s == pytest.approx(0.5, rel=0.05)


def test_the_waits_are_those_of_a_brute_force_fcfs_queue_fed_the_same_draws():
    # Same draws as simulate_mgc (arrival gaps, then sample indices), served by scanning every server.
    service = np.random.default_rng(11).lognormal(0.0, 0.8, 500)
    rate, servers, requests = 2.0, 3, 3_000
    stats = simulate_mgc(rate, servers, service, requests=requests, warmup_share=0.0, seed=5)
    rng = np.random.default_rng(5)
    arrivals = np.cumsum(rng.exponential(1 / rate, requests))
    index = rng.integers(0, service.size, requests)
    free, expected = [0.0] * servers, []
    for arrival, sample in zip(arrivals, index):
        server = min(range(servers), key=free.__getitem__)
        start = max(arrival, free[server])
        expected.append(start - arrival)
        free[server] = start + service[sample]
    np.testing.assert_allclose(stats.waits_s, expected, rtol=0, atol=1e-9)
    assert np.array_equal(stats.sample_index, index) and stats.p_wait == np.mean(np.array(expected) > 0)


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.8, 0.95])
def test_erlang_c_is_rho_for_one_server_and_2_rho2_over_1_plus_rho_for_two(rho):
    # c = 1: P(wait) = rho. c = 2, A = 2 rho: C = A^2/2 / (1 - rho) / (1 + A + A^2/2/(1 - rho)) = 2 rho^2 / (1 + rho).
    assert erlang_c(1, rho) == pytest.approx(rho, rel=1e-12)
    assert erlang_c(2, 2 * rho) == pytest.approx(2 * rho**2 / (1 + rho), rel=1e-12)
    assert erlang_c(3, 3.0) == 1.0 and erlang_c(3, 0.0) == 0.0


@pytest.mark.parametrize("servers", [1, 2, 4])
@pytest.mark.parametrize("rho", [0.5, 0.8])
def test_simulated_m_m_c_matches_the_exact_formulas(servers, rho):
    # 20,000 exponential draws stand for the service distribution; M/M/c uses their mean. Over 20 seeds at
    # 200,000 requests the relative standard error at rho 0.8 was about 0.8% for P(wait) and 3.5% for the
    # mean and p95 wait; 400,000 requests bring the latter to about 2.5%: 10% is four standard errors, and
    # 3% on P(wait) about five.
    service = _exponential()
    rate = rho * servers / service.mean()
    stats = simulate_mgc(rate, servers, service, requests=400_000, seed=1)
    exact = mmc_wait(servers, rate, service.mean())
    assert stats.utilization == pytest.approx(rho) and exact.utilization == pytest.approx(rho)
    assert stats.p_wait == pytest.approx(exact.p_wait, rel=0.03)
    assert stats.mean_wait_s == pytest.approx(exact.mean_wait_s, rel=0.10)
    assert stats.wait_p95_s == pytest.approx(exact.wait_quantile_s(0.95), rel=0.10)
    assert stats.wait_quantile_s(0.95) == stats.wait_p95_s


def test_the_issues_12_servers_at_rho_0_988_wait_with_probability_0_95():
    # The issue rounds to 0.95, 6.6 s and 20 s: within half a unit of its last digit. Mean wait =
    # C / (c mu - lambda) = C s / (12 * 0.012); C = 0.952 gives 6.6 s at s = 6.6 * 0.144 / 0.952 = 1.0 s
    # (128 tokens at 7.8 ms). p95 = ln(C / 0.05) / (c mu - lambda) = mean * ln(C / 0.05) / C, about 3.1 x.
    c_wait = erlang_c(12, 12 * 0.988)
    assert c_wait == pytest.approx(0.95, abs=0.005)
    wait = mmc_wait(12, 12 * 0.988 / 1.0, 1.0)
    assert wait.p_wait == c_wait and wait.utilization == pytest.approx(0.988)
    assert wait.mean_wait_s == pytest.approx(6.6, abs=0.05)
    assert wait.wait_quantile_s(0.95) == pytest.approx(20, abs=0.5)
    ratio = wait.wait_quantile_s(0.95) / wait.mean_wait_s
    assert ratio == pytest.approx(math.log(c_wait / 0.05) / c_wait, rel=1e-12) and 3.0 < ratio < 3.2
    assert wait.wait_quantile_s(0.04) == 0.0  # q <= 1 - C: most requests do not wait


@pytest.mark.parametrize(("limit_s", "devices"), [(0.63, 9), (0.075, 10), (0.001, 11)])
def test_size_fleet_agrees_with_m_m_c_where_the_answer_is_not_borderline(limit_s, devices):
    # 30 requests/s, 1 s mean exponential service, 4 slots a device: M/M/c p95 waits for 8..11 devices are
    # about 1.49, 0.267, 0.021 and 0 s. Each limit sits about midway (in log) between two neighbours.
    service = _exponential()
    exact = next(n for n in range(8, 100) if mmc_wait(n * 4, 30.0, service.mean()).wait_quantile_s(0.95) <= limit_s)
    assert exact == devices
    fleet = size_fleet(30.0, 4, service, 0.0, ttft_limit_s=limit_s, requests=100_000)
    assert fleet is not None and fleet.devices == devices and fleet.slots_per_device == 4
    assert fleet.ttft_quantile_s <= limit_s and fleet.stats.servers == devices * 4
    assert fleet.erlang_c_p_wait == erlang_c(devices * 4, 30.0 * service.mean())


def test_size_fleet_finds_the_same_fleet_as_a_linear_scan():
    # 200 requests/s on 4-slot devices: the smallest stable fleet is 51; the answer needs the gallop and bisection.
    service, first_token = _exponential(), np.random.default_rng(2).uniform(0.1, 0.3, 20_000)
    fleet = size_fleet(200.0, 4, service, first_token, ttft_limit_s=0.296)

    def meets(devices: int) -> bool:
        return simulate_mgc(200.0, devices * 4, service).first_token_quantile_s(first_token, 0.95) <= 0.296

    assert fleet is not None and fleet.devices == next(n for n in range(51, 200) if meets(n)) == 56


def test_size_fleet_returns_none_when_no_fleet_can_help():
    service = _exponential(size=1_000)
    assert size_fleet(5.0, 2, service, 2.0, ttft_limit_s=1.0) is None  # first token alone misses the limit
    tpot = np.where(np.arange(1_000) < 100, 0.2, 0.05)  # 10% of samples miss a 0.1 s TPOT limit
    targets = {"ttft_limit_s": None, "tpot_s": tpot, "tpot_limit_s": 0.1, "min_attainment": 0.95}
    assert size_fleet(5.0, 2, service, 0.5, **targets) is None
    tpot[30:100] = 0.05  # 3% miss it: enough devices attain 95%
    fleet = size_fleet(5.0, 2, service, 0.5, **targets)
    assert fleet is not None and 0.95 <= fleet.attainment < 0.98
    both = size_fleet(5.0, 2, service, 0.5, **{**targets, "ttft_limit_s": 1.0})
    assert both is not None and both.devices >= fleet.devices and both.attainment >= 0.95


def test_without_targets_the_fleet_is_the_smallest_stable_one():
    # 8 erlangs on 4-slot devices: 2 devices are exactly saturated (utilization 1), so 3.
    assert size_fleet(8.0, 4, np.array([1.0]), 0.0, ttft_limit_s=None).devices == 3
    assert size_fleet(30.0, 4, _exponential(), 0.0, ttft_limit_s=None).devices == 8  # 30.25 erlangs / 4 = 7.56


def test_size_fleet_asks_for_more_devices_than_max_devices_allows():
    with pytest.raises(ParameterError, match="raise max_devices"):
        size_fleet(30.0, 4, _exponential(), 0.0, ttft_limit_s=0.1, max_devices=5)  # 8 are needed to be stable


def test_same_seed_same_waits_and_more_servers_never_wait_longer():
    service = np.random.default_rng(4).lognormal(0.0, 1.0, 5_000)
    rate = 0.9 / service.mean()  # one server at utilization 0.9
    first, again = simulate_mgc(rate, 1, service, seed=9), simulate_mgc(rate, 1, service, seed=9)
    assert first == again and np.array_equal(first.waits_s, again.waits_s)
    assert not np.array_equal(first.waits_s, simulate_mgc(rate, 1, service, seed=10).waits_s)
    previous = first
    for servers in range(2, 7):
        stats = simulate_mgc(rate, servers, service, seed=9)
        assert np.array_equal(stats.sample_index, first.sample_index)
        assert np.all(stats.waits_s <= previous.waits_s) and stats.mean_wait_s < previous.mean_wait_s
        previous = stats


def test_aligned_samples_broadcast_or_must_match_the_service_samples():
    service = np.array([1.0, 2.0, 3.0])
    stats = simulate_mgc(0.1, 2, service)
    first_token = np.array([0.1, 0.2, 0.3])
    expected = stats.waits_s + first_token[stats.sample_index]
    assert stats.first_token_quantile_s(first_token, 0.9) == pytest.approx(np.quantile(expected, 0.9))
    assert stats.first_token_quantile_s(0.2, 0.9) == pytest.approx(np.quantile(stats.waits_s + 0.2, 0.9))
    assert stats.attainment(first_token, None) == 1.0
    assert stats.attainment(first_token, 10.0, first_token, 0.15) == pytest.approx(np.mean(stats.sample_index == 0))
    with pytest.raises(ParameterError, match="one per service-time sample"):
        stats.first_token_quantile_s(np.array([0.1, 0.2]), 0.9)
    with pytest.raises(ParameterError, match="tpot_s"):
        stats.attainment(0.1, 1.0, None, 0.1)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((0.0, 1, [1.0]), "arrival_rate_per_s"),
        ((1.0, 0, [1.0]), "servers"),
        ((1.0, 1.5, [1.0]), "servers"),
        ((1.0, 2, []), "service_s"),
        ((1.0, 2, [1.0, np.nan]), "service_s"),
        ((1.0, 2, [1.0, 0.0]), "service_s"),
    ],
)
def test_invalid_inputs_are_refused_with_the_parameter_named(args, message):
    with pytest.raises(ParameterError, match=message):
        simulate_mgc(*args)
