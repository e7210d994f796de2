"""A candidate's serving curve: the load levels one device was measured or predicted at, per request.

A :class:`LoadLevel` is one device running ``slots`` requests at once (a
closed-loop load step's concurrency, 1 for a one-at-a-time run, a predicted
point's batch) with the per-request time to first token, time per output
token and service time (``ttft + tpot * (output_tokens - 1)`` at the
workload's output length) the device gives at that load, before any queue.

Where each comes from:

* measured load steps: the step's successful requests; the throughput's 95%
  interval from a bootstrap of the mean service time over its requests;
* a one-at-a-time run: its requests at one slot, the run's throughput interval;
* an imported run: the tool's own percentiles, one value each, no interval;
* a rate search (``load: sweep``): the highest passing step's requests, their
  queue included, at the measured sustainable rate (``measured_rate_rps``):
  the fleet is ``ceil(rate / sustainable rate)`` devices, not simulated, and
  the interval is the search's bracket;
* a prediction (:mod:`benchlib.predict`): each predicted point whose batch holds
  every client (a point that queues inside the device is left out: the fleet's
  queue is modelled outside, :mod:`benchlib.decision.queueing`), the model's
  typical values, its throughput and TPOT intervals.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benchlib.metrics import successful_requests, summarize_requests
from benchlib.predict.predictor import Prediction
from benchlib.stats import bootstrap

__all__ = ["LoadLevel", "level_from_rows", "level_from_values", "levels_from_prediction"]


@dataclass(frozen=True)
class LoadLevel:
    """One device at one load: per-request latencies without queueing.

    Attributes:
        slots: Requests the device runs at once.
        step: The load step or predicted point (``c4``), ``None`` for a one-at-a-time run.
        ttft_s: Time to first token of each request, s.
        tpot_s: Time per output token of each request, s.
        service_s: Time each request holds its slot at the workload's output length, s.
        speed_low: Lower end of the throughput's 95% interval over its central value (NaN: none).
        speed_high: Upper end, likewise.
        tpot_interval_s: The predicted TPOT's interval (NaN, NaN for measured values).
        ttft_interval_s: The predicted TTFT's interval, without queueing (NaN, NaN for measured values).
        power_w: Draw at this load when known (a prediction's), W.
        measured_rate_rps: A rate search's sustainable rate, requests/s: what one
            device serves within the targets, measured with its queue (``None``
            for a level whose capacity the queueing model works out).
    """

    slots: int
    step: str | None
    ttft_s: np.ndarray = field(compare=False, repr=False)
    tpot_s: np.ndarray = field(compare=False, repr=False)
    service_s: np.ndarray = field(compare=False, repr=False)
    speed_low: float = float("nan")
    speed_high: float = float("nan")
    tpot_interval_s: tuple[float, float] = (float("nan"), float("nan"))
    ttft_interval_s: tuple[float, float] = (float("nan"), float("nan"))
    power_w: float | None = None
    measured_rate_rps: float | None = None

    @property
    def mean_service_s(self) -> float:
        """Mean time a request holds a slot, s."""
        return float(np.mean(self.service_s))

    @property
    def requests_per_s(self) -> float:
        """Requests one device completes per second when every slot is busy (a rate search's: the rate it sustained)."""
        if self.measured_rate_rps is not None:
            return self.measured_rate_rps
        return self.slots / self.mean_service_s

    def quantile_s(self, metric: str, q: float) -> float:
        """Quantile ``q`` of ``ttft_s``, ``tpot_s`` or ``service_s`` (NaN without a finite value)."""
        values = np.asarray(getattr(self, metric), dtype=float)
        values = values[np.isfinite(values)]
        return float(np.quantile(values, q)) if values.size else float("nan")

    def interval_s(self, metric: str) -> tuple[float, float]:
        """The predicted interval of ``ttft_s`` or ``tpot_s`` (NaN, NaN for another metric or a measured level)."""
        return {"ttft_s": self.ttft_interval_s, "tpot_s": self.tpot_interval_s}.get(metric, (float("nan"), float("nan")))

    def scaled(self, speed: float) -> LoadLevel:
        """The same level ``speed`` times as fast (every time divided by it), for the ends of an interval."""
        (tpot_low, tpot_high), (ttft_low, ttft_high) = self.tpot_interval_s, self.ttft_interval_s
        return dataclasses.replace(self, ttft_s=self.ttft_s / speed, tpot_s=self.tpot_s / speed,
                                   service_s=self.service_s / speed, speed_low=float("nan"), speed_high=float("nan"),
                                   measured_rate_rps=None if self.measured_rate_rps is None else self.measured_rate_rps * speed,
                                   tpot_interval_s=(tpot_low / speed, tpot_high / speed),
                                   ttft_interval_s=(ttft_low / speed, ttft_high / speed))  # fmt: skip


def _service(ttft_s: np.ndarray, tpot_s: np.ndarray, output_tokens: int) -> np.ndarray:
    return ttft_s + tpot_s * (output_tokens - 1)


def level_from_rows(rows: pd.DataFrame, slots: int, step: str | None, output_tokens: int, *,
                    one_stream: bool = False) -> LoadLevel | None:  # fmt: skip
    """A measured level from its request rows (``None`` without a successful request).

    Args:
        rows: The step's (or run's) request rows.
        slots: Its concurrency.
        step: Its step id.
        output_tokens: The workload's output tokens per request.
        one_stream: A one-at-a-time run: its interval is the run's throughput interval.
    """
    rows = successful_requests(rows)
    if rows.empty:
        return None
    ttft = pd.to_numeric(rows["ttft_s"], errors="coerce").to_numpy(dtype=float)
    tpot = pd.to_numeric(rows["tpot_s"], errors="coerce").to_numpy(dtype=float)
    tpot = np.where(np.isfinite(tpot), tpot, 0.0)  # a one-token reply has no per-token time
    keep = np.isfinite(ttft)
    ttft, tpot = ttft[keep], tpot[keep]
    if not ttft.size:
        return None
    service = _service(ttft, tpot, output_tokens)
    if one_stream:
        throughput = summarize_requests(rows)["system_throughput_tps"]
        value = float(throughput["value"])
        low, high = float(throughput["ci_low"]) / value, float(throughput["ci_high"]) / value
    else:
        result = bootstrap([service], lambda s, axis=-1: np.mean(s, axis=axis))
        mean = float(np.mean(service))
        # a longer mean service time is a slower device: the ratio inverts
        low, high = (mean / result.ci_high, mean / result.ci_low) if result.replicates.size else (np.nan, np.nan)
    return LoadLevel(slots, step, ttft, tpot, service, float(low), float(high))


def level_from_values(slots: int, ttft_s: float, tpot_s: float, output_tokens: int, step: str | None = None,
                      **extra) -> LoadLevel:  # fmt: skip
    """A level known by one value of each latency (an imported run's percentiles, a prediction)."""
    ttft, tpot = np.array([float(ttft_s)]), np.array([float(tpot_s)])
    return LoadLevel(slots, step, ttft, tpot, _service(ttft, tpot, output_tokens), **extra)


def levels_from_prediction(prediction: Prediction, output_tokens: int) -> list[LoadLevel]:
    """Every predicted point whose batch holds all its clients, as a level with the model's intervals."""
    levels = []
    for predicted in prediction.points:
        point = predicted.point
        if point.batch < point.concurrency or not np.isfinite(point.tpot_s) or not np.isfinite(point.ttft_s):
            continue
        tps_low, tps_high = predicted.intervals["output_tps"]
        levels.append(level_from_values(
            point.concurrency, point.ttft_s, point.tpot_s, output_tokens, f"c{point.concurrency}",
            speed_low=tps_low / point.output_tps, speed_high=tps_high / point.output_tps,
            tpot_interval_s=tuple(float(v) for v in predicted.intervals["tpot_s"]),
            ttft_interval_s=tuple(float(v) for v in predicted.intervals["ttft_s"]),
            power_w=float(point.power_w) if np.isfinite(point.power_w) else None,
        ))  # fmt: skip
    return levels
