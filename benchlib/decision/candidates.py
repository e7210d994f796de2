"""The candidates: every measured run and every article platform nothing measured, each with its price profile.

A candidate's class comes from its price profile's kind: ``owned`` hardware is
``edge`` (it runs on your premises), a ``rented`` instance is ``cloud``, a
``hosted`` API is ``hosted``; a platform without a profile keeps the article's
class. Its name is the run id (measured) or the article's platform name. A
name in ``candidates`` or a key of ``price_profiles`` matches a candidate's
name, run id or platform.

Article platforms are the platforms of the article's ``7B q4`` rows. Their
figures are claims and are never used: each is sized at the performance
model's predicted serving point for the article's model class on that
hardware (:mod:`benchlib.decision.predicted`), with source ``predicted``. A
platform is covered by a measured run when the run's price profile names it as
``article_platform`` or the run's ``platform`` is that name. A reference file
of your own whose platform ``hardware.yaml`` does not map to a device keeps its
figures (source ``published``: unverified, one stream).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from benchlib.analysis.tables import load_reference, report_runs
from benchlib.cost import PriceBook, Profile, load_prices, measured_power_w, profile_from_record
from benchlib.decision.capacity import (
    hosted_capacity,
    Capacity,
    LatencySamples,
    Measured,
    TargetCheck,
    imported_capacity,
    load_step_capacity,
    published_capacity,
    single_stream_capacity,
)
from benchlib.decision.predicted import predicted_capacity
from benchlib.decision.inputs import DecisionInputs
from benchlib.errors import ParameterError
from benchlib.predict.platforms import SOURCE_PREDICTED, PlatformEstimate, article_platform_estimates
from benchlib.predict.predictor import load_library
from benchlib.predict.roofline import Scenario
from benchlib.records import StoredRun

__all__ = ["CLAIMS_NOT_USED", "CLASSES", "PUBLISHED_MODEL_SIZE", "SOURCE_PREDICTED", "Candidate", "CandidateSet",
           "build_candidates", "published_figures"]

CLASSES = ("edge", "cloud", "hosted")
PUBLISHED_MODEL_SIZE = "7B q4"
CLAIMS_NOT_USED = ("claims, never used to size or price: the plausibility check rejects their throughputs (above "
                   "the bandwidth ceiling, or beyond any published measurement: see "
                   "plausibility.csv); the platform is sized from the evidence library's prediction instead")
_CLASS_OF_KIND = {"owned": "edge", "rented": "cloud", "hosted": "hosted"}


@dataclass(frozen=True)
class Candidate:
    """One platform that may serve the workload, with its capacity under the targets.

    Attributes:
        name: Run id (measured) or the article's platform name (predicted).
        platform: The platform (the run's ``platform`` parameter, or the article's name).
        platform_class: ``edge``, ``cloud`` or ``hosted``.
        source: ``measured``, ``imported``, ``predicted`` (an article platform) or ``list price`` (hosted).
        run_id: The run's id; ``None`` for a published platform.
        model: The model (the run's model name, or the article's model size).
        price_profile: Its price profile; ``None`` when none is known (it cannot be priced).
        power_w: Draw under load, watts (measured by a sensor, else the profile's); ``None`` when unknown.
        power_basis: ``measured`` (a sensor), ``estimated`` (a profile's figure) or ``predicted``.
        capacity: What one device or instance serves under the targets.
        p95_s: The p95s at that capacity (``ttft_s``, ``tpot_s``, ``e2e_s``), seconds; NaN when not known.
        checks: Each set target against them.
        samples: Per-request latencies at that capacity, for the hybrid simulation.
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
    capacity: Capacity
    p95_s: dict[str, float]
    checks: tuple[TargetCheck, ...]
    samples: LatencySamples

    @property
    def billed_power_w(self) -> float | None:
        """The power electricity is billed at when it is not the profile's own: measured or predicted, else ``None``."""
        return self.power_w if self.power_basis in ("measured", SOURCE_PREDICTED) else None

    @property
    def meets_targets(self) -> bool:
        """True when every set target is known and met."""
        return all(check.status == "meets" for check in self.checks)

    def matches(self, name: str) -> bool:
        """True when ``name`` is this candidate's name, run id or platform."""
        return name in (self.name, self.run_id, self.platform)


@dataclass(frozen=True)
class CandidateSet:
    """The candidates, and the runs and platforms left out with why."""

    candidates: tuple[Candidate, ...]
    skipped: tuple[tuple[str, str], ...]
    prices: PriceBook


def published_figures(reference: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The article's ``7B q4`` figures by platform: ``{platform: {"platform_class": ..., metric: value}}``."""
    rows = reference[reference["model_size"] == PUBLISHED_MODEL_SIZE]
    platforms: dict[str, dict[str, Any]] = {}
    for _, row in rows.iterrows():
        entry = platforms.setdefault(row["platform"], {"platform_class": row["platform_class"]})
        entry[row["metric"]] = float(row["value"])
    return platforms


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


def _measured(run: StoredRun, inputs: DecisionInputs, prices: PriceBook) -> Candidate | str:
    """A run as a candidate, or why it cannot be one."""
    targets = inputs.targets.set_targets()
    output_tokens, e2e_tokens = inputs.workload.output_tokens, inputs.e2e_output_tokens
    record = run.record
    platform = str(record.parameters.get("platform") or record.parameters.get("profile") or run.run_id)
    source = "imported" if record.kind == "imported" else "measured"
    if source == "imported":
        measured = imported_capacity(run, targets, output_tokens, e2e_tokens)
        if measured is None:
            return "imported without a throughput to size with"
    elif record.is_load_sweep:
        measured = load_step_capacity(run, targets, output_tokens, e2e_tokens)
        if measured is None:
            return "no complete closed-loop load step to read a capacity from"
    else:
        measured = single_stream_capacity(run, targets, output_tokens, e2e_tokens)
        if measured is None:
            return "no completed request"
    profile = _profile(inputs, prices, (run.run_id, platform))
    if profile is None and record.price_profile:
        profile = profile_from_record(record.price_profile)
    energy = record.summary.energy.model_dump() if record.summary.energy is not None else None
    power_w = measured_power_w({"energy": energy})
    basis = "measured" if power_w is not None else "estimated"
    if power_w is None and profile is not None:
        power_w = profile.power_w
    platform_class = _CLASS_OF_KIND.get(profile.kind, "unknown") if profile is not None else "unknown"
    return _candidate(run.run_id, platform, platform_class, source, run.run_id, str(record.model.get("name")),
                      profile, power_w, basis, measured)  # fmt: skip


def _candidate(name, platform, platform_class, source, run_id, model, profile, power_w, basis, measured: Measured):
    return Candidate(
        name, platform, platform_class, source, run_id, model, profile, power_w, basis,
        measured.capacity, measured.p95_s, measured.checks, measured.samples,
    )  # fmt: skip


def _platform_profile(platform: str, inputs: DecisionInputs, prices: PriceBook) -> Profile | None:
    """The profile ``price_profiles`` names for an article platform, else the one whose ``article_platform`` it is."""
    profile = _profile(inputs, prices, (platform,))
    if profile is None:
        profile = next((p for p in prices.profiles.values() if p.article_platform == platform), None)
    return profile


def _published(platform: str, figures: dict[str, Any], inputs: DecisionInputs, prices: PriceBook) -> Candidate:
    """A reference platform on hardware ``hardware.yaml`` does not know: its own figures, unverified, one stream."""
    profile = _platform_profile(platform, inputs, prices)
    measured = published_capacity(
        figures, inputs.targets.set_targets(), inputs.workload.output_tokens, inputs.e2e_output_tokens
    )
    platform_class = _CLASS_OF_KIND[profile.kind] if profile is not None else str(figures["platform_class"])
    power_w = profile.power_w if profile is not None else figures.get("power")
    return _candidate(platform, platform, platform_class, "published", None, f"{PUBLISHED_MODEL_SIZE} (published)",
                      profile, power_w, "estimated", measured)  # fmt: skip


def _predicted(platform: str, figures: dict[str, Any], estimate: PlatformEstimate, inputs: DecisionInputs,
               prices: PriceBook) -> Candidate:  # fmt: skip
    """An article platform nothing measured, at its predicted serving point (its claims are never used)."""
    profile = _platform_profile(platform, inputs, prices)
    measured = predicted_capacity(
        estimate, inputs.targets.set_targets(), inputs.workload.output_tokens, inputs.e2e_output_tokens
    )
    platform_class = _CLASS_OF_KIND[profile.kind] if profile is not None else str(figures["platform_class"])
    model = f"{estimate.model} (predicted for the article's {PUBLISHED_MODEL_SIZE})"
    return _candidate(platform, platform, platform_class, SOURCE_PREDICTED, None, model, profile,
                      estimate.point.point.power_w, SOURCE_PREDICTED, measured)  # fmt: skip


def _estimates(inputs: DecisionInputs) -> dict[str, PlatformEstimate]:
    """Each article platform's predicted serving point under the decision's targets and request lengths."""
    workload = inputs.workload
    scenario = Scenario(prompt_tokens=workload.prompt_tokens, output_tokens=workload.output_tokens)
    return article_platform_estimates(load_library(), model_size=PUBLISHED_MODEL_SIZE, scenario=scenario,
                                      targets=inputs.targets.set_targets(), e2e_tokens=inputs.e2e_output_tokens)  # fmt: skip


def _hosted_list_prices(runs: list[StoredRun], inputs: DecisionInputs, prices: PriceBook) -> list[Candidate]:
    """Every hosted API of the price files that no measured run was priced with: a candidate at its list price."""
    used = {str((run.record.price_profile or {}).get("name")) for run in runs}
    measured = hosted_capacity(inputs.targets.set_targets(), inputs.e2e_output_tokens)
    return [
        _candidate(name, profile.description or name, "hosted", "list price", None, "the provider's", profile, None,
                   "not known (hosted API)", measured)  # fmt: skip
        for name, profile in prices.profiles.items()
        if profile.kind == "hosted" and name not in used
    ]


def _covered_platforms(runs: list[StoredRun]) -> set[str]:
    covered = set()
    for run in runs:
        covered.add(str(run.record.parameters.get("platform")))
        covered.add(str((run.record.price_profile or {}).get("article_platform") or ""))
    return covered


def build_candidates(
    inputs: DecisionInputs,
    runs: list[StoredRun] | None = None,
    reference: pd.DataFrame | None = None,
    prices: PriceBook | None = None,
) -> CandidateSet:
    """Every candidate the inputs select, with its capacity under the targets.

    Args:
        inputs: The decision's inputs.
        runs: The measured runs (default: those under ``runs_dir`` when ``runs`` is true).
        reference: The published figures (default: ``reference_csv`` when ``published`` is true).
        prices: The price book (default: ``load_prices(*price_files)``).

    Raises:
        ParameterError: an unknown price profile (the known ones are listed), or a name in
            ``candidates`` or ``price_profiles`` that matches no candidate (the candidates are listed).
    """
    selection = inputs.selection
    prices = prices if prices is not None else load_prices(*selection.price_files)
    skipped: list[tuple[str, str]] = []
    if runs is None:
        runs = []
        if selection.runs:
            scan = report_runs(selection.runs_dir)
            runs = scan.runs
            skipped += [(s.run_id, s.reason) for s in scan.skipped]
    candidates: list[Candidate] = []
    for run in runs:
        candidate = _measured(run, inputs, prices)
        if isinstance(candidate, str):
            skipped.append((run.run_id, candidate))
        else:
            candidates.append(candidate)
    if reference is None and selection.published:
        reference = load_reference(selection.reference_path())
    if reference is not None and selection.published:
        covered = _covered_platforms(runs)
        estimates = _estimates(inputs)
        for platform, figures in published_figures(reference).items():
            if platform in covered:
                skipped.append((platform, "not predicted: a measured run covers this platform"))
            elif platform not in estimates:  # a reference of your own, on hardware hardware.yaml does not know
                candidates.append(_published(platform, figures, inputs, prices))
            else:
                candidates.append(_predicted(platform, figures, estimates[platform], inputs, prices))
                skipped.append((f"{platform} (the article's figures)", CLAIMS_NOT_USED))
    candidates += _hosted_list_prices(runs, inputs, prices)
    _check_names(inputs, candidates)
    if selection.candidates is not None:
        kept = [c for c in candidates if any(c.matches(name) for name in selection.candidates)]
        skipped += [(c.name, "not in candidates") for c in candidates if c not in kept]
        candidates = kept
    return CandidateSet(tuple(candidates), tuple(skipped), prices)


def _check_names(inputs: DecisionInputs, candidates: list[Candidate]) -> None:
    names = [*(inputs.selection.candidates or []), *inputs.selection.price_profiles]
    for name in names:
        if not any(candidate.matches(name) for candidate in candidates):
            raise ParameterError(
                f"'{name}' (in candidates or price_profiles) matches no candidate; candidates: "
                f"{', '.join(c.name for c in candidates) or 'none'} (a run id, an article platform or a run's platform)."
            )

