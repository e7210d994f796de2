"""Ticks at absolute deadlines: the loop of every background sampler (power, exporter, thermal).

Sleeping a fixed period after each read drifts by the read's duration; waiting
for ``start + k * period`` does not. A read that overruns its period skips the
deadlines it missed (counted) instead of firing them in a burst.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from benchlib.clock import REAL_CLOCK, Clock

__all__ = ["deadlines"]


def deadlines(period_s: float, stop: threading.Event, *, first_now: bool = False, clock: Clock = REAL_CLOCK,
              origin_s: float | None = None) -> Iterator[int]:  # fmt: skip
    """Yield at each deadline until ``stop`` is set.

    Args:
        period_s: Seconds between deadlines.
        stop: Set it to end the loop (the wait returns at once).
        first_now: Tick at the origin, then every period (default: first tick one period after it).
        clock: Where the time is read and waited on (:class:`~benchlib.clock.ScriptedClock` in tests).
        origin_s: The schedule's origin, ``clock.perf_s()`` seconds (default: now, when the loop starts).

    Yields:
        How many deadlines were skipped before this one because the previous tick overran.
    """
    origin_s = clock.perf_s() if origin_s is None else origin_s
    next_deadline = origin_s + (0.0 if first_now else period_s)
    skipped = 0
    while not stop.is_set():
        delay = next_deadline - clock.perf_s()
        if delay > 0 and clock.wait(stop, delay):
            return
        yield skipped
        next_deadline += period_s
        behind = clock.perf_s() - next_deadline
        skipped = int(behind // period_s) + 1 if behind > 0 else 0
        next_deadline += skipped * period_s
