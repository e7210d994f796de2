"""ONNX Runtime in process, through onnxruntime-genai, on the CPU, CUDA or TensorRT execution provider.

The model is a folder made by :func:`benchlib.convert.convert` (a GGUF catalogue
name or path is converted on first use and cached; see :mod:`benchlib.convert`).
As in the llama.cpp runtime, the generation loop is ours, so

* exactly ``max_output_tokens`` tokens come out: with ``ignore_eos`` the
  generator's ``min_length`` masks the end-of-generation tokens (for a GGUF
  source the same set llama.cpp masks),
* every token gets a ``perf_counter`` timestamp the moment
  ``generate_next_token`` returns it,
* every request gets a new generator: no KV cache or prompt prefix is reused,
* the runtime's own time (``append_tokens`` for the prompt, then each
  ``generate_next_token``) is kept apart from ours in :class:`RuntimeTimings`.

:meth:`OnnxRuntime.generate_batch` runs several requests as one generator batch
(one sequence each), for steady-state throughput at a concurrency: every step
yields one token for each sequence, so all sequences share their timestamps.
onnxruntime-genai 0.18 takes at most 32 sequences per generator; a larger batch
(the article's concurrency 64) runs as several generators stepped in turn.

Execution providers are chosen explicitly: a requested ``cuda`` or ``tensorrt``
provider that cannot load is an error naming the missing library, never a
silent fall back to the CPU.

Installation families: ONNX Runtime comes as a CPU family (``onnxruntime`` +
``onnxruntime-genai``) and a GPU family (``onnxruntime-gpu`` +
``onnxruntime-genai-cuda``). Both install the same ``onnxruntime`` /
``onnxruntime_genai`` modules, so having both means one silently overwrote the
other. Importing this module checks that exactly one family is installed, and
raises :class:`~benchlib.errors.RuntimeFailure` saying how to repair it otherwise.
"""

from __future__ import annotations

import importlib.metadata
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from benchlib.convert import (
    BUILDER_PROVIDER,
    DEFAULT_PRECISION,
    DEFAULT_PROVIDER,
    MANIFEST_NAME,
    ConvertedModel,
    check_options,
    convert,
)
from benchlib.errors import ParameterError, RuntimeFailure
from benchlib.models import ModelInfo
from benchlib.runtimes.base import GenerationRequest, RuntimeTimings, TokenTrace
from benchlib.runtimes.llamacpp import default_threads

__all__ = [
    "CPU_FAMILY",
    "GPU_FAMILY",
    "GPU_INSTALL_HINT",
    "INSTALL",
    "MAX_GENERATOR_BATCH",
    "OnnxInstall",
    "OnnxRuntime",
    "OnnxSettings",
    "detect_onnx_install",
]

CPU_FAMILY = ("onnxruntime", "onnxruntime-genai")
"""Distributions of the CPU build (``pip install -e ".[onnx]"``)."""

GPU_FAMILY = ("onnxruntime-gpu", "onnxruntime-genai-cuda")
"""Distributions of the CUDA build (``environment-gpu.yml``)."""

CPU_INSTALL_HINT = 'pip install -e ".[onnx]"'
GPU_INSTALL_HINT = (
    "conda env create -f environment-gpu.yml, or in a fresh virtual environment: "
    "pip install -e . onnxruntime-genai-cuda==0.18.0 'onnxruntime-gpu[cuda,cudnn]==1.31.1'"
)

# What each provider needs, for the error message when it cannot load.
PROVIDER_LIBRARIES = {
    "cuda": "libonnxruntime-genai-cuda.so and libonnxruntime_providers_cuda.so (GPU family), with the CUDA 13 "
    "runtime, cuBLAS and cuDNN 9 (libcudart.so.13, libcublasLt.so.13, libcudnn.so.9) and an NVIDIA driver",
    "tensorrt": "libonnxruntime-genai-cuda.so (GPU family) and NVIDIA's TensorRT-RTX execution provider "
    "(libonnxruntime_providers_nv_tensorrt_rtx.so, libtensorrt_rtx.so), with an NVIDIA driver",
}
DEVICE_TYPES = {"cpu": "CPU", "cuda": "CUDA", "tensorrt": "NvTensorRtRtx"}


