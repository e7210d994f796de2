"""Completed requests of a load step, one JSON line each, before they are folded into ``requests.parquet``.

Appending a line costs no rewrite, so the event loop's timing is not
disturbed, and a ``kill -9`` loses no completed request: the next attempt
folds the lines it finds into ``requests.parquet`` first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchlib.records import RunDirectory

__all__ = ["PARTIAL_FILE", "PartialLog", "fold_partial"]

PARTIAL_FILE = "requests.partial.jsonl"


class PartialLog:
    """Completed requests appended one JSON line at a time (``requests.partial.jsonl``).

    Args:
        run_dir: The run directory.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / PARTIAL_FILE
        self._handle = None

    def append(self, row: dict[str, Any]) -> None:
        """Write one row and flush it to the OS (survives the process being killed)."""
        if self._handle is None:
            self._handle = open(self.path, "a", encoding="utf-8")
        self._handle.write(json.dumps(row, default=_json_default) + "\n")
        self._handle.flush()

    def read(self) -> pd.DataFrame:
        """Every complete line written so far (a line cut by a crash is ignored)."""
        if not self.path.exists():
            return pd.DataFrame()
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return pd.DataFrame(rows)

    def clear(self) -> None:
        """Remove the file (its rows are in ``requests.parquet`` now)."""
        self.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def fold_partial(store: RunDirectory, partial: PartialLog) -> pd.DataFrame:
    """Move the rows of ``requests.partial.jsonl`` into ``requests.parquet`` (atomically); return all rows."""
    rows = partial.read()
    if not rows.empty:
        store.append_requests(rows.to_dict("records"))
    partial.clear()
    return store.read_requests()
