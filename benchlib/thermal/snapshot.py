"""The thermal and clock state of the machine at one moment: :class:`ThermalSnapshot`.

A snapshot merges what every available source read at once
(:func:`merge_readings`): temperatures by sensor, the CPU clock, each GPU's
clock, and whether anything is throttling now and why. It becomes one row of
``thermal.parquet`` (:meth:`ThermalSnapshot.row`) or one entry of ``run.json``
(:meth:`ThermalSnapshot.record`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from benchlib.thermal.base import ThermalReading

__all__ = ["TEMP_COLUMN_PREFIX", "ThermalSnapshot", "merge_readings"]

TEMP_COLUMN_PREFIX = "temp_c:"
"""Prefix of the per-sensor temperature columns of ``thermal.parquet`` (``temp_c:cpu-thermal``)."""


@dataclass(frozen=True)
class ThermalSnapshot:
    """Temperatures, clocks and throttle state at one moment.

    Attributes:
        unix_s: When it was read, Unix seconds (wall clock).
        temperatures_c: Temperature by sensor, degrees Celsius (``gpu0`` for GPUs).
        cpu_clock_mhz: Current CPU clock, MHz, or ``None``.
        cpu_max_clock_mhz: Maximum CPU clock, MHz, or ``None`` when unknown.
        gpu_clock_mhz: Current SM clock by GPU, MHz.
        gpu_max_clock_mhz: Maximum SM clock by GPU, MHz.
        throttled: ``True``/``False`` when a source can tell (vcgencmd, NVML), ``None`` otherwise.
        throttle_reasons: What holds the clocks now, in words.
        throttle_history: What has occurred since boot (Raspberry Pi), in words.
        sources: Names of the sources that answered.
        errors: Source name -> why its read failed this time.
        raw: Raw values by source (``get_throttled`` mask, NVML reason masks).
    """

    unix_s: float
    temperatures_c: Mapping[str, float] = field(default_factory=dict)
    cpu_clock_mhz: float | None = None
    cpu_max_clock_mhz: float | None = None
    gpu_clock_mhz: Mapping[str, float] = field(default_factory=dict)
    gpu_max_clock_mhz: Mapping[str, float] = field(default_factory=dict)
    throttled: bool | None = None
    throttle_reasons: tuple[str, ...] = ()
    throttle_history: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    errors: Mapping[str, str] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    @property
    def max_temp_c(self) -> float | None:
        """The hottest sensor, degrees Celsius, or ``None`` without a temperature."""
        return max(self.temperatures_c.values()) if self.temperatures_c else None

    @property
    def min_gpu_clock_mhz(self) -> float | None:
        """The lowest GPU SM clock, MHz, or ``None`` without a GPU."""
        return min(self.gpu_clock_mhz.values()) if self.gpu_clock_mhz else None

    def record(self) -> dict[str, Any]:
        """A JSON-serializable dict for ``run.json`` (every field, plus ``max_temp_c``)."""
        value = asdict(self)
        value["temperatures_c"] = dict(self.temperatures_c)
        value["throttle_reasons"] = list(self.throttle_reasons)
        value["throttle_history"] = list(self.throttle_history)
        value["sources"] = list(self.sources)
        value["max_temp_c"] = self.max_temp_c
        return value

    def row(self) -> dict[str, Any]:
        """One row of ``thermal.parquet``: summary columns plus one ``temp_c:<sensor>`` column per sensor."""
        nan = math.nan
        row: dict[str, Any] = {
            "unix_s": self.unix_s,
            "cpu_clock_mhz": nan if self.cpu_clock_mhz is None else self.cpu_clock_mhz,
            "cpu_max_clock_mhz": nan if self.cpu_max_clock_mhz is None else self.cpu_max_clock_mhz,
            "max_temp_c": nan if self.max_temp_c is None else self.max_temp_c,
            "gpu_clock_mhz": nan if self.min_gpu_clock_mhz is None else self.min_gpu_clock_mhz,
            "gpu_max_clock_mhz": min(self.gpu_max_clock_mhz.values()) if self.gpu_max_clock_mhz else nan,
            "throttled": self.throttled,
            "throttle_reasons": "; ".join(self.throttle_reasons),
            "throttle_history": "; ".join(self.throttle_history),
            "sources": ",".join(self.sources),
        }
        for sensor, value in self.temperatures_c.items():
            row[f"{TEMP_COLUMN_PREFIX}{sensor}"] = value
        return row


def merge_readings(
    unix_s: float, readings: Sequence[tuple[str, ThermalReading]], errors: Mapping[str, str] | None = None
) -> ThermalSnapshot:
    """One snapshot from the readings of several sources, in preference order.

    The first source that gives the CPU clock wins (``vcgencmd``'s firmware
    clock before cpufreq or psutil when both exist); temperatures, GPU values
    and reasons are combined; ``throttled`` is ``True`` when any source says so,
    ``False`` when at least one can tell and none says so, else ``None``.

    Args:
        unix_s: When the readings were taken, Unix seconds.
        readings: ``(source name, reading)`` pairs, best source first.
        errors: Sources whose read failed, with why.
    """
    temperatures: dict[str, float] = {}
    gpu_clock: dict[str, float] = {}
    gpu_max: dict[str, float] = {}
    cpu_clock = cpu_max = None
    verdicts: list[bool] = []
    reasons: list[str] = []
    history: list[str] = []
    raw: dict[str, Any] = {}
    for name, reading in readings:
        for sensor, value in reading.temperatures_c.items():
            temperatures.setdefault(sensor, value)
        gpu_clock.update(reading.gpu_clock_mhz)
        gpu_max.update(reading.gpu_max_clock_mhz)
        if cpu_clock is None and reading.cpu_clock_mhz is not None:
            cpu_clock = reading.cpu_clock_mhz
        if cpu_max is None and reading.cpu_max_clock_mhz is not None:
            cpu_max = reading.cpu_max_clock_mhz
        if reading.throttled is not None:
            verdicts.append(reading.throttled)
        reasons += reading.throttle_reasons
        history += reading.throttle_history
        if reading.raw:
            raw[name] = dict(reading.raw)
    return ThermalSnapshot(
        unix_s=unix_s,
        temperatures_c=temperatures,
        cpu_clock_mhz=cpu_clock,
        cpu_max_clock_mhz=cpu_max,
        gpu_clock_mhz=gpu_clock,
        gpu_max_clock_mhz=gpu_max,
        throttled=any(verdicts) if verdicts else None,
        throttle_reasons=tuple(reasons),
        throttle_history=tuple(history),
        sources=tuple(name for name, _ in readings),
        errors=dict(errors or {}),
        raw=raw,
    )
