"""Ticks at absolute deadlines: the loop of every background sampler (power, exporter, thermal).

Sleeping a fixed period after each read drifts by the read's duration; waiting
for ``start + k * period`` does not. A read that overruns its period skips the
deadlines it missed (counted) instead of firing them in a burst.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

__all__ = ["deadlines"]


def deadlines(period_s: float, stop: threading.Event, *, first_now: bool = False) -> Iterator[int]:
    """Yield at each deadline until ``stop`` is set.

    Args:
        period_s: Seconds between deadlines.
        stop: Set it to end the loop (the wait returns at once).
        first_now: Tick immediately, then every period (default: first tick one period from now).

    Yields:
        How many deadlines were skipped before this one because the previous tick overran.
    """
    next_deadline = time.perf_counter() + (0.0 if first_now else period_s)
    skipped = 0
    while not stop.is_set():
        delay = next_deadline - time.perf_counter()
        if delay > 0 and stop.wait(delay):
            return
        yield skipped
        next_deadline += period_s
        behind = time.perf_counter() - next_deadline
        skipped = int(behind // period_s) + 1 if behind > 0 else 0
        next_deadline += skipped * period_s
