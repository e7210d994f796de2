"""Thermal and clock state beside every run: temperatures, CPU/GPU clocks, throttling.

Modules, one job each:

* :mod:`~benchlib.thermal.base`: :class:`ThermalReading`, the source protocol, errors.
* :mod:`~benchlib.thermal.sysfs`: thermal zones and hwmon temperatures (``sysfs-temp``);
  the CPU clock from cpufreq, else ``psutil.cpu_freq()`` (``cpu-clock``).
* :mod:`~benchlib.thermal.vcgencmd`: Raspberry Pi ``get_throttled``, ``measure_temp``,
  ``measure_clock arm`` (``vcgencmd``).
* :mod:`~benchlib.thermal.nvml`: NVIDIA temperature, SM clock, clock-event reasons (``nvml``).
* :mod:`~benchlib.thermal.replay`: recorded NVML values standing in for ``pynvml`` in tests.
* :mod:`~benchlib.thermal.snapshot`: :class:`ThermalSnapshot`, merging the sources' readings.
* :mod:`~benchlib.thermal.sources`: :func:`detect_thermal_sources` (missing ones with why).
* :mod:`~benchlib.thermal.monitor`: :class:`ThermalMonitor`, the 1 Hz background thread.
* :mod:`~benchlib.thermal.window`: the measured window's summary and the report's flag text.
"""

from benchlib.thermal.base import (
    ThermalError,
    ThermalReadError,
    ThermalReading,
    ThermalSource,
    ThermalSourceUnavailable,
)
from benchlib.thermal.monitor import DEFAULT_THERMAL_RATE_HZ, ThermalMonitor
from benchlib.thermal.nvml import CLOCK_EVENT_REASONS, NvmlThermalSource, decode_clock_event_reasons
from benchlib.thermal.snapshot import TEMP_COLUMN_PREFIX, ThermalSnapshot, merge_readings
from benchlib.thermal.sources import SOURCE_ORDER, ThermalSources, detect_thermal_sources, format_thermal_sources
from benchlib.thermal.sysfs import CpuClockSource, SysfsTemperatureSource, read_cpufreq_mhz, read_temperatures_c
from benchlib.thermal.vcgencmd import (
    THROTTLE_BITS,
    THROTTLE_HISTORY_BITS,
    ThrottleState,
    VcgencmdSource,
    decode_throttled,
    parse_get_throttled,
    parse_measure_clock_hz,
    parse_measure_temp_c,
)
from benchlib.thermal.window import CLOCK_DROP_FLAG_PCT, flag_text, is_throttling_reason, summarize_window

__all__ = [
    "CLOCK_DROP_FLAG_PCT",
    "CLOCK_EVENT_REASONS",
    "DEFAULT_THERMAL_RATE_HZ",
    "SOURCE_ORDER",
    "TEMP_COLUMN_PREFIX",
    "THROTTLE_BITS",
    "THROTTLE_HISTORY_BITS",
    "CpuClockSource",
    "NvmlThermalSource",
    "SysfsTemperatureSource",
    "ThermalError",
    "ThermalMonitor",
    "ThermalReadError",
    "ThermalReading",
    "ThermalSnapshot",
    "ThermalSource",
    "ThermalSourceUnavailable",
    "ThermalSources",
    "ThrottleState",
    "VcgencmdSource",
    "decode_clock_event_reasons",
    "decode_throttled",
    "detect_thermal_sources",
    "flag_text",
    "format_thermal_sources",
    "is_throttling_reason",
    "merge_readings",
    "parse_get_throttled",
    "parse_measure_clock_hz",
    "parse_measure_temp_c",
    "read_cpufreq_mhz",
    "read_temperatures_c",
    "summarize_window",
]
