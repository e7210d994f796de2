"""The performance model: one decode step, a prefill, a serving point and its power, from a roofline.

A decode step of a batch of ``B`` streams, each at mean context ``L``, reads the
weights once and every stream's KV cache, and multiplies every weight once per
stream::

    t_mem  = (W_read + B x L x kv_bytes) / (bandwidth x e_bw)
    t_comp = B x (2 x P_matmul + 4 x layers x heads x head_dim x L) / (peak x e_c)
    t_step = t_0 + max(t_mem, t_comp)

A prefill of ``n`` prompt tokens after ``c`` cached ones is compute-bound
(``2 x P_matmul x n`` plus causal attention) at the prefill efficiency ``e_p``,
and never faster than one read of the weights. A closed loop of ``C`` clients,
each sending ``prompt`` tokens and receiving ``output``, runs ``B = min(C, batch
cap)`` streams (1 for a runtime that does not batch); the others queue::

    TPOT = t_step(B, L)       TTFT = prefill + t_step (+ queue)       e2e = TTFT + (output - 1) x TPOT
    output tok/s = B x output / e2e                                    (Little's law)

where each step also carries the other streams' prompts, ``(B - 1) x prompt / output``
tokens of prefill compute (continuous batching mixes them into the decode steps).
A closed loop in *lockstep* (``Scenario.lockstep``: equal-length requests whose
clients start each round together, as a sweep's fixed output length makes them)
prefills a round's ``B`` prompts together before its decode steps instead::

    TTFT = prefill of B prompts + t_step       TPOT = t_step (no prompt in it)

(the same prefill and decode work: ``e2e`` and throughput move little when the steps are compute-bound).

The batch cap is where the KV caches of ``B`` full contexts no longer fit beside
the weights in the usable share of memory. Power is idle plus a share of
(board - idle): ``a1`` when memory-bound, rising to 1 as compute takes over; the
energy per output token is power / output tok/s.

The efficiencies (``e_bw``, ``e_c``, ``e_p``, ``t_0``, ``a1``) are fitted per
hardware and runtime class by :mod:`benchlib.predict.calibrate`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

from benchlib.hardware.model_reference import ModelGeometry

__all__ = [
    "BATCHING",
    "DEFAULT_OUTPUT_TOKENS",
    "DEFAULT_PROMPT_TOKENS",
    "USABLE_MEMORY_SHARE",
    "Efficiencies",
    "HardwareSpec",
    "Scenario",
    "ServingPoint",
    "batch_cap",
    "decode_step_s",
    "prefill_s",
    "serving_point",
]

DEFAULT_PROMPT_TOKENS = 128
"""Prompt tokens assumed where a figure's source does not state them."""
DEFAULT_OUTPUT_TOKENS = 128
"""Output tokens assumed where a figure's source does not state them (the article's 128)."""
BATCHING = {"llama.cpp": True, "vllm": True, "tensorrt-llm": True, "sglang": True, "hailo": False, "mlx": False,
            "transformers": True, "other": True}  # fmt: skip
"""Whether a runtime class batches concurrent streams into one decode step (hailo-ollama and mlx-lm serve one at a time)."""
USABLE_MEMORY_SHARE = {"gpu-datacenter": 0.9, "gpu-consumer": 0.9, "apple-silicon": 0.75, "cpu-arm": 0.8,
                       "cpu-x86": 0.8, "npu": 0.9}  # fmt: skip
"""Share of memory a runtime can fill with weights and KV cache: vLLM's default ``gpu_memory_utilization`` 0.9;
macOS lets the GPU wire about 75% of unified memory; an OS keeps about a fifth of a board's RAM."""


