"""What a streamed response has delivered, and what an API dialect is.

A dialect (one module each: :mod:`.openai_completions`, :mod:`.openai_chat`,
:mod:`.ollama`) builds the JSON body of a request and applies each line of the
response to a :class:`StreamState`; :meth:`StreamState.to_trace` turns the
state into the request's :class:`~benchlib.runtimes.base.TokenTrace`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

from benchlib.runtimes.base import GenerationRequest, RuntimeTimings, TokenTrace

__all__ = ["BodyOptions", "Dialect", "ServerError", "StreamState", "chat_messages", "parse_event"]


class ServerError(Exception):
    """The server reported an error inside the stream."""


def parse_event(text: str) -> dict[str, Any]:
    """One JSON event of a stream.

    Raises:
        ValueError: not JSON, or not an object.
        ServerError: the event reports an error.
    """
    event = json.loads(text)
    if not isinstance(event, dict):
        raise ValueError(f"expected a JSON object, got {type(event).__name__}")
    if "error" in event:
        raise ServerError(str(event["error"]))
    return event


def chat_messages(request: GenerationRequest) -> list[dict[str, str]]:
    """A chat request's messages: a conversation's turns so far, or the prompt as one user message."""
    if request.messages:
        return [{"role": role, "content": content} for role, content in request.messages]
    return [{"role": "user", "content": request.prompt}]


class BodyOptions(Protocol):
    """The settings a dialect's request body reads (:class:`~benchlib.runtimes.http.settings.HttpSettings`)."""

    served_model: str
    temperature: float
    seed: int
    fixed_length: str
    cache_prompt: str


@dataclass
class StreamState:
    """What a stream has delivered so far."""

    chunk_times_s: list[float] = field(default_factory=list)
    chunk_tokens: list[int] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    usage_output_tokens: int | None = None
    usage_prompt_tokens: int | None = None
    cached_prompt_tokens: int | None = None
    server_timings: RuntimeTimings | None = None
    counted_from: str = "stream"
    done: bool = False

    def add_chunk(self, arrived_s: float, tokens: int, text: str) -> None:
        """Record a chunk of ``tokens`` tokens that arrived at ``arrived_s`` (``perf_counter`` seconds)."""
        self.chunk_times_s.append(arrived_s)
        self.chunk_tokens.append(tokens)
        self.text.append(text)

    def to_trace(
        self,
        request: GenerationRequest,
        sent_s: float,
        headers_s: float | None,
        error: tuple[str, str] | None,
        retries: int = 0,
    ) -> TokenTrace:
        """Build the trace: one timestamp per token (a chunk of k tokens gives k equal timestamps)."""
        times: list[float] = []
        for arrived, tokens in zip(self.chunk_times_s, self.chunk_tokens):
            times.extend([arrived] * tokens)
        counted = len(times)
        source = self.counted_from
        output_tokens = counted
        if self.usage_output_tokens is not None:
            source = "server usage"
            output_tokens = int(self.usage_output_tokens)
        kind, message = error if error else (None, None)
        if error is None and not self.done:
            kind, message = "truncated", "the stream ended without its end marker"
        return TokenTrace(
            request_id=request.request_id,
            sent_s=sent_s,
            token_times_s=tuple(times),
            prompt_tokens=int(self.usage_prompt_tokens) if self.usage_prompt_tokens else 0,
            text="".join(self.text),
            runtime_timings=self.server_timings,
            error=message,
            error_kind=kind,
            headers_s=headers_s,
            output_token_count=output_tokens if output_tokens != counted else None,
            token_count_source=source,
            cached_prompt_tokens=self.cached_prompt_tokens,
            retries=retries,
        )


@dataclass(frozen=True)
class Dialect:
    """One streaming API: where requests go, what they carry, how the response streams back.

    Attributes:
        name: The ``api`` setting (``openai-completions`` ...).
        path: Request path (``/v1/completions`` ...).
        build_body: ``(settings, request) -> JSON body`` of one streaming request
            for exactly ``request.max_output_tokens`` tokens.
        apply_line: ``(state, line, arrived_s)``: apply one non-empty, stripped
            line of the response body; raises ``ValueError`` for malformed data
            and :class:`ServerError` for an error the server reports.
        family: ``openai`` or ``ollama`` (how the server lists its models).
        carries_history: True when a conversation's earlier turns can be sent
            (chat messages, or a completions prompt holding the transcript);
            False for an API whose history is an opaque server-side context
            (Ollama's ``/api/generate``).
    """

    name: str
    path: str
    build_body: Callable[[BodyOptions, GenerationRequest], dict[str, Any]]
    apply_line: Callable[[StreamState, str, float], None]
    family: str
    carries_history: bool = True
