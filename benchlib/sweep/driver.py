"""What the sweep engine asks of a workload driver, and what it hands to one.

The engine (:mod:`benchlib.sweep.engine`) owns the run directory, reuse and
repricing, the power session, attempts, stopping and finishing. A driver owns
how requests are issued: one at a time to an in-process runtime
(:class:`~benchlib.sweep.sequential.SequentialDriver`) or in load steps against
a server (:class:`~benchlib.sweep.load_steps.LoadStepsDriver`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from benchlib.records import RunDirectory
from benchlib.sweep.live_metrics import METRICS_OFF, SweepMetrics

__all__ = ["Driver", "EnergyBasis", "RunningAttempt", "Window"]

PROGRESS_WRITE_INTERVAL_S = 0.5
"""Shortest time between two progress updates of ``run.json`` (it is not fsynced: the rows are)."""


@dataclass(frozen=True)
class Window:
    """The measured window: first request sent to last token received.

    Attributes:
        start_perf_s: Its start, ``time.perf_counter`` seconds.
        end_perf_s: Its end, ``time.perf_counter`` seconds.
        unix_minus_perf_s: Unix time minus ``perf_counter`` time during the attempt, seconds.
    """

    start_perf_s: float
    end_perf_s: float
    unix_minus_perf_s: float

    @property
    def duration_s(self) -> float:
        """Window length, seconds."""
        return self.end_perf_s - self.start_perf_s


@dataclass(frozen=True)
class EnergyBasis:
    """What the energy per token of an attempt divides by.

    Attributes:
        output_tokens: Tokens generated in the measured window by this attempt.
        requests: Requests of this attempt that count.
        throughput_replicates_tps: Bootstrap replicates of the throughput, tokens/s (the interval's source).
    """

    output_tokens: int
    requests: int
    throughput_replicates_tps: np.ndarray


@dataclass
class RunningAttempt:
    """One execution of a sweep while it runs, as a driver sees it.

    Its entry in ``run.json``'s ``attempts`` is typed by :class:`benchlib.records.record.Attempt`.

    Attributes:
        index: Attempt number (0 for the first), its place in ``run.json``'s ``attempts``.
        store: The run directory.
        meta: ``run.json``'s contents, updated in place.
        unix_minus_perf_s: Unix time minus ``perf_counter`` time, fixed for the attempt, seconds.
        bar: The progress bar (tqdm) over the planned requests.
        live: The live sweep metrics (``benchlib sweep --metrics-port``; off by default).
    """

    index: int
    store: RunDirectory
    meta: dict[str, Any]
    bar: Any
    live: SweepMetrics = METRICS_OFF
    unix_minus_perf_s: float = field(default_factory=lambda: time.time() - time.perf_counter())
    _last_write_s: float = 0.0

    def advance(self, requests: int = 1, output_tokens: int = 0, failed: bool = False) -> None:
        """Count finished requests in the bar, the live metrics and ``run.json``'s progress (written at most twice a second).

        Args:
            requests: Requests finished.
            output_tokens: Their output tokens (as their rows record them).
            failed: True when they failed (an error, a timeout, no tokens).
        """
        self.meta["progress"]["completed"] += requests
        self.bar.update(requests)
        self.live.requests_finished(requests, output_tokens, failed)
        self.live.set_progress(self.meta["progress"]["completed"])
        now = time.perf_counter()
        if now - self._last_write_s > PROGRESS_WRITE_INTERVAL_S:
            self._last_write_s = now
            self.store.write_record(self.meta, durable=False)


class Driver(Protocol):
    """How a sweep issues its requests; the engine calls these in this order."""

    in_process: bool
    """True when the driver loads a model here (its load time is recorded), False when it drives a server."""

    workload: Any
    """The :class:`~benchlib.workload.Workload` it runs."""

    def check(self, store: RunDirectory, previous: dict[str, Any] | None) -> None:
        """Check that earlier results in ``store`` were measured on the same model, or raise a clear error."""

    def open(self) -> None:
        """Check what must exist before anything is measured (the server, a tokenizer), or raise a clear error."""

    def model_record(self) -> dict[str, Any]:
        """What ``run.json`` records as the model."""

    def plan(self, store: RunDirectory, meta: dict[str, Any]) -> tuple[int, int]:
        """Work out what is left to do; return (requests already complete, requests planned in all)."""

    def load(self, meta: dict[str, Any]) -> None:
        """Load the runtime (or describe the server) and record it in ``meta``."""

    def prepare(self) -> None:
        """Give the requests their prompts (synthetic prompts need a tokenizer); not timed."""

    def warmup(self) -> int:
        """Run the warm-up requests (never recorded); return how many ran."""

    def measure(self, attempt: RunningAttempt) -> Window | None:
        """Run every pending request, recording each as it completes; the measured window, if any ran."""

    def stopped(self, attempt: RunningAttempt) -> None:
        """Keep what a stopped attempt completed (called before the stop is recorded)."""

    def close(self) -> None:
        """Release the runtime (always called)."""

    def summarize(self, requests: pd.DataFrame, meta: dict[str, Any], attempt: int, window: Window | None) -> tuple[dict[str, Any], EnergyBasis]:
        """The run's summary and what its energy per token divides by."""

    def priced_requests(self, meta: dict[str, Any], requests: pd.DataFrame) -> pd.DataFrame:
        """The requests whose throughput the run's cost is computed from."""

    def after_pricing(self, meta: dict[str, Any], price: Any) -> None:
        """Add driver-specific cost figures to the summary (the cost at peak throughput of a load sweep)."""
