"""The parts of ``run.json`` the engine writes: start of an attempt, stop, power samples, energy, price.

The parts are assembled as mappings and every write goes through
:meth:`benchlib.records.RunDirectory.write_record`, which validates them into a
:class:`benchlib.records.RunRecord` (what readers and ``benchlib schema`` use)
and refuses a key the record does not declare;
``tests/unit/records/test_run_record_drift.py`` round-trips a real run.
"""

from __future__ import annotations

import io
import os
import socket
from typing import Any

import pandas as pd

from benchlib import machine
from benchlib.config import SweepConfig
from benchlib.cost import price_run as cost_of_run
from benchlib.cost import profile_record
from benchlib.power.base import KIND_ESTIMATED
from benchlib.power.phases import phase_energy
from benchlib.power.session import PowerSession
from benchlib.records import (
    SCHEMA_VERSION,
    OutputNotWritable,
    RunDirectory,
    RunStatus,
    atomic_write_bytes,
    now_iso,
)
from benchlib.sweep.driver import EnergyBasis

__all__ = [
    "attempt_energy",
    "attempt_phase_energy",
    "close_previous_attempt",
    "mark_stopped",
    "price_run_record",
    "save_power_samples",
    "settle_stopped_run",
    "start_meta",
]


def close_previous_attempt(previous: dict[str, Any], status: RunStatus) -> dict[str, Any]:
    """``run.json`` of a run that did not complete, with how its last attempt ended recorded in that attempt.

    Args:
        previous: The run's ``run.json``.
        status: Its effective status (``failed``, ``interrupted``, or
            ``interrupted (process gone)`` for a ``running`` run whose process is gone).
    """
    meta = dict(previous)
    attempts = [dict(a) for a in meta.get("attempts", [])]
    if attempts and "outcome" not in attempts[-1]:
        if status == RunStatus.PROCESS_GONE:
            last = attempts[-1]
            reason = f"process gone: pid {last.get('pid')} on {last.get('host')} ended without recording why (killed or crashed)"
        else:
            reason = meta.get("error")
        outcome = RunStatus.INTERRUPTED if status == RunStatus.PROCESS_GONE else status
        attempts[-1].update({"outcome": outcome, "error": reason})
    meta["attempts"] = attempts
    return meta


