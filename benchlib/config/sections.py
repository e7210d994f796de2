"""The sections of a sweep's configuration, each validated next to its fields.

Section field names are the flat parameter names users write in
``params/*.yaml`` and in the sweep notebook's ``parameters`` cell; a section
only groups them. The runtime's own parameters (``flash_attn``,
``onnx_precision``, ``url`` ...) are declared by the runtime's registry entry
(:mod:`benchlib.runtimes.registry`) and validated by its settings class.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictInt, StrictStr, field_validator, model_validator

from benchlib.config.section_base import Section
from benchlib.config.workload_section import WorkloadSection
from benchlib.cost import load_price_profile
from benchlib.errors import ParameterError
from benchlib.models import DEFAULT_MODEL
from benchlib.paths import RUNS_DEFAULT
from benchlib.power.session import SOURCE_CHOICES
from benchlib.records import REPEATS_MAX
from benchlib.runtimes.local_settings import ContextTokens, GpuLayers, Number, Threads
from benchlib.runtimes.registry import runtime_spec
from benchlib.validation import one_of

__all__ = [
    "LoadSection",
    "PowerSection",
    "PricingSection",
    "RunSection",
    "RuntimeSection",
    "Section",
    "WorkloadSection",
]




class RunSection(Section):
    """What is measured where, and where the results go.

    Attributes:
        profile: Hardware profile name (``local-cpu``, ``pi5``, ``smoke`` ...).
        platform: Human label of the hardware, shown in figures.
        runtime: Runtime name (see :data:`benchlib.runtimes.RUNTIME_NAMES`).
        model: Catalogue name or path of a GGUF file (a server's model name for ``http``).
        seed: Random seed (sampling, synthetic prompts, open-loop arrivals).
        output_dir: Folder that holds run directories.
        repeats: Independent runs of the sweep, each in its own process with its
            own model load and run directory (``benchlib sweep --repeat N``);
            they share a condition id. Not part of the run id.
    """

    profile: StrictStr = "local-cpu"
    platform: StrictStr = "this machine (CPU)"
    runtime: StrictStr = "llama.cpp"
    model: StrictStr = DEFAULT_MODEL
    seed: StrictInt = Field(0, ge=0)
    output_dir: StrictStr = RUNS_DEFAULT
    repeats: StrictInt = Field(1, ge=1, le=REPEATS_MAX)

    @field_validator("repeats", mode="before")
    @classmethod
    def _repeat_count(cls, repeats: Any) -> Any:
        """One message for every bad count (a string, a bool, 0, too many), naming the valid range."""
        if isinstance(repeats, bool) or not isinstance(repeats, int) or not 1 <= repeats <= REPEATS_MAX:
            raise ParameterError(
                f"Parameter repeats must be a whole number from 1 to {REPEATS_MAX} (independent runs of the sweep), "
                f"got {repeats!r}."
            )
        return repeats

    @field_validator("runtime")
    @classmethod
    def _known_runtime(cls, runtime: str) -> str:
        runtime_spec(runtime)  # its error lists the valid runtimes
        return runtime


class RuntimeSection(Section):
    """Settings every runtime shares (each runtime's own ones come from its registry entry).

    Attributes:
        threads: CPU threads; 0 means one per physical core.
        context_tokens: Context size in tokens.
        gpu_layers: Layers offloaded to a GPU (GPU builds only).
        temperature: Sampling temperature; 0 for greedy decoding.
    """

    threads: Threads = 0
    context_tokens: ContextTokens = 2048
    gpu_layers: GpuLayers = 0
    temperature: Annotated[Number, Field(ge=0)] = 0.0  # as written: the run id hashes it


LOAD_MODES = ("steps", "sweep")
"""``load``: the given steps, or an adaptive search for the highest rate that meets the targets."""


class LoadSection(Section):
    """Load steps against a server (runtimes that drive a server).

    Attributes:
        concurrency: Closed-loop steps: simultaneous streams per step.
        rates_rps: Open-loop steps: Poisson arrival rates, requests per second.
        step_min_requests: Requests each step issues.
        step_max_s: Longest a step issues requests, seconds.
        slo_ttft_s: Goodput target for time to first token, seconds (0: none).
        slo_tpot_s: Goodput target for time per output token, seconds (0: none).
        slo_e2e_s: Goodput target for end-to-end latency, seconds (0: none).
        load: ``steps`` (the steps above) or ``sweep``: Poisson rates chosen
            one after another to find the highest rate that still meets the
            targets (:mod:`benchlib.sweep.rate_search`).
        max_duration_s: Longest the steps may take together, seconds: a
            ``load: sweep`` stops when it is spent, and a grid whose steps
            could outlast it is refused.
        sweep_tolerance: ``load: sweep`` stops once the highest passing and
            the lowest failing rate are this close (relative).
        sweep_step_s: ``load: sweep``: each open-loop step issues requests for
            at least this long (``rate x sweep_step_s`` requests, at least
            ``step_min_requests``, at most ``step_max_s`` seconds): a queue
            that grows needs time to show.
        slo_attainment: ``load: sweep``: the share of a step's requests that
            must meet every target for the step to pass (0.95: the targets
            hold at the 95th percentile).
    """

    concurrency: list[StrictInt] = Field(default_factory=lambda: [1])
    rates_rps: list[Number] = Field(default_factory=list)
    step_min_requests: StrictInt = 16
    step_max_s: Number = Field(120.0, ge=0)
    slo_ttft_s: Number = Field(0.0, ge=0)
    slo_tpot_s: Number = Field(0.0, ge=0)
    slo_e2e_s: Number = Field(0.0, ge=0)
    load: StrictStr = "steps"
    max_duration_s: Number = Field(600.0, gt=0)
    sweep_tolerance: Number = Field(0.1, gt=0, lt=1)
    sweep_step_s: Number = Field(10.0, gt=0)
    slo_attainment: Number = Field(0.95, gt=0.5, lt=1)

    _known_load = one_of("load", LOAD_MODES)

    @model_validator(mode="after")
    def _sweep_has_targets(self) -> "LoadSection":
        if self.load == "sweep" and not any(self.slo.values()):
            raise ParameterError(
                "load: sweep looks for the highest rate that meets the targets: set at least one of "
                "slo_ttft_s, slo_tpot_s, slo_e2e_s (seconds)."
            )
        return self

    def check_budget(self, cells: int) -> None:
        """Refuse a grid whose steps could outlast ``max_duration_s`` (each step may run ``step_max_s``).

        Raises:
            ParameterError: the grid's worst case exceeds the budget (the message gives both and what to change).
        """
        if self.load == "sweep" or cells < 2:
            return
        steps = len(self.concurrency) + len(self.rates_rps)
        worst_s = cells * steps * float(self.step_max_s)
        if worst_s > float(self.max_duration_s):
            raise ParameterError(
                f"The grid has {cells} cells x {steps} load steps, each up to step_max_s = {self.step_max_s:g} s: "
                f"up to {worst_s:g} s, more than max_duration_s = {self.max_duration_s:g} s. Raise max_duration_s, "
                f"lower step_max_s to {float(self.max_duration_s) / (cells * steps):.3g} s or less, or use fewer cells."
            )

    def steps(self):
        """The load steps, closed-loop first.

        Raises:
            ParameterError: no step, a concurrency below 1, a rate not above 0, or bad bounds.
        """
        # cycle: benchlib.sweep's package imports its engine, which imports benchlib.config
        from benchlib.sweep.steps import plan_steps

        return plan_steps(list(self.concurrency), list(self.rates_rps), self.step_min_requests, float(self.step_max_s))

    @property
    def slo(self) -> dict[str, float]:
        """Goodput targets by metric, seconds (0: none)."""
        return {"ttft_s": self.slo_ttft_s, "tpot_s": self.slo_tpot_s, "e2e_s": self.slo_e2e_s}


class PowerSection(Section):
    """How power is measured.

    Attributes:
        power: ``auto`` (the best measured source, else the profile's estimate),
            ``none``, or a source name (``pi5-pmic``, ``ina2xx``, ``rapl``,
            ``nvml``, ``meter-log``, ``estimate``).
        power_options: Options of that source's reader (``path`` and
            ``clock_offset_s`` for ``meter-log``, ``devices``, ``indices`` ...).
        power_rate_hz: Sampling rate of live power sources, Hz.
        idle_s: Idle baseline sampled after warm-up, seconds (0: none).
    """

    power: StrictStr = "auto"
    power_options: dict[str, Any] = Field(default_factory=dict)
    power_rate_hz: Number = Field(10.0, gt=0)
    idle_s: Number = Field(0.0, ge=0)

    @field_validator("power")
    @classmethod
    def _known_source(cls, power: str) -> str:
        if power not in SOURCE_CHOICES:
            raise ParameterError(f"Unknown power source '{power}'; valid: {', '.join(SOURCE_CHOICES)}.")
        return power


class PricingSection(Section):
    """Which price profile prices the run (not part of the run's identity).

    Attributes:
        price_profile: Price profile (see ``data/reference/prices.yaml``) whose
            cost per million tokens the summary shows; empty for none.
        price_files: Your price files, read after the article's defaults.
    """

    price_profile: StrictStr = ""
    price_files: list[StrictStr] = Field(default_factory=list)

    def profile(self):
        """The price profile named by ``price_profile`` (``None`` when empty).

        Raises:
            ParameterError: a bad price file, or a name it does not define (the
                message lists the valid profiles).
        """
        return load_price_profile(self.price_profile, *self.price_files)
