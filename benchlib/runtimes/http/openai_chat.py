"""OpenAI chat completions (``/v1/chat/completions``): the prompt as one user message.

The stream is the completions stream with ``delta.content`` for ``text``, so
its parser is :func:`benchlib.runtimes.http.openai_completions.apply_line`.
"""

from __future__ import annotations

from typing import Any

from benchlib.runtimes.base import GenerationRequest
from benchlib.runtimes.http.openai_completions import apply_line, openai_body
from benchlib.runtimes.http.stream import BodyOptions, Dialect, chat_messages

__all__ = ["DIALECT", "build_body"]


def build_body(settings: BodyOptions, request: GenerationRequest) -> dict[str, Any]:
    """JSON body of one streaming chat completion for exactly ``max_output_tokens`` tokens."""
    body = openai_body(settings, request)
    body["messages"] = chat_messages(request)
    return body


DIALECT = Dialect("openai-chat", "/v1/chat/completions", build_body, apply_line, family="openai")
