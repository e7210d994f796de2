"""Fleet sweeps on a real local Ray cluster: a head node advertising device ``dev-a`` and a second node on the same
machine advertising ``dev-b``, one CPU each; the sweeps are real smoke sweeps (the embedded GGUF model through
llama.cpp, the sweep notebook through papermill). The cluster is started once for the module (about 20 s on
2 cores) and stopped (``ray stop --force``) at its end, whatever happens; a test that kills a node starts it again,
and each test's sweeps have their own run ids, so no test sees another's runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from benchlib.config import SweepConfig
from benchlib.errors import BenchlibError, ParameterError
from benchlib.fleet.local import FleetStatus, format_outcomes
from benchlib.fleet.matrix import Fleet, FleetSweep
from benchlib.fleet.ray_runner import cluster_devices, device_resource, run_fleet_ray
from benchlib.notebook_runner import load_parameter_file
from benchlib.records import RunDirectory
from benchlib.testing.local_servers import reserve_port

pytestmark = [pytest.mark.model, pytest.mark.notebook, pytest.mark.ray]

ROOT = Path(__file__).resolve().parents[2]
SMOKE = ROOT / "params" / "smoke.yaml"
RAY = Path(sys.executable).parent / "ray"


class LocalRayCluster:
    """Two Ray nodes on this machine, each advertising one benchlib device; ``stop()`` ends every Ray process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.node_runs = folder / "node-runs"  # each device keeps its fleet runs under node-runs/LABEL
        self.head_port = reserve_port()  # held until the head has started on it
        self.address = f"127.0.0.1:{self.head_port.port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
            "BENCHLIB_FLEET_RUNS_DIR": str(self.node_runs),
            # a dead node is noticed within seconds, not half a minute; a node slow to answer on a busy machine
            # is not taken for dead (a 1 s timeout, 3 failures did that once the other test worker was busy)
            "RAY_health_check_period_ms": "1000",
            "RAY_health_check_timeout_ms": "3000",
            "RAY_health_check_failure_threshold": "5",
            "RAY_USAGE_STATS_ENABLED": "0",
            # on a busy 2-core machine the dashboard agent can take over 15 s to start; give it two minutes
            "RAY_agent_register_timeout_ms": "120000",
        }
        self.env.pop("RAY_ADDRESS", None)

    def _ray_start(self, *args: str) -> None:
        names = ("node-manager-port", "object-manager-port", "dashboard-agent-listen-port", "dashboard-agent-grpc-port",
                 "metrics-export-port", "runtime-env-agent-port")  # fmt: skip
        reserved = [reserve_port() for _ in names]  # held while the node starts, so no other worker is handed them
        try:
            ports = [f"--{name}={port.port}" for name, port in zip(names, reserved)]
            command = [str(RAY), "start", "--num-cpus=1", "--disable-usage-stats", *ports, *args]
            done = subprocess.run(command, env=self.env, cwd=self.folder, capture_output=True, text=True, timeout=240,
                                  preexec_fn=_every_core)  # fmt: skip
        finally:
            for port in reserved:
                port.release()
        assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    def start_head(self, label: str) -> None:
        try:
            self._ray_start("--head", f"--port={self.head_port.port}", "--include-dashboard=false",
                            f"--resources={json.dumps({device_resource(label): 1})}")  # fmt: skip
        finally:
            self.head_port.release()

    def start_node(self, label: str) -> None:
        self._ray_start(f"--address={self.address}", f"--resources={json.dumps({device_resource(label): 1})}")
        self.wait_for(label, present=True)

    def wait_for(self, label: str, present: bool, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if (label in cluster_devices(self.address)) == present:
                return
            time.sleep(0.5)
        raise AssertionError(f"device {label} {'never joined' if present else 'never left'} the cluster")

    def kill_node(self, label: str) -> int:
        """Kill (SIGKILL) the raylet advertising ``label`` and every process under it, as a power cut would."""
        killed = []
        for process in psutil.process_iter(["name", "cmdline"]):
            cmdline = " ".join(process.info["cmdline"] or [])
            if "raylet" in (process.info["name"] or "") and device_resource(label) in cmdline:
                family = [*process.children(recursive=True), process]
                for member in family:
                    try:
                        member.kill()
                        killed.append(member.pid)
                    except psutil.Error:
                        continue
        assert killed, f"no raylet advertises {label}"
        return len(killed)

    def stop(self) -> None:
        subprocess.run([str(RAY), "stop", "--force"], env=self.env, capture_output=True, timeout=120)


def _every_core() -> None:
    """Let the Ray node use every core of the machine, not only the one core the xdist worker is pinned to
    (tests/conftest.py): two nodes, their GCS and two sweeps on one core starve the health checks."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, range(os.cpu_count() or 1))


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A two-node local Ray cluster for the module: the head advertises dev-a, a second node dev-b.

    ``make test`` distributes whole files to its workers (``--dist loadfile``), so one worker runs this
    module: one cluster, and its ``ray stop --force`` stops no other worker's.
    """
    cluster = LocalRayCluster(tmp_path_factory.mktemp("ray"))
    try:
        cluster.start_head("dev-a")
        cluster.start_node("dev-b")
        cluster.wait_for("dev-a", present=True)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def cluster(ray_cluster):
    """The module's cluster with both devices advertised (a node a previous test killed is started again)."""
    if "dev-b" not in cluster_devices(ray_cluster.address):
        ray_cluster.start_node("dev-b")
    return ray_cluster


def _config(overrides: dict) -> SweepConfig:
    with contextlib.chdir(ROOT):  # the smoke file's price file is relative to the checkout, as for `benchlib sweep`
        return SweepConfig.from_mapping({**load_parameter_file(SMOKE), **overrides})


def _sweep(target: str, label: str, test: str = "", **overrides) -> FleetSweep:
    """A smoke sweep for device ``target``; ``test`` names the test, so that its run ids are its own."""
    # one thread: the nodes may use both cores while the other test worker decodes on one of them
    overrides = {"profile": f"fleet-{target}{test}", "platform": f"{target} (local Ray node)", "threads": 1, **overrides}
    run_id = _config(overrides).run_id()
    return FleetSweep(target=target, parameter_file=SMOKE, overrides=overrides, run_id=run_id, label=label)


def _fleet(tmp_path, sweeps) -> Fleet:
    return Fleet(path=tmp_path / "fleet-test.yaml", sweeps=tuple(sweeps),
                 targets=tuple(dict.fromkeys(s.target for s in sweeps)))  # fmt: skip


def _raylet_pids() -> set[int]:
    return {p.pid for p in psutil.process_iter(["name"]) if "raylet" in (p.info["name"] or "")}


def _window(run_dir: Path) -> tuple[float, float]:
    rows = RunDirectory(run_dir).read_requests()
    return float(rows["sent_unix_s"].min()), float(rows["last_token_unix_s"].max())


def test_a_fleet_of_four_smoke_sweeps_runs_one_per_device_and_is_gathered(cluster, tmp_path):
    sweeps = [_sweep(t, f"{t} {n} tokens", "-gathered", output_tokens=n) for t in ("dev-a", "dev-b") for n in (8, 16)]
    fleet = _fleet(tmp_path, sweeps)
    runs = tmp_path / "runs"

    started = time.perf_counter()
    outcomes = run_fleet_ray(fleet, runs, address=cluster.address, progress=False)
    wall_s = time.perf_counter() - started

    assert [o.sweep for o in outcomes] == sweeps
    assert [o.status for o in outcomes] == ["complete"] * 4, [o.status for o in outcomes]
    for outcome in outcomes:
        store = RunDirectory(outcome.run_dir)
        assert outcome.run_dir == runs / outcome.sweep.run_id
        assert store.effective_status() == "complete"
        assert (outcome.run_dir / "sweep.ipynb").is_file() and store.requests_file.is_file()
        meta = store.read_meta()
        assert meta["parameters"]["output_tokens"] == outcome.sweep.overrides["output_tokens"]
        assert meta["parameters"]["profile"] == f"fleet-{outcome.sweep.target}-gathered"
        # it ran on its device's node: the node kept its own copy in its runs folder for that device
        assert Path(outcome.node_run_dir) == cluster.node_runs / outcome.sweep.target / outcome.sweep.run_id
        assert outcome.node_id and outcome.overhead_s is not None and outcome.overhead_s >= 0
    by_device = {t: [o for o in outcomes if o.sweep.target == t] for t in ("dev-a", "dev-b")}
    assert {o.node_id for o in by_device["dev-a"]}.isdisjoint({o.node_id for o in by_device["dev-b"]})
    assert len({o.node_id for o in by_device["dev-a"]}) == len({o.node_id for o in by_device["dev-b"]}) == 1
    for device in by_device.values():  # one sweep at a time on a device
        first, second = sorted(_window(o.run_dir) for o in device)
        assert first[1] <= second[0]
    # How much the two devices overlapped depends on how busy the machine is: printed, not asserted
    # (a wall-clock comparison failed CI on a busy runner); each device's node and order are asserted above.
    print(f"\n4-sweep smoke fleet on the 2-node local Ray cluster: {wall_s:.1f} s wall; per sweep: "
          + ", ".join(f"{o.sweep.label}: sweep {o.sweep_s:.1f} s + driver overhead {o.overhead_s:.2f} s"
                      for o in outcomes))  # fmt: skip

    again = run_fleet_ray(fleet, runs, address=cluster.address, progress=False)  # everything is complete now
    assert [o.status for o in again] == [FleetStatus.SKIPPED] * 4
    assert format_outcomes(again).splitlines()[-1] == "4 sweeps: 0 complete, 4 skipped, 0 failed"


def test_a_device_that_drops_out_leaves_a_resumable_sweep_while_the_other_device_finishes(cluster, tmp_path):
    long_b = _sweep("dev-b", "dev-b long", "-dropout", output_tokens=48, repetitions=6)
    sweeps = [_sweep("dev-a", "dev-a 8", "-dropout", output_tokens=8),
              _sweep("dev-a", "dev-a 16", "-dropout", output_tokens=16),
              long_b, _sweep("dev-b", "dev-b 8", "-dropout", output_tokens=8)]  # fmt: skip
    fleet = _fleet(tmp_path, sweeps)
    runs = tmp_path / "runs"
    on_node = RunDirectory(cluster.node_runs / "dev-b" / long_b.run_id)
    killed: list[int] = []

    def kill_dev_b_mid_sweep() -> None:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if on_node.requests_file.exists() and len(on_node.read_requests()) >= 2:
                killed.append(cluster.kill_node("dev-b"))
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_dev_b_mid_sweep, daemon=True)
    killer.start()
    outcomes = run_fleet_ray(fleet, runs, address=cluster.address, progress=False)
    killer.join(timeout=10)

    assert killed, "dev-b's sweep never reached 2 requests"
    statuses = [o.status for o in outcomes]
    assert statuses[:2] == ["complete", "complete"], statuses
    assert statuses[2].startswith("interrupted: ") and "rerun the fleet to resume" in statuses[2], statuses
    assert statuses[3].startswith("not run: device dev-b left the cluster"), statuses
    assert outcomes[2].run_dir is None and not (runs / long_b.run_id).exists()
    # The sweep's kernel (a grandchild of the killed raylet) notices its parent is gone within seconds, or more
    # on a busy machine: wait for it before reading what the node kept.
    deadline = time.monotonic() + 60
    while on_node.effective_status() == "running" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert on_node.effective_status() == "interrupted (process gone)"
    kept = on_node.read_requests()
    total = len(_config(long_b.overrides).workload_plan().prompts) * 6
    assert 2 <= len(kept) < total, "the node was stopped after its sweep finished; make the sweep longer"

    cluster.wait_for("dev-b", present=False)
    cluster.start_node("dev-b")
    rerun = run_fleet_ray(fleet, runs, address=cluster.address, progress=False)

    assert [o.status for o in rerun] == [FleetStatus.SKIPPED] * 2 + ["complete"] * 2, [o.status for o in rerun]
    resumed = RunDirectory(rerun[2].run_dir)
    rows = resumed.read_requests()
    meta = resumed.read_meta()
    assert len(rows) == total and rows["request_id"].is_unique
    assert [a.get("outcome") for a in meta["attempts"]][0] == "interrupted"  # resumed: a second attempt
    earlier = rows[rows["attempt"] == 0].reset_index(drop=True)
    assert earlier.equals(kept.reset_index(drop=True)), "the requests completed before the node dropped were redone"


