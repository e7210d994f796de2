"""The configuration of one sweep: its sections, the runtime's own settings, and the run id they define.

``SweepConfig.from_mapping(values)`` takes the flat parameters of a YAML file
or of the sweep notebook's ``parameters`` cell (``profile``, ``prompts``,
``flash_attn``, ``concurrency`` ...), refuses unknown names, and validates
each section next to its fields; every problem is one
:class:`~benchlib.errors.ParameterError` naming the parameter, what it must be
and the value given.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from benchlib.config.sections import (
    LoadSection,
    PowerSection,
    PricingSection,
    RunSection,
    RuntimeSection,
    Section,
    WorkloadSection,
)
from benchlib.errors import ParameterError
from benchlib.models import sha256_file
from benchlib.power.session import PowerSettings
from benchlib.records import repeat_run_id, run_id_for
from benchlib.runtimes.registry import RUNTIMES, RuntimeSpec, runtime_spec
from benchlib.secrets import split_url_credentials
from benchlib.validation import parse
from benchlib.traces import Trace, read_trace
from benchlib.workload import Workload, resolve_prompts

__all__ = ["SECTIONS", "SweepConfig"]

SECTIONS: dict[str, type[Section]] = {
    "run": RunSection,
    "runtime": RuntimeSection,
    "workload": WorkloadSection,
    "load": LoadSection,
    "power": PowerSection,
    "pricing": PricingSection,
}
"""Section name -> its model; the flat parameter names are the sections' field names."""

NOT_IDENTITY = ("output_dir", "price_profile", "price_files", "repeats")
"""Parameters that say where results go, how they are priced and how often they are measured, not what is measured."""

IDENTITY_AT_DEFAULT_OMITTED = (
    "context_depth", "turns", "think_time_s", "think_time_distribution", "prefix_tokens", "prefix_share",
    "trace", "trace_columns", "trace_speedup", "trace_max_requests", "load", "max_duration_s", "sweep_tolerance",
    "slo_attainment", "sweep_step_s",
)  # fmt: skip
"""Parameters added after run ids were first handed out: left out of the identity at their defaults, so
every earlier run keeps its id (a value other than the default is part of it)."""


def _runtime_defaults(spec: RuntimeSpec) -> dict[str, Any]:
    """The flat defaults of a runtime's own parameters (its settings' defaults; "" where a field has none)."""
    fields = spec.settings.model_fields
    return {
        name: "" if fields[field].is_required() else fields[field].get_default(call_default_factory=True)
        for name, field in spec.parameters.items()
    }


def _file_version(path: str) -> tuple[int, int] | None:
    """``(mtime_ns, size)`` of a file, ``None`` when it cannot be read: a changed file is read again."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@lru_cache(maxsize=8)
def _read_trace(path: str, version: tuple[int, int] | None, columns: tuple[tuple[str, str], ...], speedup: float,
                max_requests: int) -> Trace:  # fmt: skip
    """A trace read once per file version and options: validation, the context check, the plan and the drivers
    all ask for it, and a public trace holds millions of rows (a refusal is not cached: it raises again)."""
    return read_trace(path, dict(columns) or None, speedup, max_requests)


@lru_cache(maxsize=8)
def _trace_sha256(path: str, version: tuple[int, int] | None) -> str:
    """The sha256 of a trace file, hashed once per file version (every run id asks for it)."""
    return sha256_file(path)


def parameter_defaults() -> dict[str, Any]:
    """Every flat parameter name with its default, sections first, then each runtime's own parameters."""
    defaults: dict[str, Any] = {}
    for section in SECTIONS.values():
        defaults.update({name: f.get_default(call_default_factory=True) for name, f in section.model_fields.items()})
    for spec in RUNTIMES.values():
        defaults.update(_runtime_defaults(spec))
    return defaults


def _is_sectioned(values: dict[str, Any]) -> bool:
    """True for a mapping of sections (``{"run": {...}}``), False for flat parameters (``{"runtime": "http"}``).

    ``runtime`` and ``power`` are both section names and flat parameters: a flat one is never a mapping.
    """
    return all(
        name in ("runtime_options", "repeat_index") or (name in SECTIONS and isinstance(value, (dict, BaseModel)))
        for name, value in values.items()
    )


