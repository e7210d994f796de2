"""The candidates: the platforms that can serve the decision's model, each from the best evidence there is.

By default the mission's platforms (``data/reference/decision-platforms.yaml``:
Raspberry Pi 5 CPU, Pi 5 + AI HAT+ 2, L4, A10G, H100), the hosted APIs of the
price files, and every measured or imported run of the decision's model. A
platform covered by such a run is that run (measured here beats imported beats
predicted, :mod:`benchlib.decision.candidate_sources`); the others are sized
from the performance model's predicted serving curve. A run of another model is
no candidate: it is listed once under "not comparable" with its model. Runs
measured on the machine benchlib runs on compete only when ``this_machine`` is
true or ``candidates`` names them. The article's figures are claims, never used.

A candidate's class comes from its price profile's kind: ``owned`` is
``edge``, ``rented`` is ``cloud``, ``hosted`` is ``hosted``. Every candidate is
sized at the peak hour's arrival rate with queueing
(:mod:`benchlib.decision.load_capacity`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from benchlib.analysis.tables import report_runs
from benchlib.cost import (
    PriceBook,
    Profile,
    load_prices,
    measured_power_w,
    profile_from_record,
)
from benchlib.decision.candidate_sources import (
    BASIS,
    imported_levels,
    measured_levels,
    nearest_evidence,
    predicted_levels,
    run_model,
)
from benchlib.decision.capacity import (
    Capacity,
    LatencySamples,
    TargetCheck,
    hosted_capacity,
)
from benchlib.decision.inputs import DecisionInputs
from benchlib.decision.load_capacity import LoadSizing, best_sizing, size_level
from benchlib.decision.platform_catalog import (
    MissionPlatform,
    load_platform_catalog,
    select_platforms,
    settling_sweep,
)
from benchlib.decision.serving import LoadLevel
from benchlib.errors import ParameterError
from benchlib.predict.predictor import Library, load_library
from benchlib.predict.roofline import Scenario, batch_cap
from benchlib.records import IMPORTED_KIND, StoredRun

__all__ = ["CLAIMS_NOT_USED", "CLASSES", "Candidate", "CandidateSet", "build_candidates", "resize"]

CLASSES = ("edge", "cloud", "hosted")
CLAIMS_NOT_USED = ("the article's figures are claims, never used to size or price: the plausibility check rejects "
                   "their throughputs (see plausibility.csv); the platform is sized from the best evidence instead")
_CLASS_OF_KIND = {"owned": "edge", "rented": "cloud", "hosted": "hosted"}


@dataclass(frozen=True)
class Candidate:
    """One platform that may serve the workload, sized at the peak hour with queueing.

    Attributes:
        name: The catalogue platform's name, the run id, or the hosted profile's name.
        platform: The platform (catalogue name, the run's ``platform`` parameter, the hosted API).
        platform_class: ``edge``, ``cloud`` or ``hosted``.
        source: ``measured``, ``imported``, ``predicted`` or ``list price``.
        run_id: The run's id; ``None`` otherwise.
        model: The model as served (``llama-2-7b q4_0``).
        price_profile: Its price profile; ``None`` when none is known (it cannot be priced).
        power_w: Draw under load, watts; ``None`` when unknown.
        power_basis: ``measured``, ``estimated`` (a profile's figure) or ``predicted``.
        levels: Its serving curve (load levels); empty for a hosted API.
        sizing: Its fleet at the peak hour (``None`` for a hosted API).
        basis_note: Where its numbers come from, in words.
        to_narrow: The measurement that would settle what rests on a prediction, as a command.
        output_tokens: Output tokens per request its levels were built for.
        unsized_checks: The target checks of a candidate without a fleet (a hosted API: ``not known``).
    """

    name: str
    platform: str
    platform_class: str
    source: str
    run_id: str | None
    model: str
    price_profile: Profile | None
    power_w: float | None
    power_basis: str
    levels: tuple[LoadLevel, ...] = field(repr=False)
    sizing: LoadSizing | None = field(repr=False)
    basis_note: str = ""
    to_narrow: str | None = None
    output_tokens: int = 128
    unsized_checks: tuple[TargetCheck, ...] = ()

    @property
    def capacity(self) -> Capacity:
        """What one device serves at its chosen level (per device; the fleet comes from :attr:`sizing`)."""
        if self.sizing is None:
            return hosted_capacity({}, 1).capacity
        level = self.sizing.level
        tps = level.requests_per_s * self.output_tokens
        return Capacity(level.slots, tps, tps * level.speed_low, tps * level.speed_high, level.requests_per_s,
                        BASIS[self.source], level.step, self.basis_note)  # fmt: skip

    @property
    def p95_s(self) -> dict[str, float]:
        """At the targets' quantile: TTFT and end-to-end with the queue wait, TPOT (NaN when not known)."""
        if self.sizing is None:
            return {"ttft_s": float("nan"), "tpot_s": float("nan"), "e2e_s": float("nan")}
        return dict(self.sizing.achieved_s)

    @property
    def checks(self) -> tuple[TargetCheck, ...]:
        """Each set target against what it achieves (a hosted API's are ``not known``)."""
        return self.sizing.checks if self.sizing is not None else self.unsized_checks

    @property
    def samples(self) -> LatencySamples:
        """Per-request latencies at its chosen level (for the hybrid what-if)."""
        if self.sizing is None:
            nan = np.array([np.nan])
            return LatencySamples(nan, nan, nan, self.output_tokens)
        level = self.sizing.level
        return LatencySamples(level.ttft_s, level.tpot_s, level.service_s, self.output_tokens)

    @property
    def billed_power_w(self) -> float | None:
        """The power electricity is billed at when it is not the profile's own: measured or predicted, else ``None``."""
        return self.power_w if self.power_basis in ("measured", "predicted") else None

    @property
    def meets_targets(self) -> bool:
        """True when every set target is known and met."""
        return self.sizing is not None and self.sizing.meets

    def matches(self, name: str) -> bool:
        """True when ``name`` is this candidate's name, run id or platform."""
        return name in (self.name, self.run_id, self.platform)


@dataclass(frozen=True)
class CandidateSet:
    """The candidates, the runs and platforms left out with why, and the runs of other models."""

    candidates: tuple[Candidate, ...]
    skipped: tuple[tuple[str, str], ...]
    prices: PriceBook
    not_comparable: tuple[tuple[str, str], ...] = ()


def _make(inputs: DecisionInputs, levels: list[LoadLevel], **values: Any) -> Candidate:
    targets = inputs.targets
    sizing = best_sizing(levels, inputs.workload.peak_rate_per_s, targets.set_targets(), targets.quantile,
                         attainment=targets.slo_attainment, seed=inputs.workload.seed)  # fmt: skip
    if values.get("power_basis") == "predicted" and sizing is not None and sizing.level.power_w is not None:
        values["power_w"] = sizing.level.power_w
    return Candidate(levels=tuple(levels), sizing=sizing, output_tokens=inputs.workload.output_tokens, **values)


def _hosted_checks_for(inputs: DecisionInputs) -> tuple[TargetCheck, ...]:
    return hosted_capacity(inputs.targets.set_targets(), inputs.e2e_output_tokens).checks


def resize(candidate: Candidate, inputs: DecisionInputs, speed: float) -> Candidate:
    """The candidate with its chosen level ``speed`` times as fast, re-sized at the peak (for cost intervals)."""
    if candidate.sizing is None:
        return candidate
    targets = inputs.targets
    level = candidate.sizing.level.scaled(speed)
    sizing = size_level(level, candidate.sizing.rate_per_s, targets.set_targets(), targets.quantile,
                        attainment=targets.slo_attainment, seed=inputs.workload.seed)  # fmt: skip
    return dataclasses.replace(candidate, sizing=sizing)


def _profile(inputs: DecisionInputs, prices: PriceBook, keys: tuple[str | None, ...]) -> Profile | None:
    """The profile ``price_profiles`` names for the first of ``keys`` it has, else ``None``."""
    for key in keys:
        if key is not None and key in inputs.selection.price_profiles:
            name = inputs.selection.price_profiles[key]
            if name not in prices:
                raise ParameterError(
                    f"price_profiles: candidate '{key}' names unknown price profile '{name}'; "
                    f"known profiles: {', '.join(prices)}. Add it to a price file and list that file in price_files."
                )
            return prices[name]
    return None


def _run_candidate(run: StoredRun, inputs: DecisionInputs, prices: PriceBook) -> Candidate | str:
    """A run of the decision's model as a candidate, or why it cannot be one."""
    record = run.record
    platform = str(record.parameters.get("platform") or record.parameters.get("profile") or run.run_id)
    source = "imported" if record.kind == IMPORTED_KIND else "measured"
    output_tokens = inputs.workload.output_tokens
    levels = imported_levels(run, output_tokens) if source == "imported" else measured_levels(run, output_tokens)
    if not levels:
        return "no completed request or load step to size with"
    profile = _profile(inputs, prices, (run.run_id, platform))
    if profile is None and record.price_profile:
        profile = profile_from_record(record.price_profile)
    energy = record.summary.energy.model_dump() if record.summary.energy is not None else None
    power_w = measured_power_w({"energy": energy})
    basis = "measured" if power_w is not None else "estimated"
    if power_w is None and profile is not None:
        power_w = profile.power_w
    platform_class = _CLASS_OF_KIND.get(profile.kind, "unknown") if profile is not None else "unknown"
    note = "one stream: the run sent one request at a time" if len(levels) == 1 and levels[0].slots == 1 else ""
    candidate = _make(inputs, levels, name=run.run_id, platform=platform, platform_class=platform_class,
                      source=source, run_id=run.run_id, model=f"{inputs.service.label} ({record.model.get('name')})",
                      price_profile=profile, power_w=power_w, power_basis=basis, basis_note=note)  # fmt: skip
    level = candidate.sizing.level if candidate.sizing is not None else None
    if level is not None and level.measured_rate_rps is not None:
        search = record.rate_search or {}
        low, high = search.get("interval_rps") or (level.measured_rate_rps, level.measured_rate_rps)
        note = (f"capacity measured by load: sweep: {low:.3g} req/s sustained within the run's targets, "
                f"{high:.3g} req/s not ({search.get('rule', '')}); fleet = ceil(rate / {low:.3g}), "
                f"latencies as measured at that rate, queue included")  # fmt: skip
        candidate = dataclasses.replace(candidate, basis_note=note)
    return candidate


def _platform_candidate(name: str, platform: MissionPlatform, inputs: DecisionInputs, prices: PriceBook,
                        library: Library, calibration) -> Candidate | str:  # fmt: skip
    """A catalogue platform at its predicted serving curve, or why it cannot serve the model."""
    model_id = inputs.service.model
    quantization = platform.quantization or inputs.service.quantization
    if platform.models is not None and model_id not in platform.models:
        return f"cannot run {model_id}: it runs only {', '.join(platform.models)} ({platform.models_source})"
    workload = inputs.workload
    scenario = Scenario(prompt_tokens=workload.prompt_tokens, output_tokens=workload.output_tokens)
    spec = library.spec(platform.hardware)
    cap, reason = batch_cap(spec, library.models.geometry(model_id, quantization), scenario, platform.runtime_class)
    if cap < 1:
        return f"cannot hold {model_id} {quantization}: {reason}"
    levels, prediction = predicted_levels(library, platform.hardware, model_id, quantization,
                                          platform.runtime_class, scenario, calibration)  # fmt: skip
    if not levels:
        return f"no predicted load level of {model_id} {quantization} on {platform.hardware}"
    profile = _profile(inputs, prices, (name,)) or prices.profiles.get(platform.price_profile)
    if profile is None:
        raise ParameterError(f"decision-platforms.yaml: platform '{name}' names price profile "
                             f"'{platform.price_profile}', which no price file defines; known: {', '.join(prices)}.")  # fmt: skip
    evidence = nearest_evidence(library, platform.hardware, model_id)
    note = (f"{prediction.runtime_class} on {platform.hardware}; calibrated on {prediction.calibration_level}, "
            f"{prediction.calibration_points} published measurements; {prediction.interval_basis}; the model's "
            "typical per-request values stand for every request (no spread within a level)")  # fmt: skip
    if evidence:
        note += "; published on this hardware, for comparison: " + "; ".join(evidence)
    if platform.quantization:
        note += f"; it serves its own {platform.quantization} build of the model"
    return _make(inputs, levels, name=name, platform=name, platform_class=_CLASS_OF_KIND[profile.kind],
                 source="predicted", run_id=None, model=f"{model_id} {quantization}", price_profile=profile,
                 power_w=None, power_basis="predicted", basis_note=note,
                 to_narrow=settling_sweep(platform, f"{model_id} {quantization}"))  # fmt: skip


def _hosted_list_prices(runs: list[StoredRun], inputs: DecisionInputs, prices: PriceBook) -> list[Candidate]:
    """Every hosted API of the price files that no run was priced with: a candidate at its list price."""
    used = {str((run.record.price_profile or {}).get("name")) for run in runs}
    hosted = []
    for name, profile in prices.profiles.items():
        if profile.kind == "hosted" and name not in used:
            hosted.append(Candidate(
                name, profile.description or name, "hosted", "list price", None, "the provider's", profile, None,
                "not known (hosted API)", (), None, "priced per token; run an http sweep against it to measure its "
                "latency", None, inputs.workload.output_tokens, _hosted_checks_for(inputs),
            ))  # fmt: skip
    return hosted


def _is_this_machine(run: StoredRun, library: Library) -> bool:
    hardware_id, _ = library.hardware.platform_hardware(str(run.record.parameters.get("platform") or ""))
    return hardware_id is None and run.record.kind != IMPORTED_KIND


def build_candidates(inputs: DecisionInputs, runs: list[StoredRun] | None = None,
                     reference: pd.DataFrame | None = None, prices: PriceBook | None = None,
                     library: Library | None = None) -> CandidateSet:  # fmt: skip
    """Every candidate the inputs select, sized at the peak hour.

    Raises:
        ParameterError: an unknown price profile or platform (the known ones are listed), or a name in
            ``candidates`` or ``price_profiles`` that matches no candidate (the candidates are listed).
    """
    selection = inputs.selection
    prices = prices if prices is not None else load_prices(*selection.price_files)
    library = library or load_library()
    skipped: list[tuple[str, str]] = []
    not_comparable: list[tuple[str, str]] = []
    if runs is None:
        runs = []
        if selection.runs:
            scan = report_runs(selection.runs_dir)
            runs = scan.runs
            skipped += [(s.run_id, s.reason) for s in scan.skipped]
    named = set(selection.candidates or [])
    candidates: list[Candidate] = []
    covered: dict[str, str] = {}
    for run in runs:
        model_id, quantization, recorded = run_model(run, library)
        if model_id != inputs.service.model or (quantization and quantization != inputs.service.quantization):
            not_comparable.append((run.run_id, recorded or "unknown model"))
            continue
        platform = str(run.record.parameters.get("platform") or "")
        if _is_this_machine(run, library) and not selection.this_machine and not named & {run.run_id, platform}:
            skipped.append((run.run_id, ("measured on this machine: it competes only when named "
                                        "(this_machine: true, or its run id in candidates)")))  # fmt: skip
            continue
        candidate = _run_candidate(run, inputs, prices)
        if isinstance(candidate, str):
            skipped.append((run.run_id, candidate))
            continue
        candidates.append(candidate)
        hardware_id, _ = library.hardware.platform_hardware(platform)
        if hardware_id:
            covered.setdefault(hardware_id, run.run_id)
    catalog = select_platforms(load_platform_catalog(), selection.platforms) if selection.platforms else {}
    calibration = library.calibration() if catalog else None
    for name, platform in catalog.items():
        if platform.hardware in covered:
            skipped.append((name, f"not predicted: run {covered[platform.hardware]} measured it"))
            continue
        candidate = _platform_candidate(name, platform, inputs, prices, library, calibration)
        if isinstance(candidate, str):
            skipped.append((name, candidate))
        else:
            candidates.append(candidate)
    if catalog:
        skipped.append(("the article's platform figures", CLAIMS_NOT_USED))
    candidates += _hosted_list_prices(runs, inputs, prices)
    _check_names(inputs, candidates, not_comparable)
    if selection.candidates is not None:
        kept = [c for c in candidates if any(c.matches(name) for name in selection.candidates)]
        skipped += [(c.name, "not in candidates") for c in candidates if c not in kept]
        candidates = kept
    return CandidateSet(tuple(candidates), tuple(skipped), prices, tuple(not_comparable))


def _check_names(inputs: DecisionInputs, candidates: list[Candidate], not_comparable: list[tuple[str, str]]) -> None:
    names = [*(inputs.selection.candidates or []), *inputs.selection.price_profiles]
    other_models = dict(not_comparable)
    for name in names:
        if name in other_models:
            raise ParameterError(f"'{name}' (in candidates or price_profiles) ran {other_models[name]}, not "
                                 f"{inputs.service.label}: a run of another model is no candidate.")  # fmt: skip
        if not any(candidate.matches(name) for candidate in candidates):
            raise ParameterError(
                f"'{name}' (in candidates or price_profiles) matches no candidate; candidates: "
                f"{', '.join(c.name for c in candidates) or 'none'} (a platform, a run id or a hosted profile)."
            )
