"""The typed record of one run: what ``run.json`` holds.

Every write of ``run.json`` (the sweep engine's, an importer's) goes through
:class:`RunRecord` (:meth:`~benchlib.records.RunDirectory.write_record`), which
refuses a key it does not declare; the analysis, the cost report and the
command line read it through the same model instead of chains of
``.get(...) or {}``. Reading allows extra keys, so a run written by a
newer benchlib (same schema version, more fields) still reads. ``benchlib schema`` writes the JSON
Schema of this model for editors and other tools.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from benchlib.records.status import RECORDED_STATUSES, RunStatus, StepStatus

__all__ = [
    "IMPORTED_KIND",
    "Attempt",
    "CostSummary",
    "Distribution",
    "EnergySummary",
    "ErrorCount",
    "ImportSource",
    "PeakCost",
    "PeakThroughput",
    "Progress",
    "RunRecord",
    "RunSummary",
    "StepRecord",
    "ThermalRecord",
    "ThermalWindow",
    "ThroughputInterval",
    "undeclared_keys",
]

IMPORTED_KIND = "imported"
"""``run.json``'s ``kind`` of a run imported from another tool (a sweep's is ``sweep``)."""


def _status_among(*allowed: RunStatus) -> Any:
    """:class:`RunStatus` limited to ``allowed``: another value is refused with the valid ones listed.

    The JSON Schema (``benchlib schema``) lists only the allowed words too.
    """

    def check(value: Any) -> Any:
        if value in allowed:
            return value
        raise ValueError(f"{value!r} is not a status run.json holds here; valid: {', '.join(allowed)}")

    schema = WithJsonSchema({"type": "string", "enum": [str(status) for status in allowed]})
    return Annotated[RunStatus, BeforeValidator(check), schema]


_RecordedStatus = _status_among(*RECORDED_STATUSES)
"""``run.json``'s ``status``: one of :data:`~benchlib.records.status.RECORDED_STATUSES`."""


class _Record(BaseModel):
    """Base of every part of the record: extra keys are kept, values are not coerced on the way back.

    NaN and infinities are written back as ``NaN``/``Infinity`` (as ``json.dumps`` wrote them), not as ``null``.
    """

    model_config = ConfigDict(extra="allow", ser_json_inf_nan="constants")


def undeclared_keys(model: BaseModel, prefix: str = "") -> list[str]:
    """Key paths ``model`` (or a model inside it) holds as extras: present, but not declared (``attempts.0.note``).

    Readers keep such keys (a newer benchlib's run still reads); the writer refuses them, so
    what the engine writes and what ``benchlib schema`` describes cannot drift apart.
    """
    found = [f"{prefix}{key}" for key in (model.model_extra or {})]
    for name in type(model).model_fields:
        value = getattr(model, name)
        items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else [("", value)]
        for key, item in items:
            if isinstance(item, BaseModel):
                found += undeclared_keys(item, f"{prefix}{name}.{key}." if key != "" else f"{prefix}{name}.")
    return found


class Distribution(_Record):
    """Summary of one metric's values (``ttft_s``, ``tpot_s`` ...), in the metric's unit."""

    n: int = 0
    median: float | None = None
    p95: float | None = None
    p99: float | None = None
    mean: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = None
    p95_ci_low: float | None = Field(None, description="p95's interval; NaN/None when n is too small (tail_note)")
    p95_ci_high: float | None = None
    p99_ci_low: float | None = None
    p99_ci_high: float | None = None
    method: str | None = Field(None, description="how the median's interval was made (benchlib.metrics.summary)")
    tail_method: str | None = None
    clusters: int | None = Field(None, description="requests the values came from")
    runs: int | None = Field(None, description="runs the values came from (1: within-run variation only)")
    scope: str | None = None
    tail_note: str | None = None


