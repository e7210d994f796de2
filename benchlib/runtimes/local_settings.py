"""Settings every in-process runtime shares: threads, context, GPU layers, seed, temperature."""

from __future__ import annotations

import os

from benchlib.validation import ValidatedModel

__all__ = ["LocalModelSettings", "default_threads"]


def default_threads() -> int:
    """Physical cores of this machine (llama.cpp decodes best at one thread per core)."""
    try:
        import psutil

        physical = psutil.cpu_count(logical=False)
    except Exception:  # psutil cannot read the topology everywhere
        physical = None
    return physical or os.cpu_count() or 1


class LocalModelSettings(ValidatedModel):
    """The sweep's runtime settings of a runtime that loads the model in this process.

    Attributes:
        threads: CPU threads; 0 means one per physical core.
        context_tokens: Context size (largest prompt + output), tokens.
        gpu_layers: Layers offloaded to a GPU.
        seed: Random seed (used only when ``temperature`` > 0).
        temperature: 0 for greedy decoding (the default), else softmax sampling.
    """

    threads: int = 0
    context_tokens: int = 2048
    gpu_layers: int = 0
    seed: int = 0
    temperature: float = 0.0

    def resolved_threads(self) -> int:
        """The thread count actually used."""
        return self.threads if self.threads > 0 else default_threads()
