"""Target checks and the per-device capacity a candidate is priced at.

* :class:`TargetCheck` / :func:`check_targets`: each set limit against what a
  candidate achieves at the targets' percentile (``not known`` when it cannot be
  checked: a hosted API's latency, which disqualifies it while a target is set).
* :class:`Capacity`: what one device serves at its chosen load level (the fleet
  and its queue come from :mod:`benchlib.decision.load_capacity`).
* :func:`closed_loop_steps`: the complete closed-loop steps of a load-step run.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benchlib.metrics import successful_requests
from benchlib.records import StepStatus, StoredRun

__all__ = ["BASIS_HOSTED", "METRIC_LABELS", "Capacity", "LatencySamples", "Measured", "TargetCheck", "check_targets",
           "closed_loop_steps", "hosted_capacity"]

BASIS_HOSTED = "hosted API at list price (no devices to size; latency not measured)"

METRIC_LABELS = {"ttft_s": "time to first token", "tpot_s": "per-token latency", "e2e_s": "end-to-end"}
"""What each target limits, in words (the percentile is the check's own, :attr:`TargetCheck.at`)."""


@dataclass(frozen=True)
class TargetCheck:
    """One target against what a candidate achieves.

    Attributes:
        metric: ``ttft_s``, ``tpot_s`` or ``e2e_s``.
        target_s: The target, seconds.
        achieved_s: The candidate's p95 (a published candidate: its published value), seconds; NaN when not known.
        status: ``meets``, ``misses`` or ``not known``.
        at: The percentile it is checked at (``p95``).
    """

    metric: str
    target_s: float
    achieved_s: float
    status: str
    at: str = "p95"

    @property
    def words(self) -> str:
        """``misses p95 per-token latency: 405.5 ms > 100 ms (4.05x the limit)``, in plain words."""
        label = f"{self.at} {METRIC_LABELS[self.metric]}"
        if self.status == "not known":
            return f"{label} not known (target {_shown(self.target_s)})"
        sign = "<=" if self.status == "meets" else ">"
        by = f" ({self.achieved_s / self.target_s:.3g}x the limit)" if self.status == "misses" else ""
        return f"{self.status} {label}: {_shown(self.achieved_s)} {sign} {_shown(self.target_s)}{by}"


def _shown(seconds: float) -> str:
    return f"{seconds * 1e3:.4g} ms" if seconds < 1 else f"{seconds:.4g} s"


def check_targets(p95_s: dict[str, float], targets: dict[str, float], at: str = "p95") -> tuple[TargetCheck, ...]:
    """Each set target against the achieved values at percentile ``at`` (NaN or missing: ``not known``)."""
    checks = []
    for metric, target in targets.items():
        achieved = float(p95_s.get(metric, float("nan")))
        status = "not known" if not np.isfinite(achieved) else "meets" if achieved <= target else "misses"
        checks.append(TargetCheck(metric, float(target), achieved, status, at))
    return tuple(checks)


@dataclass(frozen=True)
class Capacity:
    """What one device or instance serves under the targets.

    Attributes:
        streams: Concurrent streams (1 for a single-stream run or a published figure).
        throughput_tps: Output tokens per second.
        throughput_tps_ci_low: Lower end of its 95% interval (NaN for a published figure).
        throughput_tps_ci_high: Upper end.
        requests_per_s: ``throughput_tps / output_tokens`` of the workload.
        basis: ``load steps``, ``single stream`` or ``published single-stream figure``.
        step: The load step it was read at (``c4``), else ``None``.
        note: What else a reader should know (no step meets the targets ...).
    """

    streams: int
    throughput_tps: float
    throughput_tps_ci_low: float
    throughput_tps_ci_high: float
    requests_per_s: float
    basis: str
    step: str | None = None
    note: str = ""


@dataclass(frozen=True)
class LatencySamples:
    """Per-request latencies at the capacity's step (or run), seconds; a published candidate has one value each.

    ``e2e_s`` is for ``output_tokens`` tokens (see the module), the length the
    end-to-end target is checked at.
    """

    ttft_s: np.ndarray = field(compare=False)
    tpot_s: np.ndarray = field(compare=False)
    e2e_s: np.ndarray = field(compare=False)
    output_tokens: int = 0


@dataclass(frozen=True)
class Measured:
    """A capacity with the p95s achieved at it, the target checks and the latency samples."""

    capacity: Capacity
    p95_s: dict[str, float]
    checks: tuple[TargetCheck, ...]
    samples: LatencySamples


def closed_loop_steps(run: StoredRun) -> list[tuple[str, int, pd.DataFrame]]:
    """The complete closed-loop steps of a load-step run: ``(step id, concurrency, successful rows)``, by concurrency."""
    steps = []
    requests = run.requests
    for step_id, step in run.record.steps.items():
        summary = step.summary
        if step.status != StepStatus.COMPLETE or summary.get("mode") != "closed" or not summary.get("concurrency"):
            continue
        rows = requests[(requests["step"] == step_id) & (requests["attempt"] == step.attempt)]
        rows = successful_requests(rows)
        if not rows.empty:
            steps.append((step_id, int(summary["concurrency"]), rows))
    return sorted(steps, key=lambda item: item[1])


def hosted_capacity(targets: dict[str, float], e2e_tokens: int) -> Measured:
    """A hosted API known only by its price: no devices to size and no latency measured.

    Every set target is therefore ``not known`` (so it does not qualify while a
    target is set); measure the endpoint with an ``http`` sweep to know them.
    """
    nan = float("nan")
    p95 = {"ttft_s": nan, "tpot_s": nan, "e2e_s": nan}
    capacity = Capacity(0, nan, nan, nan, float("inf"), BASIS_HOSTED, None,
                        "priced per token from its price profile; run an http sweep against it to measure its latency")  # fmt: skip
    samples = LatencySamples(np.array([nan]), np.array([nan]), np.array([nan]), e2e_tokens)
    return Measured(capacity, p95, check_targets(p95, targets), samples)