def test_a_device_no_node_advertises_is_refused_before_anything_runs(cluster, tmp_path):
    assert cluster_devices(cluster.address) == {"dev-a": 1.0, "dev-b": 1.0}
    sweeps = [_sweep("dev-a", "a", "-refused"), _sweep("pi5-z", "z", "-refused")]
    fleet = _fleet(tmp_path, sweeps)

    with pytest.raises(ParameterError, match=r"pi5-z .*advertised devices: dev-a \(1\), dev-b \(1\)"):
        run_fleet_ray(fleet, tmp_path / "runs", address=cluster.address, progress=False)
    assert not (tmp_path / "runs").exists()
    assert not [s for s in sweeps if (cluster.node_runs / s.target / s.run_id).exists()], "a node started a sweep"


def test_no_cluster_is_a_clear_error_and_none_is_started(tmp_path, reserved_port):
    address = f"127.0.0.1:{reserved_port}"
    raylets_before = _raylet_pids()  # the module's cluster may be up: none may be added
    with pytest.raises(BenchlibError, match=r"No running Ray cluster.*ray start --head"):
        run_fleet_ray(_fleet(tmp_path, [_sweep("dev-a", "a")]), tmp_path / "runs", address=address, progress=False)
    assert _raylet_pids() <= raylets_before


def test_without_ray_installed_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` fails as it does where Ray is not installed
    fleet = _fleet(tmp_path, [_sweep("dev-a", "a")])
    with pytest.raises(ParameterError, match=r"pip install -e '\.\[fleet\]'"):
        run_fleet_ray(fleet, tmp_path / "runs", address="auto")
    with pytest.raises(ParameterError, match="not installed"):
        cluster_devices()
