"""Fingerprint of the machine and software a run executed on.

Everything is read from the running system; what cannot be read is recorded
as ``None`` rather than guessed.
"""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchlib.hardware.bandwidth import measure_memory_bandwidth
from benchlib.paths import repo_root

__all__ = ["KEY_PACKAGES", "cpu_governor", "cpu_model", "fingerprint", "git_state", "memory_bandwidth", "os_release"]

KEY_PACKAGES = (
    "benchlib",
    "llama-cpp-python",
    "gguf",
    "numpy",
    "pandas",
    "pyarrow",
    "papermill",
    "matplotlib",
)


def _read(path: str | Path) -> str | None:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return None


def cpu_model(cpuinfo: str | None = None) -> str | None:
    """The CPU's model name from ``/proc/cpuinfo`` (x86 ``model name``, Arm ``Model``/``Hardware``).

    Args:
        cpuinfo: Text of a cpuinfo file; this machine's when ``None``.
    """
    text = cpuinfo if cpuinfo is not None else (_read("/proc/cpuinfo") or "")
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() not in fields:
            fields[key.strip()] = value.strip()
    for key in ("model name", "Model", "Hardware", "cpu model"):
        if fields.get(key):
            return fields[key]
    return platform.processor() or None


def cpu_governor() -> str | None:
    """The cpufreq scaling governor of CPU 0, where the kernel exposes it."""
    return _read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")


def os_release() -> str | None:
    """``PRETTY_NAME`` from ``/etc/os-release``."""
    text = _read("/etc/os-release") or ""
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip().strip('"')
    return None


def git_state(directory: str | Path | None = None) -> dict[str, Any]:
    """The git commit of the benchlib checkout and whether it has uncommitted changes."""
    directory = Path(directory) if directory else repo_root()

    def git(*args: str) -> str | None:
        try:
            result = subprocess.run(
                ["git", "-C", str(directory), *args], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return result.stdout.strip() if result.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if sha else None
    return {"git_sha": sha, "git_dirty": bool(status) if status is not None else None}


def _package_versions() -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in KEY_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def memory_bandwidth() -> dict[str, Any]:
    """This machine's memory bandwidth, measured by a short probe (about 0.5 s; a lower bound of the peak).

    Measured once per process: the sweeps of one process (repeats, a fleet node, a test run) share the
    probe instead of each spending half a second copying memory while nothing else changed.

    Returns:
        ``{gb_s, method, bound, ...}`` (:class:`benchlib.hardware.bandwidth.BandwidthProbe`),
        or ``{"gb_s": None, "error": ...}`` when the probe cannot run (too little memory).
    """
    return dict(_memory_bandwidth_once())


@functools.cache
def _memory_bandwidth_once() -> dict[str, Any]:
    try:
        return measure_memory_bandwidth().to_dict()
    except MemoryError as exc:
        return {"gb_s": None, "error": f"MemoryError: {exc}", "method": "numpy copy probe (could not allocate)"}


def fingerprint(measure_bandwidth: bool = True) -> dict[str, Any]:
    """Describe this machine and its software.

    Args:
        measure_bandwidth: Run the memory-bandwidth probe (about 0.5 s) and
            record it as ``memory_bandwidth``.

    Returns:
        CPU model, logical and physical cores, RAM, OS, kernel, Python and key
        package versions, CPU governor, hostname, the git state of benchlib and
        (unless ``measure_bandwidth`` is False) the measured memory bandwidth.
    """
    import psutil

    return {
        "hostname": socket.gethostname(),
        "cpu_model": cpu_model(),
        "machine": platform.machine(),
        "cpu_cores_logical": os.cpu_count(),
        "cpu_cores_physical": psutil.cpu_count(logical=False),
        "cpu_governor": cpu_governor(),
        "ram_bytes": int(psutil.virtual_memory().total),
        "os": os_release() or platform.platform(),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "packages": _package_versions(),
        **git_state(),
        **({"memory_bandwidth": memory_bandwidth()} if measure_bandwidth else {}),
    }
