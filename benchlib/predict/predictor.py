"""Predictions with intervals and their basis, for a device x model x runtime class x workload.

:func:`load_library` reads the three reference files (hardware, models,
evidence) and turns every ``kind: evidence`` entry into an
:class:`~benchlib.predict.calibrate.Observation`; :func:`predict` gives the
serving curve of one target with a :data:`~benchlib.predict.calibrate.INTERVAL_LEVEL`
interval on every number, and says which pool calibrated it, on how many
observations, or that only the stated prior ranges did.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.hardware.model_reference import ModelGeometry, ModelsReference, load_models
from benchlib.hardware.reference import HardwareEntry, HardwareReference, load_hardware
from benchlib.paths import params_dir
from benchlib.predict.calibrate import (
    INTERVAL_LEVEL,
    METRIC_GROUPS,
    Calibration,
    Observation,
    calibrate,
    prior_range,
    t_half_width,
)
from benchlib.predict.evidence import EvidenceLibrary, EvidencePoint, load_evidence
from benchlib.predict.roofline import (
    DEFAULT_OUTPUT_TOKENS,
    DEFAULT_PROMPT_TOKENS,
    Efficiencies,
    HardwareSpec,
    Scenario,
    ServingPoint,
    serving_point,
)

__all__ = [
    "PREDICTED_METRICS",
    "SATURATION_CONCURRENCY",
    "Library",
    "Prediction",
    "PredictedPoint",
    "hardware_spec",
    "load_library",
    "observation_of",
    "predict",
]

SATURATION_CONCURRENCY = 100_000
"""Clients a ``saturation`` run is modelled with: more than any device batches, so its memory caps the batch."""
PREDICTED_METRICS = ("tpot_s", "ttft_s", "e2e_s", "output_tps", "decode_tps", "power_w", "j_per_token")
"""The numbers of a predicted serving point, each with an interval."""


def hardware_spec(hardware_id: str, entry: HardwareEntry) -> HardwareSpec:
    """A ``hardware.yaml`` entry's figures (the largest memory option; an unpublished bandwidth as its model bracket)."""
    bandwidth = entry.memory_bandwidth_gb_s.number
    basis = f"data/reference/hardware.yaml: {hardware_id}"
    if bandwidth is None and entry.model_bandwidth_gb_s is not None:
        bandwidth = entry.model_bandwidth_gb_s.number
        basis += f" (bandwidth not published: {bandwidth:g} GB/s assumed, {entry.model_bandwidth_gb_s.basis})"
    peak = entry.peak_tflops.number if entry.peak_tflops is not None else None
    if peak is None and entry.model_peak_tflops is not None:
        peak = entry.model_peak_tflops.number
        basis += f" (peak compute not published: {peak:g} TFLOPS assumed, {entry.model_peak_tflops.basis})"
    return HardwareSpec(
        name=hardware_id,
        hardware_class=entry.hardware_class,
        bandwidth_gb_s=bandwidth,
        peak_tflops=peak,
        memory_gb=entry.memory_gb.number,
        power_w=entry.power_w.number,
        idle_power_w=entry.idle_power_w.number if entry.idle_power_w is not None else None,
        basis=basis,
    )


@dataclass(frozen=True)
class Library:
    """The reference files, loaded and cross-checked.

    Attributes:
        hardware: ``hardware.yaml``.
        models: ``models.yaml``.
        evidence: The evidence folder.
    """

    hardware: HardwareReference
    models: ModelsReference
    evidence: EvidenceLibrary

    def spec(self, hardware_id: str) -> HardwareSpec:
        """The figures of a ``hardware.yaml`` entry."""
        return hardware_spec(hardware_id, self.hardware.hardware[hardware_id])

    def observations(self) -> list[Observation]:
        """Every ``kind: evidence`` entry as an observation (claims never calibrate)."""
        return [observation_of(point, self) for point in self.evidence.evidence()]

    def calibration(self, extra: list[Observation] | None = None) -> Calibration:
        """A calibration on the evidence, plus ``extra`` observations (runs measured here).

        An entry with an ``outlier_reason`` (a disputed figure, a different build, a stated
        cause the model does not have) is validated but never calibrates.
        """
        return calibrate([obs for obs in [*self.observations(), *(extra or [])] if obs.outlier_reason is None])


