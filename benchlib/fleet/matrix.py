"""The fleet file expanded into sweeps (placeholder of the values only: the matrix helper's module replaces this)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Fleet", "FleetSweep"]


@dataclass(frozen=True)
class FleetSweep:
    """One sweep of a fleet: the parameters of one run on one device.

    Attributes:
        target: Device label, e.g. ``pi5-a`` (the Ray resource ``benchlib-device:pi5-a``).
        parameter_file: Base parameter file (absolute), or ``None``.
        overrides: Values ``run_sweep_notebook`` gets over the file's (the runner sets ``output_dir``).
        run_id: The run id these parameters produce.
        label: Short human label of the sweep.
    """

    target: str
    parameter_file: Path | None
    overrides: dict[str, Any]
    run_id: str
    label: str


@dataclass(frozen=True)
class Fleet:
    """A fleet file expanded: its sweeps and its device labels."""

    path: Path
    sweeps: tuple[FleetSweep, ...]
    targets: tuple[str, ...]