@dataclass(frozen=True)
class OnnxInstall:
    """Which ONNX Runtime family this environment has.

    Attributes:
        family: ``cpu`` or ``gpu``.
        versions: Installed ONNX Runtime distributions and their versions.
    """

    family: str
    versions: dict[str, str]

    @property
    def onnxruntime_version(self) -> str:
        """Version of ``onnxruntime`` or ``onnxruntime-gpu``."""
        return self.versions[CPU_FAMILY[0] if self.family == "cpu" else GPU_FAMILY[0]]

    @property
    def genai_version(self) -> str:
        """Version of ``onnxruntime-genai`` or ``onnxruntime-genai-cuda``."""
        return self.versions[CPU_FAMILY[1] if self.family == "cpu" else GPU_FAMILY[1]]


def _installed_versions() -> dict[str, str]:
    versions = {}
    for name in (*CPU_FAMILY, *GPU_FAMILY):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def detect_onnx_install(versions: Mapping[str, str] | None = None) -> OnnxInstall:
    """Check that exactly one complete ONNX Runtime family is installed.

    Args:
        versions: Distribution name -> version (default: read from this environment).

    Raises:
        RuntimeFailure: none installed, both families installed (the CPU wheel
            silently overwrites the GPU one, so CUDA vanishes), or a family with
            one of its two packages missing; the message says how to repair it.
    """
    versions = dict(_installed_versions() if versions is None else versions)
    cpu = [name for name in CPU_FAMILY if name in versions]
    gpu = [name for name in GPU_FAMILY if name in versions]
    found = ", ".join(f"{name} {versions[name]}" for name in (*cpu, *gpu))
    if cpu and gpu:
        raise RuntimeFailure(
            f"Both ONNX Runtime families are installed ({found}). They install the same modules, so one silently "
            "replaced the other (usually the CPU build replaces CUDA). Keep one: on a GPU machine run "
            "pip uninstall -y onnxruntime onnxruntime-genai && pip install --force-reinstall --no-deps "
            "onnxruntime-gpu onnxruntime-genai-cuda; on a CPU machine run pip uninstall -y onnxruntime-gpu "
            "onnxruntime-genai-cuda && pip install --force-reinstall --no-deps onnxruntime onnxruntime-genai."
        )
    if not cpu and not gpu:
        raise RuntimeFailure(
            "The onnx runtime needs ONNX Runtime GenAI, which is not installed. On a CPU machine (or a Raspberry "
            f"Pi): {CPU_INSTALL_HINT}; on an NVIDIA GPU machine: {GPU_INSTALL_HINT}. To convert models here too, "
            'add the convert extra (".[onnx,convert]").'
        )
    family, names = ("cpu", CPU_FAMILY) if cpu else ("gpu", GPU_FAMILY)
    missing = [name for name in names if name not in versions]
    if missing:
        hint = CPU_INSTALL_HINT if family == "cpu" else GPU_INSTALL_HINT
        raise RuntimeFailure(
            f"The {family.upper()} ONNX Runtime family is incomplete: {found} is installed but {', '.join(missing)} "
            f"is missing. Install it: {hint}."
        )
    return OnnxInstall(family=family, versions={name: versions[name] for name in names})


INSTALL = detect_onnx_install()
"""The ONNX Runtime family of this environment, checked when this module is imported."""


