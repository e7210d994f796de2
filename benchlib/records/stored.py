"""Runs read back from disk, for the analysis and the cost report."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from benchlib.records.directory import SCHEMA_VERSION, RunDirectory
from benchlib.records.record import RunRecord
from benchlib.records.status import RunStatus

__all__ = ["RunScan", "SkippedRun", "StoredRun", "load_runs", "scan_runs"]


@dataclass(frozen=True)
class StoredRun:
    """A run read back from disk.

    Attributes:
        path: Its directory.
        meta: The contents of ``run.json``.
        status: Effective status (:meth:`~benchlib.records.directory.RunDirectory.effective_status`).
        requests: Its completed requests.
    """

    path: Path
    meta: dict[str, Any]
    status: RunStatus
    requests: pd.DataFrame

    @cached_property
    def record(self) -> RunRecord:
        """``run.json`` as a typed record."""
        return RunRecord.model_validate(self.meta)

    @property
    def run_id(self) -> str:
        """The run id."""
        return str(self.meta.get("run_id", self.path.name))


@dataclass(frozen=True)
class SkippedRun:
    """A run directory that cannot be read, and why.

    Attributes:
        path: The directory.
        reason: What is wrong with it, in words a user can act on.
    """

    path: Path
    reason: str

    @property
    def run_id(self) -> str:
        """The directory's name (its run id)."""
        return self.path.name


@dataclass(frozen=True)
class RunScan:
    """Every run directory under a folder: the runs that read, and those skipped with their reasons."""

    runs: list[StoredRun]
    skipped: list[SkippedRun]


def _read_run(directory: RunDirectory) -> StoredRun | SkippedRun:
    """One run directory read back, or why it cannot be."""
    if not directory.run_file.exists():
        return SkippedRun(directory.path, "no run.json: the sweep never started measuring")
    try:
        meta = directory.read_meta()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return SkippedRun(directory.path, f"run.json is not valid JSON ({exc}); the file is damaged")
    if not isinstance(meta, dict):
        return SkippedRun(directory.path, "run.json is not a JSON object; the file is damaged")
    version = meta.get("schema_version", 0)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        return SkippedRun(
            directory.path,
            f"schema_version {version!r} is not one this benchlib knows (up to {SCHEMA_VERSION}); upgrade benchlib",
        )
    try:
        record = RunRecord.model_validate(meta)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return SkippedRun(directory.path, f"run.json does not read as a run record: {where}: {first['msg']}")
    completed = record.progress.completed if record.progress is not None else 0
    try:
        requests = directory.read_requests()
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        return SkippedRun(directory.path, f"requests.parquet is unreadable ({type(exc).__name__}: {exc})")
    partial = directory.read_partial_requests()  # a stopped load step's rows, not folded yet: they count too
    if not partial.empty:
        known = set(requests["request_id"]) if "request_id" in requests else set()
        partial = partial[~partial["request_id"].isin(known)] if "request_id" in partial else partial
        requests = pd.concat([requests, partial], ignore_index=True) if not requests.empty else partial
    if requests.empty and completed:
        return SkippedRun(directory.path, f"requests.parquet and {directory.partial_file.name} are missing, though "
                                          f"run.json counts {completed} completed requests")  # fmt: skip
    return StoredRun(directory.path, meta, directory.effective_status(meta), requests)


def scan_runs(runs_dir: str | Path) -> RunScan:
    """Every run directory under ``runs_dir``: the runs (sorted by start time) and the ones skipped, with why.

    A damaged ``run.json``, a schema version this benchlib does not know, or a
    missing or unreadable ``requests.parquet`` skips a run instead of misreading it.
    """
    root = Path(runs_dir)
    runs: list[StoredRun] = []
    skipped: list[SkippedRun] = []
    for path in sorted(p for p in root.iterdir() if p.is_dir()) if root.exists() else []:
        read = _read_run(RunDirectory(path))
        (runs if isinstance(read, StoredRun) else skipped).append(read)
    runs.sort(key=lambda run: str(run.meta.get("started_at", "")))
    return RunScan(runs, skipped)


def load_runs(runs_dir: str | Path) -> list[StoredRun]:
    """Every run under ``runs_dir`` that reads, sorted by start time; each skipped one is named in a warning."""
    scan = scan_runs(runs_dir)
    for skipped in scan.skipped:
        warnings.warn(f"Skipping {skipped.path}: {skipped.reason}.", stacklevel=2)
    return scan.runs
