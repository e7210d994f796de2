"""A real Prometheus server and node_exporter on loopback, for tests and benchmarks.

:func:`prometheus_server` starts Debian's ``prometheus`` (or any binary on
``PATH``) with a generated configuration that scrapes the given targets, on a
free loopback port with a temporary storage folder. :func:`node_exporter`
starts ``prometheus-node-exporter`` over a sysfs tree (a fixture tree in tests)
with only the collectors asked for. Both return a
:class:`~benchlib.testing.local_servers.ServerProcess`; stop it in a
``finally``.

Install both on Debian with ``apt-get install prometheus prometheus-node-exporter``
(``make prometheus-tools`` does that).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from benchlib.testing.local_servers import ReservedPort, ServerProcess, port_number, reserve_port
from benchlib.testing.required_tools import find_program, skip_or_fail

__all__ = [
    "NODE_EXPORTER_PROGRAMS",
    "benchlib_exporter",
    "PROMETHEUS_PROGRAMS",
    "find_program",
    "node_exporter",
    "prometheus_query",
    "prometheus_server",
    "require_program",
    "wait_for_samples",
]

PROMETHEUS_PROGRAMS = ("prometheus",)
NODE_EXPORTER_PROGRAMS = ("prometheus-node-exporter", "node_exporter")


REQUIRE_ENV = "BENCHLIB_REQUIRE_PROMETHEUS"
"""Set to 1 (CI does) to fail, not skip, a test whose Prometheus or node_exporter is missing."""


def require_program(names: Sequence[str]) -> str:
    """The path of the first of ``names`` on ``PATH``; else skip the test (fail it when ``BENCHLIB_REQUIRE_PROMETHEUS=1``)."""
    path = find_program(names)
    if path is not None:
        return path
    skip_or_fail(f"{names[0]} is not installed: `make prometheus-tools` (apt-get install prometheus "
                 "prometheus-node-exporter)", REQUIRE_ENV)  # fmt: skip


def _scrape_config(targets: Mapping[str, str], scrape_interval_s: float) -> str:
    """The YAML (JSON is YAML) of a configuration that scrapes each ``job -> host:port/path`` target."""
    jobs = []
    for job, target in targets.items():
        parsed = urllib.parse.urlsplit(target if "://" in target else f"http://{target}")
        jobs.append({
            "job_name": job,
            "scrape_interval": f"{int(round(scrape_interval_s * 1000))}ms",
            "scrape_timeout": f"{int(round(min(scrape_interval_s, 10.0) * 1000))}ms",
            "metrics_path": parsed.path or "/metrics",
            "static_configs": [{"targets": [parsed.netloc]}],
        })  # fmt: skip
    return json.dumps({"global": {"scrape_interval": "15s"}, "scrape_configs": jobs}, indent=1)


def prometheus_server(
    targets: Mapping[str, str], workdir: Path, *, scrape_interval_s: float = 0.5, port: int | ReservedPort | None = None
) -> ServerProcess:
    """A Prometheus server on loopback scraping ``targets``, not yet started.

    Args:
        targets: Job name -> ``host:port`` or a ``/metrics`` URL to scrape.
        workdir: Folder for the configuration, the storage and the log.
        scrape_interval_s: Scrape interval of every job, seconds.
        port: Port to listen on (one reserved from the OS by default; pass the old one to restart on the same storage).

    Raises:
        FileNotFoundError: Prometheus is not installed (the message says how to install it).
    """
    program = find_program(PROMETHEUS_PROGRAMS)
    if program is None:
        raise FileNotFoundError("prometheus is not on PATH: `apt-get install prometheus` (or `make prometheus-tools`)")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    config.write_text(_scrape_config(targets, scrape_interval_s))
    port = port or reserve_port()
    command = [
        program,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port_number(port)}",
        "--log.level=warn",
    ]
    return ServerProcess(command, port, "/-/ready", workdir / "prometheus.log")


def node_exporter(sysfs: Path, collectors: Sequence[str], log: Path, *, port: int | ReservedPort | None = None) -> ServerProcess:
    """Prometheus' node_exporter on loopback over the sysfs tree ``sysfs`` with only ``collectors``, not yet started.

    Raises:
        FileNotFoundError: node_exporter is not installed.
    """
    program = find_program(NODE_EXPORTER_PROGRAMS)
    if program is None:
        raise FileNotFoundError(
            "prometheus-node-exporter is not on PATH: `apt-get install prometheus-node-exporter` (or `make prometheus-tools`)"
        )
    port = port or reserve_port()
    command = [
        program,
        f"--web.listen-address=127.0.0.1:{port_number(port)}",
        f"--path.sysfs={sysfs}",
        "--collector.disable-defaults",
        *(f"--collector.{name}" for name in collectors),
    ]
    return ServerProcess(command, port, "/metrics", log)


def benchlib_exporter(
    source: str, log: Path, *, root: Path | None = None, port: int | ReservedPort | None = None, rate_hz: float = 10.0
) -> ServerProcess:
    """``benchlib exporter --power SOURCE`` as a subprocess on loopback (over the tree ``root``), not yet started."""
    port = port or reserve_port()
    command = [sys.executable, "-m", "benchlib.cli", "exporter", "--power", source, "--port", str(port_number(port)), "--rate-hz", f"{rate_hz:g}"]
    if root is not None:
        command += ["--root", str(root)]
    checkout = str(Path(__file__).resolve().parents[2])
    return ServerProcess(command, port, "/metrics", log, env={**os.environ, "PYTHONPATH": checkout})


def prometheus_query(url: str, query: str, **params: Any) -> Any:
    """The ``data`` of one instant query of the Prometheus server at ``url``.

    Raises:
        RuntimeError: The server answered with an error.
    """
    encoded = urllib.parse.urlencode({"query": query, **params})
    with urllib.request.urlopen(f"{url}/api/v1/query?{encoded}", timeout=10) as response:
        body = json.load(response)
    if body.get("status") != "success":
        raise RuntimeError(f"query {query!r} failed: {body}")
    return body["data"]


def wait_for_samples(url: str, selector: str, count: int = 2, timeout_s: float = 30.0) -> None:
    """Wait until the server at ``url`` holds at least ``count`` samples of ``selector`` in the last minute.

    Raises:
        TimeoutError: They did not arrive in time.
    """
    deadline = time.monotonic() + timeout_s
    seen = 0
    while time.monotonic() < deadline:
        result = prometheus_query(url, f"count_over_time({selector}[1m])")["result"]
        seen = max((int(float(r["value"][1])) for r in result), default=0)
        if seen >= count:
            return
        time.sleep(0.25)
    raise TimeoutError(f"Prometheus at {url} has {seen} samples of {selector} after {timeout_s} s (wanted {count})")
