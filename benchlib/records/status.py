"""The statuses of a run and of a load step: one word for each, the exact words ``run.json`` holds.

A fleet's outcome for one of its sweeps (``skipped (already complete)``,
``failed: WHY`` ...) is another thing: :class:`benchlib.fleet.local.FleetStatus`.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["RECORDED_STATUSES", "RunStatus", "StepStatus"]


class RunStatus(StrEnum):
    """The status of a run: what ``run.json``'s ``status`` says, or what reading a run directory derives.

    Each value is the word written in ``run.json`` (a member compares equal to
    it and is written as it). :data:`RECORDED_STATUSES` are the ones ``run.json``
    holds; the others are derived by
    :meth:`~benchlib.records.directory.RunDirectory.effective_status`.
    """

    RUNNING = "running"
    """An attempt is measuring (or its process died on another host, where that cannot be told)."""
    COMPLETE = "complete"
    """Every planned request is measured and the summary is written."""
    FAILED = "failed"
    """The last attempt stopped on an error (``run.json``'s ``error`` says which); the same parameters resume it."""
    INTERRUPTED = "interrupted"
    """The last attempt was stopped by the user (Ctrl-C); the same parameters resume it."""
    PROCESS_GONE = "interrupted (process gone)"
    """Derived: ``run.json`` says ``running`` but its process (pid and start time, on this host) is gone."""
    MISSING = "missing"
    """Derived: the run directory has no ``run.json`` (the run never started measuring)."""
    UNKNOWN = "unknown"
    """Derived: ``run.json`` has no status, or one this benchlib does not know."""


RECORDED_STATUSES = (RunStatus.RUNNING, RunStatus.COMPLETE, RunStatus.FAILED, RunStatus.INTERRUPTED)
"""The statuses ``run.json`` holds (the others are derived when it is read)."""


class StepStatus(StrEnum):
    """The status of one load step of a load sweep (``run.json``'s ``steps.STEP.status``)."""

    COMPLETE = "complete"
    """The step issued its requests; a resumed sweep skips it."""
    ABORTED = "aborted"
    """The step stopped early (the server went away); a resumed sweep runs it again from its start."""
