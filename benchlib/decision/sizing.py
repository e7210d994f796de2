"""Sizing and cost: devices or instances for the peak hour, their cost and energy over the day.

For each hour ``h`` the workload sends ``requests_per_day * share[h]`` requests,
``rps[h] = that / 3600`` per second. A candidate's fleet for an hour is the
queueing model's (:mod:`benchlib.decision.load_capacity`): the fewest devices
whose M/G/c queue meets the targets at that hour's rate, the wait included;
``capacity_rps`` is what one device completes with every slot busy. In hour
``h`` each of ``n[h]`` devices is busy ``u[h] = rps[h] / (n[h] * capacity_rps)``
of the time (load spread evenly), and the hour costs ``n[h] *
hourly_cost(profile, u[h])`` (:func:`benchlib.cost.pricing.unchecked_hourly_cost_usd`,
so an idle hour, ``u = 0``, costs its amortization and idle power). Variants:

* ``owned`` (hardware you own): the peak count all day, ``n[h] = devices``.
* ``always-on`` (rented): the peak count all day.
* ``on-demand`` (rented): each hour's own fleet, sized by the queueing model at that hour's rate.
* ``per-token`` (a hosted API): tokens times price, no devices.

Everything adds up from the columns: ``device_hours = sum(n[h])``;
``busy_device_hours = requests_per_day / capacity_rps / 3600``; energy per day
``3600 * (busy_device_hours * power_w + (device_hours - busy_device_hours) * idle_power_w)``
joules (the average power of each hour is ``u * power_w + (1 - u) * idle_power_w``);
cost per day = ``amortization_usd_per_day + electricity_usd_per_day +
rental_usd_per_day + hosted_usd_per_day``; per month = per day * 30.4;
USD per million output tokens = cost per day / (requests_per_day * output_tokens) * 1e6,
the realised utilization ``busy_device_hours / device_hours`` priced with
:func:`benchlib.cost.usd_per_million_tokens`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchlib.cost import (
    TOKENS_PER_MILLION,
    amortization_usd_per_h,
    average_power_w,
    edge_devices_to_match,
    hosted_cost_usd,
    rented_hourly_cost_usd,
    usd_per_million_tokens,
)
from benchlib.cost.pricing import unchecked_hourly_cost_usd
from benchlib.decision.candidates import Candidate
from benchlib.decision.inputs import DecisionInputs, Traffic
from benchlib.decision.load_capacity import size_level
from benchlib.units import SECONDS_PER_HOUR

__all__ = ["DAYS_PER_MONTH", "VARIANTS", "Costing", "cost_candidate", "hourly_requests_per_s", "queue_devices",
           "size_hours"]

DAYS_PER_MONTH = 30.4
VARIANTS = {"owned": ("owned",), "rented": ("always-on", "on-demand"), "hosted": ("per-token",)}
"""The variants of each price-profile kind."""


@dataclass(frozen=True)
class Costing:
    """One candidate under one provisioning variant, for one day of the workload.

    Attributes:
        candidate: The candidate's name.
        variant: ``owned``, ``always-on``, ``on-demand`` or ``per-token``.
        peak_requests_per_s: Requests per second of the busiest hour.
        devices: Devices or instances provisioned at the peak (0 for a hosted API).
        devices_by_hour: Provisioned count of each hour.
        utilization_by_hour: Busy fraction of each provisioned device in each hour (0 when none is provisioned).
        device_hours: ``sum(devices_by_hour)``.
        busy_device_hours: Device-hours of work the day's requests need.
        utilization: Realised utilization, ``busy_device_hours / device_hours``.
        amortization_usd_per_day: Hardware amortization (owned).
        electricity_usd_per_day: Electricity billed (owned, or rented with ``include_electricity``).
        rental_usd_per_day: Instance price for the hours provisioned (rented).
        hosted_usd_per_day: Tokens times price (hosted).
        cost_per_day_usd: Everything the day costs.
        cost_per_month_usd: ``cost_per_day_usd * 30.4``.
        power_w: Draw under load used for energy, watts (NaN when unknown).
        idle_power_w: Draw when idle, watts.
        energy_per_day_j: Energy of the provisioned devices over the day, joules (NaN when unknown).
        energy_per_day_kwh: The same in kWh.
        energy_basis: ``measured`` (a sensor's mean power) or ``estimated`` (a profile's).
        usd_per_million_output_tokens: Cost per million output tokens at the realised utilization.
    """

    candidate: str
    variant: str
    peak_requests_per_s: float
    devices: int
    devices_by_hour: tuple[int, ...]
    utilization_by_hour: tuple[float, ...]
    device_hours: float
    busy_device_hours: float
    utilization: float
    amortization_usd_per_day: float
    electricity_usd_per_day: float
    rental_usd_per_day: float
    hosted_usd_per_day: float
    cost_per_day_usd: float
    cost_per_month_usd: float
    power_w: float
    idle_power_w: float
    energy_per_day_j: float
    energy_per_day_kwh: float
    energy_basis: str
    usd_per_million_output_tokens: float


def hourly_requests_per_s(workload: Traffic) -> np.ndarray:
    """Requests per second in each of the day's 24 hours."""
    return workload.hourly_rates_per_s


