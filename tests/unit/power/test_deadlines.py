"""The deadline loop every background sampler shares."""

import threading
import time

import pytest

from benchlib.power.deadlines import deadlines


@pytest.mark.realtime
def test_ticks_keep_to_absolute_deadlines_and_count_what_an_overrun_skips():
    stop = threading.Event()
    ticks, skipped = [], []
    for missed in deadlines(0.05, stop, first_now=True):
        ticks.append(time.perf_counter())
        skipped.append(missed)
        if len(ticks) == 3:
            time.sleep(0.12)  # overruns two deadlines
        if len(ticks) == 6:
            stop.set()
    assert skipped[3] >= 2 and sum(skipped) == skipped[3]
    assert ticks[1] - ticks[0] < 0.1  # the first tick came at once, the next one period later


def test_setting_stop_ends_the_wait_at_once():
    stop = threading.Event()
    threading.Timer(0.05, stop.set).start()
    started = time.perf_counter()
    assert list(deadlines(30.0, stop)) == []
    assert time.perf_counter() - started < 5.0
