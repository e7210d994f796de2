"""Settings of the ONNX Runtime runtime, validated next to their fields."""

from __future__ import annotations

from pydantic import field_validator, model_validator

from benchlib.errors import ParameterError
from benchlib.runtimes.local_settings import LocalModelSettings
from benchlib.runtimes.onnx.options import DEFAULT_PRECISION, DEFAULT_PROVIDER, check_options

__all__ = ["OnnxSettings"]


class OnnxSettings(LocalModelSettings):
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

    precision: str = DEFAULT_PRECISION
    provider: str = DEFAULT_PROVIDER
    model_dir: str = ""

    @field_validator("gpu_layers")
    @classmethod
    def _no_gpu_layers(cls, gpu_layers: int) -> int:
        if gpu_layers:
            raise ParameterError(
                f"gpu_layers={gpu_layers} is a llama.cpp setting; the onnx runtime runs the whole model on its "
                "execution provider. Set gpu_layers: 0 and choose the provider (cpu, cuda, tensorrt) instead."
            )
        return gpu_layers


    @model_validator(mode="after")
    def _precision_runs_on_provider(self) -> "OnnxSettings":
        check_options(self.precision, self.provider)
        return self
