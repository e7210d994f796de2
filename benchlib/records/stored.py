"""Runs read back from disk, for the analysis and the cost report."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from benchlib.records.directory import RUN_FILE, SCHEMA_VERSION, RunDirectory
from benchlib.records.record import RunRecord

__all__ = ["StoredRun", "load_runs"]


@dataclass(frozen=True)
class StoredRun:
    """A run read back from disk.

    Attributes:
        path: Its directory.
        meta: The contents of ``run.json``.
        status: Effective status (``complete``, ``interrupted``, ``running``, ``failed``).
        requests: Its completed requests.
    """

    path: Path
    meta: dict[str, Any]
    status: str
    requests: pd.DataFrame

    @cached_property
    def record(self) -> RunRecord:
        """``run.json`` as a typed record."""
        return RunRecord.model_validate(self.meta)

    @property
    def run_id(self) -> str:
        """The run id."""
        return str(self.meta.get("run_id", self.path.name))


def load_runs(runs_dir: str | Path) -> list[StoredRun]:
    """Every run under ``runs_dir`` (directories with a ``run.json``), sorted by start time.

    Runs written by a newer, unknown schema are skipped with a warning rather
    than misread.
    """
    root = Path(runs_dir)
    runs: list[StoredRun] = []
    if not root.exists():
        return runs
    for run_file in sorted(root.glob(f"*/{RUN_FILE}")):
        directory = RunDirectory(run_file.parent)
        try:
            meta = directory.read_meta()
        except json.JSONDecodeError as exc:
            warnings.warn(f"Skipping {run_file}: not valid JSON ({exc}).", stacklevel=2)
            continue
        if meta is None:
            continue
        if int(meta.get("schema_version", 0)) > SCHEMA_VERSION:
            warnings.warn(
                f"Skipping {run_file}: schema_version {meta.get('schema_version')} is newer than this "
                f"benchlib understands ({SCHEMA_VERSION}); upgrade benchlib.",
                stacklevel=2,
            )
            continue
        runs.append(StoredRun(directory.path, meta, directory.effective_status(meta), directory.read_requests()))
    runs.sort(key=lambda run: str(run.meta.get("started_at", "")))
    return runs
