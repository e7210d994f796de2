"""Ways of running a model, all behind the :class:`~benchlib.runtimes.base.Runtime` protocol.

One registry (:mod:`benchlib.runtimes.registry`) maps the ``runtime`` parameter
of a sweep to its settings class, its factory and whether it runs the model in
process or drives a server.
"""

from __future__ import annotations

from benchlib.runtimes.base import GenerationRequest, Runtime, RuntimeTimings, TokenTrace
from benchlib.runtimes.registry import RUNTIME_NAMES, RUNTIMES, RuntimeSpec, create_runtime, runtime_spec

__all__ = [
    "RUNTIMES",
    "RUNTIME_NAMES",
    "GenerationRequest",
    "Runtime",
    "RuntimeSpec",
    "RuntimeTimings",
    "TokenTrace",
    "create_runtime",
    "runtime_spec",
]
