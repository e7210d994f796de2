"""The clock the background samplers read and wait on: the real one, or a scripted one in tests.

Samplers (power, thermal, the Prometheus exporter) take samples at absolute
deadlines (:mod:`benchlib.power.deadlines`) and stamp them with two times:
``perf_s`` (monotonic, what windows are integrated on) and ``unix_s`` (wall
clock, to align with other machines). They read both, and wait between
deadlines, through a :class:`Clock`. :data:`REAL_CLOCK` is the machine's;
:class:`ScriptedClock` is time a test moves by hand, so that a test of a
sampler asserts exact sample counts and energies with no real sleep.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["REAL_CLOCK", "Clock", "RealClock", "ScriptedClock"]


class Clock(Protocol):
    """What a sampler reads the time from and waits on."""

    def perf_s(self) -> float:
        """Monotonic seconds (``time.perf_counter`` on the real clock)."""
        ...

    def unix_s(self) -> float:
        """Wall-clock seconds since the epoch (``time.time`` on the real clock)."""
        ...

    def wait(self, stop: threading.Event, timeout_s: float) -> bool:
        """Wait ``timeout_s`` seconds or until ``stop`` is set; return whether it is set."""
        ...


class RealClock:
    """The machine's clocks; waits are real."""

    def perf_s(self) -> float:
        """``time.perf_counter()``."""
        return time.perf_counter()

    def unix_s(self) -> float:
        """``time.time()``."""
        return time.time()

    def wait(self, stop: threading.Event, timeout_s: float) -> bool:
        """``stop.wait(timeout_s)``."""
        return stop.wait(timeout_s)


REAL_CLOCK = RealClock()


class ScriptedClock:
    """Time that moves only when a test calls :meth:`advance`, for samplers on their own threads.

    A sampler thread that waits on this clock stays blocked until the test
    moves time past its deadline. :meth:`advance` first waits until ``threads``
    threads wait on the clock (so a sampler that has just started has fixed its
    first deadline), then moves time from one deadline a thread waits for to
    the next, letting each thread take its tick, as real time would pass; it
    returns once every thread waits again for a time still ahead, or has ended:
    the test sees exactly the samples of the time it moved through.

    Args:
        threads: How many sampler threads will wait on this clock.
        start_perf_s: ``perf_s`` at the start.
        unix_offset_s: ``unix_s - perf_s``.
        settle_timeout_s: Real seconds :meth:`advance` waits for the threads to
            settle before it gives up (a guard against a hung test, never reached
            when the threads run).
    """

    def __init__(self, threads: int = 1, start_perf_s: float = 1000.0, unix_offset_s: float = 1.7e9,
                 settle_timeout_s: float = 30.0):  # fmt: skip
        self._threads = threads
        self._now_s = float(start_perf_s)
        self._unix_offset_s = float(unix_offset_s)
        self._settle_timeout_s = settle_timeout_s
        self._cond = threading.Condition()
        self._waiting: dict[threading.Thread, float] = {}
        self._seen: set[threading.Thread] = set()

    def perf_s(self) -> float:
        """The scripted monotonic time."""
        with self._cond:
            return self._now_s

    def unix_s(self) -> float:
        """The scripted wall-clock time (``perf_s`` + the offset)."""
        with self._cond:
            return self._now_s + self._unix_offset_s

    def wait(self, stop: threading.Event, timeout_s: float) -> bool:
        """Block until the scripted time reaches now + ``timeout_s``, or ``stop`` is set."""
        me = threading.current_thread()
        with self._cond:
            target = self._now_s + timeout_s
            self._seen.add(me)
            self._waiting[me] = target
            self._cond.notify_all()
            while self._now_s < target and not stop.is_set():
                self._cond.wait(0.01)  # setting ``stop`` does not notify: look again soon
            del self._waiting[me]
            return stop.is_set()

    def advance(self, seconds: float, settle: bool = True) -> None:
        """Move time forward by ``seconds``, and return once every sampler thread has taken the ticks now due.

        Args:
            seconds: How far.
            settle: Wait for the threads; ``False`` returns at once (a test of a
                sensor that hangs: its thread does not come back).

        Raises:
            TimeoutError: the threads did not settle within ``settle_timeout_s`` real seconds.
        """
        end_s = self.perf_s() + seconds
        while True:
            self._settle()
            with self._cond:  # time runs on to the next deadline a thread waits for, as real time would
                ahead = [t for t in self._waiting.values() if t > self._now_s]
                self._now_s = min([*ahead, end_s])
                self._cond.notify_all()
                if self._now_s >= end_s:
                    break
        if settle:
            self._settle()

    def _settle(self) -> None:
        deadline = time.monotonic() + self._settle_timeout_s
        with self._cond:
            while not self._settled():
                if time.monotonic() > deadline:
                    raise TimeoutError(f"threads waiting on the scripted clock did not settle within "
                                       f"{self._settle_timeout_s} s")  # fmt: skip
                self._cond.wait(0.01)  # a thread that ends does not notify: look again soon

    def _settled(self) -> bool:
        """``threads`` threads have waited on the clock, and each that is alive waits for a time still ahead."""
        if len(self._seen) < self._threads:
            return False
        return all(self._waiting.get(t, -1.0) > self._now_s for t in self._seen if t.is_alive())
