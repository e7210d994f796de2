"""Fleet sweeps on this machine (placeholder of the outcome value only: the matrix helper's module replaces this)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchlib.fleet.matrix import FleetSweep

__all__ = ["FleetOutcome"]


@dataclass(frozen=True)
class FleetOutcome:
    """What became of one sweep of a fleet.

    Attributes:
        sweep: The sweep.
        status: ``complete``, ``skipped (complete)``, ``failed: ...`` or ``interrupted: ...``.
        run_dir: Its run directory under the runs folder, or ``None`` when none was gathered.
        wall_s: Wall time spent on it, seconds.
    """

    sweep: FleetSweep
    status: str
    run_dir: Path | None
    wall_s: float
