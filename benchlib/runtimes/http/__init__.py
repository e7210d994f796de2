"""Streaming HTTP servers: OpenAI-compatible (SSE) and Ollama-compatible (NDJSON) APIs.

APIs (``api`` setting), one module each: ``openai-completions``
(``/v1/completions``, :mod:`.openai_completions`), ``openai-chat``
(``/v1/chat/completions``, :mod:`.openai_chat`), ``ollama-generate``
(``/api/generate``) and ``ollama-chat`` (``/api/chat``, both :mod:`.ollama`),
joined by name in :mod:`.apis`. :mod:`.transport` sends and times the
requests, :mod:`.settings` holds :class:`HttpSettings`, :mod:`.runtime` the
:class:`HttpRuntime`.

Fixed output length: ``max_tokens`` plus ``min_tokens`` and ``ignore_eos``
(vLLM accepts both, llama.cpp's servers ``min_tokens``) for OpenAI servers;
``options.num_predict`` (and ``min_tokens``-free generation) for Ollama.
Output tokens come from the server's usage counts when it sends them, else
from the stream (one token per chunk, or the chunk's logprob tokens), and the
trace records which. The API key is read from the environment variable named
in the settings, sent in a header, and never stored.
"""

from __future__ import annotations

from benchlib.runtimes.http.apis import APIS, DIALECTS
from benchlib.runtimes.http.runtime import HttpRuntime
from benchlib.runtimes.http.settings import CACHE_PROMPT_MODES, FIXED_LENGTH_MODES, HttpSettings
from benchlib.runtimes.http.transport import (
    ERROR_KINDS,
    ServerGone,
    check_server,
    client_session,
    measure_rtt,
    run_coroutine,
    stream_request,
)

__all__ = [
    "APIS",
    "CACHE_PROMPT_MODES",
    "DIALECTS",
    "ERROR_KINDS",
    "FIXED_LENGTH_MODES",
    "HttpRuntime",
    "HttpSettings",
    "ServerGone",
    "check_server",
    "client_session",
    "measure_rtt",
    "run_coroutine",
    "stream_request",
]
