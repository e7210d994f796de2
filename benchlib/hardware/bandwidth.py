"""A short probe of this machine's memory bandwidth (numpy copies, about half a second).

Method: copy a ``size_mb`` float64 array (far larger than any CPU cache) into a
second one with :func:`numpy.copyto`, first on one thread, then split across
``threads`` threads (numpy releases the GIL while it copies); each
configuration is repeated ``repeats`` times after one untimed warm-up copy that
faults the pages in. The fastest copy of all counts ``2 x size`` bytes (one read,
one write) over its wall time.

The result is a **lower bound of the peak** bandwidth: a copy also reads each
destination line before writing it (write-allocate, traffic this count leaves
out), numpy's copy is not a tuned streaming kernel, and other processes share
the memory bus. A decode rate above ``probe / bytes per token`` is therefore
not by itself proof of a bad measurement; a rate far above it is.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

__all__ = ["BandwidthProbe", "METHOD", "measure_memory_bandwidth"]

METHOD = "numpy copyto of a large float64 array, 1 and N threads, best of repeats; bytes = read + write"


@dataclass(frozen=True)
class BandwidthProbe:
    """One measurement of memory bandwidth.

    Attributes:
        gb_s: Best copy bandwidth, GB/s (1e9 bytes/s), read + write bytes counted.
        method: How it was measured (see the module docstring).
        bound: ``lower bound of peak``: the probe never overstates bandwidth.
        array_mb: Size of each of the two arrays, MB (1e6 bytes).
        threads: Thread counts tried.
        repeats: Timed copies per thread count.
        best_threads: Thread count of the fastest copy.
        duration_s: Wall time of the whole probe, s.
    """

    gb_s: float
    method: str
    bound: str
    array_mb: float
    threads: tuple[int, ...]
    repeats: int
    best_threads: int
    duration_s: float

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary for ``run.json`` (``machine.memory_bandwidth``)."""
        values = asdict(self)
        values["threads"] = list(self.threads)
        return values


def _timed_copy(pool: ThreadPoolExecutor | None, dst: np.ndarray, src: np.ndarray, bounds: list[tuple[int, int]]) -> float:
    start = time.perf_counter()
    if pool is None:
        np.copyto(dst, src)
    else:
        list(pool.map(lambda b: np.copyto(dst[b[0] : b[1]], src[b[0] : b[1]]), bounds))
    return time.perf_counter() - start


def measure_memory_bandwidth(size_mb: float = 128.0, repeats: int = 5, threads: int | None = None) -> BandwidthProbe:
    """Measure this machine's memory bandwidth with large array copies.

    Args:
        size_mb: Size of each array, MB; keep it well above the last-level cache.
        repeats: Timed copies per thread count (the best counts).
        threads: Threads of the parallel pass; all logical CPUs (at most 8) when ``None``.

    Returns:
        The :class:`BandwidthProbe` (a lower bound of the peak bandwidth).

    Raises:
        ValueError: ``size_mb`` or ``repeats`` is not positive.
    """
    if size_mb <= 0 or repeats < 1:
        raise ValueError(f"size_mb must be > 0 and repeats >= 1 (got {size_mb}, {repeats}).")
    started = time.perf_counter()
    parallel = threads if threads is not None else min(os.cpu_count() or 1, 8)
    counts = (1,) if parallel <= 1 else (1, parallel)
    elements = int(size_mb * 1e6) // 8
    src = np.ones(elements, dtype=np.float64)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # untimed: faults the destination pages in
    best_s, best_threads = float("inf"), 1
    for count in counts:
        edges = np.linspace(0, elements, count + 1).astype(int)
        bounds = [(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:], strict=True)]
        pool = ThreadPoolExecutor(count) if count > 1 else None
        try:
            for _ in range(repeats):
                seconds = _timed_copy(pool, dst, src, bounds)
                if seconds < best_s:
                    best_s, best_threads = seconds, count
        finally:
            if pool is not None:
                pool.shutdown()
    bytes_moved = 2 * elements * 8
    return BandwidthProbe(
        gb_s=bytes_moved / best_s / 1e9,
        method=METHOD,
        bound="lower bound of peak",
        array_mb=elements * 8 / 1e6,
        threads=counts,
        repeats=repeats,
        best_threads=best_threads,
        duration_s=time.perf_counter() - started,
    )