@dataclass(frozen=True)
class HardwareSpec:
    """The figures of a device the model needs.

    Attributes:
        name: Its id or a label.
        hardware_class: One of ``benchlib.hardware.reference.HARDWARE_CLASSES``.
        bandwidth_gb_s: Peak memory bandwidth, GB/s (``None``: unknown).
        peak_tflops: Peak compute, TFLOPS (``None``: unknown).
        memory_gb: Memory size, GB (``None``: unknown, no batch cap).
        power_w: Board power or TDP, W.
        idle_power_w: Idle draw, W (``None``: a fifth of ``power_w``, stated in the basis).
        basis: Where the figures come from.
    """

    name: str
    hardware_class: str
    bandwidth_gb_s: float | None
    peak_tflops: float | None
    memory_gb: float | None
    power_w: float | None
    idle_power_w: float | None
    basis: str

    @property
    def family(self) -> str:
        """``gpu``, ``cpu``, or the class itself: what pools evidence when a class has too little."""
        return self.hardware_class.split("-")[0] if self.hardware_class.startswith(("gpu-", "cpu-")) else self.hardware_class

    def to_dict(self) -> dict[str, Any]:
        """Plain values for a prediction's basis."""
        return asdict(self)


@dataclass(frozen=True)
class Efficiencies:
    """What share of the hardware's peaks a runtime reaches.

    Attributes:
        bandwidth: ``e_bw``, share of peak memory bandwidth in a decode step.
        decode_compute: ``e_c``, share of peak compute in a batched decode step.
        prefill_compute: ``e_p``, share of peak compute in a prefill.
        step_overhead_s: ``t_0``, fixed time per step (scheduling, sampling, kernel launches), s.
        power_activity: ``a1``, share of (board - idle) power drawn in a memory-bound decode.
    """

    bandwidth: float
    decode_compute: float
    prefill_compute: float
    step_overhead_s: float
    power_activity: float

    NAMES = ("bandwidth", "decode_compute", "prefill_compute", "step_overhead_s", "power_activity")

    def as_tuple(self) -> tuple[float, ...]:
        """The five values in :attr:`NAMES` order."""
        return tuple(getattr(self, name) for name in self.NAMES)

    @classmethod
    def from_tuple(cls, values: tuple[float, ...] | list[float]) -> "Efficiencies":
        """From five values in :attr:`NAMES` order."""
        return cls(*(float(v) for v in values))


@dataclass(frozen=True)
class Scenario:
    """A workload point: per-request lengths and the number of concurrent clients.

    Attributes:
        prompt_tokens: Prompt tokens per request.
        output_tokens: Output tokens per request.
        context_tokens: Tokens already in context before the prompt.
        concurrency: Concurrent clients (closed loop).
        lockstep: The clients start each round together (equal lengths keep them in step), so a
            round's prompts are prefilled together before its decode steps; else arrivals spread out.
    """

    prompt_tokens: int = DEFAULT_PROMPT_TOKENS
    output_tokens: int = DEFAULT_OUTPUT_TOKENS
    context_tokens: int = 0
    concurrency: int = 1
    lockstep: bool = False

    @property
    def mean_decode_context(self) -> float:
        """Mean context position during decode: cached + prompt + half the output."""
        return self.context_tokens + self.prompt_tokens + self.output_tokens / 2

    @property
    def full_context(self) -> int:
        """Tokens a stream holds at its end."""
        return self.context_tokens + self.prompt_tokens + self.output_tokens

    def at(self, concurrency: int) -> "Scenario":
        """The same lengths at another concurrency."""
        return replace(self, concurrency=int(concurrency))


@dataclass(frozen=True)
class ServingPoint:
    """The model's answer at one scenario (NaN where it cannot say; ``limit`` says why).

    Attributes:
        concurrency: Clients.
        batch: Streams decoded together.
        tpot_s: Time per output token of one stream, s.
        ttft_s: Time to first token, queueing for a slot included, s.
        e2e_s: Request latency, s.
        output_tps: Output tokens/s over all streams.
        decode_tps: Single-stream decode rate at this batch, tokens/s (1 / TPOT).
        prefill_tps: Prompt tokens/s of one prefill.
        power_w: Draw, W.
        j_per_token: Energy per output token, J.
        bound: ``memory``, ``compute`` or ``overhead``: what the decode step waits for.
        limit: Why the batch is smaller than the concurrency, or why nothing is predicted.
    """

    concurrency: int
    batch: int
    tpot_s: float
    ttft_s: float
    e2e_s: float
    output_tps: float
    decode_tps: float
    prefill_tps: float
    power_w: float
    j_per_token: float
    bound: str
    limit: str | None


