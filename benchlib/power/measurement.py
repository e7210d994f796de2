"""The value a measured window produces: energy, duration, power, and where they came from."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from benchlib.power.base import Kind
from benchlib.power.errors import PowerError

__all__ = ["SAMPLE_COLUMNS", "Measurement", "measurements_frame"]

SAMPLE_COLUMNS = ("unix_s", "perf_s", "power_w", "energy_j", "source", "boundary", "kind")
"""Columns of a power-sample frame (one row per sample, the future power.parquet)."""

METHOD_TRAPEZOID = "trapezoid over power samples, edges interpolated"
METHOD_COUNTER = "energy counter difference, edges interpolated"
METHOD_METER_LOG = "trapezoid over meter log, edges interpolated"
METHOD_PROFILE = "profile power x duration"


@dataclass(frozen=True)
class Measurement:
    """Energy over one named window, from one power source.

    An invalid measurement (the sensor failed or stopped during the window,
    a counter went backwards, ...) keeps ``valid=False`` and the reason in
    ``problem``; its ``energy_j`` and ``mean_power_w`` are ``nan``, never a
    silent zero or a guess.

    Attributes:
        name: Window name (``steady``, ``idle`` ...).
        energy_j: Energy over the window, joules (``nan`` when invalid).
        duration_s: Window length, seconds (``perf_counter`` clock where sampled live).
        mean_power_w: ``energy_j / duration_s``, watts (``nan`` when invalid, and for a
            zero-length window over an energy counter).
        samples: Sensor readings taken inside the window.
        source: Power source name (``pi5-pmic``, ``rapl``, ``estimate:l4`` ...).
        boundary: What the sensor sees (``SoC/PMIC rails ...``, ``GPU only`` ...).
        kind: ``"measured"`` or ``"estimated"``.
        start_unix_s: Window start, Unix seconds (wall clock).
        end_unix_s: Window end, Unix seconds (wall clock).
        method: How the energy was obtained (trapezoid, counter difference ...).
        start_perf_s: Window start on the ``time.perf_counter()`` clock of the
            sampling process, seconds (``None`` for offline sources).
        end_perf_s: Window end on that clock, seconds (``None`` for offline sources).
        valid: ``False`` when the number cannot be trusted; see ``problem``.
        problem: What went wrong, and what to do, when ``valid`` is ``False``.
    """

    name: str
    energy_j: float
    duration_s: float
    mean_power_w: float
    samples: int
    source: str
    boundary: str
    kind: Kind
    start_unix_s: float
    end_unix_s: float
    method: str
    start_perf_s: float | None = None
    end_perf_s: float | None = None
    valid: bool = True
    problem: str | None = None

    def __post_init__(self) -> None:
        if self.valid and self.problem is not None:
            raise ValueError("a valid Measurement has no problem; pass valid=False with it")
        if not self.valid and not self.problem:
            raise ValueError("an invalid Measurement needs a problem saying why")

    @classmethod
    def invalid(
        cls,
        *,
        name: str,
        problem: str,
        duration_s: float,
        samples: int,
        source: str,
        boundary: str,
        kind: Kind,
        start_unix_s: float,
        end_unix_s: float,
        method: str,
        start_perf_s: float | None = None,
        end_perf_s: float | None = None,
    ) -> Measurement:
        """An invalid measurement: energy and power are ``nan``, ``problem`` says why."""
        return cls(
            name=name,
            energy_j=math.nan,
            duration_s=duration_s,
            mean_power_w=math.nan,
            samples=samples,
            source=source,
            boundary=boundary,
            kind=kind,
            start_unix_s=start_unix_s,
            end_unix_s=end_unix_s,
            method=method,
            start_perf_s=start_perf_s,
            end_perf_s=end_perf_s,
            valid=False,
            problem=problem,
        )

    @property
    def measured(self) -> bool:
        """``True`` when a sensor produced the number, ``False`` for a profile estimate."""
        return self.kind == "measured"

    def check(self) -> Measurement:
        """Return ``self`` if valid.

        Raises:
            PowerError: The measurement is invalid; the message is its problem.
        """
        if not self.valid:
            raise PowerError(f"power window {self.name!r} from {self.source} is invalid: {self.problem}")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for run.json and data frames (``nan`` stays ``nan``)."""
        return asdict(self)


def measurements_frame(measurements: list[Measurement]) -> pd.DataFrame:
    """One row per measurement, columns as the :class:`Measurement` fields."""
    columns = list(Measurement.__dataclass_fields__)
    return pd.DataFrame([m.to_dict() for m in measurements], columns=columns)