def load_library(hardware_path: str | Path | None = None, models_path: str | Path | None = None,
                 evidence_folder: str | Path | None = None) -> Library:  # fmt: skip
    """Load ``hardware.yaml``, ``models.yaml`` and the evidence folder, checking every id an entry names."""
    hardware = load_hardware(hardware_path)
    models = load_models(models_path)
    evidence = load_evidence(evidence_folder, hardware_ids=set(hardware.hardware), model_ids=set(models.models),
                             quantizations=set(models.quantizations))  # fmt: skip
    return Library(hardware, models, evidence)


def observation_of(point: EvidencePoint, library: Library) -> Observation:
    """An evidence entry as an observation; lengths it does not state take the defaults (128 + 128)."""
    entry = point.entry
    workload = entry.workload
    scenario = Scenario(
        prompt_tokens=workload.prompt_tokens if workload.prompt_tokens is not None else DEFAULT_PROMPT_TOKENS,
        output_tokens=workload.output_tokens if workload.output_tokens is not None else DEFAULT_OUTPUT_TOKENS,
        context_tokens=workload.context_tokens or 0,
        concurrency=SATURATION_CONCURRENCY if workload.concurrency == "saturation" else workload.concurrency,
    )
    model = library.models.geometry(entry.model.id, entry.model.quantization, weight_bytes=entry.model.weight_bytes)
    return Observation(
        key=point.key, hardware_id=entry.hardware, hardware=library.spec(entry.hardware),
        runtime_class=entry.runtime.class_, model=model, scenario=scenario, metric=entry.metric, value=entry.value,
        source=point.source.url, outlier_reason=entry.outlier_reason,
    )  # fmt: skip


@dataclass(frozen=True)
class PredictedPoint:
    """One concurrency of a predicted serving curve.

    Attributes:
        point: The model's central values.
        intervals: Metric -> (low, high) at :data:`~benchlib.predict.calibrate.INTERVAL_LEVEL`.
    """

    point: ServingPoint
    intervals: dict[str, tuple[float, float]]

    def to_dict(self) -> dict[str, Any]:
        """``{metric: {"value": v, "interval": [low, high]}}`` plus batch, bound and limit."""
        values: dict[str, Any] = {"concurrency": self.point.concurrency, "batch": self.point.batch,
                                  "bound": self.point.bound, "limit": self.point.limit}  # fmt: skip
        for name in PREDICTED_METRICS:
            low, high = self.intervals[name]
            values[name] = {"value": _plain(getattr(self.point, name)), "interval": [_plain(low), _plain(high)]}
        return values


