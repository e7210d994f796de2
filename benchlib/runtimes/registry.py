"""TEMPORARY stand-in for the registry the runtimes branch brings (same contract)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from benchlib.errors import ParameterError


@dataclass(frozen=True)
class RuntimeSpec:
    name: str
    settings: Any
    factory: Callable[..., Any]
    in_process: bool
    parameters: dict[str, str]
    shared: tuple[str, ...]


def _llama(model, settings):
    from benchlib.runtimes.llamacpp import LlamaCppRuntime

    return LlamaCppRuntime(model, settings)


def _onnx(model, settings):
    from benchlib.runtimes.onnx import OnnxRuntime

    return OnnxRuntime(model, settings)


def _http(model, settings):
    from benchlib.runtimes.http import HttpRuntime

    return HttpRuntime(settings)


from benchlib.runtimes.http import HttpSettings
from benchlib.runtimes.llamacpp import LlamaCppSettings
from benchlib.runtimes.onnx import OnnxSettings


SHARED = ("threads", "context_tokens", "gpu_layers", "seed", "temperature")
RUNTIMES = {
    "llama.cpp": RuntimeSpec("llama.cpp", LlamaCppSettings, _llama, True, {"flash_attn": "flash_attn"}, SHARED),
    "http": RuntimeSpec("http", HttpSettings, _http, False, {
        "url": "url", "api": "api", "served_model": "served_model", "api_key_env": "api_key_env",
        "fixed_length": "fixed_length", "cache_prompt": "cache_prompt", "request_timeout_s": "request_timeout_s"},
        ("temperature", "seed")),
    "onnx": RuntimeSpec("onnx", OnnxSettings, _onnx, True, {
        "onnx_precision": "precision", "onnx_provider": "provider", "onnx_model_dir": "model_dir"}, SHARED),
}
RUNTIME_NAMES = tuple(RUNTIMES)


def runtime_spec(name: str) -> RuntimeSpec:
    if name not in RUNTIMES:
        raise ParameterError(f"Unknown runtime '{name}'; valid runtimes: {', '.join(RUNTIMES)}.")
    return RUNTIMES[name]


def create_runtime(name, model, settings):
    spec = runtime_spec(name)
    return spec.factory(model, settings)
