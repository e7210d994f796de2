"""What the decision is asked: the model served, service targets, the workload, constraints and candidates, validated.

Every input has one flat name, the same in ``params/decision/*.yaml`` and in the
decision notebook's ``parameters`` cell (:data:`FLAT_DEFAULTS` lists them with
their defaults); :class:`DecisionInputs` groups them into sections. A bad value
is a :class:`~benchlib.errors.ParameterError` naming the parameter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import numpy as np
import yaml
from pydantic import Field, StrictBool, StrictStr, field_validator, model_validator

from benchlib.decision.hourly import hourly_shares
from benchlib.decision.service_levels import DEFAULT_SERVICE_LEVEL, service_level
from benchlib.errors import ParameterError
from benchlib.hardware.model_reference import load_models
from benchlib.paths import RUNS_DEFAULT, params_dir, reference_csv
from benchlib.reference_files import parse_yaml
from benchlib.units import SECONDS_PER_HOUR
from benchlib.validation import ValidatedModel, parse

__all__ = [
    "DEFAULT_QUANTIZATION",
    "DEFAULT_SERVED_MODEL",
    "DEFAULT_SERVICE_LEVEL",
    "DIURNAL_PARAMS",
    "FLAT_DEFAULTS",
    "FLAT_PARAMS",
    "SMALL_MODEL_PARAMS",
    "CandidateSelection",
    "Constraints",
    "DecisionInputs",
    "ServedModel",
    "Targets",
    "Traffic",
    "decision_inputs",
    "load_decision_inputs",
]

DEFAULT_SERVED_MODEL = "llama-2-7b"
"""The article's 7B Q4 class (``hardware.yaml`` ``reference_models``: Llama-2-7B at Q4_0)."""
DEFAULT_QUANTIZATION = "q4_0"

FLAT_PARAMS = params_dir() / "decision" / "decision.yaml"
"""The shipped example: the article's workload (1 M requests/day of 128 tokens, 100 ms p95 per token), flat day."""
DIURNAL_PARAMS = params_dir() / "decision" / "decision-diurnal.yaml"
"""The same on the built-in diurnal day. (Not under ``params/*.yaml``: those are sweep parameter files.)"""
SMALL_MODEL_PARAMS = params_dir() / "decision" / "decision-small-model.yaml"
"""A 1.5B-class model, p95 TPOT <= 200 ms, 20,000 requests a day: where the answer may move to the edge."""

PositiveSeconds = Annotated[float, Field(gt=0)]
PositiveTokens = Annotated[int, Field(gt=0)]


class ServedModel(ValidatedModel):
    """The model the service runs: a ``data/reference/models.yaml`` geometry at a quantization.

    Attributes:
        model: A ``models.yaml`` model id (default: the article's 7B Q4 class, Llama-2-7B).
        quantization: A ``models.yaml`` quantization.
    """

    model: StrictStr = DEFAULT_SERVED_MODEL
    quantization: StrictStr = DEFAULT_QUANTIZATION

    @model_validator(mode="after")
    def _known(self) -> ServedModel:
        models = load_models()
        if self.model not in models.models:
            raise ParameterError(f"model '{self.model}' is not in data/reference/models.yaml; valid: "
                                 f"{', '.join(sorted(models.models))}.")  # fmt: skip
        if self.quantization not in models.quantizations:
            raise ParameterError(f"quantization '{self.quantization}' is not in data/reference/models.yaml; valid: "
                                 f"{', '.join(sorted(models.quantizations))}.")  # fmt: skip
        return self

    @property
    def label(self) -> str:
        """``llama-2-7b q4_0``."""
        return f"{self.model} {self.quantization}"


