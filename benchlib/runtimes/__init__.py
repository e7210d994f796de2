"""Ways of running a model, all behind the :class:`~benchlib.runtimes.base.Runtime` protocol.

One registry maps the ``runtime`` parameter of a sweep to its implementation.
"""

from __future__ import annotations

from typing import Any

from benchlib.errors import ParameterError
from benchlib.models import ModelInfo
from benchlib.runtimes.base import GenerationRequest, Runtime, RuntimeTimings, TokenTrace

__all__ = [
    "RUNTIME_NAMES",
    "GenerationRequest",
    "Runtime",
    "RuntimeTimings",
    "TokenTrace",
    "create_runtime",
]

RUNTIME_NAMES = ("llama.cpp", "http", "onnx")


def create_runtime(name: str, model: ModelInfo, settings: dict[str, Any]) -> Runtime:
    """Build the runtime a sweep asks for.

    Args:
        name: Runtime name; one of :data:`RUNTIME_NAMES`.
        model: The resolved model.
        settings: Runtime settings (for llama.cpp: the fields of
            :class:`~benchlib.runtimes.llamacpp.LlamaCppSettings`).

    Raises:
        ParameterError: unknown runtime name or setting.
    """
    if name == "llama.cpp":
        from benchlib.runtimes.llamacpp import LlamaCppRuntime, LlamaCppSettings

        try:
            return LlamaCppRuntime(model, LlamaCppSettings(**settings))
        except TypeError as exc:
            raise ParameterError(f"Invalid llama.cpp runtime settings {settings}: {exc}") from exc
    if name == "onnx":
        from benchlib.runtimes.onnx import OnnxRuntime, OnnxSettings

        try:
            return OnnxRuntime(model, OnnxSettings(**settings))
        except TypeError as exc:
            raise ParameterError(f"Invalid onnx runtime settings {settings}: {exc}") from exc
    if name == "http":
        raise ParameterError(
            "runtime 'http' drives a server, not a local model: run_sweep hands it to benchlib.load.run_load_sweep, "
            "and benchlib.runtimes.http.HttpRuntime serves single requests."
        )
    raise ParameterError(f"Unknown runtime '{name}'; valid runtimes: {', '.join(RUNTIME_NAMES)}.")
