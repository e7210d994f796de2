"""One sweep's power measurement: choose the source, sample, measure windows, summarize.

The runner drives a :class:`PowerSession` through a sweep:

1. :meth:`~PowerSession.open` picks the source — a name, or ``auto`` (the best
   measured source this machine has, else the hardware profile's estimate,
   with the reason recorded), or ``none``;
2. :meth:`~PowerSession.start` starts the background sampler (live sources);
3. :meth:`~PowerSession.measure_idle` samples the idle baseline after warm-up;
4. :meth:`~PowerSession.measure` gives the energy of the measured window, from
   the first request sent to the last token received — model load, warm-up
   and idle are outside it;
5. :meth:`~PowerSession.stop` returns the samples for ``power.parquet``.

:func:`energy_summary` turns the window into energy per token, gross and
idle-subtracted, with a bootstrap interval from the run's throughput.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchlib.errors import ParameterError
from benchlib.power.base import KIND_ESTIMATED, KIND_MEASURED, PowerReader
from benchlib.power.errors import PowerError
from benchlib.power.estimate import PROFILE_POWER_W, ProfileEstimateReader
from benchlib.power.idle import IdleBaseline, measure_idle, measure_idle_window, window_energy_per_token
from benchlib.power.measurement import METHOD_METER_LOG, Measurement
from benchlib.power.meter_log import MeterLogReader
from benchlib.power.pmic import LinearCalibration
from benchlib.power.registry import AUTO_PREFERENCE, READERS, auto_reader, doctor, open_reader
from benchlib.power.sampler import DEFAULT_RATE_HZ, PowerSampler
from benchlib.prometheus.source import prometheus_mode
from benchlib.stats import percentile_interval

__all__ = ["SOURCE_CHOICES", "PowerSession", "PowerSettings", "energy_summary"]

SOURCE_CHOICES: tuple[str, ...] = ("auto", "none", *READERS)
"""Valid values of a sweep's ``power`` parameter."""


@dataclass(frozen=True)
class PowerSettings:
    """How a sweep measures power.

    Attributes:
        source: ``auto``, ``none`` or a source name (:data:`SOURCE_CHOICES`).
        options: Keyword options of that source's reader (``root``, ``devices``,
            ``indices``, ``path`` and ``clock_offset_s`` for ``meter-log`` ...).
        rate_hz: Sampling rate of live sources, Hz.
        idle_s: Idle baseline length before the measured requests, seconds (0: none).
        estimate_profile: Hardware profile whose power figure is the estimate.
        estimate_w: That figure, watts (``None``: the article's figure for a
            known profile, else no estimate).
        estimate_basis: Where the figure comes from.
    """

    source: str = "auto"
    options: dict[str, Any] = field(default_factory=dict)
    rate_hz: float = DEFAULT_RATE_HZ
    idle_s: float = 0.0
    estimate_profile: str = ""
    estimate_w: float | None = None
    estimate_basis: str | None = None

    def validate(self) -> None:
        """Check the values.

        Raises:
            ParameterError: an unknown source (the message lists the valid ones),
                a non-positive rate, a negative idle time or options that are not a mapping.
        """
        if self.source not in SOURCE_CHOICES:
            raise ParameterError(f"Unknown power source '{self.source}'; valid: {', '.join(SOURCE_CHOICES)}.")
        if not isinstance(self.options, dict):
            raise ParameterError(f"power_options must be a mapping of reader options, got {self.options!r}.")
        if not self.rate_hz > 0:
            raise ParameterError(f"power_rate_hz must be positive, got {self.rate_hz!r}.")
        if self.idle_s < 0:
            raise ParameterError(f"idle_s must be 0 or more seconds, got {self.idle_s!r}.")
        if self.source == "meter-log" and "path" not in self.options:
            raise ParameterError("power: meter-log needs power_options: {path: METER.csv, clock_offset_s: 0}.")
        if self.source == "prometheus":
            prometheus_mode(self.options)

    def estimate_reader(self) -> ProfileEstimateReader | None:
        """The profile's estimate, or ``None`` when no figure is known."""
        if self.estimate_w is not None:
            return ProfileEstimateReader(self.estimate_profile, self.estimate_w, self.estimate_basis)
        if self.estimate_profile in PROFILE_POWER_W:
            return ProfileEstimateReader(self.estimate_profile)
        return None


