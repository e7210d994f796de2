"""Price assumptions and cost formulas: USD per million tokens, joules per token, break-even.

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

``u`` (utilization) is the busy fraction of each hour, in (0, 1]. Every numeric
function broadcasts over numpy arrays and returns a float for scalar inputs.

Profiles come from YAML price files (schema in ``data/reference/prices.yaml``):
:func:`load_prices` reads the article's defaults and then your files, which add
profiles or replace them by name.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Union

import numpy as np
import yaml

from benchlib.errors import ParameterError

__all__ = [
    "DEFAULT_PRICES_PATH",
    "KINDS",
    "SCHEMA_VERSION",
    "BreakEven",
    "CostUncertainty",
    "DeviceCount",
    "Interval",
    "OwnedHardware",
    "PriceBook",
    "Profile",
    "RentedInstance",
    "amortization_usd_per_h",
    "average_power_w",
    "break_even",
    "break_even_utilization",
    "cost_per_million_tokens_usd",
    "cost_uncertainty",
    "edge_devices_to_match",
    "electricity_usd_per_h",
    "energy_per_token_j",
    "hourly_cost_usd",
    "load_prices",
    "owned_hourly_cost_usd",
    "profile_from_record",
    "profile_record",
    "run_cost_summary",
    "percentile_interval",
    "rented_hourly_cost_usd",
    "requests_per_day",
    "tokens_per_hour",
    "usd_per_million_tokens",
]

DEFAULT_PRICES_PATH = Path(__file__).resolve().parents[1] / "data" / "reference" / "prices.yaml"
SCHEMA_VERSION = 1
KINDS = ("owned", "rented")
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0
TOKENS_PER_MILLION = 1e6

FloatOrArray = Union[float, np.ndarray]


def _out(value: Any) -> FloatOrArray:
    """A float for a 0-d result, the array otherwise."""
    array = np.asarray(value, dtype=float)
    return float(array) if array.ndim == 0 else array


def _check_utilization(utilization: Any, name: str = "utilization") -> np.ndarray:
    u = np.asarray(utilization, dtype=float)
    bad = ~((u > 0) & (u <= 1))
    if np.any(bad):
        raise ParameterError(
            f"{name} must be in (0, 1] (the busy fraction of each hour; 1.0 = busy all the time), "
            f"got {u[bad].flat[0]:g}."
        )
    return u


def _check_positive(value: Any, name: str) -> np.ndarray:
    array = np.asarray(value, dtype=float)
    bad = ~(array > 0)
    if np.any(bad):
        raise ParameterError(f"{name} must be a positive number, got {array[bad].flat[0]:g}.")
    return array


# ----------------------------------------------------------------------------- pure formulas


def amortization_usd_per_h(hardware_usd: FloatOrArray, amortization_h: FloatOrArray) -> FloatOrArray:
    """Hardware price spread over its service life, USD per hour.

    Args:
        hardware_usd: Purchase price, USD.
        amortization_h: Hours the price is spread over (3 years 24/7 = 26,280 h).
    """
    return _out(np.asarray(hardware_usd, dtype=float) / _check_positive(amortization_h, "amortization_h"))


def electricity_usd_per_h(
    power_w: FloatOrArray, electricity_usd_per_kwh: FloatOrArray, pue: FloatOrArray = 1.0
) -> FloatOrArray:
    """Electricity bill of a constant draw, USD per hour.

    Args:
        power_w: Average draw, watts.
        electricity_usd_per_kwh: Electricity price, USD per kWh.
        pue: Power usage effectiveness, facility power / device power (>= 1).
    """
    return _out(np.asarray(power_w, dtype=float) / 1000.0 * np.asarray(pue, dtype=float) * electricity_usd_per_kwh)


def average_power_w(utilization: FloatOrArray, power_w: FloatOrArray, idle_power_w: FloatOrArray) -> FloatOrArray:
    """Average draw over an hour that is busy a fraction ``utilization`` of the time, watts.

    Args:
        utilization: Busy fraction of the hour, in (0, 1].
        power_w: Draw while busy, watts.
        idle_power_w: Draw while idle, watts.
    """
    u = _check_utilization(utilization)
    return _out(u * np.asarray(power_w, dtype=float) + (1.0 - u) * np.asarray(idle_power_w, dtype=float))


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
    return _out(
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
    return _out(
        np.asarray(price_per_hour_usd, dtype=float) * (1.0 - d)
        + electricity_usd_per_h(power_w, electricity_usd_per_kwh, pue)
    )


def tokens_per_hour(throughput_tps: FloatOrArray, utilization: FloatOrArray = 1.0) -> FloatOrArray:
    """Tokens generated in an hour busy a fraction ``utilization`` of the time.

    Args:
        throughput_tps: Throughput while busy, tokens per second.
        utilization: Busy fraction of the hour, in (0, 1].
    """
    tps = _check_positive(throughput_tps, "throughput_tps")
    return _out(tps * SECONDS_PER_HOUR * _check_utilization(utilization))


def usd_per_million_tokens(
    hourly_cost_usd: FloatOrArray, throughput_tps: FloatOrArray, utilization: FloatOrArray = 1.0
) -> FloatOrArray:
    """Cost per million tokens from an hourly cost, USD.

    Args:
        hourly_cost_usd: Everything the hour costs, USD.
        throughput_tps: Throughput while busy, tokens per second.
        utilization: Busy fraction of the hour, in (0, 1].
    """
    return _out(
        np.asarray(hourly_cost_usd, dtype=float) / tokens_per_hour(throughput_tps, utilization) * TOKENS_PER_MILLION
    )


def energy_per_token_j(power_w: FloatOrArray, throughput_tps: FloatOrArray) -> FloatOrArray:
    """Energy per generated token at full load, joules (W / (tok/s) = J/token).

    Args:
        power_w: Draw while generating, watts.
        throughput_tps: Throughput, tokens per second.
    """
    return _out(np.asarray(power_w, dtype=float) / _check_positive(throughput_tps, "throughput_tps"))


def requests_per_day(
    utilization: FloatOrArray, throughput_tps: FloatOrArray, tokens_per_request: FloatOrArray
) -> FloatOrArray:
    """Requests a day that keep a platform busy a fraction ``utilization`` of the time.

    Args:
        utilization: Busy fraction, in (0, 1].
        throughput_tps: Throughput while busy, tokens per second.
        tokens_per_request: Output tokens per request (the article: 128).
    """
    return _out(
        _check_utilization(utilization)
        * _check_positive(throughput_tps, "throughput_tps")
        * SECONDS_PER_DAY
        / _check_positive(tokens_per_request, "tokens_per_request")
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
    ratio = _check_positive(cloud_tps, "cloud_tps") / _check_positive(edge_tps, "edge_tps")
    devices = np.ceil(ratio * (1.0 - 1e-12)).astype(int)  # 15.000000000000002 is 15 devices
    if ratio.ndim == 0:
        return DeviceCount(int(devices), float(ratio))
    return DeviceCount(devices, ratio)


# ----------------------------------------------------------------------------- profiles


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


_Rule = tuple[Callable[[float], bool], str]
_POSITIVE: _Rule = (lambda x: x > 0, "a positive number")
_NON_NEGATIVE: _Rule = (lambda x: x >= 0, "a number >= 0")
_PUE: _Rule = (lambda x: x >= 1, "a number >= 1 (1.0 = no facility overhead)")
_DISCOUNT: _Rule = (lambda x: 0 <= x < 1, "a number in [0, 1) (0.3 = 30% off the list price)")


def _validate(profile: Any, rules: dict[str, _Rule]) -> None:
    """Check a profile's fields against ``rules``; ``None`` means absent (optional)."""
    where = f"profile '{profile.name}'"
    if not isinstance(profile.name, str) or not profile.name:
        raise ParameterError(f"A profile name must be a non-empty string, got {profile.name!r}.")
    for name, (ok, what) in rules.items():
        value = getattr(profile, name)
        if value is None:
            continue
        if not _is_number(value):
            raise ParameterError(
                f"{where}: field '{name}' must be {what}, got {type(value).__name__} {value!r}."
            )
        if not math.isfinite(value) or not ok(value):
            raise ParameterError(f"{where}: field '{name}' must be {what}, got {value:g}.")
        object.__setattr__(profile, name, float(value))
    for name in ("description", "article_platform"):
        if not isinstance(getattr(profile, name), str):
            raise ParameterError(f"{where}: field '{name}' must be text, got {getattr(profile, name)!r}.")


