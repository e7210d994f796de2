"""Shared fixtures: paths of the checkout, a private model-metadata cache, a held loopback port, and small tmpfs disks."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from benchlib.testing.local_servers import reserve_port

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    """Under pytest-xdist, pin each worker (and every process it starts) to a core of its own.

    llama.cpp's threads wait for each other at spinning barriers: two workers each decoding with one thread
    per core put more runnable threads than cores on the machine, and a thread descheduled at a barrier
    stalls the others for a whole time slice. The whole suite with ``-n 2`` unpinned took 21 minutes, slower
    than one process, and a 20 s sweep timed out at 300 s. Pinned, each worker is a one-core machine:
    ``threads: 0`` resolves to one thread there (:func:`benchlib.runtimes.local_settings.default_threads`).
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")  # gw0, gw1 ...
    if not worker.startswith("gw") or not hasattr(os, "sched_setaffinity"):
        return
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep the GGUF metadata cache of one test session away from the user's."""
    if "BENCHLIB_CACHE_DIR" not in os.environ:
        monkeypatch.setenv("BENCHLIB_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "benchlib-cache"))


@pytest.fixture
def root() -> Path:
    """The benchlib checkout."""
    return ROOT


@pytest.fixture
def reserved_port() -> int:
    """A loopback port held for the whole test (bound, not listening): no other process is handed it, nothing
    listens on it unless the test starts a server there (with SO_REUSEADDR, as every server used here binds)."""
    with reserve_port() as reserved:
        yield reserved.port


def _mounted_tmpfs(folder: Path, options: str):
    """Mount a tmpfs with ``options`` on ``folder`` for one test (root only; skipped where it cannot be mounted)."""
    folder.mkdir()
    if os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 2 MB tmpfs, to fill: a disk that runs out of space."""
    yield from _mounted_tmpfs(tmp_path / "disk", "size=2m")


@pytest.fixture
def read_only_disk(tmp_path):
    """A read-only 1 MB tmpfs."""
    yield from _mounted_tmpfs(tmp_path / "ro", "ro,size=1m")
