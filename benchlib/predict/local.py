"""Runs measured here as observations of the performance model (rung 1 of the evidence ladder).

Every run directory benchlib wrote (``kind`` not ``imported``) with completed
requests becomes :class:`~benchlib.predict.calibrate.Observation`\\ s:

* hardware: "this machine at T threads" (:mod:`~benchlib.predict.local_hardware`),
  id ``this-machine-Tt``, so runs at 1 and 2 threads calibrate separately at the
  device level and together at the class (``cpu-x86`` / ``cpu-arm``) level. The
  bandwidth of every run of one host is the best probe among them (each probe is
  a lower bound of peak, and probes of one machine vary by a third), and its
  instruction set and clock are pooled likewise (a server run records neither);
* model: the run's GGUF geometry (:mod:`~benchlib.predict.local_model`);
* runtime class ``llama.cpp``: in-process llama.cpp runs and ``http`` runs whose
  server is llama.cpp's ``llama-server`` (it answers ``/props``). The server's
  thread count is not visible to the client: pass ``server_threads``, else
  llama-server's default (one per physical core) is assumed and the basis says so;
* metrics: a single-stream run gives ``decode_tps`` (median per-request decode
  rate) and ``ttft_s`` (median) at its median prompt length; a load sweep gives,
  per complete closed-loop step, ``tpot_s`` and ``ttft_s`` (medians of the step's
  requests) and ``output_tps`` (the step's system throughput) at its concurrency. A step whose
  clients sent in rounds (equal output lengths keep a closed loop in step) is a ``lockstep``
  scenario: each round's prompts are prefilled together before its decode steps.

Keys are ``RUN_ID/metric@cN``; the source is the run id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from benchlib.hardware.model_reference import ModelGeometry, ModelsReference
from benchlib.metrics import successful_requests
from benchlib.predict.calibrate import Observation
from benchlib.predict.local_hardware import local_hardware_spec, pooled_cpu_facts
from benchlib.predict.local_model import LocalRunError, ModelResolver
from benchlib.predict.roofline import HardwareSpec, Scenario
from benchlib.records import IMPORTED_KIND, StepStatus, StoredRun, scan_runs

__all__ = [
    "LOCAL_RUNTIME_CLASS",
    "LOCKSTEP_GAP_SHARE",
    "LocalObservations",
    "LocalRunError",
    "collect_observations",
    "in_lockstep",
    "local_observations",
    "observations_from_run",
    "observations_from_runs",
    "run_threads",
]

LOCAL_RUNTIME_CLASS = "llama.cpp"
"""The runtime class of every run this module turns into observations."""
LOCKSTEP_GAP_SHARE = 0.1
"""A send this close after the one before (as a share of the median TTFT) belongs to the same round."""


@dataclass(frozen=True)
class LocalObservations:
    """Observations from run directories, and the runs left out with why.

    Attributes:
        observations: One per metric, step and run.
        skipped: ``(run id, reason)`` of each run that gave none.
    """

    observations: list[Observation]
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _runtime_class(meta: dict[str, Any]) -> str:
    runtime = (meta.get("parameters") or {}).get("runtime")
    if runtime == "llama.cpp":
        return LOCAL_RUNTIME_CLASS
    if runtime == "http":
        if ((meta.get("model") or {}).get("server") or {}).get("llama_server"):
            return LOCAL_RUNTIME_CLASS
        raise LocalRunError("its server is not llama.cpp's llama-server (no /props answer recorded); only llama.cpp "
                            "runs calibrate here")  # fmt: skip
    raise LocalRunError(f"runtime '{runtime}' has no runtime class in the performance model (llama.cpp and "
                        "llama-server runs calibrate)")  # fmt: skip


def run_threads(meta: dict[str, Any], server_threads: int | None = None) -> tuple[int, str]:
    """Threads a run's llama.cpp used, and where that figure comes from.

    Args:
        meta: The run's ``run.json``.
        server_threads: A ``llama-server``'s ``-t`` (the client cannot see it).
    """
    machine = meta.get("machine") or {}
    physical = int(machine.get("cpu_cores_physical") or machine.get("cpu_cores_logical") or 1)
    if (meta.get("parameters") or {}).get("runtime") == "http":
        if server_threads:
            return int(server_threads), "llama-server -t as given"
        return physical, "llama-server's -t not recorded: its default, one thread per physical core, assumed"
    runtime = meta.get("runtime") or {}
    threads = (runtime.get("effective") or {}).get("threads") or runtime.get("threads")
    threads = threads or (meta.get("parameters") or {}).get("threads") or 0
    return (int(threads), "the run's threads") if threads > 0 else (physical, "threads 0: one per physical core")


def _median(rows: pd.DataFrame, column: str) -> float | None:
    values = pd.to_numeric(rows[column], errors="coerce").dropna() if column in rows else pd.Series(dtype=float)
    return float(values.median()) if len(values) else None


def in_lockstep(rows: pd.DataFrame, concurrency: int) -> bool:
    """Whether a closed-loop step's clients sent their requests in rounds (see :data:`LOCKSTEP_GAP_SHARE`).

    In lockstep, at least half the gaps between successive sends are shorter than a tenth of the
    median TTFT: the requests of a round leave together, each right after the round before ended.
    """
    if concurrency < 2 or "sent_unix_s" not in rows or len(rows) < 2:
        return False
    sent = pd.to_numeric(rows["sent_unix_s"], errors="coerce").dropna().sort_values()
    ttft = _median(rows, "ttft_s")
    gaps = sent.diff().dropna()
    return bool(ttft and len(gaps) and (gaps < LOCKSTEP_GAP_SHARE * ttft).mean() >= 0.5)


def _scenario(rows: pd.DataFrame, parameters: dict[str, Any], concurrency: int) -> Scenario:
    prompt = _median(rows, "prompt_tokens")
    output = _median(rows, "output_tokens") or parameters.get("output_tokens")
    if prompt is None or not output:
        raise LocalRunError("its requests record no prompt or output token counts")
    return Scenario(prompt_tokens=round(prompt), output_tokens=round(output), concurrency=concurrency,
                    lockstep=in_lockstep(rows, concurrency))  # fmt: skip


def _single_stream(run: StoredRun, rows: pd.DataFrame) -> list[tuple[str, Scenario, float]]:
    scenario = _scenario(rows, run.record.parameters, 1)
    figures = [("decode_tps", _median(rows, "decode_tps")), ("ttft_s", _median(rows, "ttft_s"))]
    return [(metric, scenario, value) for metric, value in figures if value and value > 0]


def _load_steps(run: StoredRun, rows: pd.DataFrame) -> list[tuple[str, Scenario, float]]:
    figures = []
    for step_id, step in run.record.steps.items():
        summary = step.summary
        if step.status != StepStatus.COMPLETE or summary.get("mode") != "closed" or "step" not in rows:
            continue  # open-loop (Poisson) steps are not the model's closed loop
        part = rows[(rows["step"] == step_id) & (rows["attempt"] == step.attempt)] if "attempt" in rows else rows[rows["step"] == step_id]
        if part.empty:
            continue
        scenario = _scenario(part, run.record.parameters, int(summary.get("concurrency") or 1))
        values = [("tpot_s", _median(part, "tpot_s")), ("output_tps", summary.get("throughput_tps")),
                  ("ttft_s", _median(part, "ttft_s"))]  # fmt: skip
        figures += [(metric, scenario, float(value)) for metric, value in values if value and value > 0]
    return figures


def observations_from_run(run: StoredRun, hardware: HardwareSpec, model: ModelGeometry) -> list[Observation]:
    """The observations of one run on ``hardware`` with ``model`` (see :func:`collect_observations`).

    Raises:
        LocalRunError: the run has no completed request or no token counts.
    """
    rows = successful_requests(run.requests)
    if rows.empty:
        raise LocalRunError(f"no completed request (status: {run.status})")
    figures = _load_steps(run, rows) if run.record.is_load_sweep else _single_stream(run, rows)
    return [
        Observation(key=f"{run.run_id}/{metric}@c{scenario.concurrency}", hardware_id=hardware.name, hardware=hardware,
                    runtime_class=LOCAL_RUNTIME_CLASS, model=model, scenario=scenario, metric=metric, value=value,
                    source=run.run_id)
        for metric, scenario, value in figures
    ]  # fmt: skip


def _host(run: StoredRun) -> str:
    return str((run.meta.get("machine") or {}).get("hostname") or "")


def _best_probes(runs: Iterable[StoredRun]) -> dict[str, float]:
    """Host -> the highest memory-bandwidth probe among its runs, GB/s."""
    best: dict[str, float] = {}
    for run in runs:
        probe = ((run.meta.get("machine") or {}).get("memory_bandwidth") or {}).get("gb_s")
        if probe:
            best[_host(run)] = max(best.get(_host(run), 0.0), float(probe))
    return best


def collect_observations(runs: Iterable[StoredRun], *, server_threads: int | None = None,
                         models: ModelsReference | None = None) -> LocalObservations:  # fmt: skip
    """The observations of every run measured here, and each run left out with why.

    Args:
        runs: Runs read back (:func:`benchlib.records.scan_runs`).
        server_threads: The ``-t`` of the ``llama-server`` the ``http`` runs measured (default: its default).
        models: ``models.yaml`` (the checkout's when ``None``).
    """
    runs = list(runs)
    skipped = [(run.run_id, "imported from another tool: not measured by benchlib here")
               for run in runs if run.meta.get("kind") == IMPORTED_KIND]  # fmt: skip
    runs = [run for run in runs if run.meta.get("kind") != IMPORTED_KIND]
    probes = _best_probes(runs)
    hosts = {_host(run) for run in runs}
    facts = {host: pooled_cpu_facts([run.meta for run in runs if _host(run) == host]) for host in hosts}
    resolver = ModelResolver(models)
    observations: list[Observation] = []
    for run in runs:
        try:
            _runtime_class(run.meta)
            threads, threads_basis = run_threads(run.meta, server_threads)
            hardware = local_hardware_spec(run.meta, threads, probes.get(_host(run)), facts[_host(run)])
            hardware = replace(hardware, basis=f"{hardware.basis}; threads: {threads_basis}")
            observations += observations_from_run(run, hardware, resolver.geometry(run.meta))
        except (LocalRunError, ValueError) as exc:
            skipped.append((run.run_id, str(exc)))
    return LocalObservations(observations, skipped)


def observations_from_runs(runs: Iterable[StoredRun], *, server_threads: int | None = None) -> list[Observation]:
    """The observations of every run measured here (runs that give none are left out: :func:`collect_observations` says why)."""
    return collect_observations(runs, server_threads=server_threads).observations


def local_observations(runs_dir: str | Path, *, server_threads: int | None = None) -> LocalObservations:
    """:func:`collect_observations` of every run directory under ``runs_dir`` (unreadable ones listed as skipped)."""
    scan = scan_runs(runs_dir)
    collected = collect_observations(scan.runs, server_threads=server_threads)
    return LocalObservations(collected.observations,
                             collected.skipped + [(s.run_id, s.reason) for s in scan.skipped])  # fmt: skip
