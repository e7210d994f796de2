"""Hourly traffic profiles: the share of a day's requests that arrives in each of its 24 hours.

Two are built in:

* ``flat``: every hour gets 1/24 of the day's requests.
* ``diurnal``: a constructed example, not measured traffic: a raised cosine
  with its peak at 15:00 and its trough at 03:00, the peak hour three times the
  trough hour. Hour ``h`` (0 = 00:00-01:00) gets
  ``(2 + cos(2 * pi * (h - 15) / 24)) / 48`` of the day: 1/48 (2.08%) at
  03:00, 3/48 (6.25%) at 15:00, so the peak hour is 1.5 times the flat
  hour's 1/24. The shape stands for an interactive service used by people
  in one time zone (busy afternoons, quiet nights); the 3:1 ratio is an
  assumption for illustration. Replace it with the 24 hourly shares of your
  own traffic logs.

A profile of your own is a list of 24 shares that sum to 1 (within
:data:`SUM_TOLERANCE`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from benchlib.errors import ParameterError
from benchlib.units import HOURS_PER_DAY

__all__ = ["BUILT_IN_PROFILES", "SUM_TOLERANCE", "diurnal_shares", "flat_shares", "hourly_shares"]

SUM_TOLERANCE = 1e-6
"""How far the 24 shares of a profile of your own may sum from 1."""

DIURNAL_PEAK_HOUR = 15
"""Hour of the built-in diurnal profile's peak (15:00-16:00); its trough is 12 hours later (03:00)."""


def flat_shares() -> tuple[float, ...]:
    """Every hour 1/24 of the day's requests."""
    return (1.0 / HOURS_PER_DAY,) * HOURS_PER_DAY


def diurnal_shares() -> tuple[float, ...]:
    """The built-in diurnal example: ``(2 + cos(2 pi (h - 15) / 24)) / 48`` for hour ``h`` (see the module)."""
    return tuple(
        (2.0 + math.cos(2.0 * math.pi * (hour - DIURNAL_PEAK_HOUR) / HOURS_PER_DAY)) / (2.0 * HOURS_PER_DAY)
        for hour in range(HOURS_PER_DAY)
    )


BUILT_IN_PROFILES = {"flat": flat_shares, "diurnal": diurnal_shares}


def hourly_shares(profile: str | Sequence[float]) -> tuple[float, ...]:
    """The 24 shares of a profile: a built-in name or a list of 24 shares summing to 1.

    Raises:
        ParameterError: an unknown name (the message lists the built-in ones), a list
            without 24 entries, a negative share, or shares that do not sum to 1;
            the message gives the count or the sum found.
    """
    if isinstance(profile, str):
        if profile not in BUILT_IN_PROFILES:
            raise ParameterError(
                f"Unknown hourly_profile '{profile}'; valid: {', '.join(BUILT_IN_PROFILES)}, "
                "or a list of 24 hourly shares that sum to 1."
            )
        return BUILT_IN_PROFILES[profile]()
    shares = [float(share) for share in profile]
    if len(shares) != HOURS_PER_DAY:
        raise ParameterError(
            f"hourly_profile must have 24 entries (one share per hour, 00:00 first), got {len(shares)}."
        )
    negative = [hour for hour, share in enumerate(shares) if not share >= 0]
    if negative:
        raise ParameterError(
            f"hourly_profile: every share must be 0 or more, got {shares[negative[0]]:g} at hour {negative[0]}."
        )
    total = math.fsum(shares)
    if abs(total - 1.0) > SUM_TOLERANCE:
        raise ParameterError(
            f"hourly_profile must sum to 1 (within {SUM_TOLERANCE:g}), got {total:.9g}; "
            "divide each share by the sum."
        )
    return tuple(shares)