class Targets(ValidatedModel):
    """Service targets: limits in seconds checked at a percentile, or an SLO attainment.

    A named ``service_level`` (``data/reference/service-levels.yaml``, cited) gives
    the TTFT and TPOT limits; a limit set here overrides it, ``None`` leaves it to
    the service level (or unset without one). TTFT includes the wait in the queue.

    Attributes:
        service_level: A ``service-levels.yaml`` entry, or ``None``.
        ttft_target_s: Time to first token, queue wait included.
        tpot_target_s: Time per output token (per-token latency).
        e2e_target_s: End-to-end time of a request of ``e2e_output_tokens`` tokens, queue wait included.
        e2e_output_tokens: Output length the end-to-end target is for; ``None``: the workload's ``output_tokens``.
        target_percentile: The percentile every limit is checked at (95 or 99; 50 < p < 100).
        slo_attainment: Instead of a percentile per limit: the share of requests that must meet every
            limit at once (0.99: 99% of requests within all of them).
    """

    service_level: StrictStr | None = DEFAULT_SERVICE_LEVEL
    ttft_target_s: PositiveSeconds | None = None
    tpot_target_s: PositiveSeconds | None = None
    e2e_target_s: PositiveSeconds | None = None
    e2e_output_tokens: PositiveTokens | None = None
    target_percentile: Annotated[float, Field(gt=50, lt=100)] = 95.0
    slo_attainment: Annotated[float, Field(gt=0.5, lt=1)] | None = None

    @model_validator(mode="after")
    def _known_level(self) -> Targets:
        if self.service_level is not None:
            service_level(self.service_level)  # its error lists the valid names
        return self

    def set_targets(self) -> dict[str, float]:
        """The limits that are set: ``{"ttft_s": ..., "tpot_s": ..., "e2e_s": ...}``, seconds."""
        level = self.level()
        targets = {
            "ttft_s": self.ttft_target_s if self.ttft_target_s is not None else (level.ttft_s if level else None),
            "tpot_s": self.tpot_target_s if self.tpot_target_s is not None else (level.tpot_s if level else None),
            "e2e_s": self.e2e_target_s,
        }
        return {metric: float(value) for metric, value in targets.items() if value is not None}

    def level(self):
        """The named service level (:class:`benchlib.decision.service_levels.ServiceLevel`), or ``None``."""
        if self.service_level is None:
            return None

        return service_level(self.service_level)

    @property
    def quantile(self) -> float:
        """The quantile the limits are checked at (0.95), or the attainment's (an attainment of 0.99: 0.99)."""
        return self.slo_attainment if self.slo_attainment is not None else self.target_percentile / 100.0

    @property
    def check_words(self) -> str:
        """``p95`` or ``99% of requests within every limit``."""
        if self.slo_attainment is not None:
            return f"{self.slo_attainment:.3g} of requests within every limit"
        return f"p{self.target_percentile:g}"


class Traffic(ValidatedModel):
    """The traffic to serve: the decision's ``workload`` section (not the sweep's requests, :class:`benchlib.workload.Workload`).

    Attributes:
        requests_per_day: Requests a day, > 0.
        hourly_profile: ``flat``, ``diurnal`` (:mod:`benchlib.decision.hourly`) or 24 shares summing to 1.
        prompt_tokens: Input tokens per request (prices a hosted API per input token).
        output_tokens: Output tokens per request.
        seed: Seed of the queueing simulations (arrivals and service times).
    """

    requests_per_day: Annotated[float, Field(gt=0)]
    hourly_profile: StrictStr | list[float] = "flat"
    prompt_tokens: Annotated[int, Field(ge=0)] = 128
    output_tokens: PositiveTokens = 128
    seed: Annotated[int, Field(ge=0)] = 0

    @field_validator("hourly_profile")
    @classmethod
    def _valid_profile(cls, profile: str | list[float]) -> str | list[float]:
        hourly_shares(profile)  # its errors give the count or the sum found
        return profile

    @property
    def shares(self) -> tuple[float, ...]:
        """The 24 hourly shares of the day's requests."""
        return hourly_shares(self.hourly_profile)

    @property
    def hourly_rates_per_s(self) -> np.ndarray:
        """Requests per second in each of the day's 24 hours."""
        return self.requests_per_day * np.asarray(self.shares) / SECONDS_PER_HOUR

    @property
    def peak_rate_per_s(self) -> float:
        """Requests per second of the busiest hour: the rate every fleet is sized for."""
        return float(self.hourly_rates_per_s.max())


class Constraints(ValidatedModel):
    """Where the service may run; either one leaves only edge candidates (hardware you own).

    Attributes:
        on_premises: Data must stay on premises.
        offline: The service must work without a network.
    """

    on_premises: StrictBool = False
    offline: StrictBool = False


class CandidateSelection(ValidatedModel):
    """Which candidates compete and how each is priced.

    A name in ``candidates`` or a key of ``price_profiles`` matches a candidate's
    name, its run id or its platform.

    Attributes:
        platforms: ``mission`` (every platform of ``data/reference/decision-platforms.yaml``), a list of
            its names, or an empty list.
        runs: Every measured or imported run of the decision's model under ``runs_dir`` is a candidate.
        this_machine: Runs measured on the machine benchlib runs on compete too (only when named so).
        candidates: Names to keep (``None``: all).
        price_profiles: Candidate name -> price profile name, overriding the run's stored or the platform's profile.
        price_files: Price files read after ``data/reference/prices.yaml``.
        runs_dir: Folder of run directories.
        reference_csv: The article's figures, listed as claims never used (``None``: the article's).
    """

    platforms: StrictStr | list[StrictStr] = "mission"
    runs: StrictBool = True
    this_machine: StrictBool = False
    candidates: list[StrictStr] | None = None
    price_profiles: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    price_files: list[StrictStr] = Field(default_factory=list)
    runs_dir: StrictStr = RUNS_DEFAULT
    reference_csv: StrictStr | None = None

    def reference_path(self) -> Path:
        """The reference CSV to read."""
        return Path(self.reference_csv) if self.reference_csv else reference_csv()


