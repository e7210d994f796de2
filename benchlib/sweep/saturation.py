"""Is the server falling behind an open-loop step? An over-saturation detector fed while the step runs.

An open-loop step (``rX``) offers X requests per second whatever the server
does. A server that keeps up holds a steady number of requests in flight
(about the rate times the latency); one that cannot keep up queues the excess,
and the queue grows for as long as the step lasts. The detector is told, at
each arrival and each completion, how many requests have been issued and
completed so far, and judges:

    **The rule.** The step is judged over its window, the second half of the
    time elapsed so far (the first half holds the fill-up of an empty server,
    where requests in flight rise from 0 to rate × latency by design). It is
    judged once the step has run ``min_elapsed_s`` seconds, the window holds
    ``min_observations`` observations and a request has completed before the
    window began (until then the latency alone makes requests pile up). The
    server is **saturated** when EITHER the number of requests in flight grows
    steadily over the window — a least-squares line through (elapsed seconds,
    requests in flight) has a positive slope with a one-sided p-value below
    ``slope_p_value`` and the line rises by at least ``min_growth_requests``
    over the window — OR the server completed fewer than ``min_rate_ratio`` ×
    the offered rate over the window while requests stayed queued (never fewer
    than one in flight), and so far short that a server keeping up (whose
    completions are a Poisson stream at the offered rate) would fall that
    short with a probability below ``slope_p_value``.

    The slope's p-value allows for the counts' autocorrelation: requests in
    flight are counted at every event, many times per request latency, and
    neighbouring counts share most of their requests, so the observations
    count as ``n (1 - r1) / (1 + r1)`` independent ones, ``r1`` being the lag-1
    autocorrelation of the line's residuals. Without that, the fluctuations of
    an unsaturated server with many requests in flight pass for a trend.

The verdict's reason is a sentence for the user, e.g. "requests in flight grew
by 0.9/s (p=1e-06) over 6.0 s: the server falls further behind the offered
8 req/s", or "the server completed 5 req/s over the last 6.0 s (p=0.004), 62%
of the offered 8 req/s, with requests queued throughout: it cannot keep up".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchlib.errors import ParameterError

__all__ = ["VERDICT_INTERVAL_S", "OverSaturationDetector", "SaturationVerdict"]

VERDICT_INTERVAL_S = 1.0
"""A running step asks for a verdict at most this often. Every look is a test: at one look per second and
p < 0.001 a step of ten seconds calls a server that keeps up saturated about 1% of the time, where a look at
every arrival and completion (hundreds per step) at p < 0.01 called most near-capacity steps saturated."""


@dataclass(frozen=True)
class SaturationVerdict:
    """What the detector concludes.

    Attributes:
        saturated: Whether the server falls behind the offered rate.
        reason: Why it is saturated, or why the step is not judged yet, in one
            sentence; ``None`` when judged and not saturated.
        in_flight_slope_per_s: Slope of requests in flight over the window,
            requests per second; ``None`` when not judged.
        achieved_over_offered: Completion rate over the window / offered rate;
            ``None`` when not judged.
    """

    saturated: bool
    reason: str | None
    in_flight_slope_per_s: float | None
    achieved_over_offered: float | None


@dataclass(frozen=True)
class _Window:
    """The observations the verdict is judged on, and the state just before them."""

    elapsed_s: np.ndarray
    in_flight: np.ndarray
    completed: np.ndarray
    start_s: float
    start_in_flight: int
    start_completed: int

    @property
    def span_s(self) -> float:
        """Seconds from the window's start to its last observation."""
        return float(self.elapsed_s[-1]) - self.start_s