@dataclass(frozen=True)
class OwnedHardware:
    """Hardware you buy and run: the edge box, or your own workstation.

    Attributes:
        name: Profile name (``pi5``).
        hardware_usd: Purchase price, USD.
        amortization_h: Hours the price is spread over.
        power_w: Draw under load (measured or assumed), watts.
        electricity_usd_per_kwh: Electricity price, USD per kWh.
        idle_power_w: Draw when idle, watts; ``None`` means the same as ``power_w``.
        pue: Facility overhead factor, >= 1.
        description: Free text.
        article_platform: The article's platform name (join key into
            ``data/reference/article-2026-01.csv``), or ``""``.
        sources: Where each value comes from, by field name.
    """

    kind: ClassVar[str] = "owned"

    name: str
    hardware_usd: float
    amortization_h: float
    power_w: float
    electricity_usd_per_kwh: float
    idle_power_w: float | None = None
    pue: float = 1.0
    description: str = ""
    article_platform: str = ""
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        _validate(
            self,
            {
                "hardware_usd": _NON_NEGATIVE,
                "amortization_h": _POSITIVE,
                "power_w": _NON_NEGATIVE,
                "electricity_usd_per_kwh": _NON_NEGATIVE,
                "idle_power_w": _NON_NEGATIVE,
                "pue": _PUE,
            },
        )