def start_meta(config: SweepConfig, model: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    """``run.json`` at the start of an attempt: the earlier contents, the parameters, and one more attempt."""
    import psutil

    attempt = {
        "started_at": now_iso(),
        "pid": os.getpid(),
        "process_started_unix_s": psutil.Process().create_time(),
        "host": socket.gethostname(),
    }
    meta = dict(previous or {})
    meta.update(
        {
            "schema_version": SCHEMA_VERSION,
            "run_id": config.run_id(),
            "condition_id": config.condition_id(),
            "repeat_index": config.repeat_index,
            "kind": "sweep",
            "status": RunStatus.RUNNING,
            "parameters": config.record(),
            "model": model,
            "machine": machine.fingerprint(),
        }
    )
    meta.setdefault("started_at", attempt["started_at"])
    meta["attempts"] = [*meta.get("attempts", []), attempt]
    meta.pop("ended_at", None)
    meta.pop("error", None)
    return meta


def mark_stopped(store: RunDirectory, meta: dict[str, Any], exc: BaseException) -> None:
    """Record in ``run.json`` that the attempt stopped: ``interrupted`` (Ctrl-C) or ``failed``, and why."""
    interrupted = isinstance(exc, KeyboardInterrupt)
    meta["status"] = RunStatus.INTERRUPTED if interrupted else RunStatus.FAILED
    reason = "stopped by the user (Ctrl-C, or the notebook's interrupt)" if interrupted and not str(exc) else exc
    meta["error"] = f"{type(exc).__name__}: {reason}"
    store.write_record(meta)


def settle_stopped_run(store: RunDirectory, exc: BaseException) -> str | None:
    """After the sweep's kernel stopped with ``exc``: a ``run.json`` still saying ``running`` records the stop.

    The kernel records its own stop; this covers the stops it could not record
    (a full disk, a kernel that died). ``KeyboardInterrupt`` records ``interrupted``;
    anything else ``failed`` with its message.

    Returns:
        ``None`` when ``run.json`` is settled (or absent), else why it could not be written.
    """
    meta = store.read_meta()
    if meta is None or meta.get("status") != RunStatus.RUNNING:
        return None
    try:
        mark_stopped(store, meta, exc)
    except OutputNotWritable as error:
        cause = error.__cause__
        return (cause.strerror if isinstance(cause, OSError) else None) or str(error)
    return None


def save_power_samples(store: RunDirectory, power: PowerSession, attempt: int) -> None:
    """Stop the sampler and put its samples in ``power.parquet`` (one row per sample, this attempt's replaced)."""
    samples = power.stop()
    power.close()
    if samples.empty:
        return
    samples.insert(0, "attempt", attempt)
    path = store.path / "power.parquet"
    if path.exists():
        earlier = pd.read_parquet(path)
        samples = pd.concat([earlier[earlier["attempt"] != attempt], samples], ignore_index=True)
    buffer = io.BytesIO()
    samples.to_parquet(buffer, index=False)
    atomic_write_bytes(path, buffer.getvalue())


def attempt_phase_energy(store: RunDirectory, power: PowerSession, requests: pd.DataFrame, attempt: int) -> dict[str, Any] | None:
    """This attempt's energy split into prefill and decode (:mod:`benchlib.power.phases`), or why it cannot be.

    ``None`` when the sweep measured no power at all (``power: none``).
    """
    if power.kind is None:
        return None
    path = store.path / "power.parquet"
    samples = pd.read_parquet(path) if path.exists() else pd.DataFrame(columns=["attempt", "unix_s", "power_w"])
    samples = samples[samples["attempt"] == attempt] if "attempt" in samples else samples
    rows = requests[requests["attempt"] == attempt] if "attempt" in requests else requests
    return phase_energy(samples, rows, estimated=power.kind == KIND_ESTIMATED).to_record()


def attempt_energy(
    power: PowerSession, measurement: Any, basis: EnergyBasis, attempt: int, previous: dict[str, Any] | None
) -> dict[str, Any]:
    """Energy per token of this attempt's measured window (the earlier attempt's, if this one measured nothing)."""
    earlier = ((previous or {}).get("summary") or {}).get("energy")
    if measurement is None and earlier:
        return earlier
    energy = power.energy(measurement, basis.output_tokens, basis.throughput_replicates_tps)
    energy["attempt"] = attempt
    energy["requests"] = basis.requests
    return energy


def price_run_record(meta: dict[str, Any], config: SweepConfig, requests: pd.DataFrame, force: bool = False) -> bool:
    """Price a complete run under the configuration's price profile; True when ``meta`` changed.

    Prices are not part of the run's identity: a reused run is priced again under
    the profile asked for now, and the profile itself is stored in ``run.json``.

    Args:
        meta: ``run.json``'s contents (its summary gets ``cost``).
        config: The sweep's configuration (its pricing section).
        requests: The requests whose throughput the cost is computed from.
        force: Price even when the stored profile is the one asked for.
    """
    price = config.price()
    record = profile_record(price) if price is not None else None
    if not force and record == meta.get("price_profile") and (price is None or "cost" in meta.get("summary", {})):
        return False
    meta["parameters"]["price_profile"] = config.pricing.price_profile
    meta["parameters"]["price_files"] = list(config.pricing.price_files)
    meta["price_profile"] = record
    meta.get("summary", {}).pop("cost", None)
    if price is not None and not requests.empty:
        meta["summary"]["cost"] = cost_of_run(price, meta["summary"], requests)
    return True

