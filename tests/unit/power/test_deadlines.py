"""The deadline loop every background sampler shares, on a clock the test moves (no real sleep)."""

import threading

from benchlib.clock import ScriptedClock
from benchlib.power.deadlines import deadlines


class JumpClock:
    """Time for a loop on the test's own thread: a wait jumps to its end at once; work moves it by hand."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def perf_s(self) -> float:
        return self.now_s

    def unix_s(self) -> float:
        return self.now_s

    def wait(self, stop: threading.Event, timeout_s: float) -> bool:
        self.now_s += timeout_s
        return stop.is_set()


def test_ticks_keep_to_absolute_deadlines_and_count_what_an_overrun_skips():
    clock, stop = JumpClock(), threading.Event()
    ticks, skipped = [], []
    for missed in deadlines(0.0625, stop, first_now=True, clock=clock):
        ticks.append(clock.now_s)
        skipped.append(missed)
        if len(ticks) == 3:
            clock.now_s += 0.15  # the work of this tick overruns two deadlines (0.1875, 0.25)
        if len(ticks) == 6:
            stop.set()
    assert ticks == [0.0, 0.0625, 0.125, 0.3125, 0.375, 0.4375]  # absolute deadlines, the missed ones skipped
    assert skipped == [0, 0, 0, 2, 0, 0]


def test_the_first_tick_is_one_period_after_the_origin_unless_first_now():
    clock, stop = JumpClock(), threading.Event()
    clock.now_s = 10.0
    ticks = []
    for _ in deadlines(0.5, stop, clock=clock, origin_s=9.75):
        ticks.append(clock.now_s)
        if len(ticks) == 2:
            stop.set()
    assert ticks == [10.25, 10.75]


def test_setting_stop_ends_the_wait_of_a_thread():
    clock, stop, ticks = ScriptedClock(), threading.Event(), []
    loop = threading.Thread(target=lambda: ticks.extend(deadlines(30.0, stop, clock=clock)))
    loop.start()
    clock.advance(0.0)  # the loop now waits for its first deadline, 30 s ahead
    stop.set()
    loop.join(timeout=60)  # a guard: the wait notices stop within its next look
    assert not loop.is_alive() and ticks == []
