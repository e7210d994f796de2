"""Sizing and daily cost by hand: each hour's fleet with its queue, owned and rented variants, energy, idle power."""

from dataclasses import replace

import numpy as np
import pytest
from decision_fakes import price_book

from benchlib.cost import load_prices
from benchlib.decision import Candidate, cost_candidate, decision_inputs
from benchlib.decision.load_capacity import size_level
from benchlib.decision.serving import level_from_values
from benchlib.decision.sizing import size_hours


def _inputs(**values):
    """No service level, no target: each hour's fleet is the smallest stable one, ``floor(rate * service) + 1``."""
    return decision_inputs(service_level=None, **values)


def _candidate(profile, service_s: float, inputs) -> Candidate:
    """A one-slot device taking ``service_s`` a request (``1 / service_s`` requests/s with its slot always busy)."""
    level = level_from_values(1, service_s, 0.0, 1)
    sizing = size_level(level, inputs.workload.peak_rate_per_s, {}, 0.95)
    return Candidate("box", "box", "edge", "measured", "run-x", "m", profile, profile.power_w, "estimated", (level,),
                     sizing, output_tokens=inputs.workload.output_tokens)  # fmt: skip


def test_size_hours_keeps_the_peak_fleet_or_each_hours_own_and_defaults_to_ceil():
    assert size_hours(np.full(24, 10.0), 2.5, "always-on")[0].tolist() == [4] * 24  # ceil(10 / 2.5), 100% busy
    rates = np.array([10.0] * 12 + [2.0] * 12)
    queued = {10.0: 5, 2.0: 1}
    devices, utilization = size_hours(rates, 2.5, "on-demand", lambda rate: queued[rate])
    assert devices.tolist() == [5] * 12 + [1] * 12 and utilization.tolist() == [0.8] * 12 + [0.8] * 12
    always, _ = size_hours(rates, 2.5, "always-on", lambda rate: queued[rate])
    assert always.tolist() == [5] * 24


def test_10_requests_per_second_of_0_4_s_need_5_devices_not_4():
    # 4 erlangs: 4 devices would be busy all the time and the queue would grow without bound
    inputs = _inputs(requests_per_day=864_000)
    (costing,) = cost_candidate(_candidate(load_prices()["pi5"], 0.4, inputs), inputs)
    assert (costing.variant, costing.devices, costing.peak_requests_per_s) == ("owned", 5, pytest.approx(10.0))
    assert costing.device_hours == 120 and costing.busy_device_hours == pytest.approx(96.0)
    assert costing.utilization == pytest.approx(0.8)


def test_owned_pi5_at_half_utilization_costs_its_amortization_and_electricity():
    # 43,200 requests/day flat = 0.5 req/s on one device serving 1 req/s: u = 0.5 every hour.
    # prices.yaml pi5: $230 over 26,280 h -> 230 * 24 / 26280 = $0.210045662/day of amortization;
    # 8 W busy and idle -> 8 W * 24 h = 0.192 kWh * $0.15 = $0.0288/day of electricity; $0.238845662/day.
    inputs = _inputs(requests_per_day=43_200)
    (costing,) = cost_candidate(_candidate(load_prices()["pi5"], 1.0, inputs), inputs)
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
    inputs = _inputs(requests_per_day=43_200)
    (half,) = cost_candidate(_candidate(book["pi5-idle3"], 1.0, inputs), inputs)
    assert half.energy_per_day_kwh == pytest.approx(0.132) and half.electricity_usd_per_day == pytest.approx(0.0198)
    # 21,600 requests in hours 0-11: 0.5 req/s, u = 0.5 on one device; 12 h at 5.5 W + 12 idle h at 3 W = 102 Wh
    halfday_inputs = _inputs(requests_per_day=21_600, hourly_profile=[1 / 12] * 12 + [0.0] * 12)
    (halfday,) = cost_candidate(_candidate(book["pi5-idle3"], 1.0, halfday_inputs), halfday_inputs)
    assert halfday.utilization_by_hour == (0.5,) * 12 + (0.0,) * 12
    assert halfday.energy_per_day_j == pytest.approx((12 * 5.5 + 12 * 3) * 3600)
    assert halfday.cost_per_day_usd == pytest.approx(230 * 24 / 26280 + 0.102 * 0.15, rel=1e-12)


def test_a_rented_instance_always_on_pays_the_peak_all_day_and_on_demand_each_hours_own_count():
    # 864,000 requests in hours 0-11: 20 req/s of 0.4 s = 8 erlangs -> 9 instances; none in hours 12-23
    inputs = _inputs(requests_per_day=864_000, hourly_profile=[1 / 12] * 12 + [0.0] * 12)
    l4 = load_prices()["l4"]
    always, on_demand = cost_candidate(_candidate(l4, 0.4, inputs), inputs)
    price = l4.price_per_hour_usd
    assert (always.variant, always.devices, always.device_hours) == ("always-on", 9, 216)
    assert always.cost_per_day_usd == pytest.approx(9 * 24 * price) and always.rental_usd_per_day == always.cost_per_day_usd
    assert (on_demand.variant, on_demand.devices, on_demand.device_hours) == ("on-demand", 9, 108)
    assert on_demand.devices_by_hour == (9,) * 12 + (0,) * 12 and on_demand.cost_per_day_usd == pytest.approx(9 * 12 * price)
    assert always.utilization == pytest.approx(96 / 216) and on_demand.utilization == pytest.approx(96 / 108)
    # the L4's profile power (estimated) while provisioned; idle = busy draw
    watts = l4.power_w
    assert always.energy_per_day_kwh == pytest.approx(216 * watts / 1000)
    assert on_demand.energy_per_day_kwh == pytest.approx(108 * watts / 1000) and always.energy_basis == "estimated"


def test_a_profile_without_a_price_or_a_fleet_cannot_be_sized():
    inputs = _inputs(requests_per_day=1000)
    candidate = _candidate(load_prices()["pi5"], 1.0, inputs)
    assert cost_candidate(replace(candidate, price_profile=None), inputs) == []
    assert cost_candidate(replace(candidate, sizing=replace(candidate.sizing, devices=None)), inputs) == []
