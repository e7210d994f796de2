"""Settings of the llama.cpp runtime, validated next to their fields."""

from __future__ import annotations

from benchlib.runtimes.http.settings import CACHE_PROMPT_MODES
from benchlib.runtimes.local_settings import LocalModelSettings
from benchlib.validation import one_of

__all__ = ["FLASH_ATTN_MODES", "LlamaCppSettings"]

FLASH_ATTN_MODES = ("auto", "on", "off")
"""Flash attention: ``auto`` (llama.cpp enables it where the device supports it), ``on``, ``off``."""


class LlamaCppSettings(LocalModelSettings):
    """Settings of the llama.cpp runtime.

    Attributes:
        threads: Decode threads; 0 means one per physical core.
        context_tokens: Context size (``n_ctx``) in tokens.
        batch_tokens: Logical batch size (``n_batch``) in tokens; llama.cpp's
            tools default to 2048 (capped at the context size).
        ubatch_tokens: Physical micro-batch size (``n_ubatch``) in tokens;
            llama.cpp's default, 512.
        gpu_layers: Layers offloaded to a GPU (needs a GPU build of llama.cpp).
        flash_attn: One of :data:`FLASH_ATTN_MODES`; ``auto`` as llama.cpp's tools.
        cache_prompt: What the KV cache keeps between requests, as llama.cpp's
            server's ``cache_prompt``: ``on`` keeps it and evaluates only what
            a new prompt does not share with the tokens already in it (one
            slot's cache); ``off`` clears it before every request;
            ``default`` clears it too, except for workloads built on reuse
            (conversations, shared prefixes, context depth), where it is kept
            as the server keeps it by default.
        seed: Random seed (used only when ``temperature`` > 0).
        temperature: 0 for greedy decoding (the default), else softmax sampling.
    """

    batch_tokens: int = 2048
    ubatch_tokens: int = 512
    flash_attn: str = "auto"
    cache_prompt: str = "default"

    _known_flash_attn = one_of("flash_attn", FLASH_ATTN_MODES)
    _known_cache_prompt = one_of("cache_prompt", CACHE_PROMPT_MODES)