def decode_step_s(hardware: HardwareSpec, model: ModelGeometry, eff: Efficiencies, batch: int,
                  context_tokens: float) -> tuple[float, float, float]:  # fmt: skip
    """One decode step of ``batch`` streams at mean context ``context_tokens``.

    Returns:
        ``(step s, memory s, compute s)``; compute is 0 when the peak is unknown.

    Raises:
        ValueError: the hardware's bandwidth is unknown.
    """
    if not hardware.bandwidth_gb_s:
        raise ValueError(f"{hardware.name}: memory bandwidth unknown")
    read = model.weight_bytes_read_per_token + batch * context_tokens * model.kv_bytes_per_token
    memory_s = read / (hardware.bandwidth_gb_s * 1e9 * eff.bandwidth)
    compute_s = 0.0
    if hardware.peak_tflops:
        flops = batch * (2.0 * model.matmul_parameters + model.attention_flops_per_token(context_tokens))
        compute_s = flops / (hardware.peak_tflops * 1e12 * eff.decode_compute)
    return eff.step_overhead_s + max(memory_s, compute_s), memory_s, compute_s


def prefill_s(hardware: HardwareSpec, model: ModelGeometry, eff: Efficiencies, prompt_tokens: int,
              context_tokens: int = 0, sequences: int = 1) -> float:  # fmt: skip
    """Time to process ``sequences`` prompts of ``prompt_tokens`` after ``context_tokens`` cached ones, together, s.

    NaN when the peak is unknown.
    """
    if not hardware.peak_tflops:
        return float("nan")
    attention = 4.0 * model.block_count * model.head_count * model.head_dim * (
        prompt_tokens * context_tokens + prompt_tokens**2 / 2
    )
    flops = sequences * (2.0 * model.matmul_parameters * prompt_tokens + attention)
    compute_s = flops / (hardware.peak_tflops * 1e12 * eff.prefill_compute)
    memory_s = model.weight_bytes_read_per_token / (hardware.bandwidth_gb_s * 1e9 * eff.bandwidth)
    return eff.step_overhead_s + max(compute_s, memory_s)


