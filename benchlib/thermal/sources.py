"""Which thermal sources this machine has (and why the others are missing), and one snapshot of them all.

:func:`detect_thermal_sources` tries every source once and never raises: a
source this machine lacks is listed in :attr:`ThermalSources.unavailable`
with the reason (no vcgencmd, no pynvml or driver, no sensor files). A sweep
records that list, so a run without a temperature says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib.clock import REAL_CLOCK, Clock
from benchlib.power.base import DEFAULT_ROOT, CommandRunner
from benchlib.thermal.base import ThermalReading, ThermalSource
from benchlib.thermal.nvml import NvmlThermalSource
from benchlib.thermal.snapshot import ThermalSnapshot, merge_readings
from benchlib.thermal.sysfs import CpuClockSource, SysfsTemperatureSource
from benchlib.thermal.vcgencmd import VcgencmdSource

__all__ = ["SOURCE_ORDER", "ThermalSources", "detect_thermal_sources", "format_thermal_sources"]

log = logging.getLogger(__name__)

SOURCE_ORDER: tuple[str, ...] = ("vcgencmd", "nvml", "sysfs-temp", "cpu-clock")
"""Every thermal source, in the order their values are preferred (the firmware's ARM clock before cpufreq's)."""


@dataclass(frozen=True)
class ThermalSources:
    """The thermal sources of this machine.

    Attributes:
        sources: The sources that answered a first read, in :data:`SOURCE_ORDER`.
        unavailable: Source name -> why this machine lacks it.
    """

    sources: tuple[ThermalSource, ...] = ()
    unavailable: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> tuple[str, ...]:
        """Names of the available sources."""
        return tuple(s.name for s in self.sources)

    @property
    def has_temperature(self) -> bool:
        """True when some source reads a temperature (every one but ``cpu-clock`` does)."""
        return any(s.name != "cpu-clock" for s in self.sources)

    def snapshot(self, clock: Clock = REAL_CLOCK) -> ThermalSnapshot:
        """Read every source now; a source that fails this time is named in ``errors``, never raised.

        Args:
            clock: Where the snapshot's time is read (:mod:`benchlib.clock`).
        """
        readings: list[tuple[str, ThermalReading]] = []
        errors: dict[str, str] = {}
        unix_before = clock.unix_s()
        for source in self.sources:
            try:
                readings.append((source.name, source.read()))
            except Exception as exc:  # one sensor's failure must not lose the others, nor the sweep
                errors[source.name] = f"{type(exc).__name__}: {exc}"
        return merge_readings((unix_before + clock.unix_s()) / 2.0, readings, errors)

    def describe(self) -> dict[str, Any]:
        """For ``run.json``: each available source's description, and the missing ones with why."""
        return {
            "sources": [s.describe() for s in self.sources],
            "unavailable": dict(self.unavailable),
        }

    def close(self) -> None:
        """Close every source (NVML is shut down)."""
        for source in self.sources:
            try:
                source.close()
            except Exception as exc:  # closing is best effort
                log.warning("thermal source %s did not close: %s", source.name, exc)


def detect_thermal_sources(
    root: Path | str = DEFAULT_ROOT,
    runner: CommandRunner | None = None,
    nvml: Any | None = None,
    cpu_freq: Callable[[], Any] | None | str = "psutil",
) -> ThermalSources:
    """Open every thermal source this machine has; never raises.

    Args:
        root: File-system root for the sysfs sources (``/``; a fixture tree in tests).
        runner: Command runner for ``vcgencmd`` (the real one by default; recorded output in tests).
        nvml: NVML bindings (``None``: import ``pynvml``; tests pass a replay).
        cpu_freq: The CPU-clock fallback when ``root`` has no cpufreq: ``"psutil"``
            (``psutil.cpu_freq``), another callable, or ``None`` for none.

    Returns:
        The available sources and, for each missing one, why.
    """
    clock_kwargs = {} if cpu_freq == "psutil" else {"cpu_freq": cpu_freq}
    openers: dict[str, Callable[[], ThermalSource]] = {
        "vcgencmd": lambda: VcgencmdSource(runner),
        "nvml": lambda: NvmlThermalSource(nvml),
        "sysfs-temp": lambda: SysfsTemperatureSource(root),
        "cpu-clock": lambda: CpuClockSource(root, **clock_kwargs),
    }
    sources: list[ThermalSource] = []
    unavailable: dict[str, str] = {}
    for name in SOURCE_ORDER:
        try:
            sources.append(openers[name]())
        except Exception as exc:  # a missing or broken source is recorded, never fatal
            unavailable[name] = str(exc) or type(exc).__name__
    return ThermalSources(tuple(sources), unavailable)


def format_thermal_sources(found: ThermalSources) -> str:
    """The doctor listing: one line per source, ``ok`` with what it reads, ``--`` with why it is missing."""
    lines = [f"ok {s.name:<10} {s.describe().get('reads', '')}" for s in found.sources]
    lines += [f"-- {name:<10} {why}" for name, why in found.unavailable.items()]
    if not found.has_temperature:
        lines.append("   runs on this machine record the CPU clock only (flag: no thermal sensor: clock only)")
    return "\n".join(lines)
