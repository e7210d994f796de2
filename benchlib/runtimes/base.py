"""The Runtime protocol every way of running a model implements, and its values.

A runtime takes a :class:`GenerationRequest` and returns a :class:`TokenTrace`:
the time the request was sent and one timestamp per output token, all on the
``time.perf_counter`` clock, plus whatever timings the runtime itself reports
(llama.cpp's perf counters, a server's usage block), kept apart from ours so
the harness's own overhead is visible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

__all__ = ["GenerationRequest", "Runtime", "RuntimeTimings", "TokenTrace"]


@dataclass(frozen=True)
class GenerationRequest:
    """One generation to perform.

    Attributes:
        request_id: Stable identifier (``rep002-p01``); resume keys on it.
        prompt: Prompt text.
        max_output_tokens: Number of tokens to generate.
        ignore_eos: Keep generating past end-of-sequence so that exactly
            ``max_output_tokens`` tokens come out.
        messages: A conversation's turns so far as ``(role, content)`` pairs,
            ending with the new user message; chat APIs send these, every
            other runtime the same transcript rendered into ``prompt``
            (:mod:`benchlib.conversation`). Empty: one user message, ``prompt``.
        context_prefix: The start of ``prompt`` that stands for context
            already there (a ``context_depth``); an in-process runtime that
            keeps its cache evaluates it before the clock starts, as
            ``llama-bench -d`` does. Empty: none.
        row_columns: What the workload says about the request (its
            conversation and turn, grid cell, shared prefix, schedule ...),
            stored as columns of its row in ``requests.parquet``; runtimes ignore it.
    """

    request_id: str
    prompt: str
    max_output_tokens: int
    ignore_eos: bool = True
    messages: tuple[tuple[str, str], ...] = ()
    context_prefix: str = ""
    row_columns: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class RuntimeTimings:
    """Timings the runtime reports about itself for one request.

    Attributes:
        prompt_eval_s: Time the runtime spent evaluating the prompt, seconds.
        prompt_eval_tokens: Prompt tokens it evaluated.
        decode_s: Time it spent decoding output tokens, seconds.
        decode_tokens: Output tokens it decoded (the first output token comes
            from the prompt evaluation, so this is usually output tokens - 1).
        source: Where these come from (``llama.cpp perf counters`` ...).
    """

    prompt_eval_s: float | None
    prompt_eval_tokens: int | None
    decode_s: float | None
    decode_tokens: int | None
    source: str

    @property
    def decode_tps(self) -> float | None:
        """The runtime's own decode rate, tokens per second."""
        if not self.decode_s or not self.decode_tokens:
            return None
        return self.decode_tokens / self.decode_s


@dataclass(frozen=True)
class TokenTrace:
    """What one request produced and when.

    All times are ``time.perf_counter()`` readings in seconds.

    Attributes:
        request_id: The request's identifier.
        sent_s: When the request was handed to the runtime.
        token_times_s: When each output token became available, in order.
        prompt_tokens: Prompt length in tokens.
        token_ids: The generated token ids (may be empty for remote runtimes).
        text: The generated text.
        runtime_timings: The runtime's own timings, where it reports them.
        error: Error message when the request failed, else ``None``.
        error_kind: Short class of the error (``connect``, ``timeout`` ...).
        headers_s: When the response headers arrived (HTTP runtimes), else ``None``.
        output_token_count: Output tokens when it differs from the number of
            timestamps (a server's usage count when its chunks carried several
            tokens each), else ``None``.
        token_count_source: Where the output token count comes from
            (``runtime``, ``server usage``, ``stream`` ...).
        cached_prompt_tokens: Prompt tokens the runtime served from its prompt
            (prefix) cache instead of evaluating them, where it says so
            (OpenAI ``usage.prompt_tokens_details.cached_tokens``, llama.cpp's
            ``timings.cache_n``; 0 for in-process llama.cpp, whose cache
            benchlib clears), else ``None``.
        retries: Times the request was sent again on a fresh connection after
            a pooled connection the server had closed failed before any byte
            of the response arrived (HTTP runtimes); ``sent_s`` is the first send.
    """

    request_id: str
    sent_s: float
    token_times_s: tuple[float, ...]
    prompt_tokens: int
    token_ids: tuple[int, ...] = ()
    text: str = ""
    runtime_timings: RuntimeTimings | None = None
    error: str | None = None
    error_kind: str | None = None
    headers_s: float | None = None
    output_token_count: int | None = None
    token_count_source: str = "runtime"
    cached_prompt_tokens: int | None = None
    retries: int = 0

    @property
    def output_tokens(self) -> int:
        """Number of output tokens received."""
        return self.output_token_count if self.output_token_count is not None else len(self.token_times_s)


@runtime_checkable
class Runtime(Protocol):
    """A way of running a model: load once, generate many times, close.

    Implementations raise :class:`benchlib.errors.RuntimeFailure` with a message
    that says how to fix the problem when loading or generation fails.
    """

    name: str

    def load(self) -> None:
        """Load the model; called once, outside every timed window."""

    def generate(self, request: GenerationRequest) -> TokenTrace:
        """Run one request to completion and return its trace."""

    def info(self) -> dict[str, Any]:
        """Versions and settings of the runtime, for ``run.json``."""

    def close(self) -> None:
        """Release the model."""

