"""Capacity under the targets: how much one device or instance serves while every set target holds at p95.

Three bases, each stated with the number:

* ``load steps`` (an ``http`` run's closed-loop steps): the highest concurrency
  whose step meets every set target at p95 (read literally: the highest such
  step, even if a lower one missed); its system throughput, with an interval
  from a bootstrap over the step's requests (below).
* ``single stream`` (a one-request-at-a-time run): one stream's capacity, its
  system throughput with the run's bootstrap interval.
* ``published single-stream figure``: the article's throughput, per-token and
  end-to-end latency of a platform nothing measured; one value each, no interval.

p95s are computed from the requests of the step (or run): TTFT, TPOT, and the
end-to-end time of a request of ``e2e_output_tokens`` tokens,
``ttft_s + tpot_s * (e2e_output_tokens - 1)`` per request (the measured
``e2e_s`` exactly when the lengths agree). A published platform's end-to-end
figure is for 128 tokens; another length adds its per-token latency per token.

Interval of a load step's throughput: its requests are resampled (seeded), each
with its tokens and its ``e2e_s``; each replicate's ``sum(tokens) / sum(e2e_s)``
over the original's gives the relative spread, applied to the measured
throughput (streams are busy back to back in a closed loop, so throughput is
proportional to tokens per second of request time).

A target that cannot be checked (the article publishes no TTFT) is ``not
known`` and disqualifies the candidate: a recommendation must rest on numbers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benchlib.metrics import successful_requests, summarize_requests, system_throughput_tps
from benchlib.records import StoredRun
from benchlib.stats import bootstrap

__all__ = [
    "BASIS_HOSTED",
    "BASIS_IMPORTED",
    "BASIS_LOAD_STEPS",
    "BASIS_PUBLISHED",
    "BASIS_SINGLE_STREAM",
    "METRIC_LABELS",
    "PUBLISHED_E2E_TOKENS",
    "Capacity",
    "LatencySamples",
    "Measured",
    "TargetCheck",
    "check_targets",
    "closed_loop_steps",
    "load_step_capacity",
    "hosted_capacity",
    "imported_capacity",
    "published_capacity",
    "single_stream_capacity",
]

BASIS_LOAD_STEPS = "load steps"
BASIS_SINGLE_STREAM = "single stream"
BASIS_PUBLISHED = "published single-stream figure"
BASIS_HOSTED = "hosted API at list price (no devices to size; latency not measured)"
BASIS_IMPORTED = "imported from another tool (its own load and percentiles)"
PUBLISHED_E2E_TOKENS = 128
"""Output length of the article's end-to-end figures (``e2e_128_tokens``)."""

METRIC_LABELS = {"ttft_s": "p95 time to first token", "tpot_s": "p95 per-token latency", "e2e_s": "p95 end-to-end"}


@dataclass(frozen=True)
class TargetCheck:
    """One target against what a candidate achieves.

    Attributes:
        metric: ``ttft_s``, ``tpot_s`` or ``e2e_s``.
        target_s: The target, seconds.
        achieved_s: The candidate's p95 (a published candidate: its published value), seconds; NaN when not known.
        status: ``meets``, ``misses`` or ``not known``.
    """

    metric: str
    target_s: float
    achieved_s: float
    status: str

    @property
    def words(self) -> str:
        """``misses p95 per-token latency: 120 ms > 100 ms``, in plain words."""
        label = METRIC_LABELS[self.metric]
        if self.status == "not known":
            return f"{label} not known (target {_shown(self.target_s)})"
        sign = "<=" if self.status == "meets" else ">"
        return f"{self.status} {label}: {_shown(self.achieved_s)} {sign} {_shown(self.target_s)}"


def _shown(seconds: float) -> str:
    return f"{seconds * 1e3:.4g} ms" if seconds < 1 else f"{seconds:.4g} s"


def check_targets(p95_s: dict[str, float], targets: dict[str, float]) -> tuple[TargetCheck, ...]:
    """Each set target against the achieved p95s (NaN or missing: ``not known``)."""
    checks = []
    for metric, target in targets.items():
        achieved = float(p95_s.get(metric, float("nan")))
        status = "not known" if not np.isfinite(achieved) else "meets" if achieved <= target else "misses"
        checks.append(TargetCheck(metric, float(target), achieved, status))
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


def _samples(rows: pd.DataFrame, e2e_tokens: int) -> LatencySamples:
    ttft = pd.to_numeric(rows["ttft_s"], errors="coerce").to_numpy(dtype=float)
    tpot = pd.to_numeric(rows["tpot_s"], errors="coerce").to_numpy(dtype=float)
    return LatencySamples(ttft, tpot, ttft + tpot * (e2e_tokens - 1), e2e_tokens)


