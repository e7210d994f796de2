"""The sweep engine: one lifecycle for every sweep, whatever drives its requests.

``run_sweep(SweepConfig(...))`` is what the sweep notebook calls. It

1. finds the run directory of these parameters (``data/runs/RUN_ID``),
   deleting it first when asked for a fresh run;
2. reuses a complete run (priced again under the profile asked for now);
3. has the driver check the model (before reuse: a changed model file is an
   error) and the server, opens the power session and records the start of an
   attempt in ``run.json``; starts the thermal recorder (snapshots at the
   attempt's start and end, 1 Hz samples between, ``thermal.parquet``);
4. has the driver load the runtime, run the warm-up (never recorded) and
   every pending measured request, each recorded as soon as it completes;
5. records a stopped attempt (``interrupted`` on Ctrl-C, else ``failed``) and
   keeps every completed request, so the same parameters resume it;
6. writes the summary, energy and cost and marks the run ``complete``.

Drivers: :class:`~benchlib.sweep.sequential.SequentialDriver` (one request at
a time to an in-process runtime) and
:class:`~benchlib.sweep.load_steps.LoadStepsDriver` (closed-loop and Poisson
steps against a server).
"""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from benchlib.config import SweepConfig
from benchlib.errors import ParameterError, RuntimeFailure
from benchlib.metrics.run import error_summary
from benchlib.power.session import PowerSession
from benchlib.records import OutputNotWritable, RunDirectory, RunStatus, now_iso, output_not_writable
from benchlib.sweep.driver import Driver, RunningAttempt, Window
from benchlib.sweep.live_metrics import LOOPBACK, METRICS_OFF, SweepLabels, SweepMetrics
from benchlib.sweep.load_steps import LoadStepsDriver
from benchlib.sweep.run_record import (
    attempt_energy,
    attempt_phase_energy,
    close_previous_attempt,
    mark_stopped,
    price_run_record,
    save_power_samples,
    start_meta,
)
from benchlib.sweep.sequential import SequentialDriver
from benchlib.sweep.thermal_record import ThermalRecorder

__all__ = ["SweepResult", "create_driver", "prepare_run_directory", "run_sweep"]


@dataclass(frozen=True)
class SweepResult:
    """What :func:`run_sweep` returns.

    Attributes:
        run_dir: The run directory.
        meta: Final contents of ``run.json``.
        requests: Every measured request of the run.
        reused: True when the run was already complete and nothing ran.
    """

    run_dir: Path
    meta: dict[str, Any]
    requests: pd.DataFrame
    reused: bool

    @property
    def summary(self) -> dict[str, Any]:
        """The run's summary (medians, percentiles, intervals)."""
        return self.meta.get("summary", {})


def prepare_run_directory(config: SweepConfig, fresh: bool = False) -> RunDirectory:
    """The run directory of a configuration, emptied first when ``fresh``."""
    store = RunDirectory(config.run_dir())
    if fresh and store.path.exists():
        shutil.rmtree(store.path)
    return store


def create_driver(config: SweepConfig) -> Driver:
    """The driver a configuration's runtime needs: sequential for in-process runtimes, load steps for servers."""
    if config.spec.in_process:
        return SequentialDriver(config)

    return LoadStepsDriver(config)


