"""The article's platforms as the evidence sees them: a predicted serving point per platform, for cost and decision.

The article's figures are claims (``data/reference/evidence/article-2026-01-claims.yaml``):
they are shown with their verdicts, never used to size or price anything. In
their place each article platform (``data/reference/hardware.yaml`` ``platforms:``)
gets the performance model's serving curve for the article's model class
(``reference_models``: ``7B q4`` is Llama-2-7B at Q4_0), on the runtime class
such a device usually serves with (llama.cpp on a CPU, vLLM on a datacenter
GPU), calibrated on the evidence library.

The serving point a platform is priced and sized at is the highest concurrency
(powers of two up to its memory's batch cap) whose predicted per-token latency
meets the target; a platform that misses it even alone is taken at one stream,
and says so.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchlib.predict.command import DEFAULT_RUNTIME_CLASS
from benchlib.predict.predictor import Library, PredictedPoint, Prediction, predict
from benchlib.predict.roofline import Scenario, batch_cap

__all__ = ["DEFAULT_TPOT_TARGET_S", "PUBLISHED_MODEL_SIZE", "SOURCE_PREDICTED", "PlatformEstimate", "article_platform_estimates", "point_latencies", "serving_estimate"]

PUBLISHED_MODEL_SIZE = "7B q4"
"""The model size of the article's published figures (``hardware.yaml`` ``reference_models``: Llama-2-7B at Q4_0)."""
SOURCE_PREDICTED = "predicted"
"""The basis of a number the performance model gave (rung 4 of the evidence ladder)."""
DEFAULT_TPOT_TARGET_S = 0.1
"""Per-token latency a platform's serving point must meet when no target is given: the decision's
default p95 TPOT target (``params/decision/decision.yaml``)."""
MAX_CONCURRENCY = 1024
"""The highest concurrency tried (a datacenter GPU's batch rarely goes past it)."""


@dataclass(frozen=True)
class PlatformEstimate:
    """A platform's predicted serving point under a per-token latency target.

    Attributes:
        platform: The article's platform label.
        hardware_id: Its ``hardware.yaml`` entry.
        model: ``MODEL QUANTIZATION`` predicted.
        runtime_class: The runtime class predicted.
        prediction: The whole serving curve.
        point: The chosen point.
        meets_target: Whether its TPOT meets the target (False: one stream, too slow).
        tpot_target_s: The target.
    """

    platform: str
    hardware_id: str
    model: str
    runtime_class: str
    prediction: Prediction
    point: PredictedPoint
    meets_target: bool
    tpot_target_s: float

    @property
    def basis(self) -> str:
        """One line: what it is, what calibrated it, and its interval's basis."""
        p = self.prediction
        where = "meets the targets" if self.meets_target else "misses the targets even alone"
        return (f"predicted: {self.model} on {self.hardware_id} with {self.runtime_class} at concurrency "
                f"{self.point.point.concurrency} ({where}); calibrated on "
                f"{p.calibration_level}, {p.calibration_points} published measurements; {p.interval_basis}")  # fmt: skip


def point_latencies(point: PredictedPoint, e2e_tokens: int) -> dict[str, float]:
    """TTFT, TPOT and the end-to-end time of an ``e2e_tokens``-token request at a predicted point, s."""
    p = point.point
    return {"ttft_s": p.ttft_s, "tpot_s": p.tpot_s, "e2e_s": p.ttft_s + p.tpot_s * (e2e_tokens - 1)}


def serving_estimate(library: Library, hardware_id: str, model_id: str, quantization: str, *, platform: str = "",
                     runtime_class: str | None = None, scenario: Scenario | None = None,
                     tpot_target_s: float = DEFAULT_TPOT_TARGET_S, targets: dict[str, float] | None = None,
                     e2e_tokens: int | None = None, calibration=None) -> PlatformEstimate:  # fmt: skip
    """The highest-throughput predicted point of a device x model whose latencies meet the targets.

    Args:
        library: The reference files.
        hardware_id: A ``hardware.yaml`` entry.
        model_id: A ``models.yaml`` model.
        quantization: Its quantization.
        platform: A label for the estimate (default: the hardware id).
        runtime_class: Default: what the hardware class usually serves with.
        scenario: Prompt and output lengths (default 128 + 128).
        tpot_target_s: The per-token latency target, s (used when ``targets`` is ``None``).
        targets: Targets by ``ttft_s``, ``tpot_s``, ``e2e_s`` (s), each compared with the model's typical value.
        e2e_tokens: Output length the ``e2e_s`` target is for (default: the scenario's).
        calibration: A calibration to reuse (default: the library's).
    """
    spec = library.spec(hardware_id)
    runtime_class = runtime_class or DEFAULT_RUNTIME_CLASS[spec.hardware_class]
    scenario = scenario or Scenario()
    model = library.models.geometry(model_id, quantization)
    cap, _ = batch_cap(spec, model, scenario.at(MAX_CONCURRENCY), runtime_class)
    concurrencies = [c for c in (2**i for i in range(11)) if c <= max(cap, 1)]
    prediction = predict(calibration or library.calibration(), spec, hardware_id, model, runtime_class, scenario,
                         concurrencies)  # fmt: skip
    targets = targets if targets is not None else {"tpot_s": tpot_target_s}
    e2e_tokens = e2e_tokens or scenario.output_tokens

    def meets(point: PredictedPoint) -> bool:
        latencies = point_latencies(point, e2e_tokens)
        return all(latencies[name] <= limit for name, limit in targets.items())

    meeting = [p for p in prediction.points if meets(p)]
    chosen = max(meeting, key=lambda p: p.point.output_tps) if meeting else prediction.points[0]
    return PlatformEstimate(platform or hardware_id, hardware_id, model.name, runtime_class, prediction, chosen,
                            bool(meeting), targets.get("tpot_s", tpot_target_s))  # fmt: skip


def article_platform_estimates(library: Library, *, model_size: str = PUBLISHED_MODEL_SIZE, scenario: Scenario | None = None,
                               tpot_target_s: float = DEFAULT_TPOT_TARGET_S, targets: dict[str, float] | None = None,
                               e2e_tokens: int | None = None) -> dict[str, PlatformEstimate]:  # fmt: skip
    """Every article platform label's estimate for the article's model class, keyed by the label.

    Only the article's own labels (``platforms:`` entries whose name has a space, e.g.
    ``L4-class GPU``) are estimated; profile names (``l4``) map to the same hardware.
    """
    reference = library.hardware.reference_models[model_size]
    calibration = library.calibration()
    estimates = {}
    for label, entry in library.hardware.platforms.items():
        if " " not in label or entry.hardware is None:
            continue
        estimates[label] = serving_estimate(library, entry.hardware, reference.model_id, reference.quantization,
                                            platform=label, scenario=scenario, tpot_target_s=tpot_target_s,
                                            targets=targets, e2e_tokens=e2e_tokens, calibration=calibration)  # fmt: skip
    return estimates
