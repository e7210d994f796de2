"""``load: sweep``: find the highest Poisson rate at which the server still meets the targets.

After the planned steps (by default one closed-loop stream, ``c1``: the
single-stream latency sets the first rate, :func:`~benchlib.sweep.rate_search.start_rate_rps`),
open-loop steps follow at rates chosen by :class:`~benchlib.sweep.rate_search.RateSearch`:
doubling until a step fails, then bisecting between the highest passing and
the lowest failing rate until they are ``sweep_tolerance`` apart.

Each step issues requests for ``sweep_step_s`` seconds (``rate x
sweep_step_s`` requests, at least ``step_min_requests``, never longer than
``step_max_s``): a server that falls behind needs time to show it, and a step
of a fixed number of requests gets shorter as the rate rises. Its arrivals are
a Poisson process conditioned on that count (sorted uniform times,
:func:`poisson_schedule`), so the step offers exactly the rate it is judged at.

A step **passes** when at least ``slo_attainment`` of the requests it issued
(failed ones count as misses) met every target, and the over-saturation
detector (:mod:`benchlib.sweep.saturation`) did not stop it: a step whose
queue grows steadily stops issuing at once, and fails. The search stops when
``max_duration_s`` (counted from the first step) would be passed by another
step of at most ``step_max_s``. The result, ``summary.rate_search``, is the
highest sustainable rate with its bracket: the threshold lies between the
highest passing and the lowest failing rate tried.

A resumed sweep replays the recorded steps into the search (the same results
give the same next rate) and goes on from there.
"""

from __future__ import annotations

import math
import time

import numpy as np
from scipy.stats import binomtest
from typing import Any, Protocol

from benchlib.records import StepStatus
from benchlib.stats import DEFAULT_CONFIDENCE
from benchlib.sweep.rate_search import RateSearch, SearchOutcome, StepResult, start_rate_rps, time_budget_spent
from benchlib.sweep.saturation import OverSaturationDetector
from benchlib.sweep.steps import LoadStep

from benchlib.sweep.driver import RunningAttempt


class StepRunner(Protocol):
    """What the search needs of the load-steps driver (:class:`~benchlib.sweep.load_steps.LoadStepsDriver`)."""

    config: Any
    steps: list[LoadStep]

    def run_one(self, step: LoadStep, attempt: RunningAttempt, window: list[float],
                detector: OverSaturationDetector | None = None) -> dict[str, Any]:
        """Run one step and record it; its summary."""


__all__ = [
    "MAX_SEARCH_STEPS", "StepRunner", "judge_step", "planned_search_requests", "poisson_schedule",
    "requests_to_resolve", "search_rates",
]

MAX_SEARCH_STEPS = 12
"""Most open-loop steps one rate search runs."""


def planned_search_requests(load: Any) -> int:
    """Requests a rate search may issue at most (for the progress bar; 0 without ``load: sweep``)."""
    return MAX_SEARCH_STEPS * int(load.step_min_requests) if load.load == "sweep" else 0


def poisson_schedule(rate_rps: float, load: Any, seed: int) -> tuple[float, ...]:
    """A search step's arrivals: ``n = rate x sweep_step_s`` of them (at least ``step_min_requests``, at most what
    ``step_max_s`` holds), placed as a Poisson process with exactly n arrivals in ``n / rate`` seconds is:
    sorted uniform times. So each step offers exactly its rate, not its rate give or take the count's
    ``1 / sqrt(n)``; each rate has its own seed, so no two steps share their randomness.
    """
    count = max(int(load.step_min_requests), math.ceil(rate_rps * float(load.sweep_step_s)))
    count = max(1, min(count, math.floor(rate_rps * float(load.step_max_s))))
    rng = np.random.default_rng([seed, round(rate_rps * 1e6)])
    return tuple(float(t) for t in np.sort(rng.uniform(0.0, count / rate_rps, count)))


def requests_to_resolve(attainment: float) -> int:
    """Requests a step needs before its attainment can tell ``attainment`` from 1 (three misses expected at it)."""
    return math.ceil(3 / (1 - attainment))


