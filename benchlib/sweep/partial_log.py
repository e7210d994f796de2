"""Completed requests of a load step, one JSON line each, before they are folded into ``requests.parquet``.

Appending a line costs no rewrite, so the event loop's timing is not
disturbed, and a ``kill -9`` loses no completed request: the next attempt
folds the lines it finds into ``requests.parquet`` first.

A run directory that cannot be written (disk full, read-only) raises
:class:`OutputNotWritable`, whose message says where the completed requests
are and how to resume; a line cut by a failed write is ignored when read, and
the next line written starts on a line of its own.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchlib.records import OutputNotWritable, RunDirectory, output_not_writable
from benchlib.records.directory import PARTIAL_FILE

__all__ = ["PARTIAL_FILE", "OutputNotWritable", "PartialLog", "fold_partial", "output_not_writable"]


class PartialLog:
    """Completed requests appended one JSON line at a time (``requests.partial.jsonl``).

    Args:
        run_dir: The run directory.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / PARTIAL_FILE
        self._handle = None

    def append(self, row: dict[str, Any]) -> None:
        """Write one row straight to the OS, unbuffered (survives the process being killed).

        Raises:
            OutputNotWritable: the write failed (disk full, read-only folder);
                the rows written before stay in the file.
        """
        line = (json.dumps(row, default=_json_default) + "\n").encode("utf-8")
        try:
            if self._handle is None:
                self._handle = open(self.path, "ab", buffering=0)
                if self._handle.tell() > 0 and _last_byte(self.path) != b"\n":
                    line = b"\n" + line  # an earlier write was cut: its fragment stays a line of its own
            written = 0
            while written < len(line):
                written += self._handle.write(line[written:])
        except OSError as exc:
            self.close()  # the next append reopens and starts a fresh line
            raise output_not_writable(self.path.parent, exc) from exc

    def read(self) -> pd.DataFrame:
        """Every complete line written so far (a line cut by a crash is ignored)."""
        return RunDirectory(self.path.parent).read_partial_requests()

    def clear(self) -> None:
        """Remove the file (its rows are in ``requests.parquet`` now)."""
        self.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the file."""
        if self._handle is not None:
            handle, self._handle = self._handle, None
            try:
                handle.close()
            except OSError:
                pass  # unbuffered: nothing of ours is lost when closing fails


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as handle:
        handle.seek(-1, 2)
        return handle.read(1)


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def fold_partial(store: RunDirectory, partial: PartialLog) -> pd.DataFrame:
    """Move the rows of ``requests.partial.jsonl`` into ``requests.parquet`` (atomically); return all rows.

    Raises:
        OutputNotWritable: ``requests.parquet`` could not be written; the rows
            stay in ``requests.partial.jsonl`` (the next attempt folds them).
    """
    rows = partial.read()
    try:
        if not rows.empty:
            done = store.read_requests()
            if not done.empty:  # folded before, but the partial file could not be removed then
                rows = rows[~rows["request_id"].isin(done["request_id"])]
        if not rows.empty:
            store.append_requests(rows.to_dict("records"))
        partial.clear()
    except OSError as exc:
        raise output_not_writable(store.path, exc) from exc
    return store.read_requests()
