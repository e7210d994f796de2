"""llama.cpp server's host-memory prompt cache (``--cache-ram``), for the in-process runtime.

llama.cpp's ``llama-server`` keeps the prompts a slot is about to lose in host
memory (``--cache-ram``, 8192 MiB by default since its PR 16391) and, for a new
request, restores the saved prompt that shares the longest prefix with it when
that beats what the slot holds. So a shared system prompt survives requests
without it in between. The in-process runtime does the same when it keeps its
KV cache:

* before a request keeps less than :data:`SAVE_BELOW_SHARED` of the tokens in
  the cache, the cache's sequence is saved (``llama_state_seq_get_data``);
* a saved state whose tokens share a longer prefix with the new prompt than the
  cache does is restored (``llama_state_seq_set_data``).

The store is llama-cpp-python's :class:`~llama_cpp.LlamaRAMCache` (least
recently used first out, longest-prefix lookup), holding sequence states only,
not ``Llama.save_state``'s copy of every logit row. Saving and restoring happen
inside the request's time, as on the server.
"""

from __future__ import annotations

import ctypes
from typing import Sequence

import numpy as np

__all__ = ["PROMPT_CACHE_RAM_BYTES", "SAVE_BELOW_SHARED", "HostPromptCache"]

PROMPT_CACHE_RAM_BYTES = 2 << 30
"""Host memory for saved prompts (llama-server's default is 8 GiB; a Raspberry Pi 5 has 8 or 16 GiB in all)."""

SAVE_BELOW_SHARED = 0.5
"""Save the cache before a request that keeps less than this share of its tokens."""


class HostPromptCache:
    """Saved KV-cache sequences keyed by their tokens, restored when a new prompt shares more with one of them.

    Args:
        capacity_bytes: Host memory for saved states.
    """

    def __init__(self, capacity_bytes: int = PROMPT_CACHE_RAM_BYTES) -> None:
        from llama_cpp import LlamaRAMCache

        self._states = LlamaRAMCache(capacity_bytes=capacity_bytes)

    def __len__(self) -> int:
        return len(self._states.cache_state)

    def best_prefix(self, ctx, cached: list[int], prompt: Sequence[int]) -> tuple[list[int], int]:
        """Before a request: save the cache if it is about to lose most of its tokens, restore a better saved one.

        Args:
            ctx: The llama.cpp context (sequence 0 holds ``cached``).
            cached: The tokens in the KV cache.
            prompt: The new prompt's tokens.

        Returns:
            The tokens the cache now holds and how many of them ``prompt`` shares.
        """
        from llama_cpp import Llama

        shared = Llama.longest_token_prefix(cached, prompt)
        if shared < SAVE_BELOW_SHARED * len(cached):  # most of the cache is about to go: keep a copy
            self.save(ctx, cached)
        restored = self.restore(ctx, prompt, shared)
        return restored if restored is not None else (cached, shared)

    def save(self, ctx, tokens: Sequence[int]) -> None:
        """Save sequence 0 of ``ctx``, which holds ``tokens``."""
        import llama_cpp
        from llama_cpp.llama import LlamaState

        if not tokens:
            return
        size = int(llama_cpp.llama_state_seq_get_size(ctx, 0))
        buffer = (ctypes.c_uint8 * size)()
        written = int(llama_cpp.llama_state_seq_get_data(ctx, buffer, size, 0))
        state = LlamaState(np.asarray(tokens, dtype=np.intc), np.zeros((0, 0), dtype=np.single), len(tokens),
                           bytes(buffer)[:written], written, 0)  # fmt: skip
        self._states[tuple(tokens)] = state

    def restore(self, ctx, prompt: Sequence[int], shared_now: int) -> tuple[list[int], int] | None:
        """Restore the saved state sharing the longest prefix with ``prompt``, if it shares more than ``shared_now``.

        Returns:
            The restored tokens and how many of them ``prompt`` shares, or ``None`` (nothing better saved).
        """
        import llama_cpp
        from llama_cpp import Llama

        key = self._states._find_longest_prefix_key(tuple(prompt))
        if key is None or Llama.longest_token_prefix(key, prompt) <= shared_now:
            return None
        state = self._states[key]
        data = (ctypes.c_uint8 * state.llama_state_size).from_buffer_copy(state.llama_state)
        if int(llama_cpp.llama_state_seq_set_data(ctx, data, state.llama_state_size, 0)) == 0:
            return None  # llama.cpp could not place it: evaluate the prompt instead
        return list(key), Llama.longest_token_prefix(key, prompt)
