"""The on-disk result format: one self-describing directory per run.

::

    data/runs/RUN_ID/
      run.json           schema version, parameters, model, machine, status, summary
      requests.parquet   one row per completed measured request
      power.parquet      one row per power sample
      sweep.ipynb        the executed notebook (when run through papermill)

* :mod:`~benchlib.records.directory`: writing and reading one run directory
  (every file atomically), the run id, the effective status;
* :mod:`~benchlib.records.record`: :class:`RunRecord`, the typed ``run.json``;
* :mod:`~benchlib.records.status`: :class:`RunStatus` and :class:`StepStatus`, the statuses it holds;
* :mod:`~benchlib.records.stored`: every run under a folder, read back;
* :mod:`~benchlib.records.repeats`: repeats of a condition, their run ids, runs grouped by condition.
"""

from benchlib.records.directory import (
    REQUESTS_FILE,
    RUN_FILE,
    SCHEMA_VERSION,
    OutputNotWritable,
    RunDirectory,
    UndeclaredRunKeys,
    atomic_write_bytes,
    atomic_write_json,
    now_iso,
    output_not_writable,
    run_id_for,
)
from benchlib.records.record import IMPORTED_KIND, RunRecord, undeclared_keys
from benchlib.records.repeats import REPEATS_MAX, repeat_run_id, runs_by_condition
from benchlib.records.status import RECORDED_STATUSES, RunStatus, StepStatus
from benchlib.records.stored import RunScan, SkippedRun, StoredRun, load_runs, scan_runs

__all__ = [
    "IMPORTED_KIND",
    "RECORDED_STATUSES",
    "REPEATS_MAX",
    "REQUESTS_FILE",
    "RUN_FILE",
    "SCHEMA_VERSION",
    "OutputNotWritable",
    "RunDirectory",
    "RunRecord",
    "RunScan",
    "RunStatus",
    "SkippedRun",
    "StepStatus",
    "StoredRun",
    "UndeclaredRunKeys",
    "atomic_write_bytes",
    "atomic_write_json",
    "load_runs",
    "now_iso",
    "output_not_writable",
    "repeat_run_id",
    "run_id_for",
    "runs_by_condition",
    "scan_runs",
    "undeclared_keys",
]
