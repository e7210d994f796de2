"""A fleet on a Ray cluster: each sweep a Ray task on its device, one sweep per device at a time (``--ray``).

Every device node advertises the custom resource ``benchlib-device:LABEL``
(amount 1) when it joins the cluster::

    ray start --head --port=6379 --resources='{"benchlib-device:gpu-a": 1}'          # the head (may be a device)
    ray start --address=HEAD:6379 --resources='{"benchlib-device:pi5-a": 1}'         # each further device

Each sweep becomes a task that needs one unit of its target's resource (and no
CPU), so a device runs one sweep at a time while the devices run in parallel.
The driver keeps at most one task in flight per device, which also times each
sweep from its submission: the task runs the sweep notebook on the device
(:mod:`benchlib.fleet.ray_task`) and returns its run directory packed; the
driver unpacks it under the runs folder atomically
(:mod:`benchlib.fleet.packing`). A device that drops out mid-sweep leaves its
sweep ``interrupted`` (its completed requests stay on the device, and the next
run of the fleet resumes it there) and its sweeps not yet started ``not run``;
the other devices carry on. Run ids already complete under the runs folder are
skipped.

Ray is imported only inside the functions here: it is the optional extra ``.[fleet]``.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.errors import BenchlibError, ParameterError
from benchlib.fleet.local import FleetOutcome, FleetStatus
from benchlib.fleet.matrix import Fleet, FleetSweep
from benchlib.fleet.packing import RunAlreadyComplete, unpack_run_dir
from benchlib.fleet.ray_task import FLEET_RUNS_ENV, DeviceRun, run_sweep_on_device
from benchlib.notebook_runner import load_parameter_file
from benchlib.records import RunDirectory, RunStatus

__all__ = ["DEVICE_PREFIX", "RayFleetOutcome", "cluster_devices", "device_resource", "run_fleet_ray"]

DEVICE_PREFIX = "benchlib-device:"
"""Prefix of the custom Ray resource a device node advertises (``benchlib-device:LABEL``)."""

POLL_S = 1.0
"""How long the driver waits for a finished sweep before it checks that the devices are still there, seconds."""

NODE_GONE = "left the cluster"


@dataclass(frozen=True)
class RayFleetOutcome(FleetOutcome):
    """A :class:`FleetOutcome` of a sweep run on Ray, with where it ran and the driver's overhead.

    Attributes:
        node_id: Ray's id of the node that ran the sweep (``None`` when it did not run).
        hostname: That node's host name.
        node_run_dir: Where the run is kept on the device (an interrupted run resumes from there).
        sweep_s: Time the device spent in the sweep itself (``run_sweep_notebook``), seconds.
        overhead_s: The fleet's cost on top of it: ``wall_s - sweep_s`` (scheduling, worker start, packing,
            transfer, unpacking), seconds.
    """

    node_id: str | None = None
    hostname: str | None = None
    node_run_dir: str | None = None
    sweep_s: float | None = None
    overhead_s: float | None = None


def device_resource(target: str) -> str:
    """The Ray custom resource a device node advertises: ``benchlib-device:LABEL``."""
    return DEVICE_PREFIX + target


def _start_hint() -> str:
    return (
        "start the head with `ray start --head --resources='{\"benchlib-device:LABEL\": 1}'` and each further "
        "device with `ray start --address=HEAD:6379 --resources='{\"benchlib-device:LABEL\": 1}'`"
    )


def _import_ray() -> Any:
    """The ``ray`` module, or a clear error saying how to install it."""
    try:
        import ray
    except ImportError as exc:
        raise ParameterError(
            "Running a fleet on Ray needs Ray, which is not installed: pip install -e '.[fleet]' (in the benchlib "
            "checkout, on the driver and on every device node), or run the fleet on this machine without --ray."
        ) from exc
    return ray


def _connect(ray: Any, address: str) -> bool:
    """Join the running cluster at ``address`` (never start one); True when this call connected."""
    if ray.is_initialized():
        return False
    address = address or "auto"
    if ":" in address and "://" not in address:  # HOST:PORT: Ray would retry a closed port for minutes
        import socket

        host, _, port = address.rpartition(":")
        try:
            socket.create_connection((host, int(port)), timeout=5).close()
        except (OSError, ValueError) as exc:
            raise BenchlibError(
                f"No running Ray cluster at {address!r} ({exc}). Start one first: {_start_hint()}; then pass its "
                "address (HEAD:6379) or 'auto' on a cluster node."
            ) from exc
    try:
        ray.init(address=address, log_to_driver=False, logging_level="ERROR", configure_logging=False)
    except Exception as exc:  # ConnectionError, or Ray's own errors for a wrong address
        raise BenchlibError(
            f"No running Ray cluster at {address!r} ({type(exc).__name__}: {str(exc).strip().splitlines()[0]}). "
            f"Start one first: {_start_hint()}; then pass its address (HEAD:6379) or 'auto' on a cluster node."
        ) from exc
    return True


def _advertised(ray: Any) -> dict[str, float]:
    """Device label -> amount of its resource advertised by the cluster's live nodes."""
    devices: dict[str, float] = {}
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        for name, amount in node.get("Resources", {}).items():
            if name.startswith(DEVICE_PREFIX):
                label = name.removeprefix(DEVICE_PREFIX)
                devices[label] = devices.get(label, 0.0) + float(amount)
    return devices