def size_hours(requests_per_s: np.ndarray, capacity_rps: float, variant: str,
               devices_at: Callable[[float], int] | None = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Devices of each hour and each one's utilization, for ``variant`` (peak count, or each hour's own).

    Args:
        requests_per_s: Each hour's arrival rate.
        capacity_rps: Requests per second one device completes with every slot busy.
        variant: ``on-demand`` sizes each hour on its own; the others keep the peak's count all day.
        devices_at: Devices needed at a rate (the queueing model's); default ``ceil(rate / capacity_rps)``.

    Returns:
        ``(devices_by_hour, utilization_by_hour)``; an hour without devices has utilization 0.
    """
    busy = requests_per_s > 0
    needed = np.zeros(requests_per_s.size, dtype=int)
    if busy.any():
        if devices_at is None:
            needed[busy] = edge_devices_to_match(capacity_rps, requests_per_s[busy]).devices
        else:
            needed[busy] = [devices_at(float(rate)) for rate in requests_per_s[busy]]
    devices = needed if variant == "on-demand" else np.full(requests_per_s.size, needed.max(initial=0))
    utilization = np.divide(requests_per_s, devices * capacity_rps, out=np.zeros(requests_per_s.size),
                            where=devices > 0)  # fmt: skip
    return devices, utilization


def queue_devices(candidate: Candidate, inputs: DecisionInputs) -> Callable[[float], int]:
    """Devices the candidate's chosen level needs at a rate, by the queueing model (each rate sized once).

    The count never falls as the rate rises: every simulation draws the same standard exponential gaps and
    divides them by the rate (common random numbers), and an FCFS queue's waits only grow when arrivals
    come sooner. So a rate between two sized rates that needed the same count needs that count too, and is
    not simulated again: exactly the answer a simulation would give, at a fraction of the cost when a
    what-if asks for hundreds of overflow rates.
    """
    assert candidate.sizing is not None and candidate.sizing.devices is not None
    sizing, targets = candidate.sizing, inputs.targets
    known: dict[float, int] = {sizing.rate_per_s: sizing.devices}

    def devices_at(rate: float) -> int:
        key = round(rate, 9)
        if key in known:
            return known[key]
        below = max((r for r in known if r < key), default=None)
        above = min((r for r in known if r > key), default=None)
        if below is not None and above is not None and known[below] == known[above]:
            return known[below]
        sized = size_level(sizing.level, rate, targets.set_targets(), targets.quantile,
                           attainment=targets.slo_attainment, seed=inputs.workload.seed)  # fmt: skip
        known[key] = sized.devices if sized.devices is not None else sizing.devices
        return known[key]

    return devices_at


def _power_by_hour(utilization: np.ndarray, power_w: float, idle_power_w: float) -> np.ndarray:
    busy = utilization > 0
    return np.where(busy, average_power_w(np.where(busy, utilization, 1.0), power_w, idle_power_w), idle_power_w)


def _hosted_cost_per_day(profile: Any, workload: Traffic) -> float:
    """Cost per day of a hosted API: the day's input and output tokens times their prices
    (:func:`benchlib.cost.hosted_cost_usd`), USD."""
    requests = workload.requests_per_day
    return float(hosted_cost_usd(profile, requests * workload.prompt_tokens, requests * workload.output_tokens))


def _hosted(candidate: Candidate, workload: Traffic, peak_rps: float) -> Costing:
    nan = float("nan")
    cost = float(_hosted_cost_per_day(candidate.price_profile, workload))
    tokens_per_day = workload.requests_per_day * workload.output_tokens
    return Costing(
        candidate.name, "per-token", peak_rps, 0, (0,) * 24, (0.0,) * 24, 0.0, 0.0, nan, 0.0, 0.0, 0.0, cost, cost,
        cost * DAYS_PER_MONTH, nan, nan, nan, nan, "not known (hosted API)", cost / tokens_per_day * TOKENS_PER_MILLION,
    )  # fmt: skip


def cost_candidate(candidate: Candidate, inputs: DecisionInputs) -> list[Costing]:
    """Every variant of a candidate priced for one day of the workload, its fleets sized with queueing.

    Returns:
        One :class:`Costing` per variant of its profile's kind (:data:`VARIANTS`); empty
        when it has no price profile or no fleet meets the targets (it cannot be sized).
    """
    workload = inputs.workload
    profile = candidate.price_profile
    rps = hourly_requests_per_s(workload)
    peak_rps = float(rps.max())
    if profile is None:
        return []
    if profile.kind not in ("owned", "rented"):
        return [_hosted(candidate, workload, peak_rps)]
    if candidate.sizing is None or candidate.sizing.devices is None:
        return []
    capacity = candidate.capacity
    devices_at = queue_devices(candidate, inputs)
    power_w = float(candidate.power_w) if candidate.power_w is not None else float("nan")
    idle_power_w = float(profile.idle_power_w) if profile.idle_power_w is not None else power_w
    measured_power = candidate.billed_power_w
    busy_device_hours = workload.requests_per_day / capacity.requests_per_s / SECONDS_PER_HOUR
    costings = []
    for variant in VARIANTS[profile.kind]:
        devices, utilization = size_hours(rps, capacity.requests_per_s, variant, devices_at)
        per_device = np.asarray(unchecked_hourly_cost_usd(profile, utilization, measured_power), dtype=float)
        cost = float(np.sum(devices * per_device))
        device_hours = float(devices.sum())
        if profile.kind == "owned":
            amortization = amortization_usd_per_h(profile.hardware_usd, profile.amortization_h) * device_hours
            rental = 0.0
        else:
            amortization = 0.0
            rental = rented_hourly_cost_usd(profile.price_per_hour_usd, profile.discount) * device_hours
        energy_j = float(np.sum(devices * _power_by_hour(utilization, power_w, idle_power_w)) * SECONDS_PER_HOUR)
        realised = min(busy_device_hours / device_hours, 1.0)  # 1 + 1e-16 is a full hour
        costings.append(Costing(
            candidate.name, variant, peak_rps, int(devices.max()), tuple(int(n) for n in devices),
            tuple(float(u) for u in utilization), device_hours, busy_device_hours, realised,
            float(amortization), cost - float(amortization) - float(rental), float(rental), 0.0, cost,
            cost * DAYS_PER_MONTH, power_w, idle_power_w, energy_j, energy_j / 3.6e6, candidate.power_basis,
            float(usd_per_million_tokens(cost / device_hours, capacity.throughput_tps, realised)),
        ))  # fmt: skip
    return costings