def _plain(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


@dataclass(frozen=True)
class Prediction:
    """A predicted serving curve and what it rests on.

    Attributes:
        hardware: The device's figures.
        hardware_id: Its id.
        model: The model's geometry.
        runtime_class: The runtime class.
        scenario: Lengths (the concurrency of each point is its own).
        points: One per concurrency.
        efficiencies: What the model used.
        calibration_level: The pool that fitted them (``prior`` when nothing did).
        calibration_points: How many observations that pool held.
        interval_basis: What the intervals come from.
    """

    hardware: HardwareSpec
    hardware_id: str
    model: ModelGeometry
    runtime_class: str
    scenario: Scenario
    points: tuple[PredictedPoint, ...]
    efficiencies: Efficiencies
    calibration_level: str
    calibration_points: int
    interval_basis: str

    def basis(self) -> dict[str, Any]:
        """Everything the numbers rest on, for ``--json`` and reports."""
        return {
            "kind": "predicted",
            "model": "benchlib.predict roofline (decode: memory vs compute + per-step overhead; prefill: compute)",
            "hardware": self.hardware.to_dict(),
            "model_geometry": self.model.to_dict(),
            "runtime_class": self.runtime_class,
            "workload": {"prompt_tokens": self.scenario.prompt_tokens, "output_tokens": self.scenario.output_tokens,
                         "context_tokens": self.scenario.context_tokens, "lockstep": self.scenario.lockstep},  # fmt: skip
            "efficiencies": dict(zip(Efficiencies.NAMES, self.efficiencies.as_tuple(), strict=True)),
            "calibration": {"level": self.calibration_level, "observations": self.calibration_points},
            "interval": {"level": INTERVAL_LEVEL, "basis": self.interval_basis},
        }

    def to_dict(self) -> dict[str, Any]:
        """The whole prediction as plain values."""
        return {"points": [p.to_dict() for p in self.points], "basis": {**self.basis(), "to_narrow": self.to_narrow()}}

    def to_narrow(self) -> str | None:
        """The measurement that would calibrate this device itself, when its own measurements did not."""
        if self.calibration_level.endswith("(hardware)"):
            return None
        platforms = load_hardware().platforms
        profiles = [path.stem for path in sorted(params_dir().glob("*.yaml"))
                    if path.stem in platforms and platforms[path.stem].hardware == self.hardware_id]  # fmt: skip
        profiles = [p for p in profiles if self.runtime_class.split(".")[0] in p] or profiles  # vllm-l4 for vLLM
        sweep = f"a sweep on it (benchlib sweep params/{profiles[0]}.yaml, or a file of your own)" if profiles \
            else "a sweep on it"
        return (f"no measurement of {self.hardware_id} with {self.runtime_class} calibrated this (it rests on "
                f"{self.calibration_level}): {sweep}, or its results imported (benchlib import), would; or add a "
                "published measurement to data/reference/evidence/")


def _prior_bounds(hardware: HardwareSpec, runtime_class: str) -> tuple[Efficiencies, Efficiencies]:
    """(pessimistic, optimistic) efficiencies at the ends of the prior ranges."""
    low, high = [], []
    for name in Efficiencies.NAMES:
        lo, hi = prior_range(name, hardware, runtime_class)
        slow_end, fast_end = (hi, lo) if name == "step_overhead_s" else (lo, hi)
        low.append(slow_end)
        high.append(fast_end)
    return Efficiencies.from_tuple(low), Efficiencies.from_tuple(high)


def predict(calibration: Calibration, hardware: HardwareSpec, hardware_id: str, model: ModelGeometry,
            runtime_class: str, scenario: Scenario, concurrencies: list[int] | tuple[int, ...] = (1,)) -> Prediction:  # fmt: skip
    """The serving curve of a device x model x runtime class at ``concurrencies``, with intervals.

    Args:
        calibration: Fitted pools (:meth:`Library.calibration`).
        hardware: The device's figures.
        hardware_id: Its id (a ``hardware.yaml`` key or a label for figures given by hand).
        model: The model's geometry.
        runtime_class: One of ``benchlib.predict.evidence.RUNTIME_CLASSES``.
        scenario: Prompt, output and context lengths.
        concurrencies: Closed-loop client counts to predict.
    """
    chain = calibration.chain(hardware, hardware_id, runtime_class)
    fit = chain[-1]
    informing = [f for f in chain[1:] if f.observations]
    level = " x ".join(informing[-1].key[1:]) + f" ({informing[-1].key[0]})" if informing else "prior"
    count = len(informing[-1].observations) if informing else 0
    halves: dict[str, float | None] = {}
    bases = []
    for group in ("decode", "prefill", "power"):
        spread_fit = calibration.spread_fit(hardware, hardware_id, runtime_class, group)
        if spread_fit is None:
            halves[group] = None
            bases.append(f"{group}: no calibration residuals, the model at both ends of the stated prior ranges")
            continue
        residuals = spread_fit.residuals(group)
        halves[group] = t_half_width(spread_fit.spread(group), len(residuals))
        bases.append(f"{group}: spread of {len(residuals)} residuals at {' x '.join(spread_fit.key[1:])} "
                     f"({spread_fit.key[0]}), x/÷ {math.exp(halves[group]):.2f}")  # fmt: skip
    interval_basis = "; ".join(bases)
    slow, fast = _prior_bounds(hardware, runtime_class)
    points = []
    for concurrency in concurrencies:
        at = scenario.at(concurrency)
        point = serving_point(hardware, model, fit.efficiencies, at, runtime_class)
        ends = [serving_point(hardware, model, eff, at, runtime_class) for eff in (slow, fast)]
        intervals: dict[str, tuple[float, float]] = {}
        for name in PREDICTED_METRICS:
            value = getattr(point, name)
            half = halves[METRIC_GROUPS[name]]
            if name == "j_per_token" and half is not None and halves["decode"] is not None:
                half = math.hypot(half, halves["decode"])  # power / throughput: both errors
            if half is not None:
                intervals[name] = (value * math.exp(-half), value * math.exp(half))
                continue
            finite = [v for v in (value, *(getattr(p, name) for p in ends)) if math.isfinite(v)]
            intervals[name] = (min(finite), max(finite)) if finite else (float("nan"), float("nan"))
        points.append(PredictedPoint(point, intervals))
    return Prediction(hardware, hardware_id, model, runtime_class, scenario, tuple(points), fit.efficiencies,
                      level, count, interval_basis)  # fmt: skip