class OverSaturationDetector:
    """Judges, from arrivals and completions, whether an open-loop step over-saturates the server.

    Args:
        offered_rate_rps: The step's offered (mean arrival) rate, requests per second.
        min_observations: Observations the window needs before it is judged.
        min_elapsed_s: Seconds the step must have run before it is judged.
        slope_p_value: One-sided p-value below which the growth of requests in flight counts.
        min_growth_requests: Requests in flight the fitted line must rise by over the window.
        min_rate_ratio: Completion rate / offered rate below which a queued server is saturated.

    Raises:
        ParameterError: a rate, bound or ratio out of range.
    """

    def __init__(self, offered_rate_rps: float, *, min_observations: int = 20, min_elapsed_s: float = 3.0,
                 slope_p_value: float = 0.001, min_growth_requests: float = 4.0,
                 min_rate_ratio: float = 0.8) -> None:  # fmt: skip
        if not offered_rate_rps > 0 or not math.isfinite(offered_rate_rps):
            raise ParameterError(f"The offered rate must be a positive number of requests/s, got {offered_rate_rps!r}.")
        if min_observations < 3 or min_elapsed_s < 0 or not 0 < slope_p_value < 1 or not 0 < min_rate_ratio <= 1:
            raise ParameterError(
                "Saturation detector: min_observations must be >= 3, min_elapsed_s >= 0, slope_p_value in (0, 1) "
                f"and min_rate_ratio in (0, 1], got {min_observations}, {min_elapsed_s}, {slope_p_value}, "
                f"{min_rate_ratio}."
            )
        self.offered_rate_rps = float(offered_rate_rps)
        self.min_observations = min_observations
        self.min_elapsed_s = min_elapsed_s
        self.slope_p_value = slope_p_value
        self.min_growth_requests = min_growth_requests
        self.min_rate_ratio = min_rate_ratio
        self._elapsed_s: list[float] = []
        self._issued: list[int] = []
        self._completed: list[int] = []

    def observe(self, elapsed_s: float, issued: int, completed: int) -> None:
        """Record the counts at an arrival or a completion.

        Args:
            elapsed_s: Seconds since the step began issuing (never decreasing).
            issued: Requests issued so far.
            completed: Requests completed so far (``issued - completed`` are in flight).

        Raises:
            ParameterError: time going backwards, or more completed than issued.
        """
        if self._elapsed_s and elapsed_s < self._elapsed_s[-1]:
            raise ParameterError(f"Observations must come in time order: {elapsed_s} s after {self._elapsed_s[-1]} s.")
        if not 0 <= completed <= issued:
            raise ParameterError(f"Completed requests ({completed}) must be between 0 and those issued ({issued}).")
        self._elapsed_s.append(float(elapsed_s))
        self._issued.append(int(issued))
        self._completed.append(int(completed))

    def verdict(self) -> SaturationVerdict:
        """The verdict on the observations so far (see the module's rule)."""
        window = self._window()
        not_judged = self._why_not_judged(window)
        if not_judged is not None:
            return SaturationVerdict(False, not_judged, None, None)
        slope_per_s, p_value = _slope(window)
        ratio = self._achieved_over_offered(window)
        reason = self._growth_reason(window, slope_per_s, p_value) or self._shortfall_reason(window, ratio)
        return SaturationVerdict(reason is not None, reason, slope_per_s, ratio)

    def _window(self) -> _Window | None:
        """The second half of the time elapsed so far, with the state carried in from before it."""
        if not self._elapsed_s:
            return None
        elapsed = np.asarray(self._elapsed_s)
        in_flight = np.asarray(self._issued) - np.asarray(self._completed)
        completed = np.asarray(self._completed)
        start_s = float(elapsed[-1]) / 2
        first = int(np.searchsorted(elapsed, start_s, side="left"))
        before = first - 1  # the last observation before the window: its state holds at the window's start
        start_in_flight = int(in_flight[before]) if before >= 0 else 0
        start_completed = int(completed[before]) if before >= 0 else 0
        return _Window(elapsed[first:], in_flight[first:], completed[first:], start_s, start_in_flight, start_completed)

    def _why_not_judged(self, window: _Window | None) -> str | None:
        """Why the step cannot be judged yet, or ``None``."""
        if window is None:
            return "not judged yet: no arrival or completion observed"
        elapsed_s = float(window.elapsed_s[-1])
        if elapsed_s < self.min_elapsed_s:
            return f"not judged yet: the step has run {elapsed_s:.1f} s of the {self.min_elapsed_s:g} s needed"
        if len(window.elapsed_s) < self.min_observations:
            return (f"not judged yet: {len(window.elapsed_s)} arrivals and completions in the last "
                    f"{window.span_s:.1f} s, {self.min_observations} needed")  # fmt: skip
        if window.start_completed == 0:
            return (f"not judged yet: no request completed in the first {window.start_s:.1f} s, so requests "
                    "in flight still rise as the server fills")  # fmt: skip
        return None

    def _achieved_over_offered(self, window: _Window) -> float:
        """Completions per second over the window, over the offered rate."""
        completions = int(window.completed[-1]) - window.start_completed
        return completions / window.span_s / self.offered_rate_rps if window.span_s > 0 else float("nan")

    def _growth_reason(self, window: _Window, slope_per_s: float, p_value: float) -> str | None:
        """The sentence when requests in flight grow steadily, else ``None``."""
        growth = slope_per_s * (float(window.elapsed_s[-1]) - float(window.elapsed_s[0]))
        if not (slope_per_s > 0 and p_value < self.slope_p_value and growth >= self.min_growth_requests):
            return None
        return (f"requests in flight grew by {slope_per_s:.2g}/s (p={p_value:.1g}) over {window.span_s:.1f} s: "
                f"the server falls further behind the offered {self.offered_rate_rps:g} req/s")  # fmt: skip

    def _shortfall_reason(self, window: _Window, ratio: float) -> str | None:
        """The sentence when a queued server completes too few requests, else ``None``."""
        from scipy.stats import poisson

        completions = int(window.completed[-1]) - window.start_completed
        queued = int(window.in_flight.min()) >= 1 and window.start_in_flight >= 1
        p_value = float(poisson.cdf(completions, self.offered_rate_rps * window.span_s))
        if not (ratio < self.min_rate_ratio and p_value < self.slope_p_value and queued):
            return None
        achieved_rps = ratio * self.offered_rate_rps
        return (f"the server completed {achieved_rps:.3g} req/s over the last {window.span_s:.1f} s (p={p_value:.1g}), "
                f"{ratio:.0%} of the offered {self.offered_rate_rps:g} req/s, with requests queued throughout: "
                "it cannot keep up")  # fmt: skip


