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

from benchlib.cost import load_price_profile
from benchlib.errors import ParameterError
from benchlib.models import DEFAULT_MODEL
from benchlib.paths import RUNS_DEFAULT
from benchlib.power.session import SOURCE_CHOICES
from benchlib.records import REPEATS_MAX
from benchlib.runtimes.local_settings import ContextTokens, GpuLayers, Number, Threads
from benchlib.runtimes.registry import runtime_spec
from benchlib.validation import ValidatedModel
from benchlib.conversation import THINK_TIME_DISTRIBUTIONS
from benchlib.workload import CONVERSATION, SYNTHETIC, Cell, Workload, resolve_prompts

__all__ = [
    "LoadSection",
    "PowerSection",
    "PricingSection",
    "RunSection",
    "RuntimeSection",
    "Section",
    "WorkloadSection",
]


class Section(ValidatedModel):
    """A section: frozen, unknown names refused, values kept as given."""


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


class WorkloadSection(Section):
    """The requests of a sweep.

    Attributes:
        prompts: Prompt-set name (``short``, ``tiny``), ``synthetic`` (a prompt
            of its own of ``prompt_tokens`` tokens for every request, so no
            prompt cache can serve it), ``conversation`` (multi-turn
            conversations of such messages) or a list of prompts.
        prompt_tokens: Length of each synthetic prompt, tokens; a list makes a grid.
        output_tokens: Tokens generated per request; a list makes a grid.
        context_depth: Tokens already in context before each prompt (``llama-bench -d``); a list makes a grid.
        repetitions: Measured passes over the prompts (conversations, with ``prompts: conversation``).
        warmup: Warm-up requests before measuring (not recorded).
        ignore_eos: Generate exactly ``output_tokens`` even past end-of-sequence.
        turns: Turns per conversation (``prompts: conversation``).
        think_time_s: Mean pause of a user between two turns, seconds.
        think_time_distribution: ``exponential`` (seeded) or ``constant``.
        prefix_tokens: Length of one shared prefix some requests start with, tokens (0: none).
        prefix_share: Share of requests that start with it, 0 to 1.
        trace: A recorded trace (CSV or JSON Lines) whose arrival times and
            lengths are replayed (:mod:`benchlib.traces`); empty for none.
        trace_columns: Which columns of the trace hold ``arrival_s``,
            ``prompt_tokens`` and ``output_tokens`` (and ``time_unit``), when
            it is none of the known layouts.
        trace_speedup: Replay the trace this many times faster.
        trace_max_requests: Replay only its first N requests (0: all).
    """

    prompts: StrictStr | list[StrictStr] = "short"
    prompt_tokens: StrictInt | list[StrictInt] = 0
    output_tokens: StrictInt | list[StrictInt] = 128
    context_depth: StrictInt | list[StrictInt] = 0
    repetitions: StrictInt = 5
    warmup: StrictInt = 1
    ignore_eos: StrictBool = True
    turns: StrictInt = Field(1, ge=1)
    think_time_s: Number = Field(0.0, ge=0)
    think_time_distribution: StrictStr = "exponential"
    prefix_tokens: StrictInt = Field(0, ge=0)
    prefix_share: Number = Field(1.0, ge=0, le=1)
    trace: StrictStr = ""
    trace_columns: dict[str, StrictStr] = Field(default_factory=dict)
    trace_speedup: Number = Field(1.0, gt=0)
    trace_max_requests: StrictInt = Field(0, ge=0)

    @field_validator("prompts")
    @classmethod
    def _known_prompts(cls, prompts: str | list[str]) -> str | list[str]:
        resolve_prompts(prompts)  # its error lists the sets
        return prompts

    @field_validator("prompt_tokens", "output_tokens", "context_depth", mode="before")
    @classmethod
    def _grid_values(cls, values: Any, info) -> Any:
        """A length is an integer >= 0 (output >= 1), or a non-empty list of distinct ones (a grid)."""
        least = 1 if info.field_name == "output_tokens" else 0
        items = values if isinstance(values, list) else [values]
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in items)
        if not items or not whole or any(v < least for v in items) or len(set(items)) != len(items):
            raise ParameterError(
                f"Parameter {info.field_name} (workload.{info.field_name}) must be an integer >= {least}, or a list "
                f"of distinct ones for a grid (e.g. [128, 512]), got {values!r}."
            )
        return values

    @field_validator("think_time_distribution")
    @classmethod
    def _known_distribution(cls, distribution: str) -> str:
        if distribution not in THINK_TIME_DISTRIBUTIONS:
            raise ParameterError(
                f"Unknown think_time_distribution '{distribution}'; valid: {', '.join(THINK_TIME_DISTRIBUTIONS)}."
            )
        return distribution

    @model_validator(mode="after")
    def _coherent(self) -> "WorkloadSection":
        """Refuse combinations that make no workload, each with what to change."""
        conversation = self.prompts == CONVERSATION
        grid = any(isinstance(v, list) for v in (self.prompt_tokens, self.output_tokens, self.context_depth))
        problems = []
        if self.turns > 1 and not conversation:
            problems.append(f"turns: {self.turns} needs prompts: {CONVERSATION}")
        if conversation and self.turns < 2:
            problems.append(f"prompts: {CONVERSATION} needs turns of 2 or more (turns per conversation)")
        if self.think_time_s and not conversation:
            problems.append(f"think_time_s is the pause between turns: it needs prompts: {CONVERSATION}")
        if conversation and (grid or self._depths() != [0] or self.prefix_tokens):
            problems.append(f"prompts: {CONVERSATION} takes one prompt_tokens and output_tokens, "
                            "no context_depth and no prefix_tokens (the history is the conversation's own)")  # fmt: skip
        if isinstance(self.prompt_tokens, list) and not self.synthetic:
            problems.append(f"a list of prompt_tokens needs prompts: {SYNTHETIC}")
        if self.prefix_tokens and not self.synthetic:
            problems.append(f"prefix_tokens needs prompts: {SYNTHETIC} (the unique suffix after the prefix)")
        if self.trace and (conversation or grid or self.prefix_tokens or self._depths() != [0]):
            problems.append("a trace gives each request's lengths and arrival: drop prompts: conversation, "
                            "length lists, context_depth and prefix_tokens")  # fmt: skip
        if problems:
            raise ParameterError("Workload: " + "; ".join(problems) + ".")
        return self

    def _lengths(self, name: str) -> list[int]:
        value = getattr(self, name)
        return list(value) if isinstance(value, list) else [value]

    def _depths(self) -> list[int]:
        return self._lengths("context_depth")

    @property
    def synthetic(self) -> bool:
        """True when every request gets a synthetic prompt of its own (a shared prefix and depth may precede it)."""
        return self.prompts == SYNTHETIC

    @property
    def conversation(self) -> bool:
        """True for multi-turn conversations."""
        return self.prompts == CONVERSATION

    def cells(self) -> list[Cell]:
        """The grid's cells, prompt length outermost, then output length, then depth."""
        prompts = self._lengths("prompt_tokens") if self.synthetic or self.conversation else [0]
        return [
            Cell(p, o, d) for p in prompts for o in self._lengths("output_tokens") for d in self._depths()
        ]

    def longest_request_tokens(self) -> tuple[int, str]:
        """Context one request needs at most (a conversation's last turn), and what it is made of.

        Returns:
            The tokens, and their parts in words (``512 depth + 2000 prompt + 100 output``).
        """
        output = max(self._lengths("output_tokens"))
        if self.conversation:
            prompt = self._lengths("prompt_tokens")[0]
            return self.turns * (prompt + output), f"{self.turns} turns x ({prompt} prompt + {output} output)"
        prompt = max(self._lengths("prompt_tokens")) if self.synthetic else 1
        parts = [(max(self._depths()), "depth"), (self.prefix_tokens, "shared prefix"),
                 (prompt, "prompt" if self.synthetic else "prompt at least"), (output, "output")]  # fmt: skip
        words = " + ".join(f"{n} {what}" if what != "prompt at least" else "at least 1 prompt" for n, what in parts if n)
        return sum(n for n, _ in parts), words

    def plan(self, seed: int, trace=None) -> Workload:
        """The workload these values describe.

        Args:
            seed: The sweep's seed.
            trace: The :class:`~benchlib.traces.Trace` that ``trace`` names, read (``None`` without one).

        Raises:
            ParameterError: values that make no workload (no prompt_tokens for synthetic prompts ...).
        """
        cells = self.cells()
        first = cells[0]
        if trace is not None:  # each request has the trace's lengths: synthetic prompts of its own
            first = Cell(trace.requests[0].prompt_tokens, trace.requests[0].output_tokens)
        return Workload(
            prompts=() if trace is not None else resolve_prompts(self.prompts),
            output_tokens=first.output_tokens,
            repetitions=self.repetitions,
            warmup_requests=self.warmup,
            ignore_eos=self.ignore_eos,
            synthetic_prompt_tokens=first.prompt_tokens,
            seed=seed,
            cells=tuple(cells) if len(cells) > 1 or first.context_depth else (),
            turns=self.turns if self.conversation else 0,
            think_time_s=float(self.think_time_s),
            think_time_distribution=self.think_time_distribution,
            prefix_tokens=self.prefix_tokens,
            prefix_share=float(self.prefix_share),
            trace=trace,
        )


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

    @field_validator("load")
    @classmethod
    def _known_load(cls, load: str) -> str:
        if load not in LOAD_MODES:
            raise ParameterError(f"Unknown load '{load}'; valid: {', '.join(LOAD_MODES)}.")
        return load

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