class ThroughputInterval(_Record):
    """System throughput over the measured windows, tokens per second, with its bootstrap interval."""

    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    confidence: float | None = None
    n: int = 0
    attempts: int = 0
    method: str | None = Field(None, description="how the interval was made (benchlib.metrics.throughput)")
    basis: str | None = Field(None, description="an imported run's: where the value came from (the tool's aggregates ...)")


class EnergySummary(_Record):
    """Energy per token of the measured window (joules per token); ``problem`` says why when not ``valid``.

    Written by :func:`benchlib.power.session.energy_summary` (an imported run's by
    :func:`benchlib.importers.pricing.imported_energy`), in the summary and in its attempt.
    """

    valid: bool = False
    problem: str | None = None
    kind: str | None = Field(None, description="measured (a sensor) or estimated (the profile's figure)")
    source: str | None = None
    boundary: str | None = None
    method: str | None = Field(None, description="how the energy was obtained (trapezoid, counter difference ...)")
    window_s: float | None = Field(None, description="length of the measured window, seconds")
    start_unix_s: float | None = None
    end_unix_s: float | None = None
    samples: int | None = Field(None, description="power readings inside the window")
    output_tokens: int | None = Field(None, description="tokens the energy is divided by")
    energy_j: float | None = None
    mean_power_w: float | None = None
    idle_power_w: float | None = None
    energy_per_token_j: dict[str, Any] | None = None
    idle_subtracted_energy_per_token_j: dict[str, Any] | None = None
    note: str | None = Field(None, description="e.g. estimated from the profile's power figure, not measured")
    fallback: str | None = Field(None, description="why power: auto fell back to the estimate")
    attempt: int | None = Field(None, description="the attempt whose window this is")
    requests: int | None = Field(None, description="that attempt's requests that count")


class CostSummary(_Record):
    """Cost per million tokens under a price profile (US dollars)."""

    price_profile: str | None = None
    kind: str | None = None
    hourly_cost_usd: float | None = None
    utilization: float | None = None
    power_w: float | None = None
    power_source: str | None = None
    cost_per_million_usd: dict[str, Any] | None = None
    basis: str | None = Field(None, description="an imported run's: a point value from the tool's aggregates ...")
    requests: int | None = Field(None, description="a hosted API's: the requests billed")
    prompt_tokens: int | None = Field(None, description="a hosted API's: prompt (input) tokens billed")
    output_tokens: int | None = Field(None, description="a hosted API's: output tokens billed")
    cost_usd: float | None = Field(None, description="a hosted API's: what the run's requests cost at list price")
    usd_per_million_input_tokens: float | None = None
    usd_per_million_output_tokens: float | None = None
    energy_note: str | None = Field(None, description="a hosted API's: why its energy is unknown")


class PeakCost(CostSummary):
    """The cost at a load sweep's peak throughput, and the step it came from."""

    step: str | None = None


class PeakThroughput(_Record):
    """A load sweep's highest throughput over its complete steps (tokens per second), and the step."""

    value: float
    step: str


class RunSummary(_Record):
    """Medians, percentiles and intervals of a run (of its first load step, for a load sweep)."""

    requests: int = 0
    ttft_s: Distribution | None = None
    e2e_s: Distribution | None = None
    tpot_s: Distribution | None = None
    decode_tps: Distribution | None = None
    runtime_decode_tps: Distribution | None = None
    harness_vs_runtime_decode_ratio: Distribution | None = Field(
        None, description="decode_tps measured here / the runtime's own, per request")
    itl_s: Distribution | None = None
    output_tokens: int | None = None
    measured_window_s: float | None = None
    system_throughput_tps: ThroughputInterval | None = None
    prompt_cache: dict[str, Any] | None = None
    retried_requests: int | None = None
    energy: EnergySummary | None = None
    cost: CostSummary | None = None
    cost_at_peak: PeakCost | None = None
    peak_throughput_tps: PeakThroughput | None = None
    prefill_tps: Distribution | None = Field(None, description="an imported run's prefill rate, tokens per second")
    aggregates_only: bool | None = Field(None, description="an imported run without per-request rows")
    tool_aggregates: dict[str, Any] | None = Field(None, description="an imported run's aggregates as its tool stated them")
    by_turn: list[dict[str, Any]] | None = Field(None, description="conversations: TTFT, history and cached tokens per turn")
    shared_prefix: dict[str, Any] | None = Field(
        None, description="prefix_tokens: intended share of requests with the shared prefix, observed cache-hit rate")
    by_cell: list[dict[str, Any]] | None = Field(
        None, description="length grids and context depth: prefill and decode rates per cell")
    lateness_s: dict[str, Any] | None = Field(
        None, description="open loop and trace replay: how long after its scheduled time each request was sent")
    energy_by_phase: dict[str, Any] | None = Field(
        None, description="energy split into prefill (J per prompt token) and decode (J per output token), or why not")