def judge_step(rate_rps: float, summary: dict[str, Any], attainment: float) -> StepResult:
    """Whether one open-loop step met the targets: the share of issued requests within every target, and saturation.

    The share, its 95% Wilson interval and whether the step had enough requests to resolve the attainment
    (:func:`requests_to_resolve`) are added to ``summary`` as ``slo_attainment``.
    """
    issued = int(summary.get("issued") or 0)
    meeting = int(summary.get("requests_meeting_slo") or 0)
    share = meeting / issued if issued else 0.0
    saturated = summary.get("saturated")
    reason = saturated or (
        None if share >= attainment else f"{share:.1%} of the {issued} requests met every target, below {attainment:.1%}"
    )
    achieved = summary.get("request_rate_rps")
    if issued:
        interval = binomtest(meeting, issued).proportion_ci(DEFAULT_CONFIDENCE, method="wilson")
        summary["slo_attainment"] = {"share": share, "ci": [float(interval.low), float(interval.high)],
                                     "requests": issued, "resolvable": issued >= requests_to_resolve(attainment)}  # fmt: skip
    return StepResult(
        rate_rps=rate_rps,
        meets_targets=share >= attainment,
        saturated=saturated is not None,
        achieved_rps=float(achieved) if achieved is not None else float("nan"),
        reason=reason,
    )


def _probe_e2e_s(driver: StepRunner, steps_meta: dict[str, Any]) -> float:
    """Median end-to-end latency of the first planned step (one stream by default)."""
    summary = steps_meta[driver.steps[0].step_id]["summary"]
    return float((summary.get("e2e_s") or {}).get("median") or float("nan"))


def search_rates(driver: StepRunner, attempt: RunningAttempt, window: list[float]) -> SearchOutcome:
    """Run the rate search after the planned steps; record it in ``run.json`` as it goes.

    Returns:
        What the search found (also in ``meta["rate_search"]``).
    """
    load = driver.config.load
    meta = attempt.meta
    steps_meta = meta["steps"]
    search = RateSearch(start_rate_rps(_probe_e2e_s(driver, steps_meta)), tolerance=float(load.sweep_tolerance),
                        max_steps=MAX_SEARCH_STEPS)  # fmt: skip
    recorded = sorted(
        (record for record in steps_meta.values() if (record.get("summary") or {}).get("search_phase")),
        key=lambda record: record.get("started_unix_s") or 0.0,
    )
    first_started = min((r.get("started_unix_s") or 0.0 for r in steps_meta.values()), default=0.0)
    for record in recorded:  # a resumed sweep: the same results lead to the same rates
        planned = search.next_step()
        rate = (record.get("summary") or {}).get("rate_rps")
        if planned is None or record.get("status") != StepStatus.COMPLETE or rate != planned.rate_rps:
            break
        search.record(judge_step(rate, record["summary"], float(load.slo_attainment)))
    budget_end_perf_s = first_started - attempt.unix_minus_perf_s + float(load.max_duration_s)
    stopped_because = None
    while (planned := search.next_step()) is not None:
        if time.perf_counter() + float(load.step_max_s) > budget_end_perf_s:
            stopped_because = time_budget_spent(float(load.max_duration_s))
            break
        schedule = poisson_schedule(planned.rate_rps, load, driver.config.run.seed)
        step = LoadStep(f"r{planned.rate_rps:g}", "open", None, planned.rate_rps, len(schedule), float(load.step_max_s),
                        schedule_s=schedule)  # fmt: skip
        summary = driver.run_one(step, attempt, window, OverSaturationDetector(planned.rate_rps))
        summary["search_phase"] = planned.phase
        search.record(judge_step(planned.rate_rps, summary, float(load.slo_attainment)))
        meta["rate_search"] = _record(search.outcome(), load, steps_meta)
        attempt.store.write_record(meta)
    outcome = search.outcome(stopped_because)
    meta["rate_search"] = _record(outcome, load, steps_meta)
    attempt.store.write_record(meta)
    return outcome


def _record(outcome: SearchOutcome, load: Any, steps_meta: dict[str, Any]) -> dict[str, Any]:
    """The search as ``run.json`` keeps it: the outcome, the rule each step was judged by, and whether the
    steps were long enough to judge it."""
    targets = {name: value for name, value in load.slo.items() if value}
    needed = requests_to_resolve(float(load.slo_attainment))
    judged = [r["summary"].get("slo_attainment") or {} for r in steps_meta.values()
              if (r.get("summary") or {}).get("search_phase")]  # fmt: skip
    short = [a["requests"] for a in judged if a and not a.get("resolvable")]
    note = (f"{len(short)} of {len(judged)} steps issued fewer than {needed} requests (as few as {min(short)}): at "
            f"{float(load.slo_attainment):.0%} attainment such a step fails on its first misses and passes without "
            f"showing the share; raise step_min_requests or sweep_step_s to judge the targets with confidence"
            if short else None)  # fmt: skip
    return {
        **outcome.to_record(),
        "requests_to_resolve_attainment": needed,
        "note": note,
        "targets_s": targets,
        "slo_attainment": float(load.slo_attainment),
        "rule": (f"a step passes when at least {float(load.slo_attainment):.0%} of its requests meet every target "
                 f"({', '.join(f'{k} <= {v:g}' for k, v in targets.items())}) and the server is not over-saturated"),
    }  # fmt: skip
