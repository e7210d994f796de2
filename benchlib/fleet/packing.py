"""A run directory as bytes and back: how a device node hands its run to the fleet's driver.

:func:`pack_run_dir` makes a gzipped tar of one run directory (``run.json``,
``requests.parquet``, the executed notebook, everything in it);
:func:`unpack_run_dir` puts it under a runs folder atomically: it is extracted
into a temporary folder beside the destination and renamed into place, so a
reader (or a crash) sees the old run directory or the new one, never a half.
A run that is already complete there is never overwritten.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from pathlib import Path

from benchlib.errors import BenchlibError
from benchlib.records import RUN_FILE, RunDirectory, RunStatus

__all__ = ["RunAlreadyComplete", "pack_run_dir", "unpack_run_dir"]


class RunAlreadyComplete(BenchlibError):
    """The runs folder already holds a complete run of that id; it is kept as it is."""


def _skipped(name: str) -> bool:
    """Temporary files of an atomic write in progress (``.NAME.XXXX.tmp``): never part of a run."""
    return name.startswith(".") and name.endswith(".tmp")


def pack_run_dir(run_dir: str | Path) -> bytes:
    """The run directory as a gzipped tar whose single top-level folder is the run id.

    Args:
        run_dir: A run directory (holds ``run.json``).

    Returns:
        The tar.gz bytes.

    Raises:
        BenchlibError: ``run_dir`` holds no ``run.json``.
    """
    run_dir = Path(run_dir)
    if not (run_dir / RUN_FILE).is_file():
        raise BenchlibError(f"{run_dir} is no run directory (no {RUN_FILE}); nothing to pack.")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=6) as archive:
        archive.add(run_dir, arcname=run_dir.name, filter=lambda info: None if _skipped(Path(info.name).name) else info)
    return buffer.getvalue()


def _single_run(folder: Path) -> Path:
    """The one run directory an archive held (extracted into ``folder``)."""
    entries = list(folder.iterdir())
    if len(entries) != 1 or not entries[0].is_dir() or not (entries[0] / RUN_FILE).is_file():
        names = ", ".join(sorted(e.name for e in entries)) or "nothing"
        raise BenchlibError(f"A packed run must hold one run directory with a {RUN_FILE}; this one held {names}.")
    return entries[0]


def unpack_run_dir(data: bytes, runs_dir: str | Path) -> Path:
    """Put a packed run directory under ``runs_dir``, atomically.

    The archive is extracted (paths outside it, links and devices refused:
    tarfile's ``data`` filter) into a temporary folder inside ``runs_dir``,
    then renamed to ``runs_dir/RUN_ID``. An earlier incomplete copy of the run
    there (interrupted, failed) is replaced; a complete one is kept.

    Args:
        data: What :func:`pack_run_dir` returned.
        runs_dir: The runs folder (``data/runs``); created when missing.

    Returns:
        The run directory under ``runs_dir``.

    Raises:
        RunAlreadyComplete: ``runs_dir`` already holds a complete run of that id (left untouched).
        BenchlibError: the bytes are no packed run directory.
    """
    runs_dir = Path(runs_dir)
    runs_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".incoming-", dir=runs_dir))
    aside: Path | None = None
    try:
        try:
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
                archive.extractall(staging, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BenchlibError(f"The packed run directory cannot be read: {exc}") from exc
        incoming = _single_run(staging)
        target = runs_dir / incoming.name
        if RunDirectory(target).effective_status() == RunStatus.COMPLETE:
            raise RunAlreadyComplete(
                f"{target} already holds a complete run; it is kept (delete it to gather the new copy)."
            )
        if target.exists():  # an incomplete earlier copy: moved aside in one rename, then deleted
            aside = Path(tempfile.mkdtemp(prefix=".replaced-", dir=runs_dir))
            os.replace(target, aside / incoming.name)
        os.replace(incoming, target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)
