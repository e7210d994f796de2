"""CPU temperatures from the kernel's thermal zones and hwmon, CPU clocks from cpufreq (psutil as fallback).

* Temperatures (:class:`SysfsTemperatureSource`, ``sysfs-temp``):
  ``/sys/class/thermal/thermal_zone*/temp`` (millidegrees C, named by the
  zone's ``type``) and ``/sys/class/hwmon/hwmon*/temp*_input`` (millidegrees C,
  named by the device's ``name`` and the channel's ``temp*_label`` if any;
  old drivers keep the attributes under ``hwmon*/device/``).
* Clocks (:class:`CpuClockSource`, ``cpu-clock``):
  ``/sys/devices/system/cpu/cpu*/cpufreq/scaling_cur_freq`` and
  ``cpuinfo_max_freq`` (kHz); where the kernel has no cpufreq (most VMs),
  ``psutil.cpu_freq()``, which reads the ``cpu MHz`` lines of ``/proc/cpuinfo``.

Both take a ``root`` so tests can point them at a fixture tree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchlib.power.base import DEFAULT_ROOT
from benchlib.thermal.base import ThermalReadError, ThermalReading, ThermalSourceUnavailable

__all__ = ["CpuClockSource", "SysfsTemperatureSource", "read_cpufreq_mhz", "read_temperatures_c"]

_NUMBERED = re.compile(r"(\d+)$")


def _number_key(path: Path) -> tuple[int, str]:
    match = _NUMBERED.search(path.name.split("_")[0])
    return (int(match.group(1)) if match else -1, path.name)


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:  # ENODATA / EIO from a sensor that is present but not answering
        return None


def _read_milli(path: Path) -> float | None:
    text = _read_text(path)
    try:
        return float(text) / 1000.0 if text is not None else None
    except ValueError:
        return None


def read_temperatures_c(root: Path | str = DEFAULT_ROOT) -> dict[str, float]:
    """Every readable thermal-zone and hwmon temperature under ``root``, degrees Celsius.

    Names: ``<zone type>`` for a thermal zone (``cpu-thermal``, ``x86_pkg_temp``)
    and ``<hwmon name>/<label or tempN>`` for a hwmon channel (``coretemp/Package id 0``);
    a repeated name gets its zone or device directory appended. A sensor that
    cannot be read now is left out.
    """
    root = Path(root)
    found: dict[str, float] = {}

    def put(name: str, where: str, value: float | None) -> None:
        if value is None:
            return
        found[name if name not in found else f"{name} ({where})"] = value

    for zone in sorted((root / "sys/class/thermal").glob("thermal_zone*"), key=_number_key):
        put(_read_text(zone / "type") or zone.name, zone.name, _read_milli(zone / "temp"))
    for hwmon in sorted((root / "sys/class/hwmon").glob("hwmon*"), key=_number_key):
        folder = hwmon if any(hwmon.glob("temp*_input")) else hwmon / "device"
        device = _read_text(hwmon / "name") or _read_text(folder / "name") or hwmon.name
        for channel in sorted(folder.glob("temp*_input"), key=_number_key):
            stem = channel.name.removesuffix("_input")
            label = _read_text(folder / f"{stem}_label") or stem
            put(f"{device}/{label}", hwmon.name, _read_milli(channel))
    return found


def read_cpufreq_mhz(root: Path | str = DEFAULT_ROOT) -> tuple[float, float | None] | None:
    """The fastest core's current clock and the highest maximum clock over the CPUs with cpufreq, MHz.

    The fastest core, not the mean: cores a run leaves idle drop to their
    lowest clock, which would read as a drop; thermal throttling caps every core.
    ``None`` without cpufreq.
    """
    current: list[float] = []
    maximum: list[float] = []
    for cpu in sorted(Path(root, "sys/devices/system/cpu").glob("cpu[0-9]*"), key=_number_key):
        khz = _read_milli(cpu / "cpufreq/scaling_cur_freq")  # kHz / 1000 = MHz
        if khz is None:
            continue
        current.append(khz)
        top = _read_milli(cpu / "cpufreq/cpuinfo_max_freq")
        if top is not None:
            maximum.append(top)
    if not current:
        return None
    return max(current), (max(maximum) if maximum else None)


class SysfsTemperatureSource:
    """Thermal zones and hwmon temperature channels (``sysfs-temp``).

    Args:
        root: File-system root (``/``; a fixture tree in tests).

    Raises:
        ThermalSourceUnavailable: No readable temperature sensor under ``root``.
    """

    name = "sysfs-temp"

    def __init__(self, root: Path | str = DEFAULT_ROOT) -> None:
        self.root = Path(root)
        self.sensors = tuple(read_temperatures_c(self.root))
        if not self.sensors:
            raise ThermalSourceUnavailable(
                f"no readable temperature sensor: no {self.root / 'sys/class/thermal'}/thermal_zone*/temp and no "
                f"{self.root / 'sys/class/hwmon'}/hwmon*/temp*_input (virtual machines and containers usually "
                "expose none; on hardware, load the sensor's driver, e.g. coretemp or k10temp)"
            )

    def read(self) -> ThermalReading:
        """The temperatures now.

        Raises:
            ThermalReadError: Every sensor stopped answering.
        """
        temperatures = read_temperatures_c(self.root)
        if not temperatures:
            raise ThermalReadError(f"no temperature sensor under {self.root} answered (was: {', '.join(self.sensors)})")
        return ThermalReading(temperatures_c=temperatures)

    def describe(self) -> dict[str, Any]:
        """Name, what it reads and the sensors found."""
        return {"name": self.name, "reads": "thermal zones and hwmon temp*_input", "sensors": list(self.sensors)}

    def close(self) -> None:
        """Nothing to release."""


CpuFreq = Callable[[], Any]
"""``psutil.cpu_freq``: returns an object with ``current`` and ``max`` in MHz, or ``None``."""


def _psutil_cpu_freq() -> Any:
    import psutil

    return psutil.cpu_freq()


class CpuClockSource:
    """The CPU clock (``cpu-clock``): cpufreq under ``root``, else ``psutil.cpu_freq()``.

    Args:
        root: File-system root (``/``; a fixture tree in tests).
        cpu_freq: The psutil fallback; ``None`` disables it (a fixture tree
            without cpufreq then has no clock).

    Attributes:
        method: ``"cpufreq"`` or ``"psutil"``, whichever answered when opened.

    Raises:
        ThermalSourceUnavailable: Neither cpufreq nor psutil gives a clock.
    """

    name = "cpu-clock"

    def __init__(self, root: Path | str = DEFAULT_ROOT, cpu_freq: CpuFreq | None = _psutil_cpu_freq) -> None:
        self.root = Path(root)
        self._cpu_freq = cpu_freq
        self.method = "cpufreq" if read_cpufreq_mhz(self.root) is not None else "psutil"
        if self.method == "psutil" and self._from_psutil() is None:
            raise ThermalSourceUnavailable(
                f"no CPU clock: no {self.root / 'sys/devices/system/cpu'}/cpu*/cpufreq/scaling_cur_freq"
                + (" and psutil.cpu_freq() gives none" if cpu_freq is not None else "")
            )

    def _from_psutil(self) -> tuple[float, float | None] | None:
        if self._cpu_freq is None:
            return None
        try:
            freq = self._cpu_freq()
        except Exception:  # psutil raises several kinds on odd /proc layouts
            return None
        if freq is None or not getattr(freq, "current", 0):
            return None
        top = float(getattr(freq, "max", 0.0) or 0.0)
        return float(freq.current), (top if top > 0 else None)

    def read(self) -> ThermalReading:
        """The CPU clock now (current and maximum, MHz).

        Raises:
            ThermalReadError: The clock could not be read.
        """
        value = read_cpufreq_mhz(self.root) if self.method == "cpufreq" else self._from_psutil()
        if value is None:
            raise ThermalReadError(f"the CPU clock ({self.method}) could not be read")
        current, maximum = value
        return ThermalReading(cpu_clock_mhz=current, cpu_max_clock_mhz=maximum)

    def describe(self) -> dict[str, Any]:
        """Name and method (``cpufreq``: scaling_cur_freq; ``psutil``: /proc/cpuinfo's cpu MHz)."""
        how = "sysfs cpufreq scaling_cur_freq" if self.method == "cpufreq" else "psutil.cpu_freq() (/proc/cpuinfo cpu MHz)"
        return {"name": self.name, "method": self.method, "reads": how}

    def close(self) -> None:
        """Nothing to release."""
