"""Runs one sweep: load, warm up, measure, record, resume.

``run_sweep(SweepParams(...))`` is what the sweep notebook calls. It

1. resolves and verifies the model,
2. finds the run directory for these parameters (``data/runs/RUN_ID``) and
   the requests it already holds,
3. loads the runtime and runs the warm-up requests (never recorded),
4. runs every missing measured request, appending each to
   ``requests.parquet`` as soon as it completes,
5. writes the summary and marks the run ``complete``.

A run killed at any point keeps every request that completed; running the
same parameters again skips them and runs the rest.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import pandas as pd

from benchlib import env as machine_env
from benchlib.errors import ParameterError
from benchlib.metrics import request_metrics, summarize_requests, throughput_replicates
from benchlib.models import DEFAULT_MODEL, ModelInfo, resolve_model
from benchlib.power.session import PowerSession, PowerSettings
from benchlib.records import (
    SCHEMA_VERSION,
    STATUS_COMPLETE,
    STATUS_FAILED,
    STATUS_INTERRUPTED,
    STATUS_RUNNING,
    RunDirectory,
    atomic_write_bytes,
    now_iso,
    run_id_for,
)
from benchlib.runtimes import RUNTIME_NAMES, create_runtime
from benchlib.runtimes.base import GenerationRequest, TokenTrace
from benchlib.runtimes.llamacpp import LlamaCppSettings
from benchlib.workload import SYNTHETIC, Workload, resolve_prompts

__all__ = ["SweepParams", "SweepResult", "run_sweep"]


HTTP_ONLY = (
    "url", "api", "served_model", "api_key_env", "fixed_length", "concurrency", "rates_rps",
    "step_min_requests", "step_max_s", "request_timeout_s", "slo_ttft_s", "slo_tpot_s", "slo_e2e_s",
    "cache_prompt",
)  # fmt: skip
"""Parameters that only an ``http`` sweep uses (not part of other runs' identity)."""

LLAMA_CPP_ONLY = ("flash_attn",)
"""Parameters that only an in-process ``llama.cpp`` sweep uses (not part of other runs' identity)."""

SYNTHETIC_ONLY = ("prompt_tokens",)
"""Parameters that only sweeps with ``prompts: synthetic`` use (not part of other runs' identity)."""

ONNX_ONLY = ("onnx_precision", "onnx_provider", "onnx_model_dir")
"""Parameters that only an ``onnx`` sweep uses (not part of other runs' identity)."""


@dataclass(frozen=True)
class SweepParams:
    """Parameters of one sweep; the sweep notebook's ``parameters`` cell has the same names.

    Attributes:
        profile: Hardware profile name (``local-cpu``, ``pi5``, ``smoke`` ...).
        platform: Human label of the hardware, shown in figures.
        runtime: Runtime name (``llama.cpp``).
        model: Catalogue name or path of a GGUF file.
        prompts: Prompt-set name (``short``, ``tiny``), ``synthetic`` (a prompt
            of its own of ``prompt_tokens`` tokens for every request, so no
            prompt cache can serve it) or a list of prompts.
        prompt_tokens: Length of each synthetic prompt, tokens (``prompts: synthetic``).
        output_tokens: Tokens generated per request.
        repetitions: Measured passes over the prompts.
        warmup: Warm-up requests before measuring (not recorded).
        threads: CPU threads; 0 means one per physical core.
        context_tokens: Context size in tokens.
        gpu_layers: Layers offloaded to a GPU (GPU builds only).
        flash_attn: In-process llama.cpp's flash attention: ``auto`` (llama.cpp
            enables it where the device supports it; the default of llama.cpp's
            own tools), ``on`` or ``off``.
        seed: Random seed.
        temperature: 0 for greedy decoding.
        ignore_eos: Generate exactly ``output_tokens`` even past end-of-sequence.
        output_dir: Folder that holds run directories.
        price_profile: Price profile (see ``data/reference/prices.yaml``) whose
            cost per million tokens the summary shows; empty for none.
        price_files: Your price files, read after the article's defaults.
        power: Power source: ``auto`` (the best measured source, else the
            profile's estimate), ``none``, or a source name (``pi5-pmic``,
            ``ina2xx``, ``rapl``, ``nvml``, ``meter-log``, ``estimate``).
        power_options: Options of that source's reader (``path`` and
            ``clock_offset_s`` for ``meter-log``, ``devices``, ``indices`` ...).
        power_rate_hz: Sampling rate of live power sources, Hz.
        idle_s: Idle baseline sampled after warm-up, seconds (0: none).
        url: Server base URL (``runtime: http``), e.g. ``http://127.0.0.1:8000``.
        api: ``openai-completions``, ``openai-chat``, ``ollama-generate`` or ``ollama-chat``.
        served_model: Model name on the server (default: ``model``).
        api_key_env: Environment variable holding the API key (never stored).
        fixed_length: How to ask the server for exactly ``output_tokens``
            (``auto``, ``min_tokens``, ``ignore_eos``, ``none``).
        cache_prompt: The server's prompt cache: ``default`` (as the server is
            configured), ``on`` or ``off`` (sent as llama.cpp's ``cache_prompt``).
        concurrency: Closed-loop steps: simultaneous streams per step.
        rates_rps: Open-loop steps: Poisson arrival rates, requests per second.
        step_min_requests: Requests each step issues.
        step_max_s: Longest a step issues requests, seconds.
        request_timeout_s: Longest one request may take, seconds.
        slo_ttft_s: Goodput target for time to first token, seconds (0: none).
        slo_tpot_s: Goodput target for time per output token, seconds (0: none).
        slo_e2e_s: Goodput target for end-to-end latency, seconds (0: none).
        onnx_precision: ``runtime: onnx``: weight precision of the converted model
            (``int4``, ``fp16``, ``fp32``).
        onnx_provider: ``runtime: onnx``: execution provider (``cpu``, ``cuda``, ``tensorrt``).
        onnx_model_dir: ``runtime: onnx``: an already converted folder (empty:
            convert ``model``, or reuse its cached conversion).
    """

    profile: str = "local-cpu"
    platform: str = "this machine (CPU)"
    runtime: str = "llama.cpp"
    model: str = DEFAULT_MODEL
    prompts: str | list[str] = "short"
    prompt_tokens: int = 0
    output_tokens: int = 128
    repetitions: int = 5
    warmup: int = 1
    threads: int = 0
    context_tokens: int = 2048
    gpu_layers: int = 0
    flash_attn: str = "auto"
    seed: int = 0
    temperature: float = 0.0
    ignore_eos: bool = True
    output_dir: str = "data/runs"
    price_profile: str = ""
    price_files: list[str] = field(default_factory=list)
    power: str = "auto"
    power_options: dict[str, Any] = field(default_factory=dict)
    power_rate_hz: float = 10.0
    idle_s: float = 0.0
    url: str = ""
    api: str = "openai-completions"
    served_model: str = ""
    api_key_env: str = ""
    fixed_length: str = "auto"
    cache_prompt: str = "default"
    concurrency: list[int] = field(default_factory=lambda: [1])
    rates_rps: list[float] = field(default_factory=list)
    step_min_requests: int = 16
    step_max_s: float = 120.0
    request_timeout_s: float = 120.0
    slo_ttft_s: float = 0.0
    slo_tpot_s: float = 0.0
    slo_e2e_s: float = 0.0
    onnx_precision: str = "int4"
    onnx_provider: str = "cpu"
    onnx_model_dir: str = ""

    @classmethod
    def names(cls) -> list[str]:
        """The valid parameter names."""
        return [f.name for f in fields(cls)]

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> "SweepParams":
        """Build parameters from a mapping, refusing unknown names and wrong types.

        Raises:
            ParameterError: an unknown name (the message lists the valid ones) or
                a value of the wrong type or range.
        """
        unknown = sorted(set(values) - set(cls.names()))
        if unknown:
            raise ParameterError(
                f"Unknown sweep parameter(s) {', '.join(unknown)}; valid parameters: {', '.join(cls.names())}."
            )
        params = cls(**values)
        params.validate()
        return params

    def validate(self) -> None:
        """Check every value's type and range.

        Raises:
            ParameterError: naming the parameter and what it must be.
        """
        expected = {
            "profile": str, "platform": str, "runtime": str, "model": str, "output_dir": str,
            "output_tokens": int, "repetitions": int, "warmup": int, "threads": int,
            "context_tokens": int, "gpu_layers": int, "seed": int, "ignore_eos": bool,
            "prompt_tokens": int, "flash_attn": str, "cache_prompt": str,
            "onnx_precision": str, "onnx_provider": str, "onnx_model_dir": str,
        }  # fmt: skip
        for name, kind in expected.items():
            value = getattr(self, name)
            wrong_bool = kind is int and isinstance(value, bool)
            if not isinstance(value, kind) or wrong_bool:
                raise ParameterError(f"Parameter {name} must be {kind.__name__}, got {value!r}.")
        if not isinstance(self.temperature, (int, float)) or isinstance(self.temperature, bool):
            raise ParameterError(f"Parameter temperature must be a number, got {self.temperature!r}.")
        if self.temperature < 0:
            raise ParameterError(f"Parameter temperature must be 0 (greedy) or more, got {self.temperature}.")
        if self.runtime not in RUNTIME_NAMES:
            raise ParameterError(f"Unknown runtime '{self.runtime}'; valid runtimes: {', '.join(RUNTIME_NAMES)}.")
        LlamaCppSettings(flash_attn=self.flash_attn)  # its own check, with the valid modes
        for name in ("threads", "gpu_layers", "seed", "prompt_tokens"):
            if getattr(self, name) < 0:
                raise ParameterError(f"Parameter {name} must be 0 or more, got {getattr(self, name)}.")
        if self.context_tokens < 16:
            raise ParameterError(f"Parameter context_tokens must be at least 16, got {self.context_tokens}.")
        resolve_prompts(self.prompts)
        self.workload()
        if not isinstance(self.price_profile, str):
            raise ParameterError(f"Parameter price_profile must be str, got {self.price_profile!r}.")
        if not isinstance(self.price_files, list) or not all(isinstance(p, str) for p in self.price_files):
            raise ParameterError(f"Parameter price_files must be a list of paths, got {self.price_files!r}.")
        for name in ("power_rate_hz", "idle_s"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise ParameterError(f"Parameter {name} must be a number, got {value!r}.")
        if not isinstance(self.power, str):
            raise ParameterError(f"Parameter power must be str, got {self.power!r}.")
        self.power_settings().validate()
        if self.runtime == "onnx":
            from benchlib.runtimes.onnx.options import check_options

            check_options(self.onnx_precision, self.onnx_provider)
        if self.runtime == "http":
            self.http_settings().validate()
            self.load_steps()
            for name in ("slo_ttft_s", "slo_tpot_s", "slo_e2e_s", "step_max_s", "request_timeout_s"):
                value = getattr(self, name)
                if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                    raise ParameterError(f"Parameter {name} must be a number >= 0, got {value!r}.")

    def http_settings(self):
        """Server settings of an ``http`` sweep."""
        from benchlib.runtimes.http import HttpSettings

        return HttpSettings(
            url=self.url,
            api=self.api,
            served_model=self.served_model or self.model,
            api_key_env=self.api_key_env,
            fixed_length=self.fixed_length,
            cache_prompt=self.cache_prompt,
            request_timeout_s=float(self.request_timeout_s),
            temperature=float(self.temperature),
            seed=self.seed,
        )

    def load_steps(self):
        """The load steps of an ``http`` sweep."""
        from benchlib.load import plan_steps

        return plan_steps(list(self.concurrency), list(self.rates_rps), self.step_min_requests, float(self.step_max_s))

    def power_settings(self) -> PowerSettings:
        """How this sweep measures power; the estimate comes from the price profile's ``power_w``."""
        price = self.price()
        return PowerSettings(
            source=self.power,
            options=self.power_options if isinstance(self.power_options, dict) else self.power_options,
            rate_hz=float(self.power_rate_hz),
            idle_s=float(self.idle_s),
            estimate_profile=price.name if price is not None else self.profile,
            estimate_w=price.power_w if price is not None else None,
            estimate_basis=price.sources.get("power_w") if price is not None else None,
        )

    def price(self):
        """The price profile named by ``price_profile`` (``None`` when empty).

        Raises:
            ParameterError: a bad price file, or a name it does not define (the
                message lists the valid profiles).
        """
        if not self.price_profile:
            return None
        from benchlib.cost import load_prices

        return load_prices(*self.price_files)[self.price_profile]

    def workload(self) -> Workload:
        """The workload these parameters describe."""
        return Workload(
            prompts=resolve_prompts(self.prompts),
            output_tokens=self.output_tokens,
            repetitions=self.repetitions,
            warmup_requests=self.warmup,
            ignore_eos=self.ignore_eos,
            synthetic_prompt_tokens=self.prompt_tokens if self.prompts == SYNTHETIC else 0,
            seed=self.seed,
        )

    def identity(self) -> dict[str, Any]:
        """The parameters that define what is measured (all but where results go and how they are priced)."""
        values = asdict(self)
        for name in ("output_dir", "price_profile", "price_files"):
            values.pop(name)
        if self.runtime != "http":
            for name in HTTP_ONLY:
                values.pop(name)
        if self.runtime != "onnx":
            for name in ONNX_ONLY:
                values.pop(name)
        if self.runtime != "llama.cpp":
            for name in LLAMA_CPP_ONLY:
                values.pop(name)
        if self.prompts != SYNTHETIC:
            for name in SYNTHETIC_ONLY:
                values.pop(name)
        values["prompts"] = SYNTHETIC if self.prompts == SYNTHETIC else list(resolve_prompts(self.prompts))
        return values

    def run_id(self) -> str:
        """The run id of these parameters."""
        return run_id_for(self.identity())

    def run_dir(self) -> Path:
        """The run directory of these parameters."""
        return Path(self.output_dir) / self.run_id()

    def runtime_settings(self) -> dict[str, Any]:
        """Settings handed to the runtime."""
        settings: dict[str, Any] = {
            "threads": self.threads,
            "context_tokens": self.context_tokens,
            "gpu_layers": self.gpu_layers,
            "seed": self.seed,
            "temperature": float(self.temperature),
        }
        if self.runtime == "onnx":
            settings.update(
                precision=self.onnx_precision, provider=self.onnx_provider, model_dir=self.onnx_model_dir
            )
        if self.runtime == "llama.cpp":
            settings["flash_attn"] = self.flash_attn
        return settings


@dataclass(frozen=True)
class SweepResult:
    """What :func:`run_sweep` returns.

    Attributes:
        run_dir: The run directory.
        meta: Final contents of ``run.json``.
        requests: Every measured request of the run.
        reused: True when the run was already complete and nothing ran.
    """

    run_dir: Path
    meta: dict[str, Any]
    requests: pd.DataFrame
    reused: bool

    @property
    def summary(self) -> dict[str, Any]:
        """The run's summary (medians, percentiles, intervals)."""
        return self.meta.get("summary", {})


class _Clock:
    """Maps ``perf_counter`` readings to Unix time, fixed at one instant per attempt."""

    def __init__(self) -> None:
        self.unix0 = time.time()
        self.perf0 = time.perf_counter()

    def unix(self, perf_s: float) -> float:
        return self.unix0 + (perf_s - self.perf0)


def _request_row(trace: TokenTrace, request: GenerationRequest, attempt: int, clock: _Clock) -> dict[str, Any]:
    metrics = request_metrics(trace)
    timings = trace.runtime_timings
    repetition, prompt_index = request.request_id.removeprefix("rep").split("-p")
    return {
        "request_id": request.request_id,
        "repetition": int(repetition),
        "prompt_index": int(prompt_index),
        "attempt": attempt,
        "prompt_tokens": metrics.prompt_tokens,
        "output_tokens": metrics.output_tokens,
        "sent_unix_s": clock.unix(trace.sent_s),
        "first_token_unix_s": clock.unix(trace.token_times_s[0]),
        "last_token_unix_s": clock.unix(trace.token_times_s[-1]),
        "ttft_s": metrics.ttft_s,
        "e2e_s": metrics.e2e_s,
        "tpot_s": metrics.tpot_s,
        "decode_tps": metrics.decode_tps,
        "itl_s": list(metrics.itl_s),
        "runtime_prompt_eval_s": timings.prompt_eval_s if timings else None,
        "runtime_prompt_eval_tokens": timings.prompt_eval_tokens if timings else None,
        "runtime_decode_s": timings.decode_s if timings else None,
        "runtime_decode_tokens": timings.decode_tokens if timings else None,
        "runtime_decode_tps": timings.decode_tps if timings else None,
        "cached_prompt_tokens": trace.cached_prompt_tokens,
        "output_text": trace.text,
    }


def mark_stopped(store: RunDirectory, meta: dict[str, Any], exc: BaseException) -> None:
    """Record in ``run.json`` that the attempt stopped: ``interrupted`` (Ctrl-C) or ``failed``, and why."""
    meta["status"] = STATUS_INTERRUPTED if isinstance(exc, KeyboardInterrupt) else STATUS_FAILED
    meta["error"] = f"{type(exc).__name__}: {exc}"
    store.write_meta(meta)


def _save_power_samples(store: RunDirectory, power: PowerSession, attempt: int) -> None:
    """Stop the sampler and append its samples to ``power.parquet`` (one row per sample)."""
    samples = power.stop()
    power.close()
    if samples.empty:
        return
    samples.insert(0, "attempt", attempt)
    path = store.path / "power.parquet"
    if path.exists():
        earlier = pd.read_parquet(path)
        samples = pd.concat([earlier[earlier["attempt"] != attempt], samples], ignore_index=True)
    buffer = io.BytesIO()
    samples.to_parquet(buffer, index=False)
    atomic_write_bytes(path, buffer.getvalue())


def _energy(
    power: PowerSession,
    measurement,
    requests: pd.DataFrame,
    attempt: int,
    previous: dict[str, Any] | None,
) -> dict[str, Any]:
    """Energy per token of this attempt's measured window (or the earlier attempt's, if it measured nothing)."""
    if measurement is None and previous is not None and previous.get("summary", {}).get("energy"):
        return previous["summary"]["energy"]
    rows = requests[requests["attempt"] == attempt]
    energy = power.energy(measurement, int(rows["output_tokens"].sum()), throughput_replicates(rows))
    energy["attempt"] = attempt
    energy["requests"] = int(len(rows))
    return energy


def _price_run(meta: dict[str, Any], params: SweepParams, requests: pd.DataFrame, force: bool = False) -> bool:
    """Price a complete run under ``params``' price profile; True when ``meta`` changed.

    Prices are not part of the run's identity: a reused run is priced again under
    the profile asked for now, and the profile itself is stored in ``run.json``.
    """
    from benchlib.cost import profile_record, run_cost_summary

    price = params.price()
    record = profile_record(price) if price is not None else None
    if not force and record == meta.get("price_profile") and (price is None or "cost" in meta.get("summary", {})):
        return False
    meta["parameters"]["price_profile"] = params.price_profile
    meta["parameters"]["price_files"] = list(params.price_files)
    meta["price_profile"] = record
    meta.get("summary", {}).pop("cost", None)
    if price is not None and not requests.empty:
        throughput = meta["summary"]["system_throughput_tps"]["value"]
        meta["summary"]["cost"] = run_cost_summary(
            price, throughput, throughput_replicates(requests), power_w=measured_power_w(meta["summary"])
        )
    return True


def measured_power_w(summary: dict[str, Any]) -> float | None:
    """Mean power under load of a run whose energy was measured by a sensor, watts, else ``None``."""
    energy = summary.get("energy") or {}
    if energy.get("valid") and energy.get("kind") == "measured":
        return float(energy["mean_power_w"])
    return None


def _start_meta(params: SweepParams, model: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    import psutil

    attempt = {
        "started_at": now_iso(),
        "pid": os.getpid(),
        "process_started_unix_s": psutil.Process().create_time(),
        "host": socket.gethostname(),
    }
    meta = dict(previous or {})
    meta.update(
        {
            "schema_version": SCHEMA_VERSION,
            "run_id": params.run_id(),
            "kind": "sweep",
            "status": STATUS_RUNNING,
            "parameters": {
                **asdict(params),
                **params.identity(),
                "prompt_set": params.prompts if isinstance(params.prompts, str) else "custom",
            },
            "model": model,
            "machine": machine_env.fingerprint(),
        }
    )
    meta.setdefault("started_at", attempt["started_at"])
    meta["attempts"] = [*meta.get("attempts", []), attempt]
    meta.pop("ended_at", None)
    meta.pop("error", None)
    return meta


def _with_prompts(
    workload: Workload, model: ModelInfo, warmup: list[GenerationRequest], pending: list[GenerationRequest]
) -> tuple[list[GenerationRequest], list[GenerationRequest]]:
    """Warm-up and pending requests with their prompts (synthetic ones made with the GGUF file's tokenizer)."""
    if not workload.synthetic:
        return warmup, pending
    from benchlib.synthetic_prompts import GgufTokenizer

    tokenizer = GgufTokenizer(model.path)
    try:
        return workload.materialize(warmup, tokenizer), workload.materialize(pending, tokenizer)
    finally:
        tokenizer.close()


def run_sweep(params: SweepParams, progress: bool = True, fresh: bool = False) -> SweepResult:
    """Run (or resume, or reuse) the sweep these parameters describe.

    Args:
        params: Validated sweep parameters.
        progress: Show a progress bar over the measured requests.
        fresh: Delete any earlier results of these parameters first.

    Returns:
        The run directory, its metadata and its requests.

    Raises:
        BenchlibError: bad parameters, a model problem or a runtime failure;
            every request completed before the failure stays on disk.
    """
    from tqdm import tqdm

    params.validate()
    if params.runtime == "http":
        from benchlib.load import run_load_sweep

        return run_load_sweep(params, progress=progress, fresh=fresh)
    workload = params.workload()
    model = resolve_model(params.model)
    store = RunDirectory(params.run_dir())
    if fresh and store.path.exists():
        shutil.rmtree(store.path)
    previous = store.read_meta()
    if previous is not None:
        previous_sha = previous.get("model", {}).get("sha256")
        if previous_sha and previous_sha != model.sha256:
            raise ParameterError(
                f"{store.path} holds results of a model with sha256 {previous_sha}, but {params.model} now has "
                f"sha256 {model.sha256}. Run with fresh=True (benchlib sweep --fresh) or another output_dir."
            )
        if previous.get("status") == STATUS_COMPLETE:
            print(f"Run {store.path} is already complete; reusing it (use --fresh to measure again).")
            requests = store.read_requests()
            if _price_run(previous, params, requests):
                store.write_meta(previous)
            return SweepResult(store.path, previous, requests, reused=True)

    power = PowerSession(params.power_settings())
    power.open()  # a named source this machine lacks fails here, before anything is written
    done = store.read_requests()
    done_ids = set(done["request_id"]) if not done.empty else set()
    pending = [r for r in workload.measured() if r.request_id not in done_ids]
    meta = _start_meta(params, model.to_dict(), previous)
    attempt = len(meta["attempts"]) - 1
    total = len(workload.measured())
    meta["progress"] = {"completed": len(done_ids), "total": total}
    store.write_meta(meta)
    if done_ids:
        print(f"Resuming {store.path}: {len(done_ids)} of {total} requests already complete.")

    runtime = create_runtime(params.runtime, model, params.runtime_settings())
    timings: dict[str, float] = {}
    window: list[float] = []  # perf_counter times: first request sent, last token received
    measurement = None
    try:
        power.start()
        meta["power"] = power.describe()
        started = time.perf_counter()
        runtime.load()
        timings["model_load_s"] = time.perf_counter() - started
        meta["runtime"] = runtime.info()
        warmup, pending = _with_prompts(workload, model, workload.warmup(), pending)
        started = time.perf_counter()
        for request in warmup:
            runtime.generate(request)
        timings["warmup_s"] = time.perf_counter() - started
        timings["warmup_requests"] = len(workload.warmup())
        power.measure_idle()
        store.write_meta(meta)

        clock = _Clock()
        started = time.perf_counter()
        bar = tqdm(total=total, initial=len(done_ids), desc="requests", unit="req", disable=not progress)
        for request in pending:
            trace = runtime.generate(request)
            store.append_requests([_request_row(trace, request, attempt, clock)])
            window[:] = [window[0] if window else trace.sent_s, trace.token_times_s[-1]]
            meta["progress"]["completed"] += 1
            store.write_meta(meta, durable=False)  # progress only: the request itself is already durable
            bar.update(1)
        bar.close()
        timings["measured_s"] = time.perf_counter() - started
        if window:
            measurement = power.measure("measured", *window, clock.unix(window[0]), clock.unix(window[1]))
    except BaseException as exc:
        meta["attempts"][-1]["timings"] = timings
        mark_stopped(store, meta, exc)
        raise
    finally:
        runtime.close()
        _save_power_samples(store, power, attempt)

    requests = store.read_requests()
    meta["attempts"][-1]["timings"] = timings
    meta["power"] = power.describe()
    meta["summary"] = summarize_requests(requests)
    energy = _energy(power, measurement, requests, attempt, previous)
    meta["attempts"][-1]["energy"] = energy
    meta["summary"]["energy"] = energy
    if energy.get("valid") is False and power.kind is not None:
        print(f"Warning: no energy figure for this run: {energy.get('problem')}")
    _price_run(meta, params, requests, force=True)
    meta["status"] = STATUS_COMPLETE
    meta["ended_at"] = now_iso()
    store.write_meta(meta)
    return SweepResult(store.path, meta, requests, reused=False)
