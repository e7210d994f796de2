"""ONNX Runtime in process, through onnxruntime-genai, on the CPU, CUDA or TensorRT execution provider.

The model is a folder made by :func:`benchlib.runtimes.onnx.conversion.convert` (a GGUF
catalogue name or path is converted on first use and cached; see
:mod:`benchlib.runtimes.onnx.conversion`).
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

Installation families (:mod:`benchlib.runtimes.onnx.install`): importing this
module checks that exactly one of ONNX Runtime's CPU and GPU families is
installed, and raises :class:`~benchlib.errors.RuntimeFailure` saying how to
repair it otherwise.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from benchlib.errors import ParameterError, RuntimeFailure
from benchlib.models import ModelInfo
from benchlib.runtimes.base import GenerationRequest, TokenTrace
from benchlib.runtimes.onnx.conversion import convert
from benchlib.runtimes.onnx.generator import MAX_GENERATOR_BATCH, GeneratorGroup, split_into_groups
from benchlib.runtimes.onnx.install import GPU_INSTALL_HINT, detect_onnx_install
from benchlib.runtimes.onnx.manifest import MANIFEST_NAME, ConvertedModel
from benchlib.runtimes.onnx.options import BUILDER_PROVIDER
from benchlib.runtimes.onnx.settings import OnnxSettings

__all__ = ["INSTALL", "MAX_GENERATOR_BATCH", "OnnxRuntime"]

# What each provider needs, for the error message when it cannot load.
PROVIDER_LIBRARIES = {
    "cuda": "libonnxruntime-genai-cuda.so and libonnxruntime_providers_cuda.so (GPU family), with the CUDA 13 "
    "runtime, cuBLAS and cuDNN 9 (libcudart.so.13, libcublasLt.so.13, libcudnn.so.9) and an NVIDIA driver",
    "tensorrt": "libonnxruntime-genai-cuda.so (GPU family) and NVIDIA's TensorRT-RTX execution provider "
    "(libonnxruntime_providers_nv_tensorrt_rtx.so, libtensorrt_rtx.so), with an NVIDIA driver",
}
DEVICE_TYPES = {"cpu": "CPU", "cuda": "CUDA", "tensorrt": "NvTensorRtRtx"}


INSTALL = detect_onnx_install()
"""The ONNX Runtime family of this environment, checked when this module is imported."""


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
        groups = split_into_groups(requests, prompts)
        for group in groups:
            self._start(group, ignore_eos)
        # One step of every generator in turn (lockstep when a batch needs several generators).
        while any(group.running for group in groups):
            for group in groups:
                if group.running:
                    group.step(self._eos, ignore_eos)
        traces = []
        source = "onnxruntime-genai calls timed by benchlib: append_tokens + first generate_next_token (prompt), later generate_next_token calls (decode)"
        for group in groups:
            label = source
            if batched:
                label += f"; batch of {len(requests)} sequences"
                if len(groups) > 1:
                    label += f" as {len(groups)} generators of at most {MAX_GENERATOR_BATCH} stepped in turn"
                label += ", timings shared by the generator's sequences"
            traces += group.traces(sent_s, label, tokenizer.decode)
        return traces

    def _start(self, group: GeneratorGroup, ignore_eos: bool) -> None:
        """Check the group fits the context, then start its generator."""
        if group.width + group.max_new > min(self.settings.context_tokens, self._model_context):
            raise RuntimeFailure(
                f"This batch needs {group.width + group.max_new} tokens of context per sequence (longest prompt "
                f"{group.width}, padded, + {group.max_new} output) but context_tokens is {self.settings.context_tokens}. "
                "Raise context_tokens, or batch prompts of similar length."
            )
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
        group.start(self._og, self._model, self._pad_id, search)

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
