"""The device side of a fleet on Ray: one sweep run on the node that advertises its device, packed for the driver.

A Ray task of :mod:`benchlib.fleet.ray_runner` calls :func:`run_sweep_on_device`
on the device node. It runs the sweep notebook through
:func:`benchlib.notebook_runner.run_sweep_notebook`, the code path of
``benchlib sweep``, into the node's own fleet runs folder
(:func:`node_runs_dir`): when the node drops out mid-sweep its completed
requests stay there, and the next run of the fleet on that device resumes the
run instead of measuring it again. The finished run directory goes back to the
driver as tar.gz bytes (:func:`benchlib.fleet.packing.pack_run_dir`).

Ray is not imported here at module level: the module is importable without it.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.errors import BenchlibError, SweepInterrupted
from benchlib.fleet.local import FleetStatus, outcome_of_run
from benchlib.fleet.packing import pack_run_dir
from benchlib.models import cache_dir
from benchlib.notebook_execution import NotebookFailed
from benchlib.notebook_runner import run_sweep_notebook
from benchlib.paths import repo_root
from benchlib.records import RUN_FILE, RunDirectory

__all__ = ["FLEET_RUNS_ENV", "DeviceRun", "node_runs_dir", "run_sweep_on_device"]

FLEET_RUNS_ENV = "BENCHLIB_FLEET_RUNS_DIR"
"""Environment variable of a device node (set before ``ray start``): the folder its fleet runs are kept in."""


@dataclass(frozen=True)
class DeviceRun:
    """What a device node hands back for one sweep.

    Attributes:
        run_id: The run directory's name (the run id).
        status: The fleet's outcome on the node (a :class:`~benchlib.fleet.local.FleetStatus`: ``complete``,
            ``failed: WHY``, ``interrupted: WHY``).
        packed: The run directory as tar.gz bytes, or ``None`` when the sweep wrote none.
        node_id: Ray's id of the node that ran it.
        hostname: That node's host name.
        node_run_dir: Where the run directory is kept on the node.
        sweep_s: Time spent in ``run_sweep_notebook`` on the node, seconds.
        pack_s: Time spent packing the run directory on the node, seconds.
    """

    run_id: str
    status: str
    packed: bytes | None
    node_id: str
    hostname: str
    node_run_dir: str
    sweep_s: float
    pack_s: float


def node_runs_dir(target: str) -> Path:
    """The folder a device node keeps its fleet runs in: ``$BENCHLIB_FLEET_RUNS_DIR/LABEL``.

    Without the variable, ``~/.cache/benchlib/fleet-runs/LABEL`` (under ``$BENCHLIB_CACHE_DIR`` when set). One
    folder per device label, so two device nodes on one host never share a run.
    """
    base = os.environ.get(FLEET_RUNS_ENV) or cache_dir() / "fleet-runs"
    return (Path(base).expanduser() / target).resolve()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


def run_sweep_on_device(target: str, values: dict[str, Any], run_id: str) -> DeviceRun:
    """Run one fleet sweep on this node and pack its run directory (the body of the Ray task).

    Relative paths among the values (``price_files``) resolve against this
    node's benchlib checkout, as ``benchlib sweep`` run from the checkout does.

    Args:
        target: The device label (names the node's runs folder).
        values: The sweep's parameters (file values and overrides; ``output_dir`` is set here).
        run_id: The run id the driver expects (where a failed sweep's partial run is looked for).

    Returns:
        The packed run and where and how long it ran.
    """
    import ray

    output = node_runs_dir(target)
    output.mkdir(parents=True, exist_ok=True)
    run_dir = output / run_id
    started = time.perf_counter()
    try:
        with contextlib.chdir(repo_root()):
            run_dir = run_sweep_notebook(None, {**values, "output_dir": str(output)}, progress=False)
        status = outcome_of_run(RunDirectory(run_dir).effective_status())
    except SweepInterrupted as exc:
        status = FleetStatus.INTERRUPTED.because(_one_line(exc))
    except (BenchlibError, NotebookFailed) as exc:
        status = FleetStatus.FAILED.because(_one_line(exc))
    sweep_s = time.perf_counter() - started
    packed = pack_run_dir(run_dir) if (Path(run_dir) / RUN_FILE).is_file() else None
    return DeviceRun(
        run_id=Path(run_dir).name,
        status=status,
        packed=packed,
        node_id=ray.get_runtime_context().get_node_id(),
        hostname=socket.gethostname(),
        node_run_dir=str(run_dir),
        sweep_s=sweep_s,
        pack_s=time.perf_counter() - started - sweep_s,
    )
