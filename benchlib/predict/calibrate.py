"""Fit the performance model's efficiencies to observations, from the broadest pool to the most specific.

An observation is one figure (published evidence, or a run measured here) with
the hardware, model, runtime class and workload it was measured on. The five
efficiencies of :class:`~benchlib.predict.roofline.Efficiencies` are fitted by
maximum a posteriori in log space (:func:`scipy.optimize.least_squares`): each
observation contributes ``(ln predicted - ln observed) / OBSERVATION_SIGMA``,
each efficiency ``(ln value - ln prior) / prior sigma``.

Pools go from broad to specific, each prior being the fit of the one above:

1. the prior ranges of :data:`PRIOR_RANGES` (stated, wide);
2. hardware family (``gpu``, ``cpu``, ``apple-silicon``, ``npu``) x runtime class;
3. hardware class (``gpu-datacenter`` ...) x runtime class;
4. the hardware itself x runtime class.

A level with no observation inherits its parent's fit. A child's prior on an
efficiency is narrowed to :data:`CHILD_SIGMA` only where the parent's
observations informed it. The interval of a prediction is the spread of the
log residuals of the same metric group (decode, prefill, power) at the most
specific level holding at least :data:`MIN_SPREAD_POINTS` of them (a t interval with ``n - 1`` degrees of
freedom); with none anywhere it is the prediction at the ends of the prior ranges.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, stats

from benchlib.hardware.model_reference import ModelGeometry
from benchlib.predict.roofline import Efficiencies, HardwareSpec, Scenario, serving_point

__all__ = [
    "CHILD_SIGMA",
    "INTERVAL_LEVEL",
    "METRIC_GROUPS",
    "MIN_SPREAD_POINTS",
    "OBSERVATION_SIGMA",
    "PRIOR_RANGES",
    "Calibration",
    "Fit",
    "Observation",
    "calibrate",
    "predict_metric",
    "prior_range",
]

OBSERVATION_SIGMA = 0.1
"""Scatter assumed of one published figure around the truth, in natural-log units (about 10%)."""
CHILD_SIGMA = 0.3
"""How far (log units, about 35%) a class or a device may stray from its parent's fit where the parent was informed."""
MIN_SPREAD_POINTS = 3
"""Observations a level needs before its residual spread gives the interval."""
INTERVAL_LEVEL = 0.95
"""Coverage of every interval."""

PRIOR_RANGES: dict[str, dict[str, tuple[float, float]]] = {
    "bandwidth": {"cpu": (0.3, 0.85), "apple-silicon": (0.4, 0.9), "gpu": (0.4, 0.9), "npu": (0.1, 0.9)},
    "decode_compute": {"cpu": (0.05, 0.6), "apple-silicon": (0.05, 0.6), "gpu": (0.05, 0.6), "npu": (0.02, 0.6)},
    "prefill_compute": {"cpu": (0.1, 0.8), "apple-silicon": (0.2, 0.8), "gpu": (0.2, 0.8), "npu": (0.02, 0.8)},
    "step_overhead_s": {"llama.cpp": (5e-5, 3e-3), "vllm": (2e-4, 5e-3), "tensorrt-llm": (1e-4, 3e-3),
                        "sglang": (2e-4, 5e-3), "hailo": (1e-4, 2e-2), "mlx": (5e-5, 3e-3),
                        "transformers": (1e-3, 3e-2), "other": (1e-4, 1e-2)},
    "power_activity": {"cpu": (0.3, 0.95), "apple-silicon": (0.3, 0.95), "gpu": (0.3, 0.95), "npu": (0.3, 0.95)},
}  # fmt: skip
"""Stated 95% prior ranges of each efficiency, by hardware family (overhead: by runtime class).

Bandwidth: published decode rates reach 30-85% of a CPU's peak and 40-90% of a
GPU's; compute: batched decode and prefill GEMMs reach 5-80% of peak; overhead:
llama.cpp's graph launch and sampling take tens of microseconds to milliseconds
per token, a Python serving stack's scheduler a few milliseconds."""
UPPER_BOUNDS = {"bandwidth": 0.95, "step_overhead_s": 1.0}
"""Hard ceilings of the fit: no runtime streams its weights at more than 95% of peak bandwidth (the rest: 1)."""
METRIC_GROUPS = {"decode_tps": "decode", "tpot_s": "decode", "output_tps": "decode", "e2e_s": "decode",
                 "prefill_tps": "prefill", "ttft_s": "prefill", "power_w": "power", "j_per_token": "power"}
