"""One run directory on disk: atomic writes, ``run.json``, ``requests.parquet``, status.

::

    data/runs/RUN_ID/
      run.json           schema version, parameters, model, machine, status, summary
      requests.parquet   one row per completed measured request
      thermal.parquet    one row per temperature/clock snapshot (benchlib.thermal)
      sweep.ipynb        the executed notebook (when run through papermill)

Every file is written atomically (temporary file, fsync, rename), so a crash or
``kill -9`` leaves either the old file or the new one, never half of one. The
run id is derived from the parameters that define the run, so re-running the
same parameters finds the same directory and resumes it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import socket
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow  # noqa: F401  (imported now, not on the first write inside a measured window)

from benchlib.errors import RuntimeFailure
from benchlib.records.record import RunRecord, undeclared_keys
from benchlib.records.status import RunStatus

__all__ = [
    "PARTIAL_FILE",
    "REQUESTS_FILE",
    "RUN_FILE",
    "SCHEMA_VERSION",
    "THERMAL_FILE",
    "OutputNotWritable",
    "UndeclaredRunKeys",
    "RunDirectory",
    "atomic_write_bytes",
    "atomic_write_json",
    "now_iso",
    "output_not_writable",
    "run_id_for",
]

SCHEMA_VERSION = 1
RUN_FILE = "run.json"
REQUESTS_FILE = "requests.parquet"
PARTIAL_FILE = "requests.partial.jsonl"
"""Completed requests of a load step, one JSON line each, not yet folded into ``requests.parquet``."""
THERMAL_FILE = "thermal.parquet"
"""Temperatures and clocks sampled during each attempt (one row per snapshot, an ``attempt`` column)."""


class OutputNotWritable(RuntimeFailure):
    """The run directory cannot be written (disk full, read-only folder, permissions)."""


class UndeclaredRunKeys(ValueError):
    """A write of ``run.json`` holds keys :class:`~benchlib.records.RunRecord` does not declare (a bug in the writer)."""


def output_not_writable(run_dir: str | Path, exc: OSError) -> OutputNotWritable:
    """The error for a failed write into ``run_dir``: what failed, that completed requests are kept, what to do."""
    reason = exc.strerror or str(exc)
    where = f" ({exc.filename})" if exc.filename else ""
    return OutputNotWritable(
        f"Cannot write to the run directory {run_dir}: {reason}{where}. Every request completed before this is kept "
        "there (requests.parquet, and requests.partial.jsonl until it is folded in); free space or make the folder "
        "writable, then run the same command to resume."
    )


def now_iso() -> str:
    """The current UTC time, ISO 8601."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def atomic_write_bytes(path: str | Path, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a part.

    The data goes to a temporary file in the same directory, then is renamed
    over ``path``. A killed process therefore never leaves half a file.

    Args:
        path: Destination.
        data: Contents.
        durable: Also flush the file and its directory entry to disk (fsync),
            so the write survives a power cut, not only a killed process.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    if not durable:
        return
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_write_json(path: str | Path, value: Any, durable: bool = True) -> None:
    """Write ``value`` as indented JSON, atomically (see :func:`atomic_write_bytes`)."""
    atomic_write_bytes(path, (json.dumps(value, indent=2, default=str) + "\n").encode("utf-8"), durable)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-").lower() or "x"


def run_id_for(identity: dict[str, Any]) -> str:
    """The run id for a set of defining parameters.

    Args:
        identity: The parameters that make two runs the same run (everything
            but where the output goes). Must hold ``profile`` and ``model``.

    Returns:
        ``PROFILE-MODEL-HASH``, e.g. ``local-cpu-smollm2-135m-q4_1-3f2a9c1b0d``.
    """
    canonical = json.dumps(identity, sort_keys=True, default=str)
    digest = hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:10]
    model = _slug(Path(str(identity["model"])).name.removesuffix(".gguf"))
    return f"{_slug(str(identity['profile']))}-{model}-{digest}"


def _process_alive(pid: int, started_unix_s: float | None) -> bool:
    """True when ``pid`` is the same process that started the run."""
    import psutil

    try:
        process = psutil.Process(pid)
        if started_unix_s is None:
            return True
        return abs(process.create_time() - started_unix_s) < 2.0
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