class PowerSession:
    """The power side of one sweep attempt.

    Args:
        settings: How to measure.
    """

    def __init__(self, settings: PowerSettings) -> None:
        settings.validate()
        self.settings = settings
        self.reader: PowerReader | ProfileEstimateReader | None = None
        self.sampler: PowerSampler | None = None
        self.fallback: str | None = None
        self.idle: IdleBaseline | None = None
        self.idle_problem: str | None = None

    def open(self) -> None:
        """Choose and open the source.

        Raises:
            PowerError: a named source that this machine lacks (the message says why).
        """
        source = self.settings.source
        if source == "none":
            return
        if source == "auto":
            self.reader = auto_reader()
            if self.reader is None:
                missing = "; ".join(f"{s.name}: {s.detail}" for s in doctor() if s.status == "missing" and s.name in AUTO_PREFERENCE)
                self.reader = self.settings.estimate_reader()
                basis = "the hardware profile's estimate" if self.reader else "nothing (no estimate for this profile)"
                self.fallback = f"no measured power source on this machine, fell back to {basis} ({missing})"
            return
        if source == "estimate":
            self.reader = self.settings.estimate_reader()
            if self.reader is None:
                raise ParameterError(
                    f"power: estimate needs a figure: profile '{self.settings.estimate_profile}' has none; "
                    f"use a price_profile with power_w, or one of {', '.join(PROFILE_POWER_W)}."
                )
            return
        if source == "meter-log":
            return  # read after the window: the log is usually still being written during the run
        options = dict(self.settings.options)
        if source == "pi5-pmic" and isinstance(options.get("calibration"), dict):
            try:
                options["calibration"] = LinearCalibration(**options["calibration"])
            except TypeError as exc:
                raise ParameterError(
                    f"power_options.calibration takes scale, offset_w and reference: {exc}"
                ) from None
        self.reader = open_reader(source, **options)

    @property
    def kind(self) -> str | None:
        """``measured``, ``estimated`` or ``None`` (no power)."""
        if self.settings.source == "meter-log":
            return KIND_MEASURED
        return self.reader.kind if self.reader is not None else None

    def start(self) -> None:
        """Start sampling a live source (estimates and meter logs are not sampled).

        Raises:
            PowerReadError: the first read failed.
        """
        if self.reader is not None and self.reader.kind == KIND_MEASURED and self.reader.quantity != "log":
            tolerated = int(getattr(self.reader, "tolerated_read_errors", 0))  # a remote exporter may miss a scrape
            self.sampler = PowerSampler(self.reader, self.settings.rate_hz, tolerate_errors=tolerated).start()

    def measure_idle(self) -> IdleBaseline | None:
        """Measure the idle baseline (``idle_s`` > 0): sampled live, or a window of a source read afterwards
        (a Prometheus server); a failure is recorded, not raised."""
        offline = self.reader is not None and self.reader.quantity == "log"
        if (self.sampler is None and not offline) or self.settings.idle_s <= 0:
            return None
        try:
            if self.sampler is not None:
                self.idle = measure_idle(self.sampler, self.settings.idle_s)
            else:
                self.idle = measure_idle_window(self.reader, self.settings.idle_s)  # type: ignore[arg-type]
        except PowerError as exc:
            self.idle_problem = str(exc)
        return self.idle

    def measure(self, name: str, start_perf_s: float, end_perf_s: float, start_unix_s: float, end_unix_s: float):
        """Energy over a window that already happened.

        Returns:
            The :class:`Measurement` (invalid, with its problem, when the source
            failed or does not cover the window), or ``None`` without a source.
        """
        if self.settings.source == "meter-log":
            options = dict(self.settings.options)
            try:
                return MeterLogReader(options.pop("path"), **options).measure(start_unix_s, end_unix_s, name)
            except PowerError as exc:
                return Measurement.invalid(
                    name=name, problem=str(exc), duration_s=end_unix_s - start_unix_s, samples=0,
                    source="meter-log", boundary="external meter", kind=KIND_MEASURED,
                    start_unix_s=start_unix_s, end_unix_s=end_unix_s, method=METHOD_METER_LOG,
                )  # fmt: skip
        if self.sampler is not None:
            return self.sampler.measure(
                name, start_perf_s, end_perf_s, start_unix_s=start_unix_s, end_unix_s=end_unix_s
            )
        if isinstance(self.reader, ProfileEstimateReader) or (self.reader is not None and self.reader.quantity == "log"):
            return self.reader.measure(start_unix_s, end_unix_s, name)  # type: ignore[attr-defined]
        return None

    def stop(self) -> pd.DataFrame:
        """Stop sampling; the samples (empty without a live source)."""
        if self.sampler is None:
            samples_frame = getattr(self.reader, "samples_frame", None)  # a source read after the window
            return samples_frame() if samples_frame is not None else pd.DataFrame()
        self.sampler.stop()
        return self.sampler.to_frame()

    def describe(self) -> dict[str, Any]:
        """What was asked, what was used, and why, for ``run.json``."""
        described: dict[str, Any] = {
            "requested": self.settings.source,
            "rate_hz": self.settings.rate_hz if self.sampler is not None else None,
            "idle_s": self.settings.idle_s,
            "fallback": self.fallback,
            "kind": self.kind,
        }
        if self.settings.source == "meter-log":
            described["source"] = {"name": "meter-log", "path": str(self.settings.options.get("path"))}
        elif self.reader is not None:
            described["source"] = self.reader.describe()
        else:
            described["source"] = None
        if self.sampler is not None:
            described["sampler"] = self.sampler.describe()
        if self.idle is not None:
            described["idle"] = self.idle.measurement.to_dict()
        if self.idle_problem:
            described["idle_problem"] = self.idle_problem
        return described

    def energy(self, measurement: Measurement | None, output_tokens: int, throughput_replicates: np.ndarray) -> dict[str, Any]:
        """:func:`energy_summary` of a window, with this session's idle baseline and fallback reason."""
        idle_w = self.idle.power_w if self.idle is not None else None
        summary = energy_summary(measurement, output_tokens, throughput_replicates, idle_w)
        if self.fallback:
            summary["fallback"] = self.fallback
        return summary

    def close(self) -> None:
        """Stop sampling and release the source."""
        if self.sampler is not None:
            self.sampler.stop()
        if self.reader is not None:
            self.reader.close()


