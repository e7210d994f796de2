"""A background thread that samples one power reader and integrates named windows.

Usage::

    with PowerSampler(reader, rate_hz=10) as sampler:
        ...warm-up...
        sampler.begin_window("steady")
        ...measured work...
        m = sampler.end_window("steady")     # Measurement, joules over the window only
    frame = sampler.to_frame()               # one row per sample, for power.parquet

Every sample carries two timestamps from its clock (:mod:`benchlib.clock`): ``unix_s`` (wall clock, to align
with external logs and other machines) and ``perf_s`` (the
monotonic clock the rest of benchlib times tokens with; integration uses it).

The samples are kept in a :class:`~benchlib.power.samples.SampleSeries`
(counters unwrapped via the reader's ``counter_range_j``), and a window's
energy is computed by :func:`~benchlib.power.window.window_measurement`
(trapezoids for power, a cumulative-energy difference for counters).

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

import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Literal

import pandas as pd

from benchlib.clock import REAL_CLOCK, Clock
from benchlib.power.base import PowerReader
from benchlib.power.deadlines import deadlines
from benchlib.power.errors import CounterError, PowerError, PowerReadError
from benchlib.power.measurement import Measurement
from benchlib.power.samples import SampleSeries, samples_frame
from benchlib.power.window import uncovered_problem, window_measurement

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
        clock: Where sample times are read and deadlines waited on (the
            machine's clock; :class:`~benchlib.clock.ScriptedClock` in tests).
            How long :meth:`end_window` waits for a sensor is real time.

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
        clock: Clock = REAL_CLOCK,
    ) -> None:
        if not rate_hz > 0:
            raise PowerError(f"rate_hz must be positive, got {rate_hz!r}")
        if tolerate_errors < 0:
            raise PowerError(f"tolerate_errors must be >= 0, got {tolerate_errors!r}")
        samples = SampleSeries.for_reader(reader)
        self.reader = reader
        self.clock = clock
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
        self._windows: dict[str, _Window] = {}
        self._samples = samples
        self._origin_perf_s: float | None = None

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
        self._origin_perf_s = self.clock.perf_s()
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
            return len(self._samples)

    def raise_if_failed(self) -> None:
        """Raise :class:`PowerReadError` with the problem if the sampler failed."""
        with self._cond:
            if self._state == "failed":
                raise PowerReadError(self._problem or "power sampler failed")

    def describe(self) -> dict[str, Any]:
        """The reader's description plus the sampling settings and state."""
        with self._cond:
            state, problem, n = self._state, self._problem, len(self._samples)
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
        consecutive_errors = 0
        for skipped in deadlines(self.period_s, self._stop, clock=self.clock, origin_s=self._origin_perf_s):
            self.missed_deadlines += skipped
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

    def _sample_once(self) -> None:
        perf_before, unix_before = self.clock.perf_s(), self.clock.unix_s()
        if not self._samples.is_counter:
            value = float(self.reader.read_power_w())  # type: ignore[attr-defined]
            if not math.isfinite(value):
                raise PowerReadError(f"{self.reader.name} returned a non-finite power {value!r} W")
            raw = None
        else:
            raw = self.reader.read_energy_j()  # type: ignore[attr-defined]
            value = math.nan
        perf_after, unix_after = self.clock.perf_s(), self.clock.unix_s()
        perf_s = (perf_before + perf_after) / 2.0
        unix_s = (unix_before + unix_after) / 2.0
        with self._cond:
            if self._samples.add(perf_s, unix_s, power_w=value, counter_j=raw):
                self._cond.notify_all()

    def _fail(self, exc: BaseException) -> None:
        when = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with self._cond:
            n = len(self._samples)
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
            after_perf_s: ``clock.perf_s()`` time, seconds; default now.
            timeout_s: Longest wait, real seconds; default ``end_timeout_s``.

        Returns:
            ``True`` if such a sample exists, ``False`` on timeout or when the
            sampler failed, stopped or was never started.
        """
        target = self.clock.perf_s() if after_perf_s is None else after_perf_s
        deadline = time.monotonic() + (self.end_timeout_s if timeout_s is None else timeout_s)
        with self._cond:
            while not ((last := self._samples.last_perf_s) is not None and last >= target):
                if self._state in ("new", "failed", "stopped"):
                    return False
                remaining = deadline - time.monotonic()
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
        perf_s, unix_s = self.clock.perf_s(), self.clock.unix_s()
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
        perf_s, unix_s = self.clock.perf_s(), self.clock.unix_s()
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
        with self._cond:
            samples = self._samples.around(start_perf_s, end_perf_s)
            state, problem = self._state, self._problem
        measurement = window_measurement(
            name, self.reader, samples, start_perf_s, end_perf_s,
            start_unix_s=start_unix_s, end_unix_s=end_unix_s,
            uncovered_problem=None if covered else uncovered_problem(state, problem, self.reader.name, self.end_timeout_s),
            max_gap_s=self.max_gap_s, fallback_unix_minus_perf_s=self.clock.unix_s() - self.clock.perf_s(),
        )  # fmt: skip
        if not measurement.valid:
            log.warning("power window %r is invalid: %s", name, measurement.problem)
        return measurement

    # ------------------------------------------------------------------ export

    def to_frame(self) -> pd.DataFrame:
        """The samples as a data frame, one row each, for ``power.parquet``.

        Columns: ``unix_s`` (wall clock, s), ``perf_s`` (``perf_counter``, s),
        ``power_w`` (W; for counters the mean since the previous sample,
        ``nan`` for the first), ``energy_j`` (cumulative since the first sample,
        J), ``source``, ``boundary``, ``kind``.
        """
        with self._cond:
            data = self._samples.arrays()
        return samples_frame(data, self.reader)
