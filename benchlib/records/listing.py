"""``benchlib runs``: one line per run directory, with its condition and repeat and the status the report would show."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchlib.records.record import IMPORTED_KIND
from benchlib.records.stored import scan_runs

__all__ = ["LISTING_COLUMNS", "list_runs"]

LISTING_COLUMNS = ("run", "condition", "repeat", "status", "platform", "model", "requests", "started")


def list_runs(runs_dir: str | Path) -> list[dict[str, Any]]:
    """Every run directory under ``runs_dir``: run id, condition id, repeat index, status, platform, model,
    requests done/planned, start.

    The repeats of a condition share its condition id (:mod:`benchlib.records.repeats`). A dead ``running`` run shows as ``interrupted (process gone)``; a directory
    that cannot be read shows as ``skipped: WHY``.
    """
    scan = scan_runs(runs_dir)
    rows = []
    for run in scan.runs:
        record = run.record
        planned = record.progress.total if record.progress is not None else "?"
        if record.is_load_sweep:  # its rows include steps measured again: the progress counts each once
            done = record.progress.completed if record.progress is not None else "?"
        else:  # every completed request is a row (a killed run's progress may lag its rows)
            done = len(run.requests)
        status = run.status
        if record.kind == IMPORTED_KIND:  # not measured here: say from which tool, and when it gave aggregates only
            source = run.meta.get("source") or {}
            status += f" (imported from {source.get('tool')}{'' if source.get('per_request') else ', aggregates only'})"
        rows.append({
            "run": run.run_id,
            "condition": record.condition_id,
            "repeat": record.repeat_index,
            "status": status,
            "platform": record.parameters.get("platform", ""),
            "model": record.model.get("name") or record.parameters.get("model", ""),
            "requests": f"{done}/{planned}",
            "started": record.started_at or "",
        })  # fmt: skip
    for skipped in scan.skipped:
        rows.append({"run": skipped.run_id, "condition": "", "repeat": "", "status": f"skipped: {skipped.reason}",
                     "platform": "", "model": "", "requests": "", "started": ""})  # fmt: skip
    return rows
