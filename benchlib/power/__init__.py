"""Power readers and the sampler that integrates energy over named windows.

Modules, one job each:

* :mod:`~benchlib.power.base`: the reader protocols, the command runner.
* :mod:`~benchlib.power.measurement`: the :class:`Measurement` value.
* :mod:`~benchlib.power.integrate`: trapezoids and counter differences.
* :mod:`~benchlib.power.sampler`: :class:`PowerSampler`, the background thread.
* :mod:`~benchlib.power.samples`: the samples a sampler keeps (two clocks, power, energy).
* :mod:`~benchlib.power.window`: one window's energy from the samples around it.
* Readers: :mod:`~benchlib.power.pmic` (``pi5-pmic``), :mod:`~benchlib.power.ina2xx`
  (``ina2xx``), :mod:`~benchlib.power.rapl` (``rapl``), :mod:`~benchlib.power.nvml`
  (``nvml``), :mod:`~benchlib.power.meter_log` (``meter-log``),
  :mod:`~benchlib.power.estimate` (``estimate``).
* :mod:`~benchlib.power.idle`: idle baseline, energy per token.
* :mod:`~benchlib.power.registry`: :data:`READERS`, :func:`doctor`, :func:`auto_reader`.
"""

from benchlib.power.base import (
    DEFAULT_ROOT,
    CommandRunner,
    EnergyCounterReader,
    PowerRateReader,
    PowerReader,
    run_command,
)
from benchlib.power.errors import (
    CounterError,
    MeterLogError,
    PowerError,
    PowerReadError,
    PowerSourceUnavailable,
)
from benchlib.power.estimate import PROFILE_POWER_W, ProfileEstimateReader
from benchlib.power.idle import EnergyPerToken, IdleBaseline, measure_idle, window_energy_per_token
from benchlib.power.ina2xx import Ina2xxReader
from benchlib.power.integrate import CounterUnwrapper, counter_delta_j, trapezoid_window_j
from benchlib.power.measurement import SAMPLE_COLUMNS, Measurement, measurements_frame
from benchlib.power.meter_log import MeterLogReader
from benchlib.power.nvml import NvmlEnergyReader, NvmlPowerReader, open_nvml
from benchlib.power.pmic import LinearCalibration, Pi5PmicReader, PmicReading, parse_pmic_read_adc
from benchlib.power.rapl import RaplReader
from benchlib.power.registry import (
    AUTO_PREFERENCE,
    READERS,
    SourceStatus,
    auto_reader,
    available_sources,
    doctor,
    format_doctor,
    open_reader,
)
from benchlib.power.sampler import DEFAULT_RATE_HZ, PowerSampler

__all__ = [
    "AUTO_PREFERENCE",
    "DEFAULT_RATE_HZ",
    "DEFAULT_ROOT",
    "PROFILE_POWER_W",
    "READERS",
    "SAMPLE_COLUMNS",
    "CommandRunner",
    "CounterError",
    "CounterUnwrapper",
    "EnergyCounterReader",
    "EnergyPerToken",
    "IdleBaseline",
    "Ina2xxReader",
    "LinearCalibration",
    "Measurement",
    "MeterLogError",
    "MeterLogReader",
    "NvmlEnergyReader",
    "NvmlPowerReader",
    "Pi5PmicReader",
    "PmicReading",
    "PowerError",
    "PowerRateReader",
    "PowerReadError",
    "PowerReader",
    "PowerSampler",
    "PowerSourceUnavailable",
    "ProfileEstimateReader",
    "RaplReader",
    "SourceStatus",
    "auto_reader",
    "available_sources",
    "counter_delta_j",
    "doctor",
    "format_doctor",
    "measure_idle",
    "measurements_frame",
    "open_nvml",
    "open_reader",
    "parse_pmic_read_adc",
    "run_command",
    "trapezoid_window_j",
    "window_energy_per_token",
]