class StepRecord(_Record):
    """One load step of a load sweep (``c4``, ``r2.5``)."""

    status: StepStatus
    attempt: int
    started_unix_s: float | None = None
    ended_unix_s: float | None = None
    summary: dict[str, Any] = Field(default_factory=dict)


class ThermalWindow(_Record):
    """Temperatures, clocks and throttling over the measured window (``benchlib.thermal.summarize_window``)."""

    start_unix_s: float | None = None
    end_unix_s: float | None = None
    samples: int = 0
    basis: str | None = None
    max_temp_c: float | None = Field(None, description="hottest sensor in the window, degrees Celsius")
    clock_start_mhz: float | None = Field(None, description="CPU clock at the window's start, MHz")
    clock_min_mhz: float | None = Field(None, description="lowest CPU clock in the window, MHz")
    clock_drop_pct: float | None = Field(None, description="(start - min) / start, percent")
    gpu_clock_start_mhz: float | None = None
    gpu_clock_min_mhz: float | None = None
    gpu_clock_drop_pct: float | None = None
    throttled: bool | None = Field(None, description="None when no source can tell (no vcgencmd, no NVML)")
    throttle_reasons: list[str] = Field(default_factory=list)
    other_clock_reasons: list[str] = Field(default_factory=list)
    throttle_history_new: list[str] = Field(default_factory=list)


class ThermalRecord(_Record):
    """Thermal and clock state of the last attempt: sources, missing ones with why, snapshots, window summary."""

    attempt: int | None = None
    rate_hz: float | None = None
    sources: list[str] = Field(default_factory=list, description="sources that answered (sysfs-temp, cpu-clock, vcgencmd, nvml)")
    source_details: list[dict[str, Any]] = Field(default_factory=list, description="each answering source's description")
    unavailable: dict[str, str] = Field(default_factory=dict, description="missing source -> why")
    has_temperature: bool = False
    start: dict[str, Any] | None = Field(None, description="snapshot at the attempt's start (ThermalSnapshot.record())")
    end: dict[str, Any] | None = Field(None, description="snapshot at the attempt's end")
    samples: int = 0
    window: ThermalWindow | None = None
    flag: str | None = Field(None, description="the report's verdict: ok, throttled (...), clock dropped N% ...")
    problem: str | None = None


class Attempt(_Record):
    """One execution of the sweep (a resumed run has several); ``outcome`` and ``error`` when it did not complete.

    The engine records how an attempt ended (``close_previous_attempt``) when
    the next one starts; ``outcome`` is ``interrupted`` for an attempt whose
    process was gone (``interrupted (process gone)``).
    """

    started_at: str
    pid: int | None = None
    host: str | None = None
    process_started_unix_s: float | None = None
    timings: dict[str, float | int] | None = Field(
        None, description="model_load_s (in-process runtimes), warmup_requests, warmup_s, measured_s")
    energy: EnergySummary | None = None
    outcome: _status_among(RunStatus.FAILED, RunStatus.INTERRUPTED, RunStatus.UNKNOWN) | None = None
    error: str | None = Field(None, description="why it stopped")


