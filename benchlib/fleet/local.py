"""Run a fleet on this machine: one sweep after another, never two at once (they would disturb each other's timings).

Each sweep runs through :func:`~benchlib.notebook_runner.run_sweep_notebook`, the code path of ``benchlib sweep``:
papermill executes the sweep notebook into the run directory, and an interrupted run resumes. A run id already
complete in the runs folder is skipped; a sweep that fails is recorded and the fleet carries on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from benchlib.errors import BenchlibError, SweepInterrupted
from benchlib.fleet.matrix import Fleet, FleetSweep
from benchlib.notebook_execution import NotebookFailed
from benchlib.notebook_runner import run_sweep_notebook
from benchlib.records import RunDirectory, RunStatus

__all__ = ["FleetOutcome", "FleetStatus", "format_outcomes", "outcome_of_run", "run_fleet_local", "run_one_sweep"]


class FleetStatus(StrEnum):
    """What became of one sweep of a fleet: an outcome of the fleet's entry, not a run's status (:class:`RunStatus`).

    An outcome's text is the member's value, followed by why for those with a
    reason (``failed: WHY``, :meth:`because`); :meth:`of` reads it back.
    """

    COMPLETE = "complete"
    """The sweep ran (or resumed) and its run is complete."""
    SKIPPED = "skipped (already complete)"
    """The sweep's run id was already complete in the runs folder: nothing ran."""
    FAILED = "failed"
    """The sweep failed, or its run did not complete (``failed: WHY``); rerunning the fleet resumes it."""
    INTERRUPTED = "interrupted"
    """A Ray device's sweep stopped midway (``interrupted: WHY``); a rerun resumes it from the device's copy."""
    NOT_RUN = "not run"
    """A Ray device left the cluster before the sweep started (``not run: WHY``)."""

    def because(self, why: str) -> str:
        """This outcome's text with its reason: ``failed: WHY``."""
        return f"{self.value}: {why}"

    @classmethod
    def of(cls, text: str) -> FleetStatus:
        """The outcome an outcome's text names (``failed: WHY`` is :attr:`FAILED`).

        Raises:
            ValueError: the text names no outcome (the message lists the valid ones).
        """
        for status in cls:
            if text == status or text.startswith((f"{status}:", f"{status} (")):
                return status
        raise ValueError(f"{text!r} names no fleet outcome; valid: {', '.join(cls)}")


def outcome_of_run(status: RunStatus) -> str:
    """A fleet's outcome for a sweep that ran to its end: ``complete``, or ``failed: the run ended STATUS``."""
    if status == RunStatus.COMPLETE:
        return FleetStatus.COMPLETE
    return FleetStatus.FAILED.because(f"the run ended {status}")


@dataclass(frozen=True)
class FleetOutcome:
    """What became of one sweep of a fleet.

    Attributes:
        sweep: The sweep.
        status: Its text: a :class:`FleetStatus` (``complete``, ``skipped (already complete)``), or one with its
            reason (``failed: WHY``; on Ray also ``interrupted: WHY``, ``not run: WHY``).
        run_dir: The run directory (``None`` when the sweep failed before it had one).
        wall_s: Wall time of the sweep on this machine, seconds (0 when skipped).
    """

    sweep: FleetSweep
    status: str
    run_dir: Path | None
    wall_s: float

    @property
    def kind(self) -> FleetStatus:
        """The outcome without its reason."""
        return FleetStatus.of(self.status)


def run_one_sweep(sweep: FleetSweep, runs_dir: Path, progress: bool = True) -> FleetOutcome:
    """Run (or resume, or skip when complete) one sweep of a fleet into ``runs_dir``.

    Args:
        sweep: The sweep.
        runs_dir: The fleet's runs folder (the sweep's ``output_dir``; no part of its run id).
        progress: Show the sweep's own progress bar.

    Raises:
        SweepInterrupted: the user pressed Ctrl-C (the run is marked interrupted; rerunning the fleet resumes it).
    """
    runs_dir = Path(runs_dir).resolve()
    existing = runs_dir / sweep.run_id
    if RunDirectory(existing).effective_status() == RunStatus.COMPLETE:
        return FleetOutcome(sweep, FleetStatus.SKIPPED, existing, 0.0)
    started = time.perf_counter()
    try:
        run_dir = run_sweep_notebook(sweep.parameter_file, {**sweep.overrides, "output_dir": str(runs_dir)},
                                     progress=progress)  # fmt: skip
    except SweepInterrupted:
        raise
    except (BenchlibError, NotebookFailed) as exc:
        folder = existing if existing.exists() else None
        return FleetOutcome(sweep, FleetStatus.FAILED.because(str(exc)), folder, time.perf_counter() - started)
    outcome = outcome_of_run(RunDirectory(run_dir).effective_status())
    return FleetOutcome(sweep, outcome, run_dir, time.perf_counter() - started)


def run_fleet_local(fleet: Fleet, runs_dir: Path, progress: bool = True) -> list[FleetOutcome]:
    """Run every sweep of a fleet here, one after another.

    Args:
        fleet: The loaded fleet (:func:`~benchlib.fleet.matrix.load_fleet`).
        runs_dir: Where the run directories go (each sweep's ``output_dir``).
        progress: An overall bar over the sweeps, and each sweep's own bar over its requests.

    Returns:
        One outcome per sweep, in the fleet's order.

    Raises:
        SweepInterrupted: the user pressed Ctrl-C; the sweeps done so far are kept, the current one resumes.
    """
    from tqdm import tqdm

    outcomes: list[FleetOutcome] = []
    bar = tqdm(total=len(fleet.sweeps), desc="fleet", unit="sweep", disable=not progress, position=0)
    try:
        for sweep in fleet.sweeps:
            bar.set_postfix_str(sweep.label)
            outcome = run_one_sweep(sweep, runs_dir, progress)
            outcomes.append(outcome)
            bar.update(1)
            if progress:
                bar.write(f"{sweep.label}: {_short(outcome.status)} ({outcome.wall_s:.1f} s)")
    finally:
        bar.close()
    return outcomes


def _short(status: str) -> str:
    return status.splitlines()[0] if status else status


def format_outcomes(outcomes: list[FleetOutcome], wall_s: float | None = None) -> str:
    """A table of the fleet's outcomes: sweep, status, wall time, run directory; then the counts.

    Args:
        outcomes: What :func:`run_fleet_local` (or the Ray runner) returned.
        wall_s: Wall time of the whole fleet, seconds (``None``: not shown).
    """
    from tabulate import tabulate

    rows = [[o.sweep.label, _short(o.status), f"{o.wall_s:.1f}", o.run_dir or ""] for o in outcomes]
    table = tabulate(rows, headers=["sweep", "status", "wall_s", "run directory"])
    counts = {
        "complete": sum(o.kind == FleetStatus.COMPLETE for o in outcomes),
        "skipped": sum(o.kind == FleetStatus.SKIPPED for o in outcomes),
        "failed": sum(o.kind == FleetStatus.FAILED for o in outcomes),
    }
    total = f" in {wall_s:.1f} s" if wall_s is not None else ""
    tally = ", ".join(f"{n} {name}" for name, n in counts.items())
    failures = [f"{o.sweep.label}: {o.status}" for o in outcomes if o.kind == FleetStatus.FAILED]
    return "\n".join([table, f"{len(outcomes)} sweeps{total}: {tally}", *failures])
