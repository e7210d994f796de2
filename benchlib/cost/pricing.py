"""What a profile costs: per hour and per million tokens, at a utilization, optionally with a measured power."""

from __future__ import annotations

from typing import Any

import numpy as np

from benchlib.cost.formulas import (
    FloatOrArray,
    as_float_or_array,
    check_utilization,
    owned_hourly_cost_usd,
    rented_hourly_cost_usd,
    usd_per_million_tokens,
)
from benchlib.cost.profiles import OwnedHardware, Profile

__all__ = ["cost_per_million_tokens_usd", "hourly_cost_usd", "unchecked_hourly_cost_usd"]


def unchecked_hourly_cost_usd(profile: Profile, u: Any, power_w: Any = None) -> Any:
    """Hourly cost of ``profile`` at utilization ``u`` without checks (``u`` may be 0, for the break-even terms)."""
    active = profile.power_w if power_w is None else np.asarray(power_w, dtype=float)
    idle = active if profile.idle_power_w is None else profile.idle_power_w
    if isinstance(profile, OwnedHardware):
        watts = u * active + (1.0 - u) * idle
        return owned_hourly_cost_usd(
            profile.hardware_usd, profile.amortization_h, watts, profile.electricity_usd_per_kwh, profile.pue
        )
    if not profile.include_electricity:
        return rented_hourly_cost_usd(profile.price_per_hour_usd, profile.discount) + 0.0 * np.asarray(u)
    watts = u * active + (1.0 - u) * idle
    return rented_hourly_cost_usd(
        profile.price_per_hour_usd, profile.discount, watts, profile.electricity_usd_per_kwh, profile.pue
    )


def hourly_cost_usd(
    profile: Profile, utilization: FloatOrArray = 1.0, power_w: FloatOrArray | None = None
) -> FloatOrArray:
    """Hourly cost of a profile at a utilization, USD per hour.

    Owned: amortization + electricity at ``u * power_w + (1 - u) * idle_power_w``.
    Rented: the discounted price (the full hour, whatever ``u``), plus electricity
    only when the profile sets ``include_electricity``.

    Args:
        profile: An :class:`OwnedHardware` or :class:`RentedInstance`.
        utilization: Busy fraction of the hour, in (0, 1].
        power_w: Draw under load to use instead of the profile's (e.g. measured), watts.
    """
    return as_float_or_array(unchecked_hourly_cost_usd(profile, check_utilization(utilization), power_w))


def cost_per_million_tokens_usd(
    profile: Profile,
    throughput_tps: FloatOrArray,
    utilization: FloatOrArray = 1.0,
    power_w: FloatOrArray | None = None,
) -> FloatOrArray:
    """Cost per million tokens of a profile, USD.

    Args:
        profile: An :class:`OwnedHardware` or :class:`RentedInstance`.
        throughput_tps: Throughput while busy, tokens per second.
        utilization: Busy fraction of the hour, in (0, 1].
        power_w: Draw under load to use instead of the profile's, watts.
    """
    return usd_per_million_tokens(hourly_cost_usd(profile, utilization, power_w), throughput_tps, utilization)
