"""Where things live in the benchlib checkout, in one place.

The functions return absolute locations inside the checkout (the folder that
holds ``benchlib/``, ``notebooks/`` and ``params/``). The ``*_DEFAULT``
constants are the command line's defaults for output folders: relative paths,
resolved against the current directory (``make report`` runs from the
checkout, so they land in it).
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from benchlib.errors import ParameterError

__all__ = [
    "BENCH_DEFAULT",
    "LOW_SPACE_BYTES",
    "check_output_folder",
    "FIGURES_DEFAULT",
    "REFERENCE_CSV_NAME",
    "REPORT_DEFAULT",
    "RUNS_DEFAULT",
    "SCHEMA_DEFAULT",
    "notebooks_dir",
    "params_dir",
    "reference_csv",
    "reference_dir",
    "repo_root",
    "sensors_dir",
]

RUNS_DEFAULT = "data/runs"
"""Run directories (``benchlib report --runs-dir``), relative to the current directory."""

FIGURES_DEFAULT = "figures"
"""Figures and summary tables (``benchlib report --figures-dir``), relative to the current directory."""

REPORT_DEFAULT = "data/report"
"""Executed report notebooks (``benchlib report --output-dir``), relative to the current directory."""

BENCH_DEFAULT = "data/bench"
"""Results of benchlib's own benchmarks (``benchlib bench --output-dir``), relative to the current directory."""

SCHEMA_DEFAULT = "params/schema"
"""JSON Schema files (``benchlib schema --out``), relative to the current directory."""

REFERENCE_CSV_NAME = "article-2026-01.csv"
"""The published reference numbers, a file in :func:`reference_dir`."""


def repo_root() -> Path:
    """The benchlib checkout (the folder that holds ``notebooks/`` and ``params/``)."""
    return Path(__file__).resolve().parents[1]


def notebooks_dir() -> Path:
    """``notebooks/``: the sweep and report notebooks papermill executes."""
    return repo_root() / "notebooks"


def params_dir() -> Path:
    """``params/``: the shipped YAML parameter files, one per hardware profile."""
    return repo_root() / "params"


def reference_dir() -> Path:
    """``data/reference/``: published numbers, prices and hardware."""
    return repo_root() / "data" / "reference"


def reference_csv() -> Path:
    """The published reference numbers the report compares with (``data/reference/article-2026-01.csv``)."""
    return reference_dir() / REFERENCE_CSV_NAME


def sensors_dir() -> Path:
    """``data/sensors/``: recorded power-sensor outputs and sysfs trees (tests and ``make bench``)."""
    return repo_root() / "data" / "sensors"


LOW_SPACE_BYTES = 200 * 1024**2
"""Free space under which a sweep warns before it starts (a run folder holds a few MB; a long load step more)."""


def check_output_folder(run_dir: Path) -> None:
    """Refuse a run folder that cannot be written, and warn when its disk is nearly full; write nothing.

    A temporary file is created and removed in the nearest folder that exists on the way to ``run_dir``
    (a read-only mount, an immutable folder, a path under ``/proc`` all fail there).

    Raises:
        ParameterError: the folder cannot be created or written; the message names it and why.
    """
    existing = Path(run_dir)
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, "not a folder", str(existing))
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise ParameterError(
            f"The folder {run_dir} cannot be written: {existing}: {exc.strerror or exc}. Choose another folder (a "
            "sweep's output_dir, a report's --output-dir or --figures-dir) or make it writable; nothing was written."
        ) from None
    free = shutil.disk_usage(existing).free
    if free < LOW_SPACE_BYTES:
        print(f"Warning: only {free / 1024**2:.0f} MB free under {existing}; a sweep that fills the disk stops "
              "and keeps its completed requests (free some space, or choose another output_dir).")