@dataclass(frozen=True)
class OnnxSettings:
    """Settings of the ONNX Runtime runtime.

    The first five are the sweep's runtime settings (the same as llama.cpp's).

    Attributes:
        threads: CPU threads of the session (intra-op); 0 means one per physical core.
        context_tokens: Largest prompt + output length allowed, tokens.
        gpu_layers: Must be 0: the execution provider runs the whole model
            (``provider: cuda`` is the ONNX equivalent of offloading every layer).
        seed: Random seed (used only when ``temperature`` > 0).
        temperature: 0 for greedy decoding (the default), else softmax sampling
            over the whole vocabulary.
        precision: Weight precision of the converted model (``int4`` ...).
        provider: Execution provider: ``cpu``, ``cuda`` or ``tensorrt``.
        model_dir: An already converted folder to load instead of converting the
            sweep's model (empty: convert, or reuse the cached conversion).
    """

    threads: int = 0
    context_tokens: int = 2048
    gpu_layers: int = 0
    seed: int = 0
    temperature: float = 0.0
    precision: str = DEFAULT_PRECISION
    provider: str = DEFAULT_PROVIDER
    model_dir: str = ""

    def __post_init__(self) -> None:
        check_options(self.precision, self.provider)
        if self.gpu_layers:
            raise ParameterError(
                f"gpu_layers={self.gpu_layers} is a llama.cpp setting; the onnx runtime runs the whole model on its "
                "execution provider. Set gpu_layers: 0 and choose the provider (cpu, cuda, tensorrt) instead."
            )
        if self.threads < 0:
            raise ParameterError(f"threads must be 0 (one per physical core) or more, got {self.threads}.")
        if self.context_tokens < 2:
            raise ParameterError(f"context_tokens must be at least 2, got {self.context_tokens}.")
        if self.temperature < 0:
            raise ParameterError(f"temperature must be 0 (greedy) or more, got {self.temperature}.")

    def resolved_threads(self) -> int:
        """The thread count actually used."""
        return self.threads if self.threads > 0 else default_threads()


MAX_GENERATOR_BATCH = 32
"""Most sequences one onnxruntime-genai 0.18 generator takes (``batch_size (N) must be in [1, 32]``)."""


@dataclass
class _Group:
    """One onnxruntime-genai generator and the requests (sequences) it runs."""

    requests: list[GenerationRequest]
    prompts: list[np.ndarray]
    generator: Any = None
    width: int = 0
    max_new: int = 0
    prompt_s: float = 0.0
    step_s: list[float] = field(default_factory=list)
    token_ids: list[list[int]] = field(default_factory=list)
    token_times: list[list[float]] = field(default_factory=list)
    active: list[bool] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.generator is not None and any(self.active)


