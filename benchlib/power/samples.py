"""The samples one power sampler has taken: two clocks, power and cumulative energy per sample.

:class:`SampleSeries` is the sampler's memory. Each sample keeps its
wall-clock time (Unix seconds), its ``perf_counter`` time (seconds), its power
(watts) and the cumulative energy since the first sample (joules). For a power
reader the energy accumulates by trapezoids between samples; for an energy
counter the raw readings are unwrapped into one cumulative energy and the power
is the mean since the previous sample (``nan`` for the first).

Not thread-safe on its own: :class:`~benchlib.power.sampler.PowerSampler`
holds its lock around every call.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
import pandas as pd

from benchlib.power.base import EnergyCounterReader, PowerRateReader, PowerReader
from benchlib.power.errors import PowerError
from benchlib.power.integrate import CounterUnwrapper
from benchlib.power.measurement import SAMPLE_COLUMNS
from benchlib.power.window import WindowSamples

__all__ = ["SampleSeries", "samples_frame"]


class SampleSeries:
    """Samples in ``perf_counter`` order.

    Args:
        unwrapper: For an energy counter, the unwrapper of its raw readings;
            ``None`` for a power reader.
    """

    def __init__(self, unwrapper: CounterUnwrapper | None = None) -> None:
        self.unwrapper = unwrapper
        self._unix: list[float] = []
        self._perf: list[float] = []
        self._power: list[float] = []
        self._energy: list[float] = []

    @classmethod
    def for_reader(cls, reader: PowerReader) -> SampleSeries:
        """An empty series for a live reader: a power reader, or an energy counter (unwrapped).

        Raises:
            PowerError: The reader's quantity is neither ``"power"`` nor
                ``"energy"``, or it lacks the methods its quantity needs.
        """
        if reader.quantity == "power":
            if not isinstance(reader, PowerRateReader):
                raise PowerError(
                    f"{reader.name} does not implement PowerRateReader (name, boundary, kind, "
                    "quantity, describe(), close(), read_power_w())"
                )
            return cls()
        if reader.quantity == "energy":
            if not isinstance(reader, EnergyCounterReader):
                raise PowerError(
                    f"{reader.name} does not implement EnergyCounterReader (name, boundary, kind, quantity, "
                    "counter_range_j, max_plausible_power_w, describe(), close(), read_energy_j())"
                )
            return cls(CounterUnwrapper(reader.counter_range_j, reader.max_plausible_power_w))
        raise PowerError(
            f"{reader.name} has quantity {reader.quantity!r}; a live reader must be "
            "'power' or 'energy' (offline sources such as meter-log are not sampled)"
        )

    @property
    def is_counter(self) -> bool:
        """The samples come from an energy counter."""
        return self.unwrapper is not None

    def __len__(self) -> int:
        return len(self._perf)

    @property
    def last_perf_s(self) -> float | None:
        """``perf_counter`` time of the latest sample, seconds, or ``None`` before the first."""
        return self._perf[-1] if self._perf else None

    def add(self, perf_s: float, unix_s: float, *, power_w: float = math.nan, counter_j: float | None = None) -> bool:
        """Append one sample, unless it is not later than the latest one.

        Args:
            perf_s: When it was read, ``perf_counter`` seconds.
            unix_s: The same moment on the wall clock, Unix seconds.
            power_w: The reading of a power reader, watts.
            counter_j: The raw reading of an energy counter, joules.

        Returns:
            Whether the sample was appended.

        Raises:
            CounterError: The counter stepped backwards implausibly.
        """
        if self._perf and perf_s <= self._perf[-1]:
            return False
        if self.unwrapper is not None:
            assert counter_j is not None
            energy_j = self.unwrapper.update(counter_j, perf_s)
            if self._perf:
                power_w = (energy_j - self._energy[-1]) / (perf_s - self._perf[-1])
        elif self._perf:
            energy_j = self._energy[-1] + (self._power[-1] + power_w) * (perf_s - self._perf[-1]) / 2
        else:
            energy_j = 0.0
        self._unix.append(unix_s)
        self._perf.append(perf_s)
        self._power.append(power_w)
        self._energy.append(energy_j)
        return True

    def around(self, start_perf_s: float, end_perf_s: float) -> WindowSamples:
        """A copy of the samples from the last at or before ``start_perf_s`` to the first at or after ``end_perf_s``."""
        lo = max(bisect.bisect_right(self._perf, start_perf_s) - 1, 0)
        hi = bisect.bisect_left(self._perf, end_perf_s) + 1
        return WindowSamples(
            perf_s=np.array(self._perf[lo:hi]),
            unix_s=np.array(self._unix[lo:hi]),
            values=np.array(self._energy[lo:hi] if self.is_counter else self._power[lo:hi]),
            is_counter=self.is_counter,
            first_perf_s=self._perf[0] if self._perf else math.nan,
        )

    def arrays(self) -> dict[str, np.ndarray]:
        """Copies of the columns: ``unix_s``, ``perf_s``, ``power_w``, ``energy_j``."""
        return {
            "unix_s": np.array(self._unix),
            "perf_s": np.array(self._perf),
            "power_w": np.array(self._power),
            "energy_j": np.array(self._energy),
        }


def samples_frame(data: dict[str, np.ndarray], reader: PowerReader) -> pd.DataFrame:
    """The sample columns of :meth:`SampleSeries.arrays` as a data frame with the reader's labels.

    Columns: :data:`~benchlib.power.measurement.SAMPLE_COLUMNS`.
    """
    n = len(data["unix_s"])
    frame = pd.DataFrame(data)
    frame["source"] = pd.Series([reader.name] * n, dtype="string")
    frame["boundary"] = pd.Series([reader.boundary] * n, dtype="string")
    frame["kind"] = pd.Series([reader.kind] * n, dtype="string")
    return frame[list(SAMPLE_COLUMNS)]
