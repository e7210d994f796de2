"""Errors the power package raises on purpose; each message says what to do about it."""

from __future__ import annotations

from benchlib.errors import BenchlibError

__all__ = [
    "CounterError",
    "MeterLogError",
    "PowerError",
    "PowerReadError",
    "PowerSourceUnavailable",
]


class PowerError(BenchlibError):
    """Base class of every power-measurement error."""


class PowerSourceUnavailable(PowerError):
    """This machine lacks the power source (no file, no permission, no GPU, no tool).

    The message says which, and how to get it: the doctor listing shows these.
    """


class PowerReadError(PowerError):
    """A power source that was available failed while being read."""


class CounterError(PowerReadError):
    """A cumulative energy counter went backwards without a plausible wrap-around."""


class MeterLogError(PowerError):
    """An external meter's log cannot be read or does not cover the requested window."""