def energy_summary(
    measurement: Measurement | None,
    output_tokens: int,
    throughput_replicates: np.ndarray,
    idle_power_w: float | None = None,
) -> dict[str, Any]:
    """Energy per token over the measured window, gross and idle-subtracted, with 95% intervals.

    The interval carries the bootstrap replicates of the window's throughput:
    energy per token = mean power / throughput.

    Args:
        measurement: The measured window (``None`` without a power source).
        output_tokens: Tokens generated in that window.
        throughput_replicates: Bootstrap replicates of its throughput, tokens/s.
        idle_power_w: Idle baseline to subtract, watts.

    Returns:
        A dictionary for ``run.json``; ``valid`` is False (and ``problem`` says
        why) when the measurement cannot be trusted — never a zero.
    """
    if measurement is None:
        return {"valid": False, "problem": "no power source (power: none, or no estimate for this profile)"}
    base = {
        "source": measurement.source,
        "boundary": measurement.boundary,
        "kind": measurement.kind,
        "method": measurement.method,
        "window_s": measurement.duration_s,
        "start_unix_s": measurement.start_unix_s,
        "end_unix_s": measurement.end_unix_s,
        "samples": measurement.samples,
        "output_tokens": output_tokens,
    }
    if not measurement.valid:
        return {**base, "valid": False, "problem": measurement.problem}
    per_token = window_energy_per_token(measurement, output_tokens, idle_power_w)
    replicates = np.asarray(throughput_replicates, dtype=float)
    _, gross_low, gross_high = percentile_interval(measurement.mean_power_w / replicates)
    summary = {
        **base,
        "valid": True,
        "energy_j": measurement.energy_j,
        "mean_power_w": measurement.mean_power_w,
        "energy_per_token_j": {"value": per_token.gross_j_per_token, "ci_low": gross_low, "ci_high": gross_high},
        "idle_power_w": idle_power_w,
        "idle_subtracted_energy_per_token_j": None,
    }
    if per_token.idle_subtracted_j_per_token is not None:
        _, low, high = percentile_interval((measurement.mean_power_w - idle_power_w) / replicates)
        summary["idle_subtracted_energy_per_token_j"] = {
            "value": per_token.idle_subtracted_j_per_token, "ci_low": low, "ci_high": high,
        }  # fmt: skip
    if measurement.kind == KIND_ESTIMATED:
        summary["note"] = "estimated from the profile's power figure, not measured"
    return summary
