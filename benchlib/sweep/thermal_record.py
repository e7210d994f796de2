"""The thermal side of one sweep attempt: snapshots at start and end, the monitor between, the window summary.

The engine calls :meth:`ThermalRecorder.start` before the model loads,
:meth:`ThermalRecorder.stop` when the attempt ends (however it ends),
:meth:`ThermalRecorder.save` to append the samples to ``thermal.parquet``
(one row per snapshot, an ``attempt`` column, this attempt's rows replaced),
and :meth:`ThermalRecorder.record` for ``run.json``'s ``thermal`` entry.

Nothing here may fail or slow a sweep: every step catches its own errors
and records them in ``problem``; detection costs one read of each source; the
monitor reads at 1 Hz on its own thread and is given at most a few seconds to stop.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable
from typing import Any

import pandas as pd

from benchlib.clock import REAL_CLOCK, Clock
from benchlib.records import RunDirectory, atomic_write_bytes
from benchlib.records.directory import THERMAL_FILE
from benchlib.sweep.driver import Window
from benchlib.thermal import (
    DEFAULT_THERMAL_RATE_HZ,
    ThermalMonitor,
    ThermalSnapshot,
    ThermalSources,
    detect_thermal_sources,
    flag_text,
    summarize_window,
)

__all__ = ["ThermalRecorder"]

log = logging.getLogger(__name__)


class ThermalRecorder:
    """Records temperatures, clocks and throttling around and during one attempt.

    Args:
        detect: Opens the sources (:func:`detect_thermal_sources` on this machine).
        rate_hz: Monitor rate, snapshots per second.
        clock: The monitor's clock (:mod:`benchlib.clock`; scripted in tests).
    """

    def __init__(
        self, detect: Callable[[], ThermalSources] = detect_thermal_sources, rate_hz: float = DEFAULT_THERMAL_RATE_HZ,
        clock: Clock = REAL_CLOCK,
    ) -> None:
        self._detect = detect
        self.rate_hz = rate_hz
        self.clock = clock
        self.sources = ThermalSources()
        self.monitor: ThermalMonitor | None = None
        self.start_snapshot: ThermalSnapshot | None = None
        self.end_snapshot: ThermalSnapshot | None = None
        self.problem: str | None = None
        self._samples: pd.DataFrame | None = None

    def _note(self, what: str, exc: BaseException) -> None:
        message = f"{what}: {type(exc).__name__}: {exc}"
        self.problem = message if self.problem is None else f"{self.problem}; {message}"
        log.warning("thermal recording: %s", message)

    def start(self) -> None:
        """Find the sources, take the start snapshot and start the monitor; never raises."""
        try:
            self.sources = self._detect()
            self.start_snapshot = self.sources.snapshot(self.clock) if self.sources.sources else None
            self.monitor = ThermalMonitor(self.sources, self.rate_hz, clock=self.clock).start()
        except Exception as exc:
            self._note("could not start", exc)

    def stop(self) -> None:
        """Stop the monitor, take the end snapshot, close the sources; never raises; safe to call twice."""
        if self._samples is not None:
            return
        try:
            if self.monitor is not None:
                self.monitor.stop()
                if self.monitor.problem:
                    self.problem = self.monitor.problem
            if self.sources.sources:
                self.end_snapshot = self.sources.snapshot(self.clock)
            rows = [s.row() for s in self.monitor.snapshots] if self.monitor is not None else []
            if self.end_snapshot is not None:
                rows.append(self.end_snapshot.row())
            self._samples = pd.DataFrame(rows)
        except Exception as exc:
            self._note("could not stop", exc)
            self._samples = pd.DataFrame()
        finally:
            self.sources.close()

    @property
    def samples(self) -> pd.DataFrame:
        """This attempt's snapshots (monitor and end snapshot), one row each; empty before :meth:`stop`."""
        return self._samples if self._samples is not None else pd.DataFrame()

    def save(self, store: RunDirectory, attempt: int) -> None:
        """Append this attempt's rows to ``thermal.parquet`` (its earlier rows replaced); never raises."""
        samples = self.samples
        if samples.empty:
            return
        try:
            samples = samples.copy()
            samples.insert(0, "attempt", attempt)
            path = store.path / THERMAL_FILE
            if path.exists():
                earlier = pd.read_parquet(path)
                samples = pd.concat([earlier[earlier["attempt"] != attempt], samples], ignore_index=True)
            buffer = io.BytesIO()
            samples.to_parquet(buffer, index=False)
            atomic_write_bytes(path, buffer.getvalue())
        except Exception as exc:
            self._note(f"could not write {THERMAL_FILE}", exc)

    def record(self, window: Window | None, attempt: int) -> dict[str, Any]:
        """``run.json``'s ``thermal`` entry: sources, missing ones with why, start/end snapshots, the window summary.

        Args:
            window: The attempt's measured window (``None`` when nothing was measured).
            attempt: The attempt's number.
        """
        described = self.sources.describe()
        entry: dict[str, Any] = {
            "attempt": attempt,
            "rate_hz": self.rate_hz,
            "sources": [s["name"] for s in described["sources"]],
            "source_details": described["sources"],
            "unavailable": described["unavailable"],
            "has_temperature": self.sources.has_temperature,
            "start": self.start_snapshot.record() if self.start_snapshot else None,
            "end": self.end_snapshot.record() if self.end_snapshot else None,
            "samples": int(len(self.samples)),
            "window": None,
            "flag": None,
            "problem": self.problem,
        }
        try:
            if window is not None:
                unix = window.unix_minus_perf_s
                summary = summarize_window(
                    self.samples, unix + window.start_perf_s, unix + window.end_perf_s, entry["start"], entry["end"]
                )
                entry["window"] = summary
                entry["flag"] = flag_text(summary, self.sources.has_temperature)
        except Exception as exc:
            self._note("could not summarize the measured window", exc)
            entry["problem"] = self.problem
        return entry