@dataclass(frozen=True)
class RentedInstance:
    """A cloud instance paid by the hour.

    Attributes:
        name: Profile name (``l4``).
        price_per_hour_usd: List (on-demand) price, USD per hour.
        discount: Reserved or spot saving, fraction of the list price in [0, 1).
        power_w: Draw under load, watts (an estimate, used for energy per token);
            ``None`` when unknown.
        idle_power_w: Draw when idle, watts; ``None`` means the same as ``power_w``.
        include_electricity: Bill electricity on top of the price (default: no,
            the price pays the power, as in the article).
        electricity_usd_per_kwh: Electricity price, USD per kWh; required when
            ``include_electricity`` is true.
        pue: Facility overhead factor, >= 1, applied to billed electricity.
        description: Free text.
        article_platform: The article's platform name, or ``""``.
        sources: Where each value comes from, by field name.
    """

    kind: ClassVar[str] = "rented"

    name: str
    price_per_hour_usd: float
    discount: float = 0.0
    power_w: float | None = None
    idle_power_w: float | None = None
    include_electricity: bool = False
    electricity_usd_per_kwh: float | None = None
    pue: float = 1.0
    description: str = ""
    article_platform: str = ""
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        _validate(
            self,
            {
                "price_per_hour_usd": _POSITIVE,
                "discount": _DISCOUNT,
                "power_w": _NON_NEGATIVE,
                "idle_power_w": _NON_NEGATIVE,
                "electricity_usd_per_kwh": _NON_NEGATIVE,
                "pue": _PUE,
            },
        )
        where = f"profile '{self.name}'"
        if not isinstance(self.include_electricity, bool):
            raise ParameterError(
                f"{where}: field 'include_electricity' must be true or false, got {self.include_electricity!r}."
            )
        if self.include_electricity and (self.power_w is None or self.electricity_usd_per_kwh is None):
            raise ParameterError(
                f"{where}: include_electricity is true, so fields 'power_w' and 'electricity_usd_per_kwh' "
                "are required; add them or set include_electricity: false."
            )


Profile = Union[OwnedHardware, RentedInstance]
_PROFILE_TYPES: dict[str, type] = {"owned": OwnedHardware, "rented": RentedInstance}


def _hourly_usd(profile: Profile, u: Any, power_w: Any = None) -> Any:
    """Hourly cost without checks (``u`` may be 0 here, for the break-even terms)."""
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
    return _out(_hourly_usd(profile, _check_utilization(utilization), power_w))


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


# ----------------------------------------------------------------------------- break-even


def _linear_hourly_usd(profile: Profile) -> tuple[float, float]:
    """``(a, b)`` with hourly cost ``a + b * u`` (it is linear in ``u``)."""
    a = float(_hourly_usd(profile, 0.0))
    return a, float(_hourly_usd(profile, 1.0)) - a