"""Metrics whose errors share a cause: an interval comes from the residuals of its own group."""
_INFORMS = {
    "decode_tps": ("bandwidth", "step_overhead_s"),
    "tpot_s": ("bandwidth", "step_overhead_s", "decode_compute"),
    "output_tps": ("bandwidth", "step_overhead_s", "decode_compute"),
    "prefill_tps": ("prefill_compute",),
    "ttft_s": ("prefill_compute",),
    "power_w": ("power_activity",),
    "j_per_token": ("power_activity",),
}


@dataclass(frozen=True)
class Observation:
    """One figure and what it was measured on.

    Attributes:
        key: Unique: ``evidence-file/entry-id`` or ``run-id/metric@concurrency``.
        hardware_id: The device's id (a ``hardware.yaml`` key, or ``this-machine-...``).
        hardware: Its figures.
        runtime_class: The runtime's family.
        model: The model's geometry.
        scenario: Lengths and concurrency.
        metric: One of ``benchlib.predict.evidence.METRIC_UNITS``.
        value: The figure.
        source: Where it comes from (a URL or a run id).
        outlier_reason: Why the model is not expected to match it, when stated.
    """

    key: str
    hardware_id: str
    hardware: HardwareSpec
    runtime_class: str
    model: ModelGeometry
    scenario: Scenario
    metric: str
    value: float
    source: str
    outlier_reason: str | None = None

    def levels(self) -> tuple[tuple[str, ...], ...]:
        """Its pools, broad to specific."""
        return level_keys(self.hardware, self.hardware_id, self.runtime_class)


def level_keys(hardware: HardwareSpec, hardware_id: str, runtime_class: str) -> tuple[tuple[str, ...], ...]:
    """The pool keys of a device and runtime class: family, class, device."""
    return (
        ("family", hardware.family, runtime_class),
        ("class", hardware.hardware_class, runtime_class),
        ("hardware", hardware_id, runtime_class),
    )


def prior_range(name: str, hardware: HardwareSpec, runtime_class: str) -> tuple[float, float]:
    """The stated 95% prior range of efficiency ``name`` for this hardware family (overhead: runtime class)."""
    table = PRIOR_RANGES[name]
    key = runtime_class if name == "step_overhead_s" else hardware.family
    return table.get(key, table.get("other") or next(iter(table.values())))


def predict_metric(obs_like: Observation, eff: Efficiencies) -> float:
    """The model's value of an observation's metric at its scenario (NaN when it cannot say)."""
    try:
        point = serving_point(obs_like.hardware, obs_like.model, eff, obs_like.scenario, obs_like.runtime_class)
    except ValueError:
        return float("nan")
    return float(getattr(point, obs_like.metric))


@dataclass(frozen=True)
class Fit:
    """The efficiencies of one pool, with what informed them.

    Attributes:
        key: The pool (``("class", "gpu-datacenter", "vllm")`` ...); ``("prior",)`` for the stated ranges.
        efficiencies: The fitted (or inherited) values.
        sigmas: Log-space prior width each efficiency had at this level.
        informed: Efficiencies some observation of this pool or above informed.
        observations: Keys of the observations of this pool.
        log_residuals: ln(predicted / observed) of those observations at this fit.
        residual_metrics: The metric of each residual.
    """

    key: tuple[str, ...]
    efficiencies: Efficiencies
    sigmas: tuple[float, ...]
    informed: frozenset[str]
    observations: tuple[str, ...] = ()
    log_residuals: tuple[float, ...] = ()
    residual_metrics: tuple[str, ...] = ()

    def residuals(self, group: str | None = None) -> np.ndarray:
        """The log residuals of one :data:`METRIC_GROUPS` group (all of them when ``None``)."""
        values = np.asarray(self.log_residuals, dtype=float)
        if group is None:
            return values
        mask = np.array([METRIC_GROUPS[m] == group for m in self.residual_metrics], dtype=bool)
        return values[mask] if len(values) else values

    def spread(self, group: str | None = None) -> float | None:
        """Root mean square of the log residuals of ``group`` (``None`` below :data:`MIN_SPREAD_POINTS`)."""
        values = self.residuals(group)
        if len(values) < MIN_SPREAD_POINTS:
            return None
        return float(math.sqrt(np.sum(values**2) / (len(values) - 1)))


def _prior_fit(hardware: HardwareSpec, runtime_class: str) -> Fit:
    centers, sigmas = [], []
    for name in Efficiencies.NAMES:
        low, high = prior_range(name, hardware, runtime_class)
        centers.append(math.sqrt(low * high))
        sigmas.append(math.log(high / low) / (2 * stats.norm.ppf(0.975)))
    return Fit(("prior",), Efficiencies.from_tuple(centers), tuple(sigmas), frozenset())