class ErrorCount(_Record):
    """Failed requests of one kind: how many, and the first one's reason."""

    count: int
    first: str


class Progress(_Record):
    """Measured requests done and planned."""

    completed: int
    total: int


class ImportSource(_Record):
    """Where an imported run came from: the tool, its file (kept under ``source/``) and how its fields were mapped."""

    kind: str = IMPORTED_KIND
    tool: str
    tool_version: str | None = None
    label: str | None = None
    file: str = Field(description="the imported file's name")
    file_sha256: str
    stored_as: str = Field(description="the copy kept in the run directory")
    imported_at: str
    per_request: bool = Field(description="whether the file had per-request rows (requests.parquet)")
    mapping: list[dict[str, Any]] = Field(default_factory=list, description="each field of the file and what it became")
    warnings: list[str] = Field(default_factory=list)
    extra: dict[str, Any] = Field(default_factory=dict, description="what else the importer noted (companion files ...)")


class RunRecord(_Record):
    """``run.json``: one run's parameters, model, machine, attempts, status and summary.

    ``condition_id`` and ``repeat_index`` say which repeat of which condition
    the run is (:mod:`benchlib.records.repeats`); a run written before repeats
    existed reads as repeat 1 of the condition named by its run id.
    """

    schema_version: int
    run_id: str
    condition_id: str = Field(
        "", description="The run id without the repeat index, shared by every repeat of the same parameters "
                        "(absent in runs written before repeats: their run id)")  # fmt: skip
    repeat_index: int = Field(1, ge=1, description="Which repeat of its condition this run is, from 1")
    kind: str = "sweep"
    status: _RecordedStatus = Field(description="running, complete, failed or interrupted (a dead running run reads "
                                                "as 'interrupted (process gone)': RunDirectory.effective_status)")
    parameters: dict[str, Any] = Field(default_factory=dict, description="The sweep's flat parameters")
    model: dict[str, Any] = Field(default_factory=dict)
    machine: dict[str, Any] = Field(default_factory=dict)
    started_at: str | None = None
    ended_at: str | None = None
    error: str | None = None
    errors_by_kind: dict[str, ErrorCount] | None = Field(
        None, description="a run whose every measured request failed: its failures by kind")
    attempts: list[Attempt] = Field(default_factory=list)
    progress: Progress | None = None
    power: dict[str, Any] | None = None
    runtime: dict[str, Any] | None = None
    network: dict[str, Any] | None = None
    prompt_tokenizer: str | None = Field(None, description="the tokenizer synthetic prompts were made with (load sweeps)")
    trace: dict[str, Any] | None = Field(None, description="a replayed trace: file, layout, requests, duration, notes")
    rate_search: dict[str, Any] | None = Field(
        None, description="load: sweep: the highest rate that met the targets, its bracket and the steps taken")
    price_profile: dict[str, Any] | None = None
    source: ImportSource | None = Field(None, description="an imported run's origin")
    workload: dict[str, Any] | None = Field(None, description="an imported run's workload, as its tool stated it")
    steps: dict[str, StepRecord] = Field(default_factory=dict)
    summary_step: str | None = None
    thermal: ThermalRecord | None = None
    summary: RunSummary = Field(default_factory=RunSummary)

    @model_validator(mode="after")
    def _condition_of_older_runs(self) -> RunRecord:
        """A run without a condition id (written before repeats, or imported) is its own condition."""
        if not self.condition_id:
            self.condition_id = self.run_id
        return self

    @property
    def is_load_sweep(self) -> bool:
        """True for a sweep of load steps against a server (its summary describes its first step)."""
        return self.summary_step is not None

    def summary_step_attempt(self) -> int | None:
        """The attempt whose rows the summary step's statistics use (load sweeps), else ``None``."""
        step = self.steps.get(self.summary_step or "")
        return step.attempt if step is not None else None