def break_even_utilization(
    edge: Profile,
    cloud: Profile,
    edge_tps: FloatOrArray,
    cloud_tps: FloatOrArray,
    cloud_utilization: FloatOrArray | None = 1.0,
) -> FloatOrArray:
    """Edge utilization at which edge and cloud cost the same per million tokens.

    Hourly costs are linear in utilization, ``a + b * u``, so the crossing has a
    closed form. With a fixed ``cloud_utilization`` ``uc`` (default 1.0: a cloud
    instance kept busy, or rented only for the hours it works) the cloud's cost
    per token is a constant ``K = (a_c + b_c * uc) / (cloud_tps * uc)`` and::

        u* = a_e / (K * edge_tps - b_e)

    above which the edge is cheaper. With ``cloud_utilization=None`` both run at
    the same utilization (an always-on instance serving the same duty cycle)::

        u* = (a_c * edge_tps - a_e * cloud_tps) / (b_e * cloud_tps - b_c * edge_tps)

    Args:
        edge: The owned edge profile (any profile works).
        cloud: The cloud profile to compare against.
        edge_tps: Edge throughput while busy, tokens per second.
        cloud_tps: Cloud throughput while busy, tokens per second.
        cloud_utilization: The cloud's utilization in (0, 1], or ``None`` for "same as the edge".

    Returns:
        ``u*`` in (0, 1], or NaN where there is no crossing in (0, 1]: the edge is
        cheaper at every utilization, dearer at every one (even fully busy, or
        because its marginal cost per token exceeds the cloud's), or the two cost
        ratios never change (same-utilization case with no idle/active power
        difference). :func:`break_even` says which.
    """
    t_e = _check_positive(edge_tps, "edge_tps")
    t_c = _check_positive(cloud_tps, "cloud_tps")
    a_e, b_e = _linear_hourly_usd(edge)
    a_c, b_c = _linear_hourly_usd(cloud)
    with np.errstate(divide="ignore", invalid="ignore"):
        if cloud_utilization is None:
            u = (a_c * t_e - a_e * t_c) / (b_e * t_c - b_c * t_e)
        else:
            uc = _check_utilization(cloud_utilization, "cloud_utilization")
            cloud_usd_per_token_rate = (a_c + b_c * uc) / (t_c * uc)
            u = a_e / (cloud_usd_per_token_rate * t_e - b_e)
        u = np.asarray(u, dtype=float)
        u = np.where((u > 0) & (u <= 1.0 + 1e-12), np.minimum(u, 1.0), np.nan)
    return _out(u)


@dataclass(frozen=True)
class BreakEven:
    """Where owned edge hardware and a cloud class cost the same per million tokens.

    Attributes:
        utilization: Edge utilization of the crossing, or NaN without one in (0, 1].
        requests_per_day: The same as edge requests a day of ``tokens_per_request``
            output tokens, or NaN.
        tokens_per_request: Output tokens per request used for ``requests_per_day``.
        cloud_utilization: The cloud's utilization, or ``None`` for "same as the edge".
        edge_usd_per_million_full: Edge cost per million tokens at utilization 1, USD.
        cloud_usd_per_million: Cloud cost per million tokens at its utilization
            (at 1 when it follows the edge), USD.
        edge_cheaper_above: True when the edge is cheaper above the crossing,
            False when below it, ``None`` without a crossing.
        explanation: One sentence saying what the numbers mean.
    """

    utilization: float
    requests_per_day: float
    tokens_per_request: float
    cloud_utilization: float | None
    edge_usd_per_million_full: float
    cloud_usd_per_million: float
    edge_cheaper_above: bool | None
    explanation: str


def break_even(
    edge: Profile,
    cloud: Profile,
    edge_tps: float,
    cloud_tps: float,
    *,
    cloud_utilization: float | None = 1.0,
    tokens_per_request: float = 128,
) -> BreakEven:
    """Break-even of an edge profile against a cloud profile, explained (scalars).

    See :func:`break_even_utilization` for the formulas and the array version.

    Args:
        edge: The owned edge profile.
        cloud: The cloud profile.
        edge_tps: Edge throughput, tokens per second.
        cloud_tps: Cloud throughput, tokens per second.
        cloud_utilization: The cloud's utilization in (0, 1], or ``None`` for "same as the edge".
        tokens_per_request: Output tokens per request, for the requests-per-day figure.
    """
    u = float(break_even_utilization(edge, cloud, edge_tps, cloud_tps, cloud_utilization))
    edge_full = float(cost_per_million_tokens_usd(edge, edge_tps, 1.0))
    uc = 1.0 if cloud_utilization is None else float(cloud_utilization)
    cloud_cost = float(cost_per_million_tokens_usd(cloud, cloud_tps, uc))
    at = "the same utilization" if cloud_utilization is None else f"utilization {uc:g}"
    cloud_note = f"'{cloud.name}' at {at}"
    if math.isnan(u):
        rpd, cheaper_above = float("nan"), None
        verdict = "cheaper" if edge_full < cloud_cost else "dearer"
        explanation = (
            f"No break-even in (0, 1]: '{edge.name}' is {verdict} per million tokens than {cloud_note} at every "
            f"edge utilization (both fully busy: ${edge_full:.4g} vs ${cloud_cost:.4g}, "
            f"ratio {cloud_cost / edge_full:.3g})."
        )
    else:
        rpd = float(requests_per_day(u, edge_tps, tokens_per_request))
        cheaper_above = edge_full < cloud_cost
        explanation = (
            f"'{edge.name}' at utilization {u:.3f} ({rpd:,.0f} requests/day of {tokens_per_request:g} tokens) "
            f"costs the same per million tokens as {cloud_note}; the edge is cheaper "
            f"{'above' if cheaper_above else 'below'} that utilization."
        )
    return BreakEven(
        u, rpd, float(tokens_per_request), cloud_utilization, edge_full, cloud_cost, cheaper_above, explanation
    )


