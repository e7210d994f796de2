"""Pure cost formulas on numbers: USD per hour, USD per million tokens, joules per token.

Definitions (DESIGN.md and the article's "Cost-per-inference" section):

* hourly cost, owned hardware: ``hardware_usd / amortization_h`` plus electricity
  ``average_power_w / 1000 * pue * electricity_usd_per_kwh``, where the average
  power at utilization ``u`` is ``u * power_w + (1 - u) * idle_power_w``. The
  hardware amortizes whether it is busy or not.
* hourly cost, rented instance: ``price_per_hour_usd * (1 - discount)``, paid for
  the full hour whatever ``u`` is; electricity is added only when the profile sets
  ``include_electricity`` (the article does not: the price already pays the power).
* tokens per hour: ``throughput_tps * 3600 * u``.
* cost per million tokens: ``hourly_cost / tokens_per_hour * 1e6``, USD.
* energy per token: ``power_w / throughput_tps``, J/token (at full load).
* cost of tokens at a hosted API (per-token prices, no hourly cost, no
  utilization): ``input_tokens * usd_per_million_input_tokens / 1e6 +
  output_tokens * usd_per_million_output_tokens / 1e6``, USD.

``u`` (utilization) is the busy fraction of each hour, in (0, 1]. Every numeric
function broadcasts over numpy arrays and returns a float for scalar inputs.
Profiles, price files, break-even and the pricing of runs are the other
modules of :mod:`benchlib.cost`.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Union

import numpy as np

from benchlib.errors import ParameterError
from benchlib.units import SECONDS_PER_DAY, SECONDS_PER_HOUR

__all__ = [
    "TOKENS_PER_MILLION",
    "DeviceCount",
    "FloatOrArray",
    "amortization_usd_per_h",
    "as_float_or_array",
    "average_power_w",
    "check_non_negative",
    "check_positive",
    "check_utilization",
    "edge_devices_to_match",
    "electricity_usd_per_h",
    "energy_per_token_j",
    "owned_hourly_cost_usd",
    "rented_hourly_cost_usd",
    "requests_per_day",
    "token_cost_usd",
    "tokens_per_hour",
    "usd_per_million_tokens",
]

TOKENS_PER_MILLION = 1e6

FloatOrArray = Union[float, np.ndarray]


def as_float_or_array(value: Any) -> FloatOrArray:
    """A float for a 0-d result, the array otherwise."""
    array = np.asarray(value, dtype=float)
    return float(array) if array.ndim == 0 else array


def check_utilization(utilization: Any, name: str = "utilization") -> np.ndarray:
    """``utilization`` as an array, every value checked to lie in (0, 1].

    Raises:
        ParameterError: a value is outside (0, 1]; the message names ``name``.
    """
    u = np.asarray(utilization, dtype=float)
    bad = ~((u > 0) & (u <= 1))
    if np.any(bad):
        raise ParameterError(
            f"{name} must be in (0, 1] (the busy fraction of each hour; 1.0 = busy all the time), "
            f"got {u[bad].flat[0]:g}."
        )
    return u


def check_positive(value: Any, name: str) -> np.ndarray:
    """``value`` as an array, every value checked to be positive.

    Raises:
        ParameterError: a value is not positive; the message names ``name``.
    """
    array = np.asarray(value, dtype=float)
    bad = ~(array > 0)
    if np.any(bad):
        raise ParameterError(f"{name} must be a positive number, got {array[bad].flat[0]:g}.")
    return array


def check_non_negative(value: Any, name: str) -> np.ndarray:
    """``value`` as an array, every value checked to be a number >= 0.

    Raises:
        ParameterError: a value is negative or NaN; the message names ``name``.
    """
    array = np.asarray(value, dtype=float)
    bad = ~(array >= 0)
    if np.any(bad):
        raise ParameterError(f"{name} must be a number >= 0, got {array[bad].flat[0]:g}.")
    return array


def amortization_usd_per_h(hardware_usd: FloatOrArray, amortization_h: FloatOrArray) -> FloatOrArray:
    """Hardware price spread over its service life, USD per hour.

    Args:
        hardware_usd: Purchase price, USD.
        amortization_h: Hours the price is spread over (3 years 24/7 = 26,280 h).
    """
    return as_float_or_array(np.asarray(hardware_usd, dtype=float) / check_positive(amortization_h, "amortization_h"))


def electricity_usd_per_h(
    power_w: FloatOrArray, electricity_usd_per_kwh: FloatOrArray, pue: FloatOrArray = 1.0
) -> FloatOrArray:
    """Electricity bill of a constant draw, USD per hour.

    Args:
        power_w: Average draw, watts.
        electricity_usd_per_kwh: Electricity price, USD per kWh.
        pue: Power usage effectiveness, facility power / device power (>= 1).
    """
    return as_float_or_array(np.asarray(power_w, dtype=float) / 1000.0 * np.asarray(pue, dtype=float) * electricity_usd_per_kwh)


def average_power_w(utilization: FloatOrArray, power_w: FloatOrArray, idle_power_w: FloatOrArray) -> FloatOrArray:
    """Average draw over an hour that is busy a fraction ``utilization`` of the time, watts.

    Args:
        utilization: Busy fraction of the hour, in (0, 1].
        power_w: Draw while busy, watts.
        idle_power_w: Draw while idle, watts.
    """
    u = check_utilization(utilization)
    return as_float_or_array(u * np.asarray(power_w, dtype=float) + (1.0 - u) * np.asarray(idle_power_w, dtype=float))


def owned_hourly_cost_usd(
    hardware_usd: FloatOrArray,
    amortization_h: FloatOrArray,
    power_w: FloatOrArray,
    electricity_usd_per_kwh: FloatOrArray,
    pue: FloatOrArray = 1.0,
) -> FloatOrArray:
    """Hourly cost of hardware you own: amortization plus electricity, USD per hour.

    Args:
        hardware_usd: Purchase price, USD.
        amortization_h: Hours the price is spread over.
        power_w: Average draw over the hour (measured or assumed), watts; see
            :func:`average_power_w` for a partly idle hour.
        electricity_usd_per_kwh: Electricity price, USD per kWh.
        pue: Facility overhead factor (1.0 for a device on a desk).
    """
    return as_float_or_array(
        np.asarray(amortization_usd_per_h(hardware_usd, amortization_h))
        + electricity_usd_per_h(power_w, electricity_usd_per_kwh, pue)
    )


def rented_hourly_cost_usd(
    price_per_hour_usd: FloatOrArray,
    discount: FloatOrArray = 0.0,
    power_w: FloatOrArray = 0.0,
    electricity_usd_per_kwh: FloatOrArray = 0.0,
    pue: FloatOrArray = 1.0,
) -> FloatOrArray:
    """Hourly cost of a rented instance, USD per hour.

    Args:
        price_per_hour_usd: List (on-demand) price, USD per hour.
        discount: Reserved or spot saving as a fraction of the list price, in [0, 1).
        power_w: Draw to bill on top of the price, watts; leave 0 when the price
            already pays the power (the article's choice).
        electricity_usd_per_kwh: Electricity price for that draw, USD per kWh.
        pue: Facility overhead factor applied to that draw.
    """
    d = np.asarray(discount, dtype=float)
    bad = ~((d >= 0) & (d < 1))
    if np.any(bad):
        raise ParameterError(f"discount must be in [0, 1) (0.3 = 30% off the list price), got {d[bad].flat[0]:g}.")
    return as_float_or_array(
        np.asarray(price_per_hour_usd, dtype=float) * (1.0 - d)
        + electricity_usd_per_h(power_w, electricity_usd_per_kwh, pue)
    )


def tokens_per_hour(throughput_tps: FloatOrArray, utilization: FloatOrArray = 1.0) -> FloatOrArray:
    """Tokens generated in an hour busy a fraction ``utilization`` of the time.

    Args:
        throughput_tps: Throughput while busy, tokens per second.
        utilization: Busy fraction of the hour, in (0, 1].
    """
    tps = check_positive(throughput_tps, "throughput_tps")
    return as_float_or_array(tps * SECONDS_PER_HOUR * check_utilization(utilization))


def usd_per_million_tokens(
    hourly_cost_usd: FloatOrArray, throughput_tps: FloatOrArray, utilization: FloatOrArray = 1.0
) -> FloatOrArray:
    """Cost per million tokens from an hourly cost, USD.

    Args:
        hourly_cost_usd: Everything the hour costs, USD.
        throughput_tps: Throughput while busy, tokens per second.
        utilization: Busy fraction of the hour, in (0, 1].
    """
    return as_float_or_array(
        np.asarray(hourly_cost_usd, dtype=float) / tokens_per_hour(throughput_tps, utilization) * TOKENS_PER_MILLION
    )


def token_cost_usd(
    input_tokens: FloatOrArray,
    output_tokens: FloatOrArray,
    usd_per_million_input_tokens: FloatOrArray,
    usd_per_million_output_tokens: FloatOrArray,
) -> FloatOrArray:
    """What tokens cost at per-token prices (a hosted API), USD.

    Args:
        input_tokens: Prompt (input) tokens sent, tokens (a count or a total).
        output_tokens: Generated (output) tokens received, tokens.
        usd_per_million_input_tokens: Price of a million input tokens, USD.
        usd_per_million_output_tokens: Price of a million output tokens, USD.
    """
    return as_float_or_array(
        (
            check_non_negative(input_tokens, "input_tokens") * np.asarray(usd_per_million_input_tokens, dtype=float)
            + check_non_negative(output_tokens, "output_tokens") * np.asarray(usd_per_million_output_tokens, dtype=float)
        )
        / TOKENS_PER_MILLION
    )


def energy_per_token_j(power_w: FloatOrArray, throughput_tps: FloatOrArray) -> FloatOrArray:
    """Energy per generated token at full load, joules (W / (tok/s) = J/token).

    Args:
        power_w: Draw while generating, watts.
        throughput_tps: Throughput, tokens per second.
    """
    return as_float_or_array(np.asarray(power_w, dtype=float) / check_positive(throughput_tps, "throughput_tps"))


def requests_per_day(
    utilization: FloatOrArray, throughput_tps: FloatOrArray, tokens_per_request: FloatOrArray
) -> FloatOrArray:
    """Requests a day that keep a platform busy a fraction ``utilization`` of the time.

    Args:
        utilization: Busy fraction, in (0, 1].
        throughput_tps: Throughput while busy, tokens per second.
        tokens_per_request: Output tokens per request (the article: 128).
    """
    return as_float_or_array(
        check_utilization(utilization)
        * check_positive(throughput_tps, "throughput_tps")
        * SECONDS_PER_DAY
        / check_positive(tokens_per_request, "tokens_per_request")
    )


class DeviceCount(NamedTuple):
    """How many edge devices match one cloud instance's throughput.

    Attributes:
        devices: ``ceil(ratio)``, whole devices.
        ratio: ``cloud_tps / edge_tps``, exact.
    """

    devices: int | np.ndarray
    ratio: float | np.ndarray


def edge_devices_to_match(edge_tps: FloatOrArray, cloud_tps: FloatOrArray) -> DeviceCount:
    """Edge devices needed to match one cloud instance's throughput.

    Args:
        edge_tps: Throughput of one edge device, tokens per second.
        cloud_tps: Throughput of one cloud instance, tokens per second.
    """
    ratio = check_positive(cloud_tps, "cloud_tps") / check_positive(edge_tps, "edge_tps")
    devices = np.ceil(ratio * (1.0 - 1e-12)).astype(int)  # 15.000000000000002 is 15 devices
    if ratio.ndim == 0:
        return DeviceCount(int(devices), float(ratio))
    return DeviceCount(devices, ratio)