def _fit_level(key: tuple[str, ...], parent: Fit, observations: list[Observation]) -> Fit:
    informed = set(parent.informed)
    for obs in observations:
        informed.update(_INFORMS[obs.metric])
    sigmas = tuple(
        min(sigma, CHILD_SIGMA) if name in parent.informed else sigma
        for name, sigma in zip(Efficiencies.NAMES, parent.sigmas, strict=True)
    )
    center = np.log(parent.efficiencies.as_tuple())
    if not observations:
        return Fit(key, parent.efficiencies, sigmas, frozenset(informed))
    upper = np.log([UPPER_BOUNDS.get(name, 1.0) for name in Efficiencies.NAMES])

    def residuals(x: np.ndarray) -> np.ndarray:
        eff = Efficiencies.from_tuple(np.exp(x))
        fitted = [predict_metric(obs, eff) for obs in observations]
        data = [
            (math.log(value) - math.log(obs.value)) / OBSERVATION_SIGMA if value > 0 and math.isfinite(value) else 0.0
            for obs, value in zip(observations, fitted, strict=True)
        ]
        return np.concatenate([np.asarray(data), (x - center) / np.asarray(sigmas)])

    start = np.minimum(center, upper - 1e-9)
    result = optimize.least_squares(residuals, start, bounds=(np.full(len(start), -np.inf), upper), method="trf")
    eff = Efficiencies.from_tuple(np.exp(result.x))
    logs, metrics = [], []
    for obs in observations:
        value = predict_metric(obs, eff)
        if value > 0 and math.isfinite(value):
            logs.append(math.log(value / obs.value))
            metrics.append(obs.metric)
    return Fit(key, eff, sigmas, frozenset(informed), tuple(o.key for o in observations), tuple(logs), tuple(metrics))


@dataclass
class Calibration:
    """Fits for every pool the observations touch; fitted lazily per target.

    Attributes:
        observations: What calibrates (evidence and runs measured here; never claims).
    """

    observations: list[Observation]
    _fits: dict[tuple[tuple[str, ...], ...], Fit] = field(default_factory=dict, repr=False)

    def chain(self, hardware: HardwareSpec, hardware_id: str, runtime_class: str) -> list[Fit]:
        """The fits from the prior down to the device, broad to specific."""
        fits = [_prior_fit(hardware, runtime_class)]
        path: tuple[tuple[str, ...], ...] = ((hardware.family, runtime_class),)  # the prior depends on these
        for key in level_keys(hardware, hardware_id, runtime_class):
            path = (*path, key)
            if path not in self._fits:
                members = [obs for obs in self.observations if key in obs.levels()]
                self._fits[path] = _fit_level(key, fits[-1], members)
            fits.append(self._fits[path])
        return fits

    def efficiencies(self, hardware: HardwareSpec, hardware_id: str, runtime_class: str) -> Fit:
        """The most specific fit for a device and runtime class."""
        return self.chain(hardware, hardware_id, runtime_class)[-1]

    def spread_fit(self, hardware: HardwareSpec, hardware_id: str, runtime_class: str,
                   group: str | None = None) -> Fit | None:  # fmt: skip
        """The most specific level with enough ``group`` residuals to give an interval, or ``None``."""
        for fit in reversed(self.chain(hardware, hardware_id, runtime_class)[1:]):
            if fit.spread(group) is not None:
                return fit
        return None

    def without(self, keys: Iterable[str]) -> "Calibration":
        """The same calibration without the observations ``keys`` (leave-one-out)."""
        drop = set(keys)
        families = {obs.levels()[0] for obs in self.observations if obs.key in drop}
        kept = Calibration([obs for obs in self.observations if obs.key not in drop])
        # a pool's fit depends only on its own family's observations: the others' fits stay valid
        kept._fits = {path: fit for path, fit in self._fits.items() if path[1] not in families}
        return kept


def calibrate(observations: Iterable[Observation]) -> Calibration:
    """A calibration over ``observations`` (claims must already be left out)."""
    return Calibration(list(observations))


def t_half_width(spread: float, count: int) -> float:
    """Half-width, log units, of a :data:`INTERVAL_LEVEL` prediction interval from ``count`` residuals."""
    return float(stats.t.ppf(0.5 + INTERVAL_LEVEL / 2, count - 1) * spread * math.sqrt(1 + 1 / count))
