"""Price profiles: hardware you own, instances you rent, hosted APIs priced per token; validated when built.

An :class:`OwnedHardware` profile amortizes its purchase price and pays its
electricity; a :class:`RentedInstance` pays its hourly price (less a discount)
whether busy or not; a :class:`HostedApi` pays per million input and output
tokens and has no hourly cost, no utilization and no known energy. Every
numeric field is checked against its allowed range.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Union

from benchlib.errors import ParameterError

__all__ = ["KINDS", "PROFILE_TYPES", "HostedApi", "OwnedHardware", "Profile", "RentedInstance"]

KINDS = ("owned", "rented", "hosted")
"""Valid values of a profile's ``kind``."""


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


_NO_ENERGY = (
    "a hosted API publishes no power draw, so its energy per token is unknown (reported as such, never estimated)"
)


@dataclass(frozen=True)
class HostedApi:
    """A hosted model endpoint billed per token (an OpenAI-compatible API of a provider).

    It has no hourly cost and no utilization: every request pays
    ``input_tokens * usd_per_million_input_tokens / 1e6 + output_tokens *
    usd_per_million_output_tokens / 1e6`` whatever the volume (see
    :func:`~benchlib.cost.pricing.hosted_cost_usd`). Its energy is unknown:
    ``power_w`` is ``None`` (a class constant, not a field a price file may set).

    Attributes:
        name: Profile name (``gpt-4o-mini``).
        usd_per_million_input_tokens: List price of a million prompt (input) tokens, USD.
        usd_per_million_output_tokens: List price of a million generated (output) tokens, USD.
        description: Free text.
        article_platform: The article's platform name, or ``""`` (the article has no hosted API).
        sources: Where each value comes from, by field name.
    """

    kind: ClassVar[str] = "hosted"
    power_w: ClassVar[None] = None
    """Unknown: a hosted API publishes no power draw."""
    idle_power_w: ClassVar[None] = None
    """Unknown, as ``power_w``."""
    not_applicable: ClassVar[dict[str, str]] = {
        "power_w": _NO_ENERGY,
        "idle_power_w": _NO_ENERGY,
        "electricity_usd_per_kwh": _NO_ENERGY,
        "pue": _NO_ENERGY,
        "price_per_hour_usd": "a hosted API is billed per token: give usd_per_million_input_tokens and "
        "usd_per_million_output_tokens (or use kind: rented for an instance paid by the hour)",
    }
    """Fields of the other kinds that a hosted profile refuses, with the reason (used by price files)."""

    name: str
    usd_per_million_input_tokens: float
    usd_per_million_output_tokens: float
    description: str = ""
    article_platform: str = ""
    sources: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        _validate(self, {"usd_per_million_input_tokens": _NON_NEGATIVE, "usd_per_million_output_tokens": _NON_NEGATIVE})


Profile = Union[OwnedHardware, RentedInstance, HostedApi]
PROFILE_TYPES: dict[str, type] = {"owned": OwnedHardware, "rented": RentedInstance, "hosted": HostedApi}
