"""Settings every in-process runtime shares: threads, context, GPU layers, seed, temperature."""

from __future__ import annotations

import os
from typing import Annotated, Any, Union

from pydantic import BeforeValidator, Field

from benchlib.validation import ValidatedModel

__all__ = ["ContextTokens", "GpuLayers", "LocalModelSettings", "Number", "Temperature", "Threads", "default_threads"]


def _number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("must be a number")
    return value


Number = Annotated[Union[int, float], BeforeValidator(_number)]
"""A number, kept as given (an int stays an int: run ids hash the values as written)."""

Threads = Annotated[int, Field(ge=0)]
"""CPU threads; 0 means one per physical core this process may run on (:func:`default_threads`)."""

ContextTokens = Annotated[int, Field(ge=16)]
"""Context size (largest prompt + output), tokens."""

GpuLayers = Annotated[int, Field(ge=0)]
"""Layers offloaded to a GPU."""

Temperature = Annotated[float, Field(ge=0)]
"""Sampling temperature; 0 for greedy decoding (a runtime gets a float)."""


def default_threads() -> int:
    """One thread per physical core this process may run on (llama.cpp decodes best at one thread per core).

    The cores are the physical ones, limited to the CPU affinity of this process: under ``taskset``, a
    container's cpuset or a pinned test worker, two threads on one allowed core would spin against each
    other at llama.cpp's barriers.
    """
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except Exception:  # psutil cannot read the topology everywhere
        physical = None
    cores = physical or os.cpu_count() or 1
    allowed = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else cores
    return max(1, min(cores, allowed))


class LocalModelSettings(ValidatedModel):
    """The sweep's runtime settings of a runtime that loads the model in this process.

    Attributes:
        threads: CPU threads; 0 means one per physical core.
        context_tokens: Context size (largest prompt + output), tokens.
        gpu_layers: Layers offloaded to a GPU.
        seed: Random seed (used only when ``temperature`` > 0).
        temperature: 0 for greedy decoding (the default), else softmax sampling.
    """

    threads: Threads = 0
    context_tokens: ContextTokens = 2048
    gpu_layers: GpuLayers = 0
    seed: Annotated[int, Field(ge=0)] = 0
    temperature: Temperature = 0.0

    def resolved_threads(self) -> int:
        """The thread count actually used."""
        return self.threads if self.threads > 0 else default_threads()