@dataclass
class RunDirectory:
    """Reads and writes one run directory.

    Attributes:
        path: The run directory.
    """

    path: Path
    _table: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.path = Path(self.path)

    @property
    def run_file(self) -> Path:
        """``run.json``."""
        return self.path / RUN_FILE

    @property
    def requests_file(self) -> Path:
        """``requests.parquet``."""
        return self.path / REQUESTS_FILE

    def exists(self) -> bool:
        """True when a ``run.json`` is present."""
        return self.run_file.exists()

    def read_meta(self) -> dict[str, Any] | None:
        """The contents of ``run.json``, or ``None`` when there is none."""
        if not self.run_file.exists():
            return None
        return json.loads(self.run_file.read_text())

    def read_record(self) -> RunRecord | None:
        """``run.json`` as a typed :class:`~benchlib.records.record.RunRecord`, or ``None`` when there is none."""
        meta = self.read_meta()
        return RunRecord.model_validate(meta) if meta is not None else None

    def write_record(self, record: RunRecord | Mapping[str, Any], durable: bool = True) -> None:
        """Write ``run.json`` atomically from the typed record; ``durable=False`` skips fsync (progress updates).

        A mapping is validated into a :class:`~benchlib.records.RunRecord` first; what is
        written is the record's dump, so a value of the wrong type or a status ``run.json``
        does not hold fails here, in the writer, not later in a reader.

        Raises:
            UndeclaredRunKeys: the record holds a key ``RunRecord`` does not declare.
            pydantic.ValidationError: a value does not fit its declared type.
            OutputNotWritable: the folder cannot be written (disk full, read-only).
        """
        typed = record if isinstance(record, RunRecord) else RunRecord.model_validate(record)
        undeclared = undeclared_keys(typed)
        if undeclared:
            raise UndeclaredRunKeys(
                f"run.json keys RunRecord does not declare: {', '.join(undeclared)}; "
                "declare them in benchlib/records/record.py (benchlib schema then describes them)"
            )
        try:
            atomic_write_json(self.run_file, typed.model_dump(mode="json", exclude_unset=True), durable)
        except OSError as exc:
            raise output_not_writable(self.path, exc) from exc

    def read_requests(self) -> pd.DataFrame:
        """The completed requests (an empty frame when there are none).

        The file is read into memory in one go and parsed from there: pyarrow
        opens a path more than once (footer, then pages), and a sweep that
        replaces the file in between would hand it the footer of one version
        and the pages of the next.
        """
        try:
            content = self.requests_file.read_bytes()
        except FileNotFoundError:
            return pd.DataFrame()
        return pd.read_parquet(io.BytesIO(content))

    @property
    def partial_file(self) -> Path:
        """``requests.partial.jsonl``: completed requests not yet folded into ``requests.parquet``."""
        return self.path / PARTIAL_FILE

    def read_partial_requests(self) -> pd.DataFrame:
        """Every complete line of ``requests.partial.jsonl`` (a line cut by a crash is ignored; empty without it)."""
        try:
            text = self.partial_file.read_text(encoding="utf-8")
        except FileNotFoundError:
            return pd.DataFrame()
        rows = []
        for line in text.splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return pd.DataFrame(rows)

    def append_requests(self, rows: list[dict[str, Any]]) -> pd.DataFrame:
        """Add rows to ``requests.parquet`` (rewritten atomically and durably) and return all rows.

        The table written last is kept in memory, so appending between two
        measured requests costs one write, not a read and a write.

        Raises:
            OutputNotWritable: the folder cannot be written; the rows written before stay.
        """
        existing = self._table if self._table is not None else self.read_requests()
        new = pd.DataFrame(rows)
        table = new if existing.empty else pd.concat([existing, new], ignore_index=True)
        buffer = io.BytesIO()
        table.to_parquet(buffer, index=False)
        try:
            atomic_write_bytes(self.requests_file, buffer.getvalue())
        except OSError as exc:
            raise output_not_writable(self.path, exc) from exc
        self._table = table
        return table

    def effective_status(self, meta: dict[str, Any] | None = None) -> RunStatus:
        """The run's status, with a dead ``running`` run reported as :attr:`RunStatus.PROCESS_GONE`.

        A run whose ``run.json`` says ``running`` but whose process (its pid and
        that process's start time) no longer exists on this host (killed with
        ``kill -9``, crashed, machine restarted) did not finish. Without
        ``run.json`` the status is :attr:`RunStatus.MISSING`; with a status this
        benchlib does not know, :attr:`RunStatus.UNKNOWN`.

        Args:
            meta: ``run.json``'s contents when already read (read here otherwise).
        """
        meta = meta if meta is not None else self.read_meta()
        if meta is None:
            return RunStatus.MISSING
        try:
            status = RunStatus(meta.get("status"))
        except ValueError:
            return RunStatus.UNKNOWN
        if status != RunStatus.RUNNING:
            return status
        attempt = (meta.get("attempts") or [{}])[-1]
        if attempt.get("host") != socket.gethostname():
            return RunStatus.RUNNING  # cannot tell from here
        alive = _process_alive(int(attempt.get("pid", -1)), attempt.get("process_started_unix_s"))
        return RunStatus.RUNNING if alive else RunStatus.PROCESS_GONE
