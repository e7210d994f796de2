"""Idle baseline and energy per token, gross and idle-subtracted.

Gross energy per token charges the tokens with everything the boundary drew
during the window; idle-subtracted charges them only with what the work
added above the machine's idle draw. Both are reported, with the source and
boundary they come from.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from benchlib.errors import ParameterError
from benchlib.power.base import Kind
from benchlib.power.errors import PowerReadError
from benchlib.power.measurement import Measurement
from benchlib.power.sampler import PowerSampler

__all__ = ["EnergyPerToken", "IdleBaseline", "WindowSource", "measure_idle", "measure_idle_window", "window_energy_per_token"]


@dataclass(frozen=True)
class IdleBaseline:
    """The machine's idle power, measured before the run.

    Attributes:
        power_w: Mean idle power over the baseline window, watts.
        measurement: The idle window's measurement.
    """

    power_w: float
    measurement: Measurement


def measure_idle(sampler: PowerSampler, duration_s: float = 30.0, name: str = "idle") -> IdleBaseline:
    """Sample idle power for ``duration_s`` seconds (do nothing else meanwhile).

    Args:
        sampler: A started sampler.
        duration_s: Length of the idle window, seconds.
        name: Window name.

    Raises:
        ParameterError: ``duration_s`` is not positive.
        PowerReadError: The sensor failed during the idle window.
    """
    if not duration_s > 0:
        raise ParameterError(f"idle duration_s must be positive, got {duration_s!r}")
    sampler.begin_window(name)
    time.sleep(duration_s)
    measurement = sampler.end_window(name)
    if not measurement.valid:
        raise PowerReadError(f"idle baseline failed: {measurement.problem}")
    return IdleBaseline(power_w=measurement.mean_power_w, measurement=measurement)


class WindowSource(Protocol):
    """A source read after a window (a Prometheus server, a meter log)."""

    def measure(self, start_unix_s: float, end_unix_s: float, name: str = "measured") -> Measurement:
        """Energy over a wall-clock window that already happened."""
        ...


def measure_idle_window(source: WindowSource, duration_s: float = 30.0, name: str = "idle") -> IdleBaseline:
    """Wait ``duration_s`` seconds (do nothing else meanwhile), then read that window from ``source``.

    Raises:
        ParameterError: ``duration_s`` is not positive.
        PowerReadError: The source has no valid energy for the idle window.
    """
    if not duration_s > 0:
        raise ParameterError(f"idle duration_s must be positive, got {duration_s!r}")
    start_unix_s = time.time()
    time.sleep(duration_s)
    measurement = source.measure(start_unix_s, time.time(), name)
    if not measurement.valid:
        raise PowerReadError(f"idle baseline failed: {measurement.problem}")
    return IdleBaseline(power_w=measurement.mean_power_w, measurement=measurement)


@dataclass(frozen=True)
class EnergyPerToken:
    """Energy per output token over one window.

    Attributes:
        output_tokens: Tokens generated in the window.
        energy_j: Gross energy over the window, joules.
        duration_s: Window length, seconds.
        gross_j_per_token: ``energy_j / output_tokens``, joules per token.
        idle_power_w: Idle power subtracted, watts, or ``None``.
        idle_energy_j: ``idle_power_w * duration_s``, joules, or ``None``.
        idle_subtracted_j_per_token: ``(energy_j - idle_energy_j) / output_tokens``,
            joules per token, or ``None`` without an idle baseline. It can be
            negative when the load drew less than the baseline (noise at
            near-idle loads); it is reported as is.
        source: Power source of the measurement.
        boundary: What that source sees.
        kind: ``"measured"`` or ``"estimated"``.
    """

    output_tokens: int
    energy_j: float
    duration_s: float
    gross_j_per_token: float
    idle_power_w: float | None
    idle_energy_j: float | None
    idle_subtracted_j_per_token: float | None
    source: str
    boundary: str
    kind: Kind

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for records."""
        return asdict(self)


def window_energy_per_token(
    measurement: Measurement, output_tokens: int, idle_power_w: float | None = None
) -> EnergyPerToken:
    """Energy per output token over a measured window, gross and (with a baseline) idle-subtracted.

    The measured counterpart of :func:`benchlib.cost.energy_per_token_j` (power / throughput
    at full load, from numbers): here the window's energy divided by the tokens generated in it.

    Args:
        measurement: The steady-state window's measurement.
        output_tokens: Output tokens generated within that window.
        idle_power_w: Idle power to subtract, watts (from :func:`measure_idle`).

    Raises:
        PowerError: The measurement is invalid (its problem is the message).
        ParameterError: ``output_tokens`` is not positive or ``idle_power_w`` is negative.
    """
    measurement.check()
    if output_tokens <= 0:
        raise ParameterError(f"output_tokens must be positive to divide energy by it, got {output_tokens!r}")
    if idle_power_w is not None and idle_power_w < 0:
        raise ParameterError(f"idle_power_w must not be negative, got {idle_power_w!r}")
    idle_energy_j = None if idle_power_w is None else idle_power_w * measurement.duration_s
    return EnergyPerToken(
        output_tokens=output_tokens,
        energy_j=measurement.energy_j,
        duration_s=measurement.duration_s,
        gross_j_per_token=measurement.energy_j / output_tokens,
        idle_power_w=idle_power_w,
        idle_energy_j=idle_energy_j,
        idle_subtracted_j_per_token=None
        if idle_energy_j is None
        else (measurement.energy_j - idle_energy_j) / output_tokens,
        source=measurement.source,
        boundary=measurement.boundary,
        kind=measurement.kind,
    )
