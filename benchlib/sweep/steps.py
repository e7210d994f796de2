"""Load steps against a streaming server: closed-loop concurrency and open-loop Poisson arrivals.

* closed loop ``cN``: N workers, each sending its next request as soon as its
  previous one ends (the article's "concurrency up to 64");
* open loop ``rX``: requests arrive as a Poisson process at X requests per
  second (fixed seed), whether or not earlier ones have finished;
* trace replay ``trace``: requests arrive at the times a recorded trace gives
  (:mod:`benchlib.traces`).

What arrives is a session (:mod:`benchlib.sweep.sessions`): one request, or a
conversation whose turns follow one another. In open loop and trace replay
each request's lateness is recorded (``lateness_s``: how long after its
scheduled time it was sent), so a client that cannot keep up is visible. An
open-loop step with an over-saturation detector
(:mod:`benchlib.sweep.saturation`) stops issuing as soon as the detector finds
the server falling steadily behind.

Each step stops issuing requests once ``step_min_requests`` have been issued
or after ``step_max_s`` seconds, whichever comes first, then waits for the
requests in flight. A failed, timed-out or truncated request is handed on like
any other (and recorded with its error); the step stops early when the server
is gone. When recording a request fails (the run directory cannot be written)
or the step is cancelled, the requests in flight are cancelled — never
recorded — and the error propagates.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from typing import Callable

import numpy as np

from benchlib.errors import ParameterError
from benchlib.runtimes.base import GenerationRequest, TokenTrace
from benchlib.runtimes.http import HttpSettings, client_session, stream_request
from benchlib.sweep.saturation import VERDICT_INTERVAL_S, OverSaturationDetector
from benchlib.sweep.sessions import Session, SingleRequest
from benchlib.workload import Cell

__all__ = ["ABORT_AFTER_CONSECUTIVE_FAILURES", "LoadStep", "StepOutcome", "plan_steps", "run_step"]

ABORT_AFTER_CONSECUTIVE_FAILURES = 5
"""Connection failures in a row (at least the concurrency) after which the server counts as gone."""


@dataclass(frozen=True)
class LoadStep:
    """One step of a load sweep.

    Attributes:
        step_id: ``c4`` (closed loop, 4 streams) or ``r2.5`` (open loop, 2.5 requests/s).
        mode: ``closed`` or ``open``.
        concurrency: Simultaneous streams (closed loop).
        rate_rps: Mean arrival rate, requests per second (open loop).
        min_requests: Requests to issue before stopping.
        max_duration_s: Longest the step issues requests, seconds.
        cell: The grid cell it measures (``None`` without a grid).
        schedule_s: Each session's arrival, seconds after the step starts (a trace's; a rate search step's
            Poisson arrivals drawn in advance); empty: drawn as the step runs.
    """

    step_id: str
    mode: str
    concurrency: int | None
    rate_rps: float | None
    min_requests: int
    max_duration_s: float
    cell: Cell | None = None
    schedule_s: tuple[float, ...] = ()


def plan_steps(concurrency: list[int], rates_rps: list[float], min_requests: int, max_duration_s: float) -> list[LoadStep]:
    """The steps of a sweep: closed-loop concurrencies first, then open-loop rates.

    Raises:
        ParameterError: no step, a concurrency below 1, a rate not above 0, or bad bounds.
    """
    if not concurrency and not rates_rps:
        raise ParameterError("A load sweep needs at least one step: set concurrency (e.g. [1, 2, 4]) or rates_rps.")
    if any(not isinstance(c, int) or isinstance(c, bool) or c < 1 for c in concurrency):
        raise ParameterError(f"concurrency must be a list of integers >= 1, got {concurrency!r}.")
    if any(not isinstance(r, (int, float)) or isinstance(r, bool) or r <= 0 for r in rates_rps):
        raise ParameterError(f"rates_rps must be a list of positive numbers, got {rates_rps!r}.")
    if min_requests < 1 or max_duration_s <= 0:
        raise ParameterError(
            f"step_min_requests must be >= 1 and step_max_s > 0, got {min_requests} and {max_duration_s}."
        )
    steps = [LoadStep(f"c{c}", "closed", c, None, min_requests, max_duration_s) for c in concurrency]
    steps += [LoadStep(f"r{r:g}", "open", None, float(r), min_requests, max_duration_s) for r in rates_rps]
    return steps


@dataclass
class StepOutcome:
    """What a step did.

    Attributes:
        step: The step.
        started_perf_s: When it started issuing, ``perf_counter`` seconds.
        ended_perf_s: When its last request ended.
        issued: Requests issued.
        aborted: Why the step stopped early (the server went away), else ``None``.
        saturated: Why the step stopped issuing early because the server fell
            steadily behind (the detector's sentence), else ``None``.
    """

    step: LoadStep
    started_perf_s: float
    ended_perf_s: float
    issued: int
    aborted: str | None = None
    saturated: str | None = None

    @property
    def duration_s(self) -> float:
        """Step wall time, seconds."""
        return self.ended_perf_s - self.started_perf_s


class _Tracker:
    """Counts completions and consecutive connection failures across workers."""

    def __init__(self, step: LoadStep, on_trace: Callable[[GenerationRequest, TokenTrace], None]) -> None:
        self.step = step
        self.on_trace = on_trace
        self.completed = 0
        self.failures_in_a_row = 0
        self.aborted: str | None = None
        self.limit = max(ABORT_AFTER_CONSECUTIVE_FAILURES, step.concurrency or 1)

    def record(self, request: GenerationRequest, trace: TokenTrace) -> None:
        self.completed += 1
        self.on_trace(request, trace)
        if trace.error_kind in ("connect", "disconnected"):
            self.failures_in_a_row += 1
            if self.failures_in_a_row >= self.limit and self.aborted is None:
                self.aborted = f"{self.failures_in_a_row} requests in a row failed to reach the server: {trace.error}"
        else:
            self.failures_in_a_row = 0


async def _cancel(tasks: list[asyncio.Future]) -> None:
    """Cancel the tasks and wait until they have stopped."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def _all_or_none(tasks: list[asyncio.Future]) -> None:
    """Wait for every task; at the first error (or a cancellation) cancel the others and raise it."""
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        await _cancel(tasks)
        raise


async def run_step(
    settings: HttpSettings,
    step: LoadStep,
    next_session: Callable[[], Session | GenerationRequest],
    on_trace: Callable[[GenerationRequest, TokenTrace], None],
    seed: int = 0,
    detector: OverSaturationDetector | None = None,
) -> StepOutcome:
    """Run one step against the server.

    Args:
        settings: Server settings.
        step: The step.
        next_session: Gives the next session (a conversation, or a request: a session of one) to run.
        on_trace: Called with every finished request (successful or not), at once.
        seed: Seed of the open loop's arrival times.
        detector: Open loop only: judges, at every arrival and completion,
            whether the server falls steadily behind; the step then stops issuing.
    """
    import aiohttp

    tracker = _Tracker(step, on_trace)
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    started = time.perf_counter()
    deadline = started + step.max_duration_s
    issued = 0
    saturated: list[str] = []

    next_verdict_s = [VERDICT_INTERVAL_S]

    def judge() -> None:
        if detector is None or saturated:
            return
        elapsed_s = time.perf_counter() - started
        detector.observe(elapsed_s, issued, tracker.completed)
        if elapsed_s >= next_verdict_s[0]:  # every look is a test: at most one a second
            next_verdict_s[0] = elapsed_s + VERDICT_INTERVAL_S
            verdict = detector.verdict()
            if verdict.saturated:
                saturated.append(verdict.reason or "the server fell steadily behind")

    def may_issue() -> bool:
        return tracker.aborted is None and not saturated and issued < step.min_requests and time.perf_counter() < deadline

    async with client_session(connector=connector) as session:

        failures: list[BaseException] = []  # recording a request failed: issue no more

        async def send(request: GenerationRequest, scheduled_perf_s: float | None) -> TokenTrace:
            nonlocal issued
            issued += 1
            trace = await stream_request(session, settings, request)
            if scheduled_perf_s is not None:
                lateness = {"lateness_s": max(0.0, trace.sent_s - scheduled_perf_s)}
                request = replace(request, row_columns={**request.row_columns, **lateness})
            try:
                tracker.record(request, trace)
            except BaseException as exc:
                failures.append(exc)
                raise
            judge()
            return trace

        async def run_session(user: Session | GenerationRequest, scheduled_perf_s: float | None) -> None:
            if isinstance(user, GenerationRequest):
                user = SingleRequest(user)
            request: GenerationRequest | None = user.first()
            while request is not None:
                trace = await send(request, scheduled_perf_s)
                request, pause_s = user.after(request, trace)
                if request is None or not may_issue():
                    return
                if pause_s > 0:
                    await asyncio.sleep(pause_s)
                scheduled_perf_s = None if scheduled_perf_s is None else time.perf_counter()

        if step.mode == "closed":

            async def worker() -> None:
                while may_issue():
                    await run_session(next_session(), None)

            await _all_or_none([asyncio.ensure_future(worker()) for _ in range(step.concurrency or 1)])
        else:
            tasks: list[asyncio.Future] = []
            try:
                for arrival in _arrivals(step, started, seed):
                    if arrival > deadline or not may_issue() or failures:
                        break
                    delay = arrival - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    if failures or not may_issue():
                        break  # an error is raised below
                    tasks.append(asyncio.create_task(run_session(next_session(), arrival)))
                    await asyncio.sleep(0)  # the session sends its first request (and counts it) now
                    judge()
            except BaseException:
                await _cancel(tasks)
                raise
            await _all_or_none(tasks)
    return StepOutcome(step, started, time.perf_counter(), issued, tracker.aborted, saturated[0] if saturated else None)


def _arrivals(step: LoadStep, started_perf_s: float, seed: int):
    """Arrival times, ``perf_counter`` seconds: the step's own schedule, or a seeded Poisson process."""
    if step.schedule_s:
        yield from (started_perf_s + offset for offset in step.schedule_s)
        return
    rng = np.random.default_rng(seed)
    arrival = started_perf_s
    while True:
        arrival += float(rng.exponential(1.0 / float(step.rate_rps)))
        yield arrival