def batch_cap(hardware: HardwareSpec, model: ModelGeometry, scenario: Scenario, runtime_class: str) -> tuple[int, str | None]:
    """The most streams one device decodes together, and why it is not unlimited.

    Returns:
        ``(cap, reason)``; cap 0 when the weights alone do not fit.
    """
    if not BATCHING.get(runtime_class, True):
        return 1, f"{runtime_class} serves one stream at a time"
    if not hardware.memory_gb:
        return scenario.concurrency, None
    usable = hardware.memory_gb * 1e9 * USABLE_MEMORY_SHARE.get(hardware.hardware_class, 0.8)
    free = usable - model.weight_bytes
    if free <= 0:
        return 0, f"{model.weight_bytes / 1e9:.2f} GB of weights do not fit in {usable / 1e9:.1f} GB usable memory"
    per_stream = model.kv_bytes_per_token * scenario.full_context
    cap = int(free // per_stream) if per_stream > 0 else scenario.concurrency
    reason = (f"KV cache: {free / 1e9:.1f} GB free after weights / {per_stream / 1e6:.0f} MB per "
              f"{scenario.full_context}-token stream = {cap} streams")  # fmt: skip
    return cap, reason


def serving_point(hardware: HardwareSpec, model: ModelGeometry, eff: Efficiencies, scenario: Scenario,
                  runtime_class: str) -> ServingPoint:  # fmt: skip
    """TPOT, TTFT, throughput, power and J/token of a closed loop of ``scenario.concurrency`` clients."""
    cap, reason = batch_cap(hardware, model, scenario, runtime_class)
    nan = float("nan")
    if cap < 1:
        return ServingPoint(scenario.concurrency, 0, nan, nan, nan, nan, nan, nan, nan, nan, "none", reason)
    batch = min(scenario.concurrency, cap)
    step, memory, compute = decode_step_s(hardware, model, eff, batch, scenario.mean_decode_context)
    prefill = prefill_s(hardware, model, eff, scenario.prompt_tokens, scenario.context_tokens)
    lockstep = scenario.lockstep and batch > 1
    interleaved = 0.0 if lockstep else _interleaved_prefill_s(hardware, model, eff, scenario, batch)
    if interleaved > 0:  # the other streams' prompts share the steps: compute of the step grows
        compute += interleaved
        step = eff.step_overhead_s + max(memory, compute)
    # in lockstep a round's prompts are prefilled together before the first token of any of them
    ttft = (prefill_s(hardware, model, eff, scenario.prompt_tokens, scenario.context_tokens, batch)
            if lockstep else prefill) + step  # fmt: skip
    e2e = ttft + (scenario.output_tokens - 1) * step
    waiting = scenario.concurrency - batch
    if waiting > 0:  # closed loop, Little's law: C = (B / e2e) x (wait + e2e), so wait = (C - B) / B x e2e
        ttft += (waiting / batch) * e2e
    output_tps = batch * scenario.output_tokens / e2e if math.isfinite(e2e) else batch / step
    bound = "memory" if memory >= compute else "compute"
    if eff.step_overhead_s > max(memory, compute):
        bound = "overhead"
    power = _power_w(hardware, eff, memory, compute)
    prefill_tps = scenario.prompt_tokens / prefill if prefill and math.isfinite(prefill) else nan
    return ServingPoint(
        concurrency=scenario.concurrency, batch=batch, tpot_s=step, ttft_s=ttft, e2e_s=e2e, output_tps=output_tps,
        decode_tps=1.0 / step, prefill_tps=prefill_tps, power_w=power,
        j_per_token=power / output_tps if math.isfinite(power) and output_tps > 0 else nan, bound=bound,
        limit=reason if batch < scenario.concurrency else None,
    )  # fmt: skip


def _interleaved_prefill_s(hardware: HardwareSpec, model: ModelGeometry, eff: Efficiencies, scenario: Scenario,
                           batch: int) -> float:  # fmt: skip
    """Compute time per decode step spent on the other streams' prompts.

    In a steady closed loop each of the ``batch - 1`` other streams starts a new request every
    ``output`` steps, so a step also prefills ``(batch - 1) x prompt / output`` prompt tokens
    (continuous batching mixes them into the decode steps), at the prefill efficiency.
    """
    if batch <= 1 or not hardware.peak_tflops or scenario.prompt_tokens == 0:
        return 0.0
    tokens = (batch - 1) * scenario.prompt_tokens / scenario.output_tokens
    per_token = 2.0 * model.matmul_parameters + model.attention_flops_per_token(
        scenario.context_tokens + scenario.prompt_tokens / 2)
    return tokens * per_token / (hardware.peak_tflops * 1e12 * eff.prefill_compute)


def _power_w(hardware: HardwareSpec, eff: Efficiencies, memory_s: float, compute_s: float) -> float:
    """Idle plus a share of (board - idle): ``a1`` memory-bound, rising to 1 as compute reaches the memory time."""
    if hardware.power_w is None:
        return float("nan")
    idle = hardware.idle_power_w if hardware.idle_power_w is not None else 0.2 * hardware.power_w
    compute_share = min(1.0, compute_s / memory_s) if memory_s > 0 else 1.0
    activity = min(1.0, eff.power_activity + (1.0 - eff.power_activity) * compute_share)
    return idle + (hardware.power_w - idle) * activity
