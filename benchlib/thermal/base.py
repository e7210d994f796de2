"""What every thermal source returns, the protocol it implements, and its errors.

A thermal source is one way of reading temperatures, clocks or throttle state
on one machine: the kernel's thermal zones and hwmon sensors
(:mod:`~benchlib.thermal.sysfs`), the CPU clock (cpufreq, else psutil), the
Raspberry Pi firmware through ``vcgencmd`` (:mod:`~benchlib.thermal.vcgencmd`)
and NVIDIA GPUs through NVML (:mod:`~benchlib.thermal.nvml`). Each returns a
:class:`ThermalReading` with what it knows and ``None`` / empty for the rest;
:func:`~benchlib.thermal.snapshot.merge_readings` combines them.

Sources that read sysfs take a ``root`` (``/`` here, a fixture tree in tests);
sources that run a command take a ``runner`` (:func:`benchlib.power.base.run_command`
here, recorded output in tests), as the power readers do.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from benchlib.errors import BenchlibError

__all__ = [
    "ThermalError",
    "ThermalReadError",
    "ThermalReading",
    "ThermalSource",
    "ThermalSourceUnavailable",
]


class ThermalError(BenchlibError):
    """Base class of the thermal package's errors."""


class ThermalSourceUnavailable(ThermalError):
    """This machine lacks the source (no file, no tool, no driver); the message says which and how to get it."""


class ThermalReadError(ThermalError):
    """A source that exists failed while being read."""


@dataclass(frozen=True)
class ThermalReading:
    """What one source read at one moment.

    Attributes:
        temperatures_c: Temperature by sensor name, degrees Celsius.
        cpu_clock_mhz: Current CPU clock, MHz (mean over the cores a source sees), or ``None``.
        cpu_max_clock_mhz: The CPU's maximum clock, MHz, or ``None`` when unknown.
        gpu_clock_mhz: Current SM clock by GPU (``gpu0`` ...), MHz.
        gpu_max_clock_mhz: Maximum SM clock by GPU, MHz.
        throttled: ``True`` when the source says clocks are being held down now,
            ``False`` when it says they are not, ``None`` when it cannot tell.
        throttle_reasons: What holds the clocks down now (or limits them), in words.
        throttle_history: Conditions the source says have occurred since boot
            (Raspberry Pi ``get_throttled`` bits 16-19), in words.
        raw: Raw values worth keeping (``get_throttled`` bits, NVML reason masks).
    """

    temperatures_c: Mapping[str, float] = field(default_factory=dict)
    cpu_clock_mhz: float | None = None
    cpu_max_clock_mhz: float | None = None
    gpu_clock_mhz: Mapping[str, float] = field(default_factory=dict)
    gpu_max_clock_mhz: Mapping[str, float] = field(default_factory=dict)
    throttled: bool | None = None
    throttle_reasons: tuple[str, ...] = ()
    throttle_history: tuple[str, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class ThermalSource(Protocol):
    """One thermal source on this machine.

    Attributes:
        name: Source name as recorded in ``run.json`` (``sysfs-temp``, ``cpu-clock``, ``vcgencmd``, ``nvml``).
    """

    name: str

    def read(self) -> ThermalReading:
        """Read the source now.

        Raises:
            ThermalReadError: It could not be read.
        """
        ...

    def describe(self) -> dict[str, Any]:
        """What the source reads, for ``run.json`` and the doctor (JSON-serializable)."""
        ...

    def close(self) -> None:
        """Release what the source holds; safe to call twice."""
        ...
