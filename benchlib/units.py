"""Units of time every module counts in, defined once.

Integers, so that they can size arrays (a day of per-second arrivals is
``(HOURS_PER_DAY, SECONDS_PER_HOUR)``); with a float operand they give the
same float as ``3600.0`` would.
"""

from __future__ import annotations

__all__ = ["HOURS_PER_DAY", "SECONDS_PER_DAY", "SECONDS_PER_HOUR"]

HOURS_PER_DAY = 24
SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = HOURS_PER_DAY * SECONDS_PER_HOUR
