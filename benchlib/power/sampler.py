"""A background thread that samples one power reader and integrates named windows.

Usage::

    with PowerSampler(reader, rate_hz=10) as sampler:
        ...warm-up...
        sampler.begin_window("steady")
        ...measured work...
        m = sampler.end_window("steady")     # Measurement, joules over the window only
    frame = sampler.to_frame()               # one row per sample, for power.parquet

Every sample carries two timestamps: ``time.time()`` (wall clock, to align
with external logs and other machines) and ``time.perf_counter()`` (the
monotonic clock the rest of benchlib times tokens with; integration uses it).

Power readers are integrated with the trapezoid rule over the samples inside
a window, with the power at each edge interpolated between the samples around
it. Energy counters are unwrapped into one cumulative energy (wrap-around via
the reader's ``counter_range_j``) and a window's energy is that cumulative
energy's difference, interpolated at the edges.

A sensor that raises (beyond ``tolerate_errors`` consecutive failures,
default none), or a counter that steps backwards implausibly, stops the
sampler in state ``"failed"`` with :attr:`PowerSampler.problem` set; any
window not fully covered by good samples then ends as an invalid
:class:`~benchlib.power.measurement.Measurement`. A sensor that stops
answering gives an invalid measurement after ``end_timeout_s``.

The thread sleeps until absolute deadlines (``start + k / rate_hz``) on an
event wait, so it costs one sensor read per period and nothing in between;
when a read overruns its period, the missed deadlines are skipped and counted.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import numpy as np
import pandas as pd

from benchlib.power.base import EnergyCounterReader, PowerRateReader, PowerReader
from benchlib.power.errors import CounterError, PowerError, PowerReadError
from benchlib.power.integrate import CounterUnwrapper, interpolate_at, trapezoid_window_j
from benchlib.power.measurement import (
    METHOD_COUNTER,
    METHOD_TRAPEZOID,
    SAMPLE_COLUMNS,
    Measurement,
)

__all__ = ["DEFAULT_RATE_HZ", "PowerSampler", "SamplerState"]

log = logging.getLogger(__name__)

DEFAULT_RATE_HZ = 10.0
SamplerState = Literal["new", "running", "stopped", "failed"]


@dataclass(frozen=True)
class _Window:
    start_perf_s: float
    start_unix_s: float


class PowerSampler:
    """Samples a reader on a background thread and measures named windows.

    Args:
        reader: A power reader (``quantity`` ``"power"`` or ``"energy"``).
        rate_hz: Samples per second (default 10 Hz).
        end_timeout_s: How long :meth:`end_window` waits for the first sample
            after the window's end, seconds; default two periods + 5 s (a
            command-based sensor may take that long before timing out).
        max_gap_s: For power readers, the largest gap between samples a window
            may contain, seconds; a longer gap means the power in between is
            unknown and the window is invalid. Default: 10 periods, at least 2 s.
        tolerate_errors: Consecutive failed reads to tolerate (each logged and
            counted in :attr:`read_errors`) before the sampler fails; default 0,
            fail on the first. A counter going backwards is never tolerated.

    Raises:
        PowerError: ``rate_hz`` is not positive or the reader's quantity is unknown.
    """

    def __init__(
        self,
        reader: PowerReader,
        rate_hz: float = DEFAULT_RATE_HZ,
        *,
        end_timeout_s: float | None = None,
        max_gap_s: float | None = None,
        tolerate_errors: int = 0,
    ) -> None:
        if not rate_hz > 0:
            raise PowerError(f"rate_hz must be positive, got {rate_hz!r}")
        if tolerate_errors < 0:
            raise PowerError(f"tolerate_errors must be >= 0, got {tolerate_errors!r}")
        if reader.quantity == "power":
            if not isinstance(reader, PowerRateReader):
                raise PowerError(
                    f"{reader.name} does not implement PowerRateReader (name, boundary, kind, "
                    "quantity, describe(), close(), read_power_w())"
                )
        elif reader.quantity == "energy":
            if not isinstance(reader, EnergyCounterReader):
                raise PowerError(
                    f"{reader.name} does not implement EnergyCounterReader (name, boundary, kind, quantity, "
                    "counter_range_j, max_plausible_power_w, describe(), close(), read_energy_j())"
                )
        else:
            raise PowerError(
                f"{reader.name} has quantity {reader.quantity!r}; a live reader must be "
                "'power' or 'energy' (offline sources such as meter-log are not sampled)"
            )
        self.reader = reader
        self.rate_hz = float(rate_hz)
        self.period_s = 1.0 / self.rate_hz
        self.end_timeout_s = 2 * self.period_s + 5.0 if end_timeout_s is None else end_timeout_s
        self.max_gap_s = max(2.0, 10 * self.period_s) if max_gap_s is None else max_gap_s
        self.tolerate_errors = tolerate_errors
        self.missed_deadlines = 0
        """Deadlines skipped because a read overran its period."""
        self.read_errors = 0
        """Failed reads tolerated so far (see ``tolerate_errors``)."""

        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state: SamplerState = "new"
        self._problem: str | None = None
        self._unix: list[float] = []
        self._perf: list[float] = []
        self._power: list[float] = []
        self._energy: list[float] = []
        self._windows: dict[str, _Window] = {}
        self._unwrapper: CounterUnwrapper | None = None
        if reader.quantity == "energy":
            assert isinstance(reader, EnergyCounterReader)
            self._unwrapper = CounterUnwrapper(reader.counter_range_j, reader.max_plausible_power_w)
        self._unix_minus_perf = time.time() - time.perf_counter()

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> PowerSampler:
        """Take a first sample now, then keep sampling on a background thread.

        Returns:
            ``self``, for chaining.

        Raises:
            PowerError: The sampler was already started.
            PowerReadError: The first read failed (the source is unusable).
        """
        with self._cond:
            if self._state != "new":
                raise PowerError(f"this sampler was already started (state {self._state}); make a new one")
        self._unix_minus_perf = time.time() - time.perf_counter()
        try:
            self._sample_once()
        except Exception as exc:
            self._fail(exc)
            raise PowerReadError(f"first read of {self.reader.name} failed: {exc}") from exc
        with self._cond:
            self._state = "running"
        self._thread = threading.Thread(
            target=self._run, name=f"benchlib-power-{self.reader.name}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling (the samples stay); safe to call twice."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.end_timeout_s)
            if thread.is_alive():
                log.warning("power sampler for %s did not stop: its read is hanging", self.reader.name)
        with self._cond:
            if self._state in ("new", "running"):
                self._state = "stopped"
            self._cond.notify_all()

    def __enter__(self) -> PowerSampler:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def state(self) -> SamplerState:
        """``"new"``, ``"running"``, ``"stopped"`` or ``"failed"``."""
        with self._cond:
            return self._state

    @property
    def problem(self) -> str | None:
        """Why the sampler failed, or ``None``."""
        with self._cond:
            return self._problem

    @property
    def sample_count(self) -> int:
        """Samples taken so far."""
        with self._cond:
            return len(self._perf)

    def raise_if_failed(self) -> None:
        """Raise :class:`PowerReadError` with the problem if the sampler failed."""
        with self._cond:
            if self._state == "failed":
                raise PowerReadError(self._problem or "power sampler failed")

    def describe(self) -> dict[str, Any]:
        """The reader's description plus the sampling settings and state."""
        with self._cond:
            state, problem, n = self._state, self._problem, len(self._perf)
        return {
            **self.reader.describe(),
            "rate_hz": self.rate_hz,
            "samples": n,
            "missed_deadlines": self.missed_deadlines,
            "read_errors": self.read_errors,
            "state": state,
            "problem": problem,
        }

    # ------------------------------------------------------------------ sampling

    def _run(self) -> None:
        next_deadline = time.perf_counter() + self.period_s
        consecutive_errors = 0
        while not self._stop.is_set():
            delay = next_deadline - time.perf_counter()
            if delay > 0 and self._stop.wait(delay):
                break
            try:
                self._sample_once()
                consecutive_errors = 0
            except Exception as exc:  # a sensor failure is recorded, never swallowed
                consecutive_errors += 1
                if isinstance(exc, CounterError) or consecutive_errors > self.tolerate_errors:
                    self._fail(exc)
                    return
                self.read_errors += 1
                log.warning("power source %s: read failed (%s), tolerated", self.reader.name, exc)
            next_deadline += self.period_s
            behind = time.perf_counter() - next_deadline
            if behind > 0:
                skipped = int(behind // self.period_s) + 1
                self.missed_deadlines += skipped
                next_deadline += skipped * self.period_s

    def _sample_once(self) -> None:
        perf_before, unix_before = time.perf_counter(), time.time()
        if self._unwrapper is None:
            value = float(self.reader.read_power_w())  # type: ignore[attr-defined]
            if not math.isfinite(value):
                raise PowerReadError(f"{self.reader.name} returned a non-finite power {value!r} W")
            raw = None
        else:
            raw = self.reader.read_energy_j()  # type: ignore[attr-defined]
            value = math.nan
        perf_after, unix_after = time.perf_counter(), time.time()
        perf_s = (perf_before + perf_after) / 2.0
        unix_s = (unix_before + unix_after) / 2.0
        with self._cond:
            if self._perf and perf_s <= self._perf[-1]:
                return
            if self._unwrapper is not None:
                assert raw is not None
                energy_j = self._unwrapper.update(raw, perf_s)
                if self._perf:
                    value = (energy_j - self._energy[-1]) / (perf_s - self._perf[-1])
            elif self._perf:
                energy_j = self._energy[-1] + (self._power[-1] + value) * (perf_s - self._perf[-1]) / 2
            else:
                energy_j = 0.0
            self._unix.append(unix_s)
            self._perf.append(perf_s)
            self._power.append(value)
            self._energy.append(energy_j)
            self._cond.notify_all()

    def _fail(self, exc: BaseException) -> None:
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._cond:
            n = len(self._perf)
            self._problem = (
                f"power source {self.reader.name} failed at {when} after {n} samples: "
                f"{type(exc).__name__}: {exc}"
            )
            self._state = "failed"
            self._cond.notify_all()
        log.error("%s", self._problem)

    def wait_for_sample(self, after_perf_s: float | None = None, timeout_s: float | None = None) -> bool:
        """Block until a sample at or after ``after_perf_s`` exists.

        Args:
            after_perf_s: ``perf_counter`` time, seconds; default now.
            timeout_s: Longest wait, seconds; default ``end_timeout_s``.

        Returns:
            ``True`` if such a sample exists, ``False`` on timeout or when the
            sampler failed, stopped or was never started.
        """
        target = time.perf_counter() if after_perf_s is None else after_perf_s
        deadline = time.perf_counter() + (self.end_timeout_s if timeout_s is None else timeout_s)
        with self._cond:
            while not (self._perf and self._perf[-1] >= target):
                if self._state in ("new", "failed", "stopped"):
                    return False
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    # ------------------------------------------------------------------ windows

    def begin_window(self, name: str) -> None:
        """Open a window named ``name`` now; only energy after this point counts.

        Raises:
            PowerError: The sampler is not running, or ``name`` is already open.
            PowerReadError: The sampler has failed (the message says why).
        """
        perf_s, unix_s = time.perf_counter(), time.time()
        with self._cond:
            if self._state == "failed":
                raise PowerReadError(f"cannot begin window {name!r}: {self._problem}")
            if self._state != "running":
                raise PowerError(
                    f"cannot begin window {name!r}: the sampler is {self._state}; call start() first"
                )
            if name in self._windows:
                raise PowerError(f"window {name!r} is already open; end_window({name!r}) it first")
            self._windows[name] = _Window(perf_s, unix_s)

    def cancel_window(self, name: str) -> None:
        """Forget an open window without measuring it (no error if it is not open)."""
        with self._cond:
            self._windows.pop(name, None)

    def end_window(self, name: str) -> Measurement:
        """Close window ``name`` and return its energy.

        Waits (up to ``end_timeout_s``) for the first sample after now, so the
        window's end can be interpolated.

        Returns:
            The window's :class:`Measurement`; ``valid=False`` with ``problem``
            set when the sensor failed or stopped before covering the window.

        Raises:
            PowerError: No window named ``name`` is open.
        """
        perf_s, unix_s = time.perf_counter(), time.time()
        with self._cond:
            window = self._windows.pop(name, None)
            if window is None:
                raise PowerError(
                    f"no window named {name!r} is open (open: {sorted(self._windows) or 'none'}); "
                    f"call begin_window({name!r}) first"
                )
        return self.measure(
            name, window.start_perf_s, perf_s, start_unix_s=window.start_unix_s, end_unix_s=unix_s
        )

    def measure(
        self,
        name: str,
        start_perf_s: float,
        end_perf_s: float,
        *,
        start_unix_s: float | None = None,
        end_unix_s: float | None = None,
    ) -> Measurement:
        """The energy between two ``perf_counter`` times, from the samples taken.

        Lets a caller define a window after the fact, e.g. from first request
        sent to last token received.

        Args:
            name: Name for the measurement.
            start_perf_s: Window start, ``time.perf_counter()`` seconds.
            end_perf_s: Window end, same clock; not before the start.
            start_unix_s: The start's wall-clock time, Unix seconds; by default
                converted from ``start_perf_s`` through the samples' clock pairs.
            end_unix_s: The end's wall-clock time, likewise.

        Returns:
            The :class:`Measurement` (invalid, with the reason, if the samples
            do not cover the window).

        Raises:
            PowerError: ``end_perf_s`` is before ``start_perf_s``.
        """
        if end_perf_s < start_perf_s:
            raise PowerError(f"window {name!r} ends before it starts ({end_perf_s} < {start_perf_s})")
        covered = self.wait_for_sample(end_perf_s)
        reader = self.reader
        is_counter = self._unwrapper is not None
        method = METHOD_COUNTER if is_counter else METHOD_TRAPEZOID
        with self._cond:
            lo = max(bisect.bisect_right(self._perf, start_perf_s) - 1, 0)
            hi = bisect.bisect_left(self._perf, end_perf_s) + 1
            perf = np.array(self._perf[lo:hi])
            unix = np.array(self._unix[lo:hi])
            values = np.array(self._energy[lo:hi] if is_counter else self._power[lo:hi])
            state, problem = self._state, self._problem
            first_perf = self._perf[0] if self._perf else math.nan
        duration_s = end_perf_s - start_perf_s
        inside = int(np.count_nonzero((perf >= start_perf_s) & (perf <= end_perf_s)))
        common: dict[str, Any] = {
            "name": name,
            "duration_s": duration_s,
            "source": reader.name,
            "boundary": reader.boundary,
            "kind": reader.kind,
            "start_unix_s": self._to_unix(start_perf_s, perf, unix) if start_unix_s is None else start_unix_s,
            "end_unix_s": self._to_unix(end_perf_s, perf, unix) if end_unix_s is None else end_unix_s,
            "start_perf_s": start_perf_s,
            "end_perf_s": end_perf_s,
            "method": method,
        }

        def invalid(why: str) -> Measurement:
            log.warning("power window %r is invalid: %s", name, why)
            return _invalid(why, inside, common)

        if not covered:
            if state == "new":
                return invalid("the sampler was never started; call start() before measuring")
            if state == "failed":
                return invalid(f"{problem}; no good sample covers the end of the window")
            if state == "stopped":
                return invalid("the sampler was stopped before the window ended; end windows before stop()")
            return invalid(
                f"no reading from {reader.name} within {self.end_timeout_s:g} s after the window "
                "ended: the sensor stopped responding"
            )
        if len(perf) == 0 or perf[0] > start_perf_s:
            return invalid(
                f"the window starts before the first sample (at perf {first_perf:.3f} s); "
                "begin windows after start()"
            )
        if not is_counter and len(perf) > 1:
            gap = float(np.max(np.diff(perf)))
            if gap > self.max_gap_s:
                return invalid(
                    f"{reader.name} gave no reading for {gap:.2f} s inside the window "
                    f"(limit {self.max_gap_s:g} s): the power in that gap is unknown"
                )
        if is_counter:
            energy_j = interpolate_at(perf, values, end_perf_s) - interpolate_at(perf, values, start_perf_s)
        else:
            energy_j, _ = trapezoid_window_j(perf, values, start_perf_s, end_perf_s)
        if duration_s > 0:
            mean_power_w = energy_j / duration_s
        elif is_counter:
            mean_power_w = math.nan
        else:
            mean_power_w = interpolate_at(perf, values, start_perf_s)
        return _valid(energy_j, mean_power_w, inside, common)

    def _to_unix(self, perf_s: float, perf: np.ndarray, unix: np.ndarray) -> float:
        """Wall-clock time for a ``perf_counter`` time, from the nearest samples' clock pairs."""
        if len(perf) == 0:
            return perf_s + self._unix_minus_perf
        offsets = unix - perf
        return perf_s + float(np.interp(perf_s, perf, offsets))

    # ------------------------------------------------------------------ export

    def to_frame(self) -> pd.DataFrame:
        """The samples as a data frame, one row each, for ``power.parquet``.

        Columns: ``unix_s`` (wall clock, s), ``perf_s`` (``perf_counter``, s),
        ``power_w`` (W; for counters the mean since the previous sample,
        ``nan`` for the first), ``energy_j`` (cumulative since the first sample,
        J), ``source``, ``boundary``, ``kind``.
        """
        with self._cond:
            data = {
                "unix_s": np.array(self._unix),
                "perf_s": np.array(self._perf),
                "power_w": np.array(self._power),
                "energy_j": np.array(self._energy),
            }
        n = len(data["unix_s"])
        frame = pd.DataFrame(data)
        frame["source"] = pd.Series([self.reader.name] * n, dtype="string")
        frame["boundary"] = pd.Series([self.reader.boundary] * n, dtype="string")
        frame["kind"] = pd.Series([self.reader.kind] * n, dtype="string")
        return frame[list(SAMPLE_COLUMNS)]


def _invalid(problem: str, samples: int, common: dict[str, Any]) -> Measurement:
    return Measurement.invalid(problem=problem, samples=samples, **common)


def _valid(energy_j: float, mean_power_w: float, samples: int, common: dict[str, Any]) -> Measurement:
    return Measurement(energy_j=energy_j, mean_power_w=mean_power_w, samples=samples, **common)