# ----------------------------------------------------------------------------- uncertainty


class Interval(NamedTuple):
    """Median and percentile interval of a sample."""

    median: float
    ci_low: float
    ci_high: float


def percentile_interval(samples: Any, confidence: float = 0.95) -> Interval:
    """Median and central percentile interval of samples (e.g. bootstrap replicates).

    Args:
        samples: 1-D values; NaN values are dropped.
        confidence: Interval coverage in (0, 1), e.g. 0.95 for the 2.5th-97.5th percentiles.
    """
    if not 0 < confidence < 1:
        raise ParameterError(f"confidence must be in (0, 1), e.g. 0.95, got {confidence}.")
    values = np.asarray(samples, dtype=float).ravel()
    values = values[~np.isnan(values)]
    if values.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    alpha = (1.0 - confidence) / 2.0
    median, low, high = np.quantile(values, [0.5, alpha, 1.0 - alpha])
    return Interval(float(median), float(low), float(high))


@dataclass(frozen=True)
class CostUncertainty:
    """Cost and energy per token propagated from throughput (and power) samples.

    Attributes:
        cost_per_million_usd: One cost per sample, USD per million tokens.
        energy_per_token_j: One energy per sample at full load, J/token; ``None``
            when the profile has no ``power_w`` and no power samples were given.
        cost: Median and percentile interval of ``cost_per_million_usd``.
        energy: Median and percentile interval of ``energy_per_token_j``, or ``None``.
        confidence: Coverage of the intervals.
    """

    cost_per_million_usd: np.ndarray
    energy_per_token_j: np.ndarray | None
    cost: Interval
    energy: Interval | None
    confidence: float


def cost_uncertainty(
    profile: Profile,
    throughput_tps_samples: Any,
    power_w_samples: Any = None,
    *,
    utilization: float = 1.0,
    confidence: float = 0.95,
) -> CostUncertainty:
    """Carry bootstrap samples of throughput (and power) into cost and energy per token.

    Args:
        profile: The platform's price profile.
        throughput_tps_samples: Bootstrap replicates of throughput, tokens per second.
        power_w_samples: Replicates of the draw under load, watts, paired with
            (or broadcast against) the throughput samples; default: the profile's ``power_w``.
        utilization: Busy fraction of the hour for the cost, in (0, 1].
        confidence: Coverage of the percentile intervals.
    """
    tps = _check_positive(np.atleast_1d(np.asarray(throughput_tps_samples, dtype=float)), "throughput_tps_samples")
    power = None if power_w_samples is None else np.asarray(power_w_samples, dtype=float)
    cost = np.asarray(cost_per_million_tokens_usd(profile, tps, utilization, power))
    watts = profile.power_w if power is None else power
    energy = None if watts is None else np.asarray(energy_per_token_j(watts, tps))
    return CostUncertainty(
        cost_per_million_usd=cost,
        energy_per_token_j=energy,
        cost=percentile_interval(cost, confidence),
        energy=None if energy is None else percentile_interval(energy, confidence),
        confidence=confidence,
    )


# ----------------------------------------------------------------------------- price files


