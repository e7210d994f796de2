"""OpenAI completions (``/v1/completions``): request body and server-sent-event stream.

Also the stream parser of every OpenAI-compatible dialect (chat streams the
same events with ``delta.content`` for ``text``). Fixed output length:
``max_tokens`` plus ``min_tokens`` and ``ignore_eos`` (vLLM accepts both,
llama.cpp's servers ``min_tokens``); output tokens come from the final
``usage`` when the server sends it (``stream_options.include_usage``).
"""

from __future__ import annotations

from typing import Any

from benchlib.runtimes.base import GenerationRequest, RuntimeTimings
from benchlib.runtimes.http.stream import BodyOptions, Dialect, StreamState, parse_event

__all__ = ["DIALECT", "apply_event", "apply_line", "build_body", "openai_body"]


def openai_body(settings: BodyOptions, request: GenerationRequest) -> dict[str, Any]:
    """The fields every OpenAI-compatible streaming request carries (without the prompt)."""
    n = request.max_output_tokens
    body: dict[str, Any] = {
        "model": settings.served_model,
        "max_tokens": n,
        "temperature": settings.temperature,
        "seed": settings.seed,
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.ignore_eos and settings.fixed_length in ("auto", "min_tokens"):
        body["min_tokens"] = n
    if request.ignore_eos and settings.fixed_length in ("auto", "ignore_eos"):
        body["ignore_eos"] = True
    if settings.cache_prompt != "default":
        body["cache_prompt"] = settings.cache_prompt == "on"
    return body


def build_body(settings: BodyOptions, request: GenerationRequest) -> dict[str, Any]:
    """JSON body of one streaming completion for exactly ``max_output_tokens`` tokens."""
    body = openai_body(settings, request)
    body["prompt"] = request.prompt
    return body


def apply_line(stream: StreamState, line: str, arrived_s: float) -> None:
    """Apply one line of a server-sent-event stream (``data:`` payloads; comments and fields ignored).

    Raises:
        ValueError: a line that is not server-sent-event data, or unparseable JSON.
        ServerError: the server reported an error.
    """
    if line.startswith("data:"):
        apply_event(stream, line[5:].strip(), arrived_s)
    elif not line.startswith((":", "event:", "id:", "retry:")):
        raise ValueError(f"not server-sent-event data: {line[:80]!r}")


def apply_event(stream: StreamState, data: str, arrived_s: float) -> None:
    """Apply one SSE ``data:`` payload of an OpenAI-compatible stream."""
    if data.strip() == "[DONE]":
        stream.done = True
        return
    event = parse_event(data)
    usage = event.get("usage")
    if usage:
        stream.usage_output_tokens = usage.get("completion_tokens")
        stream.usage_prompt_tokens = usage.get("prompt_tokens")
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens")
        if cached is not None:
            stream.cached_prompt_tokens = int(cached)
    timings = event.get("timings")
    if isinstance(timings, dict) and "predicted_n" in timings:
        _llama_server_timings(stream, timings)
    for choice in event.get("choices") or []:
        text = choice.get("text")
        if text is None:
            text = (choice.get("delta") or {}).get("content")
        logprobs = choice.get("logprobs") or {}
        tokens = len(logprobs.get("tokens") or logprobs.get("content") or []) or (1 if text else 0)
        if tokens:
            if logprobs.get("tokens") or logprobs.get("content"):
                stream.counted_from = "stream logprobs"
            stream.add_chunk(arrived_s, tokens, text or "")


def _llama_server_timings(stream: StreamState, timings: dict[str, Any]) -> None:
    """llama.cpp's server reports its own timings per request (``timings``; the last one is final).

    ``predicted_ms`` runs from the first output token to the last, so it
    covers ``predicted_n - 1`` decode steps, as ``tpot_s`` does; ``cache_n``
    prompt tokens came from its prompt cache and were not evaluated.
    """
    predicted_n = int(timings.get("predicted_n") or 0)
    stream.server_timings = RuntimeTimings(
        prompt_eval_s=float(timings["prompt_ms"]) / 1e3 if timings.get("prompt_ms") else None,
        prompt_eval_tokens=timings.get("prompt_n"),
        decode_s=float(timings["predicted_ms"]) / 1e3 if timings.get("predicted_ms") and predicted_n > 1 else None,
        decode_tokens=predicted_n - 1 if predicted_n > 1 else None,
        source="llama.cpp server timings (prompt_ms, predicted_ms over predicted_n - 1 steps)",
    )
    if timings.get("cache_n") is not None:
        stream.cached_prompt_tokens = int(timings["cache_n"])


DIALECT = Dialect("openai-completions", "/v1/completions", build_body, apply_line, family="openai")
