"""A background thread that snapshots every thermal source at a modest rate, for ``thermal.parquet``.

Usage::

    sources = detect_thermal_sources()
    with ThermalMonitor(sources, rate_hz=1.0) as monitor:
        ...the run...
    frame = monitor.to_frame()    # one row per snapshot

The thread takes its first snapshot as soon as it starts, then one every
``1 / rate_hz`` seconds on absolute deadlines (missed ones are skipped, not
queued). It never raises into the caller: a snapshot lists a failing source
in its ``errors``; an unexpected failure stops the thread and is kept in
:attr:`ThermalMonitor.problem`. :meth:`ThermalMonitor.stop` waits at most
``stop_timeout_s`` for a read in progress, so a hanging sensor cannot hold a sweep.
"""

from __future__ import annotations

import logging
import threading

import pandas as pd

from benchlib.clock import REAL_CLOCK, Clock
from benchlib.power.deadlines import deadlines
from benchlib.thermal.snapshot import ThermalSnapshot
from benchlib.thermal.sources import ThermalSources

__all__ = ["DEFAULT_THERMAL_RATE_HZ", "ThermalMonitor"]

log = logging.getLogger(__name__)

DEFAULT_THERMAL_RATE_HZ = 1.0
"""Snapshots per second: enough to see a clock drop over a run, cheap where a read starts processes (vcgencmd)."""


class ThermalMonitor:
    """Snapshots the thermal sources on a background thread.

    Args:
        sources: The sources to read (:func:`~benchlib.thermal.sources.detect_thermal_sources`).
        rate_hz: Snapshots per second (default 1 Hz); must be positive.
        stop_timeout_s: Longest wait for the thread in :meth:`stop`, seconds.
        clock: Where snapshot times are read and deadlines waited on (:mod:`benchlib.clock`; scripted in tests).

    Raises:
        ValueError: ``rate_hz`` is not positive.
    """

    def __init__(self, sources: ThermalSources, rate_hz: float = DEFAULT_THERMAL_RATE_HZ, stop_timeout_s: float = 3.0,
                 clock: Clock = REAL_CLOCK) -> None:  # fmt: skip
        if not rate_hz > 0:
            raise ValueError(f"rate_hz must be positive, got {rate_hz!r}")
        self.sources = sources
        self.rate_hz = float(rate_hz)
        self.period_s = 1.0 / self.rate_hz
        self.stop_timeout_s = stop_timeout_s
        self.clock = clock
        self.problem: str | None = None
        self._snapshots: list[ThermalSnapshot] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> ThermalMonitor:
        """Start the thread (its first snapshot is taken at once); returns ``self``."""
        if self._thread is None and self.sources.sources:
            self._thread = threading.Thread(target=self._run, name="benchlib-thermal", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the thread; waits at most ``stop_timeout_s``; safe to call twice."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=self.stop_timeout_s)
            if thread.is_alive():
                log.warning("thermal monitor did not stop within %.1f s: a sensor read is hanging", self.stop_timeout_s)

    def __enter__(self) -> ThermalMonitor:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        try:
            for _ in deadlines(self.period_s, self._stop, first_now=True, clock=self.clock):
                snapshot = self.sources.snapshot(self.clock)
                with self._lock:
                    self._snapshots.append(snapshot)
        except Exception as exc:  # recorded, never raised into the sweep
            self.problem = f"thermal monitor stopped: {type(exc).__name__}: {exc}"
            log.warning("%s", self.problem)

    @property
    def snapshots(self) -> list[ThermalSnapshot]:
        """The snapshots taken so far, oldest first (a copy)."""
        with self._lock:
            return list(self._snapshots)

    def to_frame(self) -> pd.DataFrame:
        """The snapshots as rows (:meth:`ThermalSnapshot.row`), oldest first; empty without any."""
        return pd.DataFrame([s.row() for s in self.snapshots])