def _slope(window: _Window) -> tuple[float, float]:
    """Least-squares slope of requests in flight over the window (per second), and its one-sided p-value.

    The p-value counts the observations as ``n (1 - r1) / (1 + r1)`` independent
    ones, ``r1`` being the lag-1 autocorrelation of the residuals (Santer et al.
    2000, J. Geophys. Res. 105(D6): the trend test of an autocorrelated series):
    requests in flight are sampled at every event, many times per request
    latency, so neighbouring counts share most of their requests, and the
    plain p-value of :func:`scipy.stats.linregress` would call a fluctuation
    of an unsaturated server a trend.
    """
    from scipy.stats import linregress, t

    elapsed_s, in_flight = window.elapsed_s, window.in_flight.astype(float)
    if float(elapsed_s[-1]) <= float(elapsed_s[0]):
        return 0.0, 1.0
    fit = linregress(elapsed_s, in_flight, alternative="greater")
    slope_per_s = float(fit.slope)
    if not fit.stderr > 0:  # points exactly on a line: no noise to weigh the slope against
        return slope_per_s, 0.0 if slope_per_s > 0 else 1.0
    count = len(in_flight)
    effective = _effective_count(in_flight - (fit.intercept + fit.slope * elapsed_s))
    t_value = slope_per_s / float(fit.stderr) * math.sqrt((effective - 2) / (count - 2))
    return slope_per_s, float(t.sf(t_value, effective - 2))


def _effective_count(residuals: np.ndarray) -> float:
    """Independent observations the residuals amount to, given their lag-1 autocorrelation (at least 3)."""
    count = len(residuals)
    if count < 4 or not residuals.std() > 0:
        return float(count)
    r1 = float(np.corrcoef(residuals[:-1], residuals[1:])[0, 1])
    r1 = max(0.0, r1) if math.isfinite(r1) else 0.0
    return max(3.0, count * (1 - r1) / (1 + r1))