class OnnxRuntime:
    """Runs a converted model with onnxruntime-genai in this process.

    Args:
        model: The sweep's model (a verified GGUF from
            :func:`benchlib.models.resolve_model`); converted on first use unless
            ``settings.model_dir`` names a converted folder. May be ``None`` with
            ``model_dir``.
        settings: Runtime settings.
    """

    name = "onnx"

    def __init__(self, model: ModelInfo | None, settings: OnnxSettings | None = None) -> None:
        self.model = model
        self.settings = settings or OnnxSettings()
        if model is None and not self.settings.model_dir:
            raise ParameterError("OnnxRuntime needs a model or settings.model_dir (a folder made by benchlib convert).")
        self.install = INSTALL
        self.converted: ConvertedModel | None = None
        self.conversion_s: float | None = None
        self._og = None
        self._model = None
        self._tokenizer = None
        self._eos: frozenset[int] = frozenset()
        self._pad_id = 0
        self._vocab_size = 0
        self._model_context = 0
        self._genai_config: dict[str, Any] = {}
        self._rng = np.random.default_rng(self.settings.seed)

    # ------------------------------------------------------------------ loading

    def _folder(self) -> Path:
        if self.settings.model_dir:
            folder = Path(self.settings.model_dir).expanduser()
            if not (folder / "genai_config.json").exists():
                raise RuntimeFailure(
                    f"model_dir {folder} is not an ONNX Runtime GenAI model folder (no genai_config.json). "
                    "Make one with: benchlib convert MODEL --precision int4 --provider cpu"
                )
            if (folder / MANIFEST_NAME).exists():
                self.converted = ConvertedModel.from_folder(folder)
            return folder
        started = time.perf_counter()
        self.converted = convert(self.model, self.settings.precision, self.settings.provider)
        self.conversion_s = time.perf_counter() - started
        return Path(self.converted.path)

    def _check_provider_family(self) -> None:
        provider = self.settings.provider
        if provider == "cpu" or self.install.family == "gpu":
            return
        raise RuntimeFailure(
            f"Execution provider '{provider}' was requested, but this environment has the CPU build of ONNX Runtime "
            f"(onnxruntime {self.install.onnxruntime_version}, onnxruntime-genai {self.install.genai_version}), "
            f"which lacks {PROVIDER_LIBRARIES[provider]}. On a machine with an NVIDIA GPU use the GPU build: "
            f"{GPU_INSTALL_HINT} (never together with onnxruntime/onnxruntime-genai). Or run with provider: cpu. "
            "benchlib does not fall back to the CPU on its own."
        )

    def load(self) -> None:
        """Convert (first use only), then load the model on the requested execution provider.

        Raises:
            RuntimeFailure: the provider's libraries are missing (named in the
                message) or the model cannot be loaded; never a fall back to the CPU.
            ModelError: the conversion failed.
        """
        self._check_provider_family()
        folder = self._folder()
        import onnxruntime_genai as og

        provider = self.settings.provider
        if provider != "cpu":
            self._preload_cuda_libraries()
        config = og.Config(str(folder))
        config.clear_providers()
        if provider != "cpu":
            config.append_provider(BUILDER_PROVIDER[provider])
        threads = self.settings.resolved_threads()
        config.overlay(json.dumps({"model": {"decoder": {"session_options": {"intra_op_num_threads": threads}}}}))
        try:
            model = og.Model(config)
        except Exception as exc:  # onnxruntime-genai raises RuntimeError with the loader's message
            if provider == "cpu":
                raise RuntimeFailure(f"ONNX Runtime could not load {folder}: {exc}") from exc
            raise RuntimeFailure(
                f"Execution provider '{provider}' could not be loaded for {folder}: {exc}. It needs "
                f"{PROVIDER_LIBRARIES[provider]}; install the missing library (GPU environment: {GPU_INSTALL_HINT}) "
                "or run with provider: cpu. benchlib does not fall back to the CPU on its own."
            ) from exc
        device = str(model.device_type)
        if device.lower() != DEVICE_TYPES[provider].lower():
            raise RuntimeFailure(
                f"Execution provider '{provider}' was requested but ONNX Runtime placed the model on {device}; "
                "refusing to measure another device than the one asked for."
            )
        self._og = og
        self._model = model
        self._tokenizer = og.Tokenizer(model)
        self._genai_config = json.loads((folder / "genai_config.json").read_text())
        model_config = self._genai_config["model"]
        self._eos = frozenset(int(t) for t in self._tokenizer.eos_token_ids)
        self._pad_id = int(model_config.get("pad_token_id", next(iter(sorted(self._eos)), 0)))
        self._vocab_size = int(model_config["vocab_size"])
        self._model_context = int(model_config.get("context_length", self.settings.context_tokens))
        self._folder_path = folder

    def _preload_cuda_libraries(self) -> None:
        """Load CUDA/cuDNN from the nvidia-* wheels, where ``onnxruntime-gpu[cuda,cudnn]`` installed them."""
        try:
            import onnxruntime

            preload = getattr(onnxruntime, "preload_dlls", None)
            if preload is not None:
                preload()
        except Exception:  # the real error, naming the library, comes from loading the model
            pass

    @property
    def tokenizer(self):
        """The ``onnxruntime_genai.Tokenizer`` (loaded on first use)."""
        if self._tokenizer is None:
            self.load()
        return self._tokenizer

    @property
    def genai_model(self):
        """The ``onnxruntime_genai.Model`` (loaded on first use)."""
        if self._model is None:
            self.load()
        return self._model

    def encode(self, prompt: str) -> list[int]:
        """Token ids of a prompt, as this runtime feeds them."""
        return [int(t) for t in self.tokenizer.encode(prompt)]

    # ------------------------------------------------------------------ generation

    def _check(self, request: GenerationRequest, prompt_ids: np.ndarray) -> None:
        if request.max_output_tokens < 1:
            raise RuntimeFailure(f"max_output_tokens must be at least 1, got {request.max_output_tokens}.")
        if prompt_ids.size == 0:
            raise RuntimeFailure(
                f"Request {request.request_id}: the prompt is empty after tokenization (this model adds no "
                "beginning-of-sequence token); give a non-empty prompt."
            )
        needed = int(prompt_ids.size) + request.max_output_tokens
        limit = min(self.settings.context_tokens, self._model_context)
        if needed > limit:
            raise RuntimeFailure(
                f"Request {request.request_id} needs {needed} tokens of context ({prompt_ids.size} prompt + "
                f"{request.max_output_tokens} output) but context_tokens is {self.settings.context_tokens}"
                f"{f' and the model holds {self._model_context}' if self._model_context < self.settings.context_tokens else ''}. "
                "Raise context_tokens or shorten the prompt."
            )

    def generate(self, request: GenerationRequest) -> TokenTrace:
        """Generate exactly ``request.max_output_tokens`` tokens (fewer only at
        end-of-generation when ``ignore_eos`` is False).

        Raises:
            RuntimeFailure: empty prompt, no output asked, or prompt plus output
                longer than the context.
        """
        return self._run([request], batched=False)[0]

    def generate_batch(self, requests: Sequence[GenerationRequest]) -> list[TokenTrace]:
        """Generate several requests as one generator batch, one sequence each.

        Prompts are right-padded to the longest; every step produces one token
        for every sequence, so all sequences share ``sent_s`` and their token
        timestamps (sequence *i* stops at its own ``max_output_tokens``).
        Above :data:`MAX_GENERATOR_BATCH` sequences (onnxruntime-genai's limit per
        generator) the batch runs as several generators of at most that many,
        stepped in turn: one token for every sequence of the first, then of the
        second, and so on — as a serving loop would interleave them.
        Greedy output equals that of :meth:`generate` up to floating-point
        differences of the batched kernels. System throughput of a batch is
        ``sum(output tokens) / (last token - sent_s)``.

        Args:
            requests: The requests; all must have the same ``ignore_eos``.

        Returns:
            One trace per request, in order. Their ``runtime_timings`` are their
            generator's (prompt evaluation of its sequences, decode steps up to
            that sequence's last token).

        Raises:
            ParameterError: mixed ``ignore_eos`` values.
            RuntimeFailure: as :meth:`generate`, for any request.
        """
        if not requests:
            return []
        if len({r.ignore_eos for r in requests}) > 1:
            raise ParameterError("generate_batch needs the same ignore_eos for every request of a batch.")
        return self._run(list(requests), batched=True)

    def _run(self, requests: list[GenerationRequest], batched: bool) -> list[TokenTrace]:
        if self._model is None:
            self.load()
        tokenizer = self._tokenizer
        sent_s = time.perf_counter()
        prompts = [np.asarray(tokenizer.encode(r.prompt), dtype=np.int32) for r in requests]
        for request, ids in zip(requests, prompts):
            self._check(request, ids)
        ignore_eos = requests[0].ignore_eos
        groups = [
            _Group(requests[i : i + MAX_GENERATOR_BATCH], prompts[i : i + MAX_GENERATOR_BATCH])
            for i in range(0, len(requests), MAX_GENERATOR_BATCH)
        ]
        for group in groups:
            self._start(group, ignore_eos)
        # One step of every generator in turn (lockstep when a batch needs several generators).
        while any(group.running for group in groups):
            for group in groups:
                if group.running:
                    self._step(group, ignore_eos)
        traces = []
        source = "onnxruntime-genai calls timed by benchlib: append_tokens + first generate_next_token (prompt), later generate_next_token calls (decode)"
        for group in groups:
            label = source
            if batched:
                label += f"; batch of {len(requests)} sequences"
                if len(groups) > 1:
                    label += f" as {len(groups)} generators of at most {MAX_GENERATOR_BATCH} stepped in turn"
                label += ", timings shared by the generator's sequences"
            for request, ids, out, times in zip(group.requests, group.prompts, group.token_ids, group.token_times):
                count = len(out)
                timings = RuntimeTimings(
                    prompt_eval_s=group.prompt_s + group.step_s[0],
                    prompt_eval_tokens=int(ids.size),
                    decode_s=float(sum(group.step_s[1:count])),
                    decode_tokens=count - 1,
                    source=label,
                )
                traces.append(
                    TokenTrace(
                        request_id=request.request_id,
                        sent_s=sent_s,
                        token_times_s=tuple(times),
                        prompt_tokens=int(ids.size),
                        token_ids=tuple(out),
                        text=tokenizer.decode(np.asarray(out, dtype=np.int32)),
                        runtime_timings=timings,
                    )
                )
        return traces

    def _start(self, group: _Group, ignore_eos: bool) -> None:
        """Create the group's generator and evaluate its (right-padded) prompts."""
        og = self._og
        group.width = max(ids.size for ids in group.prompts)
        group.max_new = max(r.max_output_tokens for r in group.requests)
        if group.width + group.max_new > min(self.settings.context_tokens, self._model_context):
            raise RuntimeFailure(
                f"This batch needs {group.width + group.max_new} tokens of context per sequence (longest prompt "
                f"{group.width}, padded, + {group.max_new} output) but context_tokens is {self.settings.context_tokens}. "
                "Raise context_tokens, or batch prompts of similar length."
            )
        batch = np.full((len(group.requests), group.width), self._pad_id, dtype=np.int32)
        for row, ids in enumerate(group.prompts):
            batch[row, : ids.size] = ids
        params = og.GeneratorParams(self._model)
        search: dict[str, Any] = {
            "batch_size": len(group.requests),
            "max_length": group.width + group.max_new,
            "min_length": group.width + group.max_new if ignore_eos else 0,
            "do_sample": self.settings.temperature > 0,
        }
        if self.settings.temperature > 0:
            search.update(
                temperature=float(self.settings.temperature), top_k=self._vocab_size, top_p=1.0,
                random_seed=int(self._rng.integers(0, 2**31 - 1)),
            )  # fmt: skip
        params.set_search_options(**search)
        group.generator = og.Generator(self._model, params)
        started = time.perf_counter()
        group.generator.append_tokens(batch)
        group.prompt_s = time.perf_counter() - started
        group.token_ids = [[] for _ in group.requests]
        group.token_times = [[] for _ in group.requests]
        group.active = [True] * len(group.requests)

    def _step(self, group: _Group, ignore_eos: bool) -> None:
        """One token for every sequence of the group, timestamped when ``generate_next_token`` returns."""
        generator = group.generator
        before = time.perf_counter()
        generator.generate_next_token()
        now = time.perf_counter()
        group.step_s.append(now - before)
        tokens = generator.get_next_tokens()
        for index, request in enumerate(group.requests):
            if not group.active[index]:
                continue
            token = int(tokens[index])
            group.token_ids[index].append(token)
            group.token_times[index].append(now)
            if len(group.token_ids[index]) >= request.max_output_tokens or (not ignore_eos and token in self._eos):
                group.active[index] = False
        if not any(group.active) or generator.is_done():
            group.active = [False] * len(group.requests)
            group.generator = None  # frees its KV cache

    # ------------------------------------------------------------------ description

    def info(self) -> dict[str, Any]:
        """ONNX Runtime versions, execution provider, precision, model folder and settings in force."""
        import onnxruntime

        converted = self.converted
        manifest = converted.manifest if converted is not None else {}
        return {
            "runtime": self.name,
            "onnxruntime_version": onnxruntime.__version__,
            "onnxruntime_genai_version": self._og.__version__ if self._og is not None else self.install.genai_version,
            "onnx_family": self.install.family,
            "onnx_packages": dict(self.install.versions),
            "provider": self.settings.provider,
            "execution_provider": {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
                                   "tensorrt": "NvTensorRTRTXExecutionProvider"}[self.settings.provider],
            "device_type": str(self._model.device_type) if self._model is not None else None,
            "available_providers": list(onnxruntime.get_available_providers()),
            "precision": manifest.get("precision", self.settings.precision),
            "model_dir": str(getattr(self, "_folder_path", self.settings.model_dir or "")),
            "conversion": converted.to_dict() if converted is not None else None,
            "conversion_s_this_load": self.conversion_s if converted is not None and not converted.reused else 0.0,
            "threads": self.settings.resolved_threads(),
            "context_tokens": self.settings.context_tokens,
            "seed": self.settings.seed,
            "temperature": self.settings.temperature,
            "sampling": "greedy" if self.settings.temperature <= 0 else "softmax",
            "eos_token_ids": sorted(self._eos),
            "prompt_cache": "new generator per request (no KV cache reuse)",
            "batching": "generate_batch(requests): one generator batch, one sequence per request",
        }  # fmt: skip

    def close(self) -> None:
        """Release the model."""
        self._tokenizer = None
        self._model = None
        self._og = None
