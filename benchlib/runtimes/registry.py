"""The runtimes by name: settings class, factory, in process or against a server, sweep parameters.

A new runtime is one module (its settings, a pydantic model, and its
:class:`~benchlib.runtimes.base.Runtime`) plus one entry in :data:`RUNTIMES`.
The factories import their runtime on first call: importing the ONNX runtime
checks the installed ONNX Runtime build, which a machine that never runs it
must not pay for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from pydantic import BaseModel

from benchlib.errors import ParameterError
from benchlib.models import ModelInfo
from benchlib.runtimes.base import Runtime
from benchlib.runtimes.http.apis import DIALECTS
from benchlib.runtimes.http.runtime import HttpRuntime
from benchlib.runtimes.http.settings import HttpSettings
from benchlib.runtimes.llamacpp import LlamaCppRuntime
from benchlib.runtimes.llamacpp_settings import LlamaCppSettings
from benchlib.runtimes.onnx.settings import OnnxSettings
from benchlib.validation import parse

__all__ = ["RUNTIMES", "RUNTIME_NAMES", "RuntimeSpec", "create_runtime", "runtime_spec"]

LOCAL_SHARED = ("threads", "context_tokens", "gpu_layers", "seed", "temperature")
"""Sweep parameters every in-process runtime reads (the fields of
:class:`~benchlib.runtimes.local_settings.LocalModelSettings`)."""


@dataclass(frozen=True)
class RuntimeSpec:
    """One runtime: how to configure and build it, and how a sweep drives it.

    Attributes:
        name: The sweep's ``runtime`` parameter (``llama.cpp``, ``onnx``, ``http``).
        settings: Its settings class (a pydantic v2 model; bad values raise
            :class:`~benchlib.errors.ParameterError`).
        factory: ``(model, settings) -> Runtime``; ``model`` is the resolved
            :class:`~benchlib.models.ModelInfo`, or ``None`` for a server.
        in_process: True when it loads the model in this process (the sweep
            sends sequential requests); False when it drives a server (the sweep
            runs load steps).
        parameters: Flat sweep parameter -> settings field, for the parameters
            only this runtime reads (the names of ``params/*.yaml`` and the sweep
            notebook's parameter cell).
        shared: Flat sweep parameters it also reads that other runtimes read too
            (same name as the settings field).
    """

    name: str
    settings: type[BaseModel]
    factory: Callable[..., Runtime]
    in_process: bool
    parameters: dict[str, str]
    shared: tuple[str, ...]

    def carries_history(self, options: Mapping[str, Any]) -> bool:
        """True when this runtime, with these options of its own, can send a conversation's earlier turns.

        In-process runtimes render the transcript into the prompt; a server's
        API dialect says whether it can (Ollama's ``/api/generate`` cannot).
        """
        if self.in_process:
            return True
        dialect = DIALECTS.get(str(options.get("api")))
        return dialect is None or dialect.carries_history

    def settings_values(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """The settings fields of this runtime, read from a sweep's flat parameters (those present).

        For ``http``, a sweep's empty ``served_model`` means its ``model``:
        build the settings with
        :meth:`~benchlib.runtimes.http.settings.HttpSettings.from_sweep`.
        """
        values = {name: params[name] for name in self.shared if name in params}
        values.update({field: params[name] for name, field in self.parameters.items() if name in params})
        return values


def _llamacpp(model: ModelInfo, settings: LlamaCppSettings) -> Runtime:
    return LlamaCppRuntime(model, settings)


def _onnx(model: ModelInfo | None, settings: OnnxSettings) -> Runtime:
    # optional: runtime.py checks for ONNX Runtime GenAI (the onnx extra) at import and raises without it
    from benchlib.runtimes.onnx.runtime import OnnxRuntime

    return OnnxRuntime(model, settings)


def _http(model: ModelInfo | None, settings: HttpSettings) -> Runtime:
    return HttpRuntime(settings)


RUNTIMES: dict[str, RuntimeSpec] = {
    spec.name: spec
    for spec in (
        RuntimeSpec(
            "llama.cpp", LlamaCppSettings, _llamacpp, True,
            {"flash_attn": "flash_attn", "cache_prompt": "cache_prompt"}, LOCAL_SHARED,
        ),
        RuntimeSpec(
            "http", HttpSettings, _http, False,
            {name: name for name in (
                "url", "api", "served_model", "api_key_env", "fixed_length", "cache_prompt", "request_timeout_s"
            )},
            ("temperature", "seed"),
        ),
        RuntimeSpec(
            "onnx", OnnxSettings, _onnx, True,
            {"onnx_precision": "precision", "onnx_provider": "provider", "onnx_model_dir": "model_dir"},
            LOCAL_SHARED,
        ),
    )
}  # fmt: skip
"""Runtime name -> its spec."""

RUNTIME_NAMES: tuple[str, ...] = tuple(RUNTIMES)
"""Valid values of the sweep's ``runtime`` parameter."""


def runtime_spec(name: str) -> RuntimeSpec:
    """The spec of a runtime.

    Raises:
        ParameterError: unknown name (the message lists the valid ones).
    """
    try:
        return RUNTIMES[name]
    except (KeyError, TypeError):
        raise ParameterError(f"Unknown runtime '{name}'; valid runtimes: {', '.join(RUNTIMES)}.") from None


def create_runtime(name: str, model: ModelInfo | None, settings: Mapping[str, Any] | BaseModel) -> Runtime:
    """Build the runtime a sweep asks for (not loaded yet).

    Args:
        name: Runtime name; one of :data:`RUNTIME_NAMES`.
        model: The resolved model (``None`` for ``http``, and for ``onnx`` with ``model_dir``).
        settings: The runtime's settings object, or its fields (for llama.cpp:
            those of :class:`~benchlib.runtimes.llamacpp_settings.LlamaCppSettings`).

    Raises:
        ParameterError: unknown runtime name, unknown setting or invalid value
            (the message lists the valid ones).
    """
    spec = runtime_spec(name)
    if not isinstance(settings, spec.settings):
        if isinstance(settings, BaseModel):
            raise ParameterError(f"Runtime {name} takes {spec.settings.__name__}, got {type(settings).__name__}.")
        unknown = sorted(set(settings) - set(spec.settings.model_fields))
        if unknown:
            raise ParameterError(
                f"Invalid {name} runtime settings {dict(settings)}: unknown {', '.join(unknown)}; "
                f"valid: {', '.join(spec.settings.model_fields)}."
            )
        settings = parse(spec.settings, settings)
    return spec.factory(model, settings)