def cluster_devices(address: str = "auto") -> dict[str, float]:
    """The devices a running Ray cluster advertises (for ``benchlib doctor``).

    Args:
        address: The cluster (``auto``: the one this machine belongs to, or ``$RAY_ADDRESS``).

    Returns:
        Device label -> amount of ``benchlib-device:LABEL`` advertised (normally 1 per device node).

    Raises:
        ParameterError: Ray is not installed.
        BenchlibError: no cluster runs at ``address``.
    """
    ray = _import_ray()
    connected = _connect(ray, address)
    try:
        return _advertised(ray)
    finally:
        if connected:
            ray.shutdown()


def _check_targets(fleet: Fleet, advertised: dict[str, float]) -> None:
    missing = sorted({s.target for s in fleet.sweeps} - set(advertised))
    if missing:
        offered = ", ".join(f"{label} ({amount:g})" for label, amount in sorted(advertised.items())) or "none"
        raise ParameterError(
            f"No node of the Ray cluster advertises the device(s) {', '.join(missing)} of {fleet.path}; "
            f"advertised devices: {offered}. Start each device's node with "
            f"`ray start --address=HEAD:6379 --resources='{{\"{DEVICE_PREFIX}LABEL\": 1}}'`."
        )


def _parameter_values(sweep: FleetSweep) -> dict[str, Any]:
    """The sweep's parameters as ``benchlib sweep FILE --set ...`` would read them here (the driver's file wins)."""
    values = load_parameter_file(sweep.parameter_file) if sweep.parameter_file else {}
    return {**values, **sweep.overrides}