class SweepConfig(BaseModel):
    """Parameters of one sweep, in sections; the sweep notebook's ``parameters`` cell has the same (flat) names.

    Build it from flat values with :meth:`from_mapping` (or ``SweepConfig(**flat)``).

    Attributes:
        run: Profile, platform, runtime, model, seed, output folder.
        runtime: Settings every runtime shares (threads, context, GPU layers, temperature).
        workload: Prompts, output length, repetitions, warm-up.
        load: Load steps and goodput targets (runtimes that drive a server).
        power: Power source and sampling.
        pricing: Price profile and files.
        runtime_options: The chosen runtime's own parameters, by flat name (``flash_attn``, ``url`` ...).
        repeat_index: Which repeat of the condition this configuration measures, from 1 to
            ``run.repeats`` (:meth:`for_repeat`); no parameter: ``benchlib sweep`` sets it per repeat.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    run: RunSection = Field(default_factory=RunSection)
    runtime: RuntimeSection = Field(default_factory=RuntimeSection)
    workload: WorkloadSection = Field(default_factory=WorkloadSection)
    load: LoadSection = Field(default_factory=LoadSection)
    power: PowerSection = Field(default_factory=PowerSection)
    pricing: PricingSection = Field(default_factory=PricingSection)
    runtime_options: dict[str, Any] = Field(default_factory=dict)
    repeat_index: int = Field(1, ge=1)

    @classmethod
    def names(cls) -> list[str]:
        """The valid (flat) parameter names."""
        return list(parameter_defaults())

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> "SweepConfig":
        """Build a configuration from flat parameters, refusing unknown names and invalid values.

        Raises:
            ParameterError: an unknown name (the message lists the valid ones) or
                a value of the wrong type or range (naming the parameter, what it
                must be, and the value).
        """
        return parse(cls, dict(values))

    @model_validator(mode="before")
    @classmethod
    def _from_flat(cls, values: Any) -> Any:
        """Split flat parameters into sections (a mapping of sections passes through)."""
        if not isinstance(values, dict) or _is_sectioned(values):
            return values
        defaults = parameter_defaults()
        unknown = sorted(set(values) - set(defaults))
        if unknown:
            raise ParameterError(
                f"Unknown sweep parameter(s) {', '.join(unknown)}; valid parameters: {', '.join(defaults)}."
            )
        flat = {**defaults, **values}
        split: dict[str, Any] = {
            section: {name: flat[name] for name in model.model_fields} for section, model in SECTIONS.items()
        }
        spec = RUNTIMES.get(flat["runtime"]) if isinstance(flat["runtime"], str) else None
        split["runtime_options"] = {name: flat[name] for name in spec.parameters} if spec else {}
        return split

    @model_validator(mode="after")
    def _consistent(self) -> "SweepConfig":
        """Checks that span sections: the workload, the runtime's settings, load steps, price profile, power."""
        workload = self.workload_plan()  # reads the trace: one that cannot be replayed is refused here
        self._fits_context(self.runtime_settings())  # the runtime's settings class validates its own fields
        if not self.spec.in_process:
            self.load.steps()
            self.load.check_budget(len(workload.grid_cells))
            if self.load.load == "sweep" and (workload.grid or workload.trace is not None):
                raise ParameterError(
                    "load: sweep searches for one rate at one request shape: give a single prompt_tokens, "
                    "output_tokens and context_depth, and no trace (a trace brings its own arrival times)."
                )
        if workload.conversation and not self.spec.carries_history(self.runtime_options):
            raise ParameterError(
                f"turns: {self.workload.turns} needs an API that carries a conversation's history; "
                f"api {self.runtime_options.get('api')!r} does not (its history is an opaque server-side context). "
                "Use api: ollama-chat, openai-chat or openai-completions."
            )
        self.power_settings().validate()
        return self

    def _fits_context(self, settings: Any) -> None:
        """Refuse, before any kernel, a request longer than a local runtime's context (output + at least 1 prompt token).

        Named prompt sets are measured once tokenized (the runtime refuses one that does not fit);
        a server's context is the server's own.
        """
        context = getattr(settings, "context_tokens", None)
        if context is None:
            return
        trace = self.trace()
        if trace is not None:
            longest = max(trace.requests, key=lambda r: r.prompt_tokens + r.output_tokens)
            if longest.prompt_tokens + longest.output_tokens > context:
                raise ParameterError(
                    f"Row {longest.source_row} of trace {trace.path} needs {longest.prompt_tokens} prompt + "
                    f"{longest.output_tokens} output tokens of context but context_tokens is {context}: raise "
                    f"context_tokens to at least {longest.prompt_tokens + longest.output_tokens}."
                )
            return
        needed, parts = self.workload.longest_request_tokens()
        if needed > context:
            which = "The longest request" if len(self.workload.cells()) > 1 or self.workload.conversation else "Each request"
            raise ParameterError(
                f"{which} needs {needed} tokens of context ({parts}) but context_tokens is {context}: "
                f"raise context_tokens to at least {needed}, or lower output_tokens."
            )

    @property
    def spec(self) -> RuntimeSpec:
        """The runtime's registry entry."""
        return runtime_spec(self.run.runtime)

    def flat(self) -> dict[str, Any]:
        """Every parameter by its flat name, as given (other runtimes' own parameters at their defaults)."""
        flat = parameter_defaults()
        for section in SECTIONS:
            flat.update(getattr(self, section).model_dump())
        flat.update(self.runtime_options)
        return flat

    def workload_plan(self) -> Workload:
        """The workload these parameters describe (a trace read from its file)."""
        return self.workload.plan(self.run.seed, self.trace())

    def trace(self) -> Trace | None:
        """The trace ``trace`` names, read with ``trace_columns``, ``trace_speedup`` and ``trace_max_requests``.

        Raises:
            ParameterError: a trace that cannot be replayed (the message says why and what to fix).
        """
        workload = self.workload
        if not workload.trace:
            return None
        return _read_trace(workload.trace, _file_version(workload.trace), tuple(sorted(workload.trace_columns.items())),
                           float(workload.trace_speedup), workload.trace_max_requests)  # fmt: skip

    def runtime_settings(self):
        """The runtime's settings object, built from the shared and its own parameters.

        Raises:
            ParameterError: a setting the runtime refuses (the message lists the valid values).
        """
        spec = self.spec
        values = spec.settings_values(self.flat())
        from_sweep = getattr(spec.settings, "from_sweep", None)  # a server's settings may derive from ``model``
        return from_sweep(values, self.run.model) if from_sweep else parse(spec.settings, values, where=spec.name)

    def price(self):
        """The price profile named by ``price_profile`` (``None`` when empty)."""
        return self.pricing.profile()

    def power_settings(self):
        """How this sweep measures power; the estimate comes from the price profile's ``power_w``."""
        price = self.price()
        return PowerSettings(
            source=self.power.power,
            options=self.power.power_options,
            rate_hz=float(self.power.power_rate_hz),
            idle_s=float(self.power.idle_s),
            estimate_profile=price.name if price is not None else self.run.profile,
            estimate_w=price.power_w if price is not None else None,
            estimate_basis=price.sources.get("power_w") if price is not None else None,
        )

    def identity(self) -> dict[str, Any]:
        """The parameters that define what is measured (all but where results go and how they are priced).

        Another runtime's own parameters, load parameters of an in-process
        runtime and ``prompt_tokens`` of fixed prompts are left out, so they
        never change a run id.
        """
        values = self.flat()
        for name in NOT_IDENTITY:
            values.pop(name)
        spec = self.spec
        for other in RUNTIMES.values():
            for name in other.parameters:
                if name not in spec.parameters:
                    values.pop(name, None)
        if spec.in_process:
            for name in LoadSection.model_fields:
                values.pop(name)
        if not (self.workload.synthetic or self.workload.conversation):
            values.pop("prompt_tokens")
        defaults = parameter_defaults()
        for name in IDENTITY_AT_DEFAULT_OMITTED:
            if name in values and values[name] == defaults[name]:
                values.pop(name)
        for name, applies in (("prefix_share", "prefix_tokens"), ("think_time_distribution", "think_time_s"),
                              ("trace_columns", "trace"), ("trace_speedup", "trace"), ("trace_max_requests", "trace")):
            if not values.get(applies):
                values.pop(name, None)  # it changes nothing without the parameter it qualifies
        if values.get("context_depth") in ([0], 0):
            values.pop("context_depth", None)
        if spec.in_process and values.get("cache_prompt") == defaults["cache_prompt"]:
            values.pop("cache_prompt")  # in-process runtimes read it since issue 27
        if self.workload.trace:
            trace = self.workload.trace
            values["trace"] = {"file": trace, "sha256": _trace_sha256(trace, _file_version(trace))}
        synthetic = self.workload.synthetic or self.workload.conversation
        values["prompts"] = self.workload.prompts if synthetic else list(resolve_prompts(self.workload.prompts))
        return values

    def condition_id(self) -> str:
        """The id of the condition these parameters measure, shared by all their repeats (:mod:`benchlib.records.repeats`)."""
        return run_id_for(self.identity())

    def run_id(self) -> str:
        """The run id of this repeat: the condition id for repeat 1, ``CONDITION_ID-rK`` for repeat K."""
        return repeat_run_id(self.condition_id(), self.repeat_index)

    def for_repeat(self, repeat_index: int) -> SweepConfig:
        """The same parameters, measuring repeat ``repeat_index`` of their condition.

        Raises:
            ParameterError: an index outside 1 .. ``repeats``.
        """
        count = self.run.repeats
        if isinstance(repeat_index, bool) or not isinstance(repeat_index, int) or not 1 <= repeat_index <= count:
            raise ParameterError(f"Repeat index must be a whole number from 1 to {count} (repeats: {count}), "
                                 f"got {repeat_index!r}.")  # fmt: skip
        return self.model_copy(update={"repeat_index": repeat_index})

    def run_dir(self) -> Path:
        """The run directory of these parameters."""
        return Path(self.run.output_dir) / self.run_id()

    def record(self) -> dict[str, Any]:
        """The parameters as ``run.json`` stores them: every flat value, the resolved prompts, the prompt set."""
        prompts = self.workload.prompts
        record = {**self.flat(), **self.identity(), "prompt_set": prompts if isinstance(prompts, str) else "custom"}
        if isinstance(record.get("url"), str):  # a URL's password is never recorded (benchlib.secrets)
            record["url"] = split_url_credentials(record["url"])[0]
        return record
