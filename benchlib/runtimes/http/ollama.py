"""Ollama's API (``/api/generate``, ``/api/chat``), as the AI HAT+ 2's ``hailo-ollama`` serves it.

Newline-delimited JSON: one object per chunk (``response`` or
``message.content``), then a ``done`` object with ``eval_count`` and the
server's durations. Fixed output length: ``options.num_predict`` (Ollama has no
``min_tokens``).
"""

from __future__ import annotations

from typing import Any

from benchlib.runtimes.base import GenerationRequest, RuntimeTimings
from benchlib.runtimes.http.stream import BodyOptions, Dialect, StreamState, chat_messages, parse_event

__all__ = ["CHAT", "GENERATE", "apply_line", "chat_body", "generate_body"]


def _body(settings: BodyOptions, request: GenerationRequest) -> dict[str, Any]:
    options = {"num_predict": request.max_output_tokens, "temperature": settings.temperature, "seed": settings.seed}
    return {"model": settings.served_model, "stream": True, "options": options}


def generate_body(settings: BodyOptions, request: GenerationRequest) -> dict[str, Any]:
    """JSON body of one streaming ``/api/generate`` request."""
    body = _body(settings, request)
    body["prompt"] = request.prompt
    return body


def chat_body(settings: BodyOptions, request: GenerationRequest) -> dict[str, Any]:
    """JSON body of one streaming ``/api/chat`` request (the prompt as one user message)."""
    body = _body(settings, request)
    body["messages"] = chat_messages(request)
    return body


def apply_line(stream: StreamState, line: str, arrived_s: float) -> None:
    """Apply one NDJSON line of an Ollama-compatible stream.

    Raises:
        ValueError: unparseable JSON or not an object.
        ServerError: the server reported an error.
    """
    event = parse_event(line)
    text = event.get("response")
    if text is None:
        text = (event.get("message") or {}).get("content")
    if text:
        stream.add_chunk(arrived_s, 1, text)
    if event.get("done"):
        stream.done = True
        if "eval_count" in event:
            stream.usage_output_tokens = int(event["eval_count"])
            stream.usage_prompt_tokens = event.get("prompt_eval_count")
            stream.server_timings = RuntimeTimings(
                prompt_eval_s=event.get("prompt_eval_duration", 0) / 1e9 or None,
                prompt_eval_tokens=event.get("prompt_eval_count"),
                decode_s=event.get("eval_duration", 0) / 1e9 or None,
                decode_tokens=int(event["eval_count"]) - 1 if event["eval_count"] else 0,
                source="server-reported durations (Ollama eval_duration, prompt_eval_duration)",
            )


GENERATE = Dialect(
    "ollama-generate", "/api/generate", generate_body, apply_line, family="ollama", carries_history=False
)
CHAT = Dialect("ollama-chat", "/api/chat", chat_body, apply_line, family="ollama")