class _Driver:
    """One run of a fleet on the cluster: a queue per device, at most one task in flight per device."""

    def __init__(self, ray: Any, fleet: Fleet, runs_dir: Path, progress: bool) -> None:
        from tqdm import tqdm

        self.ray = ray
        self.runs_dir = runs_dir
        self.task = ray.remote(run_sweep_on_device)
        self.outcomes: dict[int, FleetOutcome] = {}
        self.queues: dict[str, deque[tuple[int, FleetSweep]]] = {}
        self.in_flight: dict[Any, tuple[int, FleetSweep, float]] = {}
        self.bar = tqdm(total=len(fleet.sweeps), desc="fleet", unit="sweep", disable=not progress)
        self.progress = progress
        for index, sweep in enumerate(fleet.sweeps):
            if RunDirectory(runs_dir / sweep.run_id).effective_status() == RunStatus.COMPLETE:
                self._record(index, RayFleetOutcome(sweep, FleetStatus.SKIPPED, runs_dir / sweep.run_id, 0.0))
            else:
                self.queues.setdefault(sweep.target, deque()).append((index, sweep))

    def _record(self, index: int, outcome: FleetOutcome) -> None:
        self.outcomes[index] = outcome
        self.bar.update(1)
        if self.progress:
            self.bar.write(f"{outcome.sweep.target}: {outcome.sweep.label}: {outcome.status}")

    def _submit_next(self, target: str) -> None:
        queue = self.queues.get(target)
        if not queue:
            return
        index, sweep = queue.popleft()
        ref = self.task.options(
            resources={device_resource(target): 1},
            num_cpus=0,  # the device resource alone limits a device to one sweep at a time
            max_retries=0,  # a sweep is never restarted behind the user's back: the next fleet run resumes it
            name=f"benchlib sweep {sweep.run_id} on {target}",
        ).remote(target, _parameter_values(sweep), sweep.run_id)
        self.in_flight[ref] = (index, sweep, time.perf_counter())

    def _drop_device(self, target: str, why: str) -> None:
        """Every sweep of ``target`` not started yet is ``not run``."""
        while self.queues.get(target):
            index, sweep = self.queues[target].popleft()
            outcome = FleetStatus.NOT_RUN.because(f"device {target} {why}; rerun the fleet")
            self._record(index, RayFleetOutcome(sweep, outcome, None, 0.0))

    def _interrupted(self, sweep: FleetSweep, why: str) -> str:
        return FleetStatus.INTERRUPTED.because(
            f"{why}; its completed requests stay on device {sweep.target} (in ${FLEET_RUNS_ENV}/"
            f"{sweep.target} or ~/.cache/benchlib/fleet-runs/{sweep.target}); rerun the fleet to resume it"
        )

    def _finish(self, ref: Any) -> None:
        index, sweep, submitted = self.in_flight.pop(ref)
        errors = self.ray.exceptions
        try:
            result: DeviceRun = self.ray.get(ref)
        except errors.RayTaskError as exc:  # the task itself raised (not a benchlib error): a bug or a broken node
            failed = FleetStatus.FAILED.because(str(exc).strip().splitlines()[-1])
            self._record(index, RayFleetOutcome(sweep, failed, None, time.perf_counter() - submitted))
        except errors.RayError as exc:  # the node died, the worker crashed, the task was cancelled
            node_died = isinstance(exc, errors.NodeDiedError)
            why = f"the node of device {sweep.target} died while its sweep ran" if node_died else "its task ended"
            self._record(index, RayFleetOutcome(sweep, self._interrupted(sweep, f"{why} ({type(exc).__name__})"),
                                                None, time.perf_counter() - submitted))
            if node_died or sweep.target not in _advertised(self.ray):  # the cluster may not know it yet
                self._drop_device(sweep.target, NODE_GONE)
        else:
            self._record(index, self._gathered(sweep, result, submitted))
        self._submit_next(sweep.target)

    def _gathered(self, sweep: FleetSweep, result: DeviceRun, submitted: float) -> RayFleetOutcome:
        status, run_dir = result.status, None
        if result.packed is not None:
            try:
                run_dir = unpack_run_dir(result.packed, self.runs_dir)
            except RunAlreadyComplete:
                status, run_dir = f"{status} (kept the complete copy already there)", self.runs_dir / result.run_id
        interrupted = FleetStatus.INTERRUPTED.because("")
        if status.startswith(interrupted):
            status = self._interrupted(sweep, status.removeprefix(interrupted))
        wall_s = time.perf_counter() - submitted
        return RayFleetOutcome(
            sweep, status, run_dir, wall_s, result.node_id, result.hostname, result.node_run_dir,
            result.sweep_s, wall_s - result.sweep_s,
        )

    def _check_devices(self) -> None:
        """A device whose node left the cluster: its task in flight is interrupted, its queue not run."""
        advertised = _advertised(self.ray)
        for ref, (index, sweep, submitted) in list(self.in_flight.items()):
            if sweep.target in advertised:
                continue
            del self.in_flight[ref]
            try:
                self.ray.cancel(ref, force=True)
            except Exception:  # the task or its node is already gone
                pass
            why = f"device {sweep.target} {NODE_GONE} while its sweep ran"
            self._record(index, RayFleetOutcome(sweep, self._interrupted(sweep, why), None,
                                                time.perf_counter() - submitted))
            self._drop_device(sweep.target, NODE_GONE)

    def run(self) -> None:
        for target in list(self.queues):
            self._submit_next(target)
        while self.in_flight:
            ready, _ = self.ray.wait(list(self.in_flight), num_returns=1, timeout=POLL_S)
            for ref in ready:
                self._finish(ref)
            if not ready:
                self._check_devices()
        self.bar.close()


def run_fleet_ray(fleet: Fleet, runs_dir: Path, address: str = "auto", progress: bool = True) -> list[FleetOutcome]:
    """Run a fleet's sweeps on a Ray cluster, each on its device, and gather their run directories.

    Args:
        fleet: The expanded fleet file.
        runs_dir: Where the run directories are gathered (``data/runs``).
        address: The running cluster: ``auto`` (the one this machine belongs to, or ``$RAY_ADDRESS``) or
            ``HEAD:PORT``. No cluster is ever started here.
        progress: Show a progress bar over the sweeps and a line per finished sweep.

    Returns:
        One :class:`RayFleetOutcome` per sweep, in the fleet's order: ``complete``, ``skipped (already complete)``,
        ``failed: ...``, ``interrupted: ...`` (a rerun resumes it) or ``not run: ...``; with the node, the time
        on the device (``sweep_s``) and the driver's overhead (``overhead_s``).

    Raises:
        ParameterError: Ray is not installed, or a target's device is advertised by no node (nothing ran).
        BenchlibError: no cluster runs at ``address``.
    """
    ray = _import_ray()
    runs_dir = Path(runs_dir).resolve()
    connected = _connect(ray, address)
    try:
        _check_targets(fleet, _advertised(ray))
        driver = _Driver(ray, fleet, runs_dir, progress)
        driver.run()
        return [driver.outcomes[index] for index in range(len(fleet.sweeps))]
    finally:
        if connected:
            ray.shutdown()
