"""The adaptive plan of ``load: sweep``: which open-loop rate to try next, and what the steps found.

Pure logic, no I/O: the sweep runs each planned step (an open-loop ``rX``
step), judges it (its SLO targets, :func:`benchlib.metrics.steps.meets_slo`,
and :mod:`benchlib.sweep.saturation`) and hands the result back.

* **ramp**: the first step runs at the start rate (:func:`start_rate_rps`:
  half of what one stream sustains); while steps pass the rate grows by
  ``growth`` (×2: 2.5, 5, 10, 20 ...), capped at ``max_rate_rps``. If the very
  first step fails, the rate halves instead until a step passes.
* **bisect**: once a passing and a failing rate bracket the threshold, the next
  rate is their geometric mean, until ``(lowest failing - highest passing) /
  highest passing <= tolerance``. The geometric mean, not the midpoint: the
  stop is a relative width, and the geometric mean halves the bracket's
  log-ratio at every step whichever side the step falls, so a ×2 bracket
  always narrows to 10% in 3 steps (the midpoint needs 4 when the steps fail),
  and the plan does not depend on the unit of the rate, like the ramp.
  Bisected rates are rounded to three significant figures (step ``r14.1``,
  not ``r14.1421``) when that keeps them inside the bracket.

A step fails when it misses the targets or over-saturates the server. The
search also stops after ``max_steps`` steps, reporting the bracket so far.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from benchlib.errors import ParameterError

__all__ = ["RateSearch", "SearchOutcome", "SearchStep", "StepResult", "start_rate_rps", "time_budget_spent"]


def start_rate_rps(single_stream_e2e_s: float) -> float:
    """The ramp's first rate: what one stream sustains (1 / its end-to-end latency), halved.

    Args:
        single_stream_e2e_s: End-to-end latency of a request on its own, seconds.

    Raises:
        ParameterError: a latency that is not a positive number.
    """
    if not single_stream_e2e_s > 0 or not math.isfinite(single_stream_e2e_s):
        raise ParameterError(
            f"The single-stream latency must be a positive number of seconds, got {single_stream_e2e_s!r}."
        )
    return 0.5 / single_stream_e2e_s


def time_budget_spent(budget_s: float) -> str:
    """The ``stopped_because`` of a search the sweep stopped for time."""
    return f"time budget of {budget_s:g} s spent"


@dataclass(frozen=True)
class SearchStep:
    """A step the search asks for.

    Attributes:
        rate_rps: Offered rate, requests per second.
        phase: ``ramp`` (growing, or halving from a failing start) or ``bisect``.
    """

    rate_rps: float
    phase: str


@dataclass(frozen=True)
class StepResult:
    """How a step went.

    Attributes:
        rate_rps: Offered rate, requests per second.
        meets_targets: Whether the step met its SLO targets.
        saturated: Whether the server fell behind (:mod:`benchlib.sweep.saturation`).
        achieved_rps: Completed requests per second.
        reason: Why it failed, one sentence, or ``None``.
    """

    rate_rps: float
    meets_targets: bool
    saturated: bool
    achieved_rps: float
    reason: str | None

    @property
    def passed(self) -> bool:
        """Met the targets without saturating the server."""
        return self.meets_targets and not self.saturated


@dataclass(frozen=True)
class SearchOutcome:
    """What the search found.

    Attributes:
        sustainable_rate_rps: Highest rate that met the targets, or ``None``.
        interval_rps: (highest passing, lowest failing) rate: the threshold lies
            between; ``None`` unless a step passed and a higher one failed.
        steps: The results, in the order run.
        stopped_because: Why the search ended, for the user.
    """

    sustainable_rate_rps: float | None
    interval_rps: tuple[float, float] | None
    steps: tuple[StepResult, ...]
    stopped_because: str

    def to_record(self) -> dict[str, Any]:
        """A JSON-able dict (NaN becomes ``None``) for ``run.json``."""
        return {
            "sustainable_rate_rps": self.sustainable_rate_rps,
            "interval_rps": list(self.interval_rps) if self.interval_rps else None,
            "steps": [{k: _finite_or_none(v) for k, v in asdict(step).items()} for step in self.steps],
            "stopped_because": self.stopped_because,
        }


def _finite_or_none(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


class RateSearch:
    """Plans the rates of an adaptive sweep: ramp up geometrically, then bisect the threshold.

    Call :meth:`next_step`, run it, :meth:`record` its result; repeat until
    :meth:`next_step` returns ``None``, then read :meth:`outcome`.

    Args:
        start_rate_rps: The first rate, requests per second.
        growth: Factor between ramp steps (> 1).
        tolerance: Relative width of the bracket at which bisection stops.
        max_steps: Most steps the search runs.
        max_rate_rps: Highest rate the ramp tries, or ``None`` for no cap.

    Raises:
        ParameterError: a parameter out of range.
    """

    def __init__(self, start_rate_rps: float, *, growth: float = 2.0, tolerance: float = 0.1, max_steps: int = 12,
                 max_rate_rps: float | None = None) -> None:  # fmt: skip
        if not start_rate_rps > 0 or not math.isfinite(start_rate_rps):
            raise ParameterError(f"The start rate must be a positive number of requests/s, got {start_rate_rps!r}.")
        if not growth > 1 or not tolerance > 0 or max_steps < 1:
            raise ParameterError(
                f"growth must be > 1, tolerance > 0 and max_steps >= 1, got {growth}, {tolerance}, {max_steps}."
            )
        if max_rate_rps is not None and not max_rate_rps > 0:
            raise ParameterError(f"max_rate_rps must be a positive number of requests/s, got {max_rate_rps!r}.")
        self.start_rate_rps = min(float(start_rate_rps), max_rate_rps or math.inf)
        self.growth = growth
        self.tolerance = tolerance
        self.max_steps = max_steps
        self.max_rate_rps = max_rate_rps
        self._results: list[StepResult] = []

    @property
    def highest_passing_rps(self) -> float | None:
        """The highest rate that passed so far."""
        return max((r.rate_rps for r in self._results if r.passed), default=None)

    @property
    def lowest_failing_rps(self) -> float | None:
        """The lowest rate that failed so far."""
        return min((r.rate_rps for r in self._results if not r.passed), default=None)

    def next_step(self) -> SearchStep | None:
        """The step to run next (the same until its result is recorded), or ``None`` when done."""
        if self._done_because() is not None:
            return None
        passing, failing = self.highest_passing_rps, self.lowest_failing_rps
        if passing is None and failing is None:
            return SearchStep(self.start_rate_rps, "ramp")
        if failing is None:
            return SearchStep(min(passing * self.growth, self.max_rate_rps or math.inf), "ramp")
        if passing is None:
            return SearchStep(failing / 2, "ramp")
        return SearchStep(_bisect(passing, failing), "bisect")

    def record(self, result: StepResult) -> None:
        """Record the result of the step :meth:`next_step` asked for.

        Raises:
            ParameterError: the search is done, or the result is of another rate.
        """
        step = self.next_step()
        if step is None or not math.isclose(result.rate_rps, step.rate_rps, rel_tol=1e-9):
            expected = "no step (the search is done)" if step is None else f"{step.rate_rps:g} req/s"
            raise ParameterError(f"The search expected a result for {expected}, got one for {result.rate_rps:g} req/s.")
        self._results.append(result)

    def outcome(self, stopped_because: str | None = None) -> SearchOutcome:
        """What the search found so far.

        Args:
            stopped_because: Why the caller stopped it (e.g. :func:`time_budget_spent`);
                ``None`` for the search's own reason.
        """
        passing, failing = self.highest_passing_rps, self.lowest_failing_rps
        interval = (passing, failing) if passing is not None and failing is not None and failing > passing else None
        reason = stopped_because or self._done_because() or f"stopped after {len(self._results)} steps"
        return SearchOutcome(passing, interval, tuple(self._results), reason)

    def _done_because(self) -> str | None:
        """Why the search is over, or ``None`` while it goes on."""
        passing, failing = self.highest_passing_rps, self.lowest_failing_rps
        if passing is not None and failing is not None and (failing - passing) / passing <= self.tolerance:
            return f"bracket narrower than {self.tolerance:.0%}"
        if passing is not None and failing is None and self.max_rate_rps is not None and passing >= self.max_rate_rps:
            return f"the highest rate tried ({passing:g} req/s) still met the targets"
        if len(self._results) < self.max_steps:
            return None
        if passing is None:
            return "no rate met the targets"
        if failing is None:
            return f"the highest rate tried ({passing:g} req/s) still met the targets"
        return (f"the step limit ({self.max_steps}) was reached: the threshold lies between {passing:g} and "
                f"{failing:g} req/s")  # fmt: skip


def _bisect(passing_rps: float, failing_rps: float) -> float:
    """The geometric mean of the bracket, to three significant figures when that stays strictly inside it."""
    middle = math.sqrt(passing_rps * failing_rps)
    rounded = float(f"{middle:.3g}")
    return rounded if passing_rps < rounded < failing_rps else middle
