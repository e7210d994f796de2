"""ONNX Runtime GenAI in process, and GGUF -> ONNX conversion.

Modules: :mod:`.settings` (:class:`OnnxSettings`), :mod:`.runtime`
(:class:`OnnxRuntime`), :mod:`.generator` (generator batches), :mod:`.install`
(CPU or GPU build), :mod:`.options` (precisions and providers),
:mod:`.conversion` (``benchlib convert``) with :mod:`.export` (GGUF ->
Hugging Face folder), :mod:`.manifest`, :mod:`.tools` and :mod:`.process`, and
:mod:`.quality` (``benchlib convert --check``).

The runtime's names (:class:`OnnxRuntime`, ``INSTALL``, ``MAX_GENERATOR_BATCH``)
load on first access: importing :mod:`.runtime` checks the installed ONNX
Runtime family and raises when it is missing or mixed, which the settings, the
runtime registry and the conversion (run on machines without ONNX Runtime)
must not. This ``__init__`` never imports :mod:`.export`, which runs as
``python -m benchlib.runtimes.onnx.export``.
"""

from __future__ import annotations

from typing import Any

from benchlib.runtimes.onnx.install import (
    CPU_FAMILY,
    GPU_FAMILY,
    GPU_INSTALL_HINT,
    OnnxInstall,
    detect_onnx_install,
)
from benchlib.runtimes.onnx.settings import OnnxSettings

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

_RUNTIME_NAMES = ("INSTALL", "MAX_GENERATOR_BATCH", "OnnxRuntime")


def __getattr__(name: str) -> Any:
    """Load :class:`OnnxRuntime` and the install check on first access (PEP 562)."""
    if name in _RUNTIME_NAMES:
        # optional: runtime.py checks for ONNX Runtime GenAI (the onnx extra) at import and raises without it
        from benchlib.runtimes.onnx import runtime

        return getattr(runtime, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