def run_sweep(
    config: SweepConfig,
    progress: bool = True,
    fresh: bool = False,
    metrics_port: int | None = None,
    metrics_bind: str = LOOPBACK,
) -> SweepResult:
    """Run (or resume, or reuse) the sweep a configuration describes.

    How the sweep runs (``progress``, ``fresh``, ``metrics_*``) is no part of
    its parameters: none of it enters the run id.

    Args:
        config: Validated sweep configuration.
        progress: Show a progress bar over the measured requests.
        fresh: Delete any earlier results of these parameters first.
        metrics_port: Serve live progress as Prometheus metrics on this port
            while the sweep runs (:mod:`benchlib.sweep.live_metrics`; 0: any
            free port); ``None`` for none.
        metrics_bind: Address the metrics server listens on (loopback unless given).

    Returns:
        The run directory, its metadata and its requests.

    Raises:
        BenchlibError: bad parameters, a model or server problem or a runtime
            failure; every request completed before the failure stays on disk.
        MetricsPortUnavailable: ``metrics_port`` is in use (before anything is measured).
    """
    live = SweepMetrics(metrics_port, metrics_bind)  # a bad port number is refused before anything else
    driver = create_driver(config)
    store = prepare_run_directory(config, fresh)
    previous = store.read_meta()
    status = store.effective_status(previous)
    if status == RunStatus.RUNNING:
        attempt = previous["attempts"][-1]
        raise ParameterError(
            f"Run {store.path} is being measured right now by process {attempt.get('pid')} on {attempt.get('host')} "
            f"(started {attempt.get('started_at')}). Wait for it, or stop it (Ctrl-C) and run again to resume."
        )
    if previous is not None and status != RunStatus.COMPLETE:
        previous = close_previous_attempt(previous, status)
    driver.check(store, previous)
    if previous is not None and previous.get("status") == RunStatus.COMPLETE:
        print(f"Run {store.path} is already complete; reusing it (use --fresh to measure again).")
        requests = store.read_requests()
        if price_run_record(previous, config, driver.priced_requests(previous, requests)):
            store.write_record(previous)
        return SweepResult(store.path, previous, requests, reused=True)
    live.start(SweepLabels.of(config))  # a port in use fails here, before the server is reached or the model loads
    try:
        driver.open()
        result = _measure(config, driver, store, previous, progress, live)
    except BaseException:
        live.stop(complete=False)
        raise
    live.stop(complete=True)  # lets a scraper collect the final counts first (at most one scrape interval)
    return result


def _measure(
    config: SweepConfig,
    driver: Driver,
    store: RunDirectory,
    previous: dict[str, Any] | None,
    progress: bool,
    live: SweepMetrics = METRICS_OFF,
) -> SweepResult:
    """One attempt: power session, load, warm-up, pending requests, then the summary."""
    from tqdm import tqdm

    power = PowerSession(config.power_settings())
    power.open()  # a named source this machine lacks fails here, before anything is written
    store.path.mkdir(parents=True, exist_ok=True)
    meta = start_meta(config, driver.model_record(), previous)
    completed, total = driver.plan(store, meta)
    meta["progress"] = {"completed": completed, "total": total}
    live.set_progress(completed, total)
    store.write_record(meta)
    if completed:
        print(f"Resuming {store.path}: {completed} of {total} requests already complete.")
    thermal = ThermalRecorder()
    thermal.start()  # never raises: a machine without sensors records why
    bar = tqdm(total=total, initial=completed, desc="requests", unit="req", disable=not progress)
    attempt = RunningAttempt(len(meta["attempts"]) - 1, store, meta, bar, live)
    timings: dict[str, float] = {}
    window: Window | None = None
    measurement = None
    stopped_by: BaseException | None = None
    try:
        power.start()
        meta["power"] = power.describe()
        live.set_phase("load")
        started = time.perf_counter()
        driver.load(meta)
        _record_trace(meta, driver.workload.trace)
        if driver.in_process:
            timings["model_load_s"] = time.perf_counter() - started
        driver.prepare()
        live.set_phase("warmup")
        started = time.perf_counter()
        timings["warmup_requests"] = driver.warmup()
        timings["warmup_s"] = time.perf_counter() - started
        live.set_phase("idle")
        power.measure_idle()
        store.write_record(meta)
        live.set_phase("measure")
        started = time.perf_counter()
        window = driver.measure(attempt)
        timings["measured_s"] = time.perf_counter() - started
        bar.close()
        if window is not None:
            unix = window.unix_minus_perf_s
            measurement = power.measure(
                "measured", window.start_perf_s, window.end_perf_s, unix + window.start_perf_s, unix + window.end_perf_s
            )
    except BaseException as exc:
        stopped_by = exc
        bar.close()
        meta["attempts"][-1]["timings"] = timings
        thermal.stop()
        meta["thermal"] = thermal.record(None, attempt.index)
        _record_stop(driver, attempt, exc)
        raise
    finally:
        thermal.stop()  # end snapshot; these two never raise
        thermal.save(store, attempt.index)
        driver.close()
        _keep_power_samples(store, power, attempt.index, stopped_by)
    meta["thermal"] = thermal.record(window, attempt.index)
    return _finish(config, driver, store, meta, attempt.index, timings, power, measurement, window, previous)


