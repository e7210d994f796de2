"""Sizing and daily cost by hand: devices for the peak hour, owned and rented variants, energy, the CSV arithmetic."""

from dataclasses import replace

import numpy as np
import pytest

from benchlib.cost import load_prices
from benchlib.decision import Candidate, Capacity, LatencySamples, cost_candidate, decision_inputs
from benchlib.decision.sizing import size_hours
from decision_fakes import price_book


def _candidate(profile, requests_per_s: float, tps: float | None = None, power_w: float | None = None) -> Candidate:
    tps = requests_per_s * 128 if tps is None else tps
    capacity = Capacity(1, tps, tps, tps, requests_per_s, "single stream")
    samples = LatencySamples(np.zeros(1), np.zeros(1), np.zeros(1), 128)
    power = profile.power_w if power_w is None else power_w
    return Candidate("box", "box", "edge", "measured", "run-x", "tiny", profile, power, "estimated", capacity, {}, (),
                     samples)  # fmt: skip


def test_864000_requests_a_day_flat_are_10_per_second_and_need_4_devices_of_2_5():
    devices, utilization = size_hours(np.full(24, 10.0), 2.5, "always-on")
    assert list(devices) == [4] * 24 and list(utilization) == [1.0] * 24
    (costing,) = cost_candidate(_candidate(load_prices()["pi5"], 2.5), decision_inputs(requests_per_day=864_000).workload)
    assert (costing.variant, costing.devices, costing.peak_requests_per_s) == ("owned", 4, pytest.approx(10.0))
    assert costing.device_hours == 96 and costing.busy_device_hours == pytest.approx(96.0) and costing.utilization == 1.0


def test_owned_pi5_at_half_utilization_costs_its_amortization_and_electricity():
    # 43,200 requests/day flat = 0.5 req/s on one device serving 1 req/s: u = 0.5 every hour.
    # prices.yaml pi5: $230 over 26,280 h -> 230 * 24 / 26280 = $0.210045662/day of amortization;
    # 8 W busy and idle -> 8 W * 24 h = 0.192 kWh * $0.15 = $0.0288/day of electricity; $0.238845662/day.
    workload = decision_inputs(requests_per_day=43_200).workload
    (costing,) = cost_candidate(_candidate(load_prices()["pi5"], 1.0), workload)
    assert costing.devices == 1 and set(costing.utilization_by_hour) == {0.5}
    assert costing.amortization_usd_per_day == pytest.approx(230 * 24 / 26280, rel=1e-12)
    assert costing.electricity_usd_per_day == pytest.approx(0.0288, rel=1e-12)
    assert costing.cost_per_day_usd == pytest.approx(0.238845662, rel=1e-9)
    assert costing.cost_per_month_usd == pytest.approx(0.238845662 * 30.4, rel=1e-9)
    assert costing.energy_per_day_j == pytest.approx(8 * 86400) and costing.energy_per_day_kwh == pytest.approx(0.192)
    # 43,200 * 128 = 5,529,600 output tokens/day: $0.238845662 / 5.5296 M
    assert costing.usd_per_million_output_tokens == pytest.approx(0.238845662 / 5.5296, rel=1e-9)


def test_idle_power_fills_the_idle_half_of_each_hour_and_the_idle_hours(tmp_path):
    book, _ = price_book(tmp_path)
    # pi5 idling at 3 W, u = 0.5: 0.5 * 8 + 0.5 * 3 = 5.5 W -> 0.132 kWh/day -> $0.0198
    (half,) = cost_candidate(_candidate(book["pi5-idle3"], 1.0), decision_inputs(requests_per_day=43_200).workload)
    assert half.energy_per_day_kwh == pytest.approx(0.132) and half.electricity_usd_per_day == pytest.approx(0.0198)
    # all traffic in hours 0-11 at 1 req/s: 12 busy hours at 8 W, 12 idle hours at 3 W = 132 Wh = 0.132 kWh again
    shares = [1 / 12] * 12 + [0.0] * 12
    workload = decision_inputs(requests_per_day=43_200, hourly_profile=shares).workload
    (halfday,) = cost_candidate(_candidate(book["pi5-idle3"], 1.0), workload)
    assert halfday.utilization_by_hour == (1.0,) * 12 + (0.0,) * 12
    assert halfday.energy_per_day_j == pytest.approx((12 * 8 + 12 * 3) * 3600)
    assert halfday.cost_per_day_usd == pytest.approx(230 * 24 / 26280 + 0.132 * 0.15, rel=1e-12)


def test_a_rented_instance_always_on_pays_the_peak_all_day_and_on_demand_each_hours_own_count():
    # 864,000 requests in hours 0-11: 20 req/s, 8 L4 instances of 2.5 req/s; none in hours 12-23
    shares = [1 / 12] * 12 + [0.0] * 12
    workload = decision_inputs(requests_per_day=864_000, hourly_profile=shares).workload
    always, on_demand = cost_candidate(_candidate(load_prices()["l4"], 2.5), workload)
    assert (always.variant, always.devices, always.device_hours) == ("always-on", 8, 192)
    assert always.cost_per_day_usd == pytest.approx(8 * 24 * 0.50) and always.rental_usd_per_day == always.cost_per_day_usd
    assert (on_demand.variant, on_demand.devices, on_demand.device_hours) == ("on-demand", 8, 96)
    assert on_demand.devices_by_hour == (8,) * 12 + (0,) * 12 and on_demand.cost_per_day_usd == pytest.approx(48.0)
    assert always.utilization == pytest.approx(0.5) and on_demand.utilization == pytest.approx(1.0)
    # the L4's 70 W (estimated) while provisioned; idle = busy draw, so 192 h * 70 W and 96 h * 70 W
    assert always.energy_per_day_kwh == pytest.approx(192 * 0.070) and on_demand.energy_per_day_kwh == pytest.approx(96 * 0.070)
    assert always.energy_basis == "estimated"


def test_a_profile_without_a_price_cannot_be_sized():
    candidate = _candidate(load_prices()["pi5"], 1.0)
    assert cost_candidate(replace(candidate, price_profile=None), decision_inputs().workload) == []
