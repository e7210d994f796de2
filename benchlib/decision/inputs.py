"""What the decision is asked: service targets, the workload, constraints and the candidates, validated.

Every input has one flat name, the same in ``params/decision/*.yaml`` and in the
decision notebook's ``parameters`` cell (:data:`FLAT_DEFAULTS` lists them with
their defaults); :class:`DecisionInputs` groups them into sections. A bad value
is a :class:`~benchlib.errors.ParameterError` naming the parameter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import Field, StrictBool, StrictStr, field_validator, model_validator

from benchlib.decision.hourly import hourly_shares
from benchlib.errors import ParameterError
from benchlib.paths import RUNS_DEFAULT, params_dir, reference_csv
from benchlib.validation import ValidatedModel, parse

__all__ = [
    "DIURNAL_PARAMS",
    "FLAT_DEFAULTS",
    "FLAT_PARAMS",
    "CandidateSelection",
    "Constraints",
    "DecisionInputs",
    "Targets",
    "Workload",
    "decision_inputs",
    "load_decision_inputs",
]

FLAT_PARAMS = params_dir() / "decision" / "decision.yaml"
"""The shipped example: the article's workload (1 M requests/day of 128 tokens, 100 ms p95 per token), flat day."""
DIURNAL_PARAMS = params_dir() / "decision" / "decision-diurnal.yaml"
"""The same on the built-in diurnal day. (Not under ``params/*.yaml``: those are sweep parameter files.)"""

PositiveSeconds = Annotated[float, Field(gt=0)]
PositiveTokens = Annotated[int, Field(gt=0)]


class Targets(ValidatedModel):
    """Service targets at p95, seconds; ``None`` leaves a target unset.

    Attributes:
        ttft_p95_s: p95 time to first token.
        tpot_p95_s: p95 time per output token (per-token latency).
        e2e_p95_s: p95 end-to-end time of a request of ``e2e_output_tokens`` tokens.
        e2e_output_tokens: Output length the end-to-end target is for; ``None``: the workload's ``output_tokens``.
    """

    ttft_p95_s: PositiveSeconds | None = None
    tpot_p95_s: PositiveSeconds | None = None
    e2e_p95_s: PositiveSeconds | None = None
    e2e_output_tokens: PositiveTokens | None = None

    def set_targets(self) -> dict[str, float]:
        """The targets that are set: ``{"ttft_s": ..., "tpot_s": ..., "e2e_s": ...}``, seconds."""
        targets = {"ttft_s": self.ttft_p95_s, "tpot_s": self.tpot_p95_s, "e2e_s": self.e2e_p95_s}
        return {metric: float(value) for metric, value in targets.items() if value is not None}


class Workload(ValidatedModel):
    """The traffic to serve.

    Attributes:
        requests_per_day: Requests a day, > 0.
        hourly_profile: ``flat``, ``diurnal`` (:mod:`benchlib.decision.hourly`) or 24 shares summing to 1.
        prompt_tokens: Input tokens per request (prices a hosted API per input token).
        output_tokens: Output tokens per request.
    """

    requests_per_day: Annotated[float, Field(gt=0)]
    hourly_profile: StrictStr | list[float] = "flat"
    prompt_tokens: Annotated[int, Field(ge=0)] = 128
    output_tokens: PositiveTokens = 128

    @field_validator("hourly_profile")
    @classmethod
    def _valid_profile(cls, profile: str | list[float]) -> str | list[float]:
        hourly_shares(profile)  # its errors give the count or the sum found
        return profile

    @property
    def shares(self) -> tuple[float, ...]:
        """The 24 hourly shares of the day's requests."""
        return hourly_shares(self.hourly_profile)


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
        runs: Every measured run under ``runs_dir`` is a candidate.
        published: Every platform of ``reference_csv`` without a measured run is a candidate.
        candidates: Names to keep (``None``: all).
        price_profiles: Candidate name -> price profile name, overriding the run's stored
            profile or the published platform's (``article_platform``).
        price_files: Price files read after ``data/reference/prices.yaml``.
        runs_dir: Folder of run directories.
        reference_csv: The published reference numbers (``None``: the article's).
    """

    runs: StrictBool = True
    published: StrictBool = True
    candidates: list[StrictStr] | None = None
    price_profiles: dict[StrictStr, StrictStr] = Field(default_factory=dict)
    price_files: list[StrictStr] = Field(default_factory=list)
    runs_dir: StrictStr = RUNS_DEFAULT
    reference_csv: StrictStr | None = None

    def reference_path(self) -> Path:
        """The reference CSV to read."""
        return Path(self.reference_csv) if self.reference_csv else reference_csv()


SECTIONS: dict[str, type[ValidatedModel]] = {
    "targets": Targets,
    "workload": Workload,
    "constraints": Constraints,
    "selection": CandidateSelection,
}

FLAT_DEFAULTS: dict[str, Any] = {
    "ttft_p95_s": None,
    "tpot_p95_s": None,
    "e2e_p95_s": None,
    "e2e_output_tokens": None,
    "requests_per_day": 1_000_000,
    "hourly_profile": "flat",
    "prompt_tokens": 128,
    "output_tokens": 128,
    "on_premises": False,
    "offline": False,
    "runs": True,
    "published": True,
    "candidates": None,
    "price_profiles": {},
    "price_files": [],
    "runs_dir": RUNS_DEFAULT,
    "reference_csv": None,
}
"""Every flat parameter name with its default (the decision notebook's ``parameters`` cell)."""


class DecisionInputs(ValidatedModel):
    """Every input of the decision, by section; build it with :func:`decision_inputs` or :func:`load_decision_inputs`."""

    targets: Targets = Field(default_factory=Targets)
    workload: Workload
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
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"{path}: not valid YAML, fix the syntax: {exc}") from None
    if not isinstance(values, dict):
        raise ParameterError(f"{path}: must be a mapping of parameter name to value, got {type(values).__name__}.")
    try:
        return decision_inputs(**{**values, **overrides})
    except ParameterError as exc:
        raise ParameterError(f"{path}: {exc}") from None