SECTIONS: dict[str, type[ValidatedModel]] = {
    "service": ServedModel,
    "targets": Targets,
    "workload": Traffic,
    "constraints": Constraints,
    "selection": CandidateSelection,
}

FLAT_DEFAULTS: dict[str, Any] = {
    "model": DEFAULT_SERVED_MODEL,
    "quantization": DEFAULT_QUANTIZATION,
    "service_level": DEFAULT_SERVICE_LEVEL,
    "ttft_target_s": None,
    "tpot_target_s": None,
    "e2e_target_s": None,
    "e2e_output_tokens": None,
    "target_percentile": 95.0,
    "slo_attainment": None,
    "requests_per_day": 1_000_000,
    "hourly_profile": "flat",
    "prompt_tokens": 128,
    "output_tokens": 128,
    "seed": 0,
    "on_premises": False,
    "offline": False,
    "platforms": "mission",
    "runs": True,
    "this_machine": False,
    "candidates": None,
    "price_profiles": {},
    "price_files": [],
    "runs_dir": RUNS_DEFAULT,
    "reference_csv": None,
}
"""Every flat parameter name with its default (the decision notebook's ``parameters`` cell)."""


class DecisionInputs(ValidatedModel):
    """Every input of the decision, by section; build it with :func:`decision_inputs` or :func:`load_decision_inputs`."""

    service: ServedModel = Field(default_factory=ServedModel)
    targets: Targets = Field(default_factory=Targets)
    workload: Traffic
    constraints: Constraints = Field(default_factory=Constraints)
    selection: CandidateSelection = Field(default_factory=CandidateSelection)

    @model_validator(mode="before")
    @classmethod
    def _from_flat(cls, values: Any) -> Any:
        """Split flat parameters into sections (a mapping of sections passes through)."""
        if not isinstance(values, dict) or (values and set(values) <= set(SECTIONS)):
            return values
        unknown = sorted(set(values) - set(FLAT_DEFAULTS))
        if unknown:
            raise ParameterError(
                f"Unknown decision parameter(s) {', '.join(unknown)}; valid parameters: {', '.join(FLAT_DEFAULTS)}."
            )
        flat = {**FLAT_DEFAULTS, **values}
        return {section: {name: flat[name] for name in model.model_fields} for section, model in SECTIONS.items()}

    @property
    def edge_only(self) -> bool:
        """True when a constraint leaves only edge candidates."""
        return self.constraints.on_premises or self.constraints.offline

    @property
    def e2e_output_tokens(self) -> int:
        """Output length the end-to-end target is for, tokens."""
        return self.targets.e2e_output_tokens or self.workload.output_tokens

    def flat(self) -> dict[str, Any]:
        """Every parameter by its flat name, as given."""
        flat: dict[str, Any] = {}
        for section in SECTIONS:
            flat.update(getattr(self, section).model_dump())
        return flat


def decision_inputs(**flat: Any) -> DecisionInputs:
    """The decision's inputs from flat parameters (the notebook's), defaults for the rest.

    Raises:
        ParameterError: an unknown name (the valid ones are listed) or an invalid value
            (the message names the parameter and what it must be).
    """
    return parse(DecisionInputs, flat)


def load_decision_inputs(path: str | Path, **overrides: Any) -> DecisionInputs:
    """The decision's inputs from a YAML file of flat parameters (``params/decision/decision.yaml``), then ``overrides``.

    Raises:
        ParameterError: the file is missing or not a mapping, or a parameter is unknown or invalid.
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"Decision parameter file {path} not found; see params/decision/decision.yaml for an example.")
    try:
        values = parse_yaml(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML, fix the syntax: {exc}") from None
    if not isinstance(values, dict):
        raise ParameterError(f"{path}: must be a mapping of parameter name to value, got {type(values).__name__}.")
    try:
        return decision_inputs(**{**values, **overrides})
    except ParameterError as exc:
        raise ParameterError(f"{path}: {exc}") from None