def _p95(samples: LatencySamples) -> dict[str, float]:
    p95 = {}
    for metric in ("ttft_s", "tpot_s", "e2e_s"):
        values = getattr(samples, metric)
        values = values[np.isfinite(values)]
        p95[metric] = float(np.percentile(values, 95)) if values.size else float("nan")
    return p95


def _meets_all(checks: tuple[TargetCheck, ...]) -> bool:
    return all(check.status == "meets" for check in checks)


def closed_loop_steps(run: StoredRun) -> list[tuple[str, int, pd.DataFrame]]:
    """The complete closed-loop steps of a load-step run: ``(step id, concurrency, successful rows)``, by concurrency."""
    steps = []
    requests = run.requests
    for step_id, step in run.record.steps.items():
        summary = step.summary
        if step.status != "complete" or summary.get("mode") != "closed" or not summary.get("concurrency"):
            continue
        rows = requests[(requests["step"] == step_id) & (requests["attempt"] == step.attempt)]
        rows = successful_requests(rows)
        if not rows.empty:
            steps.append((step_id, int(summary["concurrency"]), rows))
    return sorted(steps, key=lambda item: item[1])


def _step_interval(rows: pd.DataFrame, throughput_tps: float) -> tuple[float, float]:
    tokens = rows["output_tokens"].to_numpy(dtype=float)
    busy_s = pd.to_numeric(rows["e2e_s"], errors="coerce").to_numpy(dtype=float)

    def rate(tokens: np.ndarray, busy_s: np.ndarray, axis: int = -1) -> np.ndarray:
        return tokens.sum(axis=axis) / busy_s.sum(axis=axis)

    result = bootstrap([tokens, busy_s], rate)
    original = tokens.sum() / busy_s.sum()
    if not result.replicates.size:
        return float("nan"), float("nan")
    return throughput_tps * result.ci_low / original, throughput_tps * result.ci_high / original


def load_step_capacity(
    run: StoredRun, targets: dict[str, float], output_tokens: int, e2e_tokens: int
) -> Measured | None:
    """Capacity of a load-step run: its highest closed-loop concurrency meeting every target at p95.

    With no step meeting them, the lowest concurrency's figures (the candidate misses the targets).

    Args:
        run: A run with load steps.
        targets: The set targets, seconds (``{"tpot_s": 0.1}``).
        output_tokens: The workload's output tokens per request (requests/s = tokens/s / this).
        e2e_tokens: Output length the end-to-end target is for.

    Returns:
        ``None`` when the run has no complete closed-loop step.
    """
    steps = closed_loop_steps(run)
    if not steps:
        return None
    evaluated = []
    for step_id, concurrency, rows in steps:
        samples = _samples(rows, e2e_tokens)
        p95 = _p95(samples)
        evaluated.append((step_id, concurrency, rows, samples, p95, check_targets(p95, targets)))
    meeting = [item for item in evaluated if _meets_all(item[5])]
    chosen = meeting[-1] if meeting else evaluated[0]
    step_id, concurrency, rows, samples, p95, checks = chosen
    tps = system_throughput_tps(rows["sent_unix_s"], rows["last_token_unix_s"], rows["output_tokens"])
    low, high = _step_interval(rows, tps)
    note = "" if meeting else f"no closed-loop step meets every target; figures of its lowest, c={concurrency}"
    capacity = Capacity(concurrency, tps, low, high, tps / output_tokens, BASIS_LOAD_STEPS, step_id, note)
    return Measured(capacity, p95, checks, samples)


def single_stream_capacity(
    run: StoredRun, targets: dict[str, float], output_tokens: int, e2e_tokens: int
) -> Measured | None:
    """One stream's capacity of a one-request-at-a-time run (``None`` without a completed request)."""
    rows = successful_requests(run.requests)
    if rows.empty:
        return None
    throughput = summarize_requests(rows)["system_throughput_tps"]
    samples = _samples(rows, e2e_tokens)
    p95 = _p95(samples)
    tps = float(throughput["value"])
    capacity = Capacity(
        1, tps, float(throughput["ci_low"]), float(throughput["ci_high"]), tps / output_tokens, BASIS_SINGLE_STREAM,
        None, "one stream: the run sent one request at a time, so more streams were not measured",
    )  # fmt: skip
    return Measured(capacity, p95, check_targets(p95, targets), samples)