@dataclass(frozen=True)
class PriceBook:
    """Price profiles by name, merged from one or more price files.

    Attributes:
        profiles: Profiles by name, in the order they were first defined.
        files: The files read, in order (later ones override earlier ones).
    """

    profiles: dict[str, Profile]
    files: tuple[Path, ...]

    def __getitem__(self, name: str) -> Profile:
        if name not in self.profiles:
            raise ParameterError(
                f"No price profile '{name}'; valid profiles: {', '.join(self.profiles)}. "
                "Add it to a price file of your own and pass that file to load_prices()."
            )
        return self.profiles[name]

    def __contains__(self, name: object) -> bool:
        return name in self.profiles

    def __iter__(self) -> Iterator[str]:
        return iter(self.profiles)

    def __len__(self) -> int:
        return len(self.profiles)


_TOP_LEVEL_KEYS = ("schema_version", "profiles")
_META_KEYS = ("kind", "extends")


def _read_document(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ParameterError(
            f"Price file {path} not found; pass the path of a YAML price file "
            f"(see {DEFAULT_PRICES_PATH} for the schema)."
        )
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML, fix the syntax: {exc}") from None
    if not isinstance(document, dict):
        raise ParameterError(
            f"{path}: the top level must be a mapping with keys {', '.join(_TOP_LEVEL_KEYS)}, "
            f"got {type(document).__name__}."
        )
    unknown = [key for key in document if key not in _TOP_LEVEL_KEYS]
    if unknown:
        raise ParameterError(
            f"{path}: unknown top-level field '{unknown[0]}'; valid fields: {', '.join(_TOP_LEVEL_KEYS)}."
        )
    for key in _TOP_LEVEL_KEYS:
        if key not in document:
            raise ParameterError(
                f"{path}: field '{key}' is missing (a price file has schema_version: {SCHEMA_VERSION} and profiles:)."
            )
    if document["schema_version"] != SCHEMA_VERSION:
        raise ParameterError(
            f"{path}: field 'schema_version' is {document['schema_version']!r}; supported: {SCHEMA_VERSION}."
        )
    if not isinstance(document["profiles"], dict):
        raise ParameterError(
            f"{path}: field 'profiles' must be a mapping of profile name to profile, "
            f"got {type(document['profiles']).__name__}."
        )
    return document


def _build_profile(
    path: Path, name: Any, entry: Any, known: dict[str, dict[str, Any]]
) -> tuple[Profile, dict[str, Any]]:
    """Build one profile from its YAML entry; returns it and its resolved raw fields."""
    where = f"{path}: profile '{name}'"
    if not isinstance(name, str) or not name:
        raise ParameterError(f"{path}: profile names must be non-empty text, got {name!r}.")
    if not isinstance(entry, dict):
        raise ParameterError(f"{where}: must be a mapping of field to value, got {type(entry).__name__}.")
    raw: dict[str, Any] = {}
    if "extends" in entry:
        base = entry["extends"]
        if base not in known:
            raise ParameterError(
                f"{where}: field 'extends' names unknown profile {base!r}; profiles defined so far: "
                f"{', '.join(known) or 'none'}."
            )
        raw.update(known[base])
    raw.update({key: value for key, value in entry.items() if key != "extends"})

    kind = raw.get("kind")
    if kind is None:
        raise ParameterError(f"{where}: field 'kind' is missing; valid kinds: {', '.join(KINDS)}.")
    if kind not in _PROFILE_TYPES:
        raise ParameterError(f"{where}: field 'kind' must be one of {', '.join(KINDS)}, got {kind!r}.")
    cls = _PROFILE_TYPES[kind]
    required = [f.name for f in fields(cls) if f.name not in ("name", "sources") and _is_required(f)]
    valid = [f.name for f in fields(cls) if f.name not in ("name", "sources")]
    for key in raw:
        if key not in valid and key not in _META_KEYS:
            raise ParameterError(
                f"{where}: unknown field '{key}' for a {kind} profile; "
                f"valid fields: {', '.join([*_META_KEYS, *valid])}."
            )
    for key in required:
        if key not in raw:
            raise ParameterError(f"{where}: field '{key}' is missing (a {kind} profile needs {', '.join(required)}).")

    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, value in raw.items():
        if key == "kind":
            continue
        if isinstance(value, dict):
            if "value" not in value or set(value) - {"value", "source"}:
                raise ParameterError(
                    f"{where}: field '{key}' must be a value or a mapping with 'value' and optional 'source', "
                    f"got keys {', '.join(map(str, value))}."
                )
            if "source" in value:
                if not isinstance(value["source"], str):
                    raise ParameterError(f"{where}: field '{key}': 'source' must be text, got {value['source']!r}.")
                sources[key] = value["source"]
            value = value["value"]
        values[key] = value
    try:
        profile = cls(name=name, sources=sources, **values)
    except ParameterError as exc:
        raise ParameterError(f"{path}: {exc}") from None
    return profile, raw


def _is_required(f: Any) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def load_prices(*paths: str | Path, include_defaults: bool = True) -> PriceBook:
    """Read price files into a :class:`PriceBook`.

    The article's defaults (``data/reference/prices.yaml``) come first, then each
    path in order; a profile defined again replaces the earlier one by name. A
    profile may start from an earlier one with ``extends: <name>`` and override
    fields, e.g. ``pi5: {extends: pi5, electricity_usd_per_kwh: 0.32}`` or
    ``l4-spot: {extends: l4, discount: 0.6}``.

    Args:
        *paths: Your price files (schema in ``data/reference/prices.yaml``).
        include_defaults: Read the article's defaults first.

    Raises:
        ParameterError: a file is missing, not YAML, or has a missing, unknown or
            invalid field; the message names the file, the profile and the field.
    """
    files = ([DEFAULT_PRICES_PATH] if include_defaults else []) + [Path(p) for p in paths]
    if not files:
        raise ParameterError("No price files to read: pass at least one path or include_defaults=True.")
    profiles: dict[str, Profile] = {}
    known: dict[str, dict[str, Any]] = {}
    for path in files:
        document = _read_document(path)
        for name, entry in document["profiles"].items():
            profiles[name], known[name] = _build_profile(path, name, entry, known)
    return PriceBook(profiles, tuple(files))


# ----------------------------------------------------------------------------- runs


def profile_record(profile: Profile) -> dict[str, Any]:
    """A profile as a plain dictionary (stored in ``run.json``, so a report needs no price file)."""
    record: dict[str, Any] = {"kind": profile.kind}
    for f in fields(profile):
        value = getattr(profile, f.name)
        record[f.name] = dict(value) if f.name == "sources" else value
    return record


def profile_from_record(record: dict[str, Any]) -> Profile:
    """Rebuild a profile from :func:`profile_record`'s dictionary.

    Raises:
        ParameterError: unknown kind or invalid fields.
    """
    values = dict(record)
    kind = values.pop("kind", None)
    if kind not in _PROFILE_TYPES:
        raise ParameterError(f"Price profile record has kind {kind!r}; valid kinds: {', '.join(KINDS)}.")
    try:
        return _PROFILE_TYPES[kind](**values)
    except TypeError as exc:
        raise ParameterError(f"Price profile record {record.get('name')!r} is invalid: {exc}") from None


def run_cost_summary(
    profile: Profile,
    throughput_tps: float,
    throughput_tps_replicates: Any,
    utilization: float = 1.0,
    confidence: float = 0.95,
    power_w: float | None = None,
) -> dict[str, Any]:
    """Cost per million tokens of a measured run under a price profile, with its interval.

    Args:
        profile: The run's price profile.
        throughput_tps: The run's system throughput, tokens per second.
        throughput_tps_replicates: Bootstrap replicates of that throughput.
        utilization: Busy fraction of the hour, in (0, 1] (the article assumes 1).
        confidence: Coverage of the interval.
        power_w: Measured power under load, watts, used instead of the profile's
            figure for the electricity of owned hardware (``None``: the profile's).

    Returns:
        ``{"price_profile", "kind", "utilization", "power_w", "hourly_cost_usd",
        "cost_per_million_usd": {"value", "ci_low", "ci_high", "confidence"}}``.
    """
    uncertainty = cost_uncertainty(
        profile, throughput_tps_replicates, power_w, utilization=utilization, confidence=confidence
    )
    return {
        "price_profile": profile.name,
        "kind": profile.kind,
        "utilization": utilization,
        "power_w": power_w if power_w is not None else profile.power_w,
        "power_source": "measured" if power_w is not None else "profile",
        "hourly_cost_usd": float(hourly_cost_usd(profile, utilization, power_w)),
        "cost_per_million_usd": {
            "value": float(cost_per_million_tokens_usd(profile, throughput_tps, utilization, power_w)),
            "ci_low": uncertainty.cost.ci_low,
            "ci_high": uncertainty.cost.ci_high,
            "confidence": confidence,
        },
    }