def _record_trace(meta: dict[str, Any], trace: Any) -> None:
    """Record the replayed trace in ``run.json`` and tell the user what reading it changed (sorted, skipped, cut)."""
    if trace is None:
        return
    meta["trace"] = trace.to_record()
    for note in trace.notes:
        print(f"Trace {trace.path}: {note}")


def _fail_when_nothing_succeeded(store: RunDirectory, meta: dict[str, Any], requests: pd.DataFrame) -> None:
    """A run in which every measured request failed ends ``failed``, its errors by kind recorded, never ``complete``.

    Raises:
        RuntimeFailure: every request failed; the message gives each kind's count and first reason.
    """
    if not requests.empty and ("error" not in requests or requests["error"].isna().any()):
        return  # an in-process runtime's rows have no error column: a failure there raises
    errors = error_summary(requests)
    kinds = "; ".join(f"{kind} x{entry['count']} (first: {entry['first'][:160]})" for kind, entry in errors.items())
    reason = (f"every one of the {len(requests)} measured requests failed: {kinds or 'no request was sent'}. "
              "The rows are kept in requests.parquet; fix what the errors name and run the sweep again.")  # fmt: skip
    meta.update(status=RunStatus.FAILED, error=f"RuntimeFailure: {reason}", errors_by_kind=errors, ended_at=now_iso())
    store.write_record(meta)
    raise RuntimeFailure(reason)


def _record_stop(driver: Driver, attempt: RunningAttempt, exc: BaseException) -> None:
    """Keep what the stopped attempt completed and record why it stopped, without hiding why it stopped.

    When the run directory cannot be written either (the reason it stopped, or
    a disk that filled meanwhile), the stop goes unrecorded: the run then reads
    as ``interrupted (process gone)`` and the user sees the first error.
    """
    try:
        driver.stopped(attempt)
        mark_stopped(attempt.store, attempt.meta, exc)
    except (OSError, OutputNotWritable) as write_error:
        print(f"Warning: could not record the stop in {attempt.store.run_file}: {write_error}")


def _keep_power_samples(store: RunDirectory, power: PowerSession, attempt: int, stopped_by: BaseException | None) -> None:
    """Save the power samples; a failed write is a clear error, or a warning when the attempt already stopped."""
    try:
        save_power_samples(store, power, attempt)
    except OSError as exc:
        if stopped_by is not None:  # the user sees why the attempt stopped, not this consequence
            print(f"Warning: could not save the power samples in {store.path}: {exc}")
            return
        raise output_not_writable(store.path, exc) from exc


def _finish(
    config: SweepConfig,
    driver: Driver,
    store: RunDirectory,
    meta: dict[str, Any],
    attempt: int,
    timings: dict[str, float],
    power: PowerSession,
    measurement: Any,
    window: Window | None,
    previous: dict[str, Any] | None,
) -> SweepResult:
    """Summary, energy and cost of a finished attempt; the run is complete."""
    requests = store.read_requests()
    meta["attempts"][-1]["timings"] = timings
    _fail_when_nothing_succeeded(store, meta, requests)
    meta["power"] = power.describe()
    summary, basis = driver.summarize(requests, meta, attempt, window)
    meta["summary"] = summary
    energy = attempt_energy(power, measurement, basis, attempt, previous)
    meta["attempts"][-1]["energy"] = energy
    summary["energy"] = energy
    by_phase = attempt_phase_energy(store, power, requests, attempt)
    if by_phase is not None:
        summary["energy_by_phase"] = by_phase
    if energy.get("valid") is False and power.kind is not None:
        print(f"Warning: no energy figure for this run: {energy.get('problem')}")
    price_run_record(meta, config, driver.priced_requests(meta, requests), force=True)
    driver.after_pricing(meta, config.price())
    meta["status"] = RunStatus.COMPLETE
    meta["ended_at"] = now_iso()
    store.write_record(meta)
    return SweepResult(store.path, meta, requests, reused=False)