def imported_capacity(
    run: StoredRun, targets: dict[str, float], output_tokens: int, e2e_tokens: int
) -> Measured | None:
    """What a run imported from another tool serves: its throughput at its own load, its own p95s.

    With per-request rows the p95s are computed from them; with aggregates only, the
    tool's p95 is used, else its p99 (stricter, said in the note); the end-to-end p95 is
    ``ttft + tpot * (tokens - 1)`` at the target's length. ``None`` without a throughput.
    """
    streams = _streams(run)
    if streams == 1 and not successful_requests(run.requests).empty:  # one request at a time, per-request rows
        measured = single_stream_capacity(run, targets, output_tokens, e2e_tokens)
        if measured is not None:
            capacity = dataclasses.replace(measured.capacity, basis=BASIS_IMPORTED)
            return dataclasses.replace(measured, capacity=capacity)
    summary = run.record.summary.model_dump()
    tps = (summary.get("system_throughput_tps") or {}).get("value")
    if not tps:
        return None
    nan, notes = float("nan"), []
    p95: dict[str, float] = {}
    for metric in ("ttft_s", "tpot_s"):
        stats = summary.get(metric) or {}
        stand_in = next((k for k in ("p95", "p99", "median") if stats.get(k) is not None), None)
        value = stats.get(stand_in) if stand_in else None
        if stand_in == "p99":
            notes.append(f"{metric}: the tool's p99 stands for the p95 (stricter)")
        elif stand_in == "median":
            notes.append(f"{metric}: the tool gives no percentile, its median stands for the p95 (as a published figure's)")
        p95[metric] = float(value) if value is not None else nan
    p95["e2e_s"] = p95["ttft_s"] + p95["tpot_s"] * (e2e_tokens - 1)
    load = f"{streams} concurrent requests" if streams else _load(run)
    note = "; ".join([f"the imported run's own load ({load}) and percentiles", *notes])
    capacity = Capacity(streams or 1, float(tps), nan, nan, float(tps) / output_tokens, BASIS_IMPORTED, None, note)
    samples = LatencySamples(np.array([p95["ttft_s"]]), np.array([p95["tpot_s"]]), np.array([p95["e2e_s"]]), e2e_tokens)
    return Measured(capacity, p95, check_targets(p95, targets), samples)


def _streams(run: StoredRun) -> int | None:
    """Concurrent requests of an imported run's load, when the tool held it fixed (a cap above 1 is not a load)."""
    workload = run.meta.get("workload") or {}
    for key in ("concurrency", "streams"):
        if isinstance(workload.get(key), (int, float)) and workload[key] >= 1:
            return int(workload[key])
    return 1 if workload.get("max_concurrency") == 1 else None


def _load(run: StoredRun) -> str:
    workload = run.meta.get("workload") or {}
    rate = workload.get("request_rate", workload.get("rate_rps"))
    return f"{rate} requests/s" if rate is not None else str(workload.get("rate_type") or "as the tool ran it")


def published_capacity(
    figures: dict[str, float], targets: dict[str, float], output_tokens: int, e2e_tokens: int
) -> Measured:
    """One stream at a platform's published figures.

    Args:
        figures: The platform's reference values by metric: ``throughput`` (tokens/s),
            ``per_token_latency`` (ms), ``e2e_128_tokens`` (s); a missing one is not known.
        targets: The set targets, seconds.
        output_tokens: The workload's output tokens per request.
        e2e_tokens: Output length the end-to-end target is for.
    """
    nan = float("nan")
    tps = float(figures.get("throughput", nan))
    tpot_s = float(figures.get("per_token_latency", nan)) / 1e3
    e2e_s = float(figures.get("e2e_128_tokens", nan)) + tpot_s * (e2e_tokens - PUBLISHED_E2E_TOKENS)
    p95 = {"ttft_s": nan, "tpot_s": tpot_s, "e2e_s": e2e_s}
    note = "published typical values compared with the p95 targets; the article publishes no TTFT"
    if e2e_tokens != PUBLISHED_E2E_TOKENS:
        note += f"; end-to-end scaled from its 128-token figure by {e2e_tokens - PUBLISHED_E2E_TOKENS:+d} tokens"
    capacity = Capacity(1, tps, nan, nan, tps / output_tokens, BASIS_PUBLISHED, None, note)
    samples = LatencySamples(np.array([nan]), np.array([tpot_s]), np.array([e2e_s]), e2e_tokens)
    return Measured(capacity, p95, check_targets(p95, targets), samples)


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
