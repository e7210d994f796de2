"""Where a candidate's serving curve comes from: a measured or imported run, or the performance model.

The evidence ladder, best first: a run measured here on that hardware and
model (its load steps, or its one-at-a-time requests), an imported run (the
tool's own load and percentiles), then the performance model's prediction for
a catalogue platform (:mod:`benchlib.predict`, calibrated on the evidence
library). Published figures enter through that calibration; the nearest of them
on the same hardware are quoted next to the prediction as a cross-check.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from benchlib.decision.capacity import closed_loop_steps
from benchlib.decision.serving import (
    LoadLevel,
    level_from_rows,
    level_from_values,
    levels_from_prediction,
)
from benchlib.metrics import successful_requests
from benchlib.predict.local_model import QUANT_SUFFIX, reference_model_id
from benchlib.predict.platforms import serving_estimate
from benchlib.predict.predictor import Library, Prediction
from benchlib.predict.roofline import Scenario
from benchlib.records import StepStatus, StoredRun

__all__ = [
    "BASIS", "imported_levels", "measured_levels", "nearest_evidence", "predicted_levels", "rate_search_level", "run_model",
]

BASIS = {
    "measured": "measured here (load steps or one-at-a-time requests of the run)",
    "imported": "imported from another tool (its own load and percentiles)",
    "predicted": "predicted (benchlib.predict, calibrated on published measurements)",
    "list price": "hosted API at list price (no devices to size; latency not measured)",
}
"""What each source of a candidate's numbers means, in words."""


def run_model(run: StoredRun, library: Library) -> tuple[str | None, str | None, str]:
    """``(models.yaml id, quantization, name as recorded)`` of the model a run served (ids ``None`` when unknown)."""
    name = str(run.record.model.get("name") or "")
    model_id = reference_model_id(name, library.models)
    match = QUANT_SUFFIX.match(name)
    quantization = match.group("quant").lower() if match else None
    return model_id, quantization, name


def measured_levels(run: StoredRun, output_tokens: int) -> list[LoadLevel]:
    """A measured run's levels: each complete closed-loop step and a rate search's result, or its one-at-a-time requests."""
    if run.record.is_load_sweep:
        levels = [level_from_rows(rows, concurrency, step, output_tokens)
                  for step, concurrency, rows in closed_loop_steps(run)]  # fmt: skip
        levels.append(rate_search_level(run, output_tokens))
        return [level for level in levels if level is not None]
    level = level_from_rows(run.requests, 1, None, output_tokens, one_stream=True)
    return [level] if level is not None else []


def rate_search_level(run: StoredRun, output_tokens: int) -> LoadLevel | None:
    """The level a rate search (``load: sweep``) measured: its highest passing step, at the sustainable rate.

    Its slots are the mean number of requests the server held at that rate (Little's law: rate x mean
    latency), its interval the search's bracket (the threshold lies between the highest passing and the
    lowest failing rate). ``None`` without a search that found a rate.
    """
    search = run.record.rate_search or {}
    rate = search.get("sustainable_rate_rps")
    if not rate:
        return None
    step_id = next((sid for sid, step in run.record.steps.items()
                    if step.status == StepStatus.COMPLETE and step.summary.get("rate_rps") == rate), None)  # fmt: skip
    if step_id is None:
        return None
    step = run.record.steps[step_id]
    rows = run.requests[(run.requests["step"] == step_id) & (run.requests["attempt"] == step.attempt)]
    level = level_from_rows(rows, 1, step_id, output_tokens)
    if level is None:
        return None
    high = (search.get("interval_rps") or [rate, rate])[1] or rate
    slots = max(1, round(rate * float(np.mean(level.service_s))))
    return dataclasses.replace(level, slots=slots, measured_rate_rps=float(rate), speed_low=1.0,
                               speed_high=float(high) / float(rate))  # fmt: skip


def imported_levels(run: StoredRun, output_tokens: int) -> list[LoadLevel]:
    """An imported run's one level: per-request rows when it has them, else the tool's p95s (p99, median)."""
    workload = run.meta.get("workload") or {}
    streams = next((int(workload[k]) for k in ("concurrency", "streams")
                    if isinstance(workload.get(k), (int, float)) and workload[k] >= 1), 1)  # fmt: skip
    if not successful_requests(run.requests).empty:
        level = level_from_rows(run.requests, streams, None, output_tokens, one_stream=streams == 1)
        return [level] if level is not None else []
    summary = run.record.summary.model_dump()
    values = {}
    for metric in ("ttft_s", "tpot_s"):
        stats = summary.get(metric) or {}
        values[metric] = next((stats[k] for k in ("p95", "p99", "median") if stats.get(k) is not None), None)
    if values["ttft_s"] is None or values["tpot_s"] is None:
        return []
    return [level_from_values(streams, values["ttft_s"], values["tpot_s"], output_tokens)]


def predicted_levels(library: Library, hardware_id: str, model_id: str, quantization: str, runtime_class: str,
                     scenario: Scenario, calibration=None) -> tuple[list[LoadLevel], Prediction]:  # fmt: skip
    """The predicted serving curve of a device x model (every power-of-two concurrency its memory holds)."""
    estimate = serving_estimate(library, hardware_id, model_id, quantization, runtime_class=runtime_class,
                                scenario=scenario, targets={}, calibration=calibration)  # fmt: skip
    return levels_from_prediction(estimate.prediction, scenario.output_tokens), estimate.prediction


def nearest_evidence(library: Library, hardware_id: str, model_id: str, limit: int = 3) -> list[str]:
    """Published single-stream decode rates on ``hardware_id`` for the model or the nearest in size, quoted."""
    target = library.models.models[model_id].parameters.number
    found = []
    for point in library.evidence.evidence():
        entry = point.entry
        if entry.hardware != hardware_id or entry.metric != "decode_tps" or entry.outlier_reason:
            continue
        if entry.workload.concurrency not in (1, None) or entry.model.id not in library.models.models:
            continue
        size = library.models.models[entry.model.id].parameters.number
        if not 0.6 <= size / target <= 1.6:
            continue
        found.append((abs(size / target - 1), (f"{entry.model.id} {entry.model.quantization}: {entry.value:g} "
                                              f"tok/s single-stream decode ({point.key}, {point.source.url})")))  # fmt: skip
    return [text for _, text in sorted(found)[:limit]]
