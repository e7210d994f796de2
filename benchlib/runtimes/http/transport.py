"""Streaming HTTP servers: OpenAI-compatible (SSE) and Ollama-compatible (NDJSON) APIs.

Cloud GPUs are benchmarked the way they are used: a client streams requests
to a server (vLLM, TGI, Triton's OpenAI front end, llama.cpp's server) and the
AI HAT+ 2's ``hailo-ollama`` serves the Ollama API. One request here is one
streaming HTTP call, timed at four points on ``time.perf_counter``: sent,
response headers received (connection + queueing), each chunk of tokens, end.

APIs (``api`` setting): ``openai-completions`` (``/v1/completions``),
``openai-chat`` (``/v1/chat/completions``), ``ollama-generate``
(``/api/generate``), ``ollama-chat`` (``/api/chat``).

Fixed output length: ``max_tokens`` plus ``min_tokens`` and ``ignore_eos``
(vLLM accepts both, llama.cpp's servers ``min_tokens``) for OpenAI servers;
``options.num_predict`` (and ``min_tokens``-free generation) for Ollama.
Output tokens come from the server's usage counts when it sends them, else
from the stream (one token per chunk, or the chunk's logprob tokens), and the
trace records which. The API key is read from the environment variable named
in the settings, sent in a header, and never stored.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from benchlib.errors import ParameterError, RuntimeFailure
from benchlib.runtimes.base import GenerationRequest, RuntimeTimings, TokenTrace

__all__ = [
    "APIS",
    "ERROR_KINDS",
    "HttpRuntime",
    "HttpSettings",
    "ServerGone",
    "check_server",
    "client_session",
    "measure_rtt",
    "run_coroutine",
    "stream_request",
]

APIS: dict[str, str] = {
    "openai-completions": "/v1/completions",
    "openai-chat": "/v1/chat/completions",
    "ollama-generate": "/api/generate",
    "ollama-chat": "/api/chat",
}
"""API name -> request path."""

FIXED_LENGTH_MODES = ("auto", "min_tokens", "ignore_eos", "none")

CACHE_PROMPT_MODES = ("default", "on", "off")
"""``cache_prompt`` setting: leave the server's prompt (prefix) cache as it is
configured, or ask for it on or off per request (llama.cpp's servers honour
``cache_prompt``; other OpenAI servers ignore it)."""

ERROR_KINDS = ("connect", "timeout", "http", "malformed", "truncated", "disconnected", "server")
"""How a request can fail: refused or unreachable, past its timeout, an HTTP
error status, unparseable stream data, a stream that ended without its end
marker, a connection lost mid-stream, an error reported inside the stream."""


def run_coroutine(coroutine):
    """Run a coroutine to completion from synchronous code, also inside Jupyter.

    A notebook kernel already runs an event loop, where ``asyncio.run`` is
    refused; there the coroutine runs on a loop of its own in a worker thread.
    Exceptions propagate to the caller.
    """
    import threading

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # handed to the calling thread
            outcome["error"] = exc

    worker = threading.Thread(target=target, name="benchlib-http")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class ServerGone(RuntimeFailure):
    """The server stopped answering (refused or dropped several requests in a row)."""


@dataclass(frozen=True)
class HttpSettings:
    """How to reach and drive a streaming server.

    Attributes:
        url: Base URL, e.g. ``http://127.0.0.1:8000`` (no path).
        api: One of :data:`APIS`.
        served_model: Model name the server knows (checked against its model list).
        api_key_env: Name of the environment variable holding the API key
            (empty: no key). The key itself is never stored.
        fixed_length: ``auto`` (``min_tokens`` and ``ignore_eos`` for OpenAI
            APIs), ``min_tokens``, ``ignore_eos`` or ``none``.
        request_timeout_s: Longest a request may take, seconds.
        temperature: Sampling temperature (0: greedy).
        seed: Seed sent to servers that accept one.
        cache_prompt: ``default``, ``on`` or ``off``: sent as ``cache_prompt``
            to OpenAI-compatible servers unless ``default``.
        retry_stale_connections: Send a request once more on a fresh connection
            when a pooled connection fails before any byte of the response
            arrived (the server had closed it). Only a test turns this off.
    """

    url: str
    api: str = "openai-completions"
    served_model: str = ""
    api_key_env: str = ""
    fixed_length: str = "auto"
    request_timeout_s: float = 120.0
    temperature: float = 0.0
    seed: int = 0
    cache_prompt: str = "default"
    retry_stale_connections: bool = True

    def validate(self) -> None:
        """Check the values.

        Raises:
            ParameterError: a URL without scheme or host, an unknown API or mode,
                a non-positive timeout, or a key variable that is not set.
        """
        parsed = urlparse(self.url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ParameterError(f"url must look like http://HOST:PORT, got {self.url!r}.")
        if self.api not in APIS:
            raise ParameterError(f"Unknown api '{self.api}'; valid: {', '.join(APIS)}.")
        if self.fixed_length not in FIXED_LENGTH_MODES:
            raise ParameterError(f"Unknown fixed_length '{self.fixed_length}'; valid: {', '.join(FIXED_LENGTH_MODES)}.")
        if self.cache_prompt not in CACHE_PROMPT_MODES:
            raise ParameterError(f"Unknown cache_prompt '{self.cache_prompt}'; valid: {', '.join(CACHE_PROMPT_MODES)}.")
        if self.cache_prompt != "default" and self.is_ollama:
            raise ParameterError(
                "cache_prompt applies to OpenAI-compatible servers (llama.cpp's); the Ollama APIs have no such "
                "switch. Set cache_prompt: default."
            )
        if not self.request_timeout_s > 0:
            raise ParameterError(f"request_timeout_s must be positive, got {self.request_timeout_s}.")
        if self.api_key_env and self.api_key_env not in os.environ:
            raise ParameterError(
                f"api_key_env names {self.api_key_env}, which is not set; export it (the key is never written "
                "to a notebook, a result or a log)."
            )

    @property
    def is_ollama(self) -> bool:
        """True for the Ollama APIs."""
        return self.api.startswith("ollama")

    def endpoint(self) -> str:
        """Full URL of the generation endpoint."""
        return self.url.rstrip("/") + APIS[self.api]

    def headers(self) -> dict[str, str]:
        """Request headers, with the API key when one is configured."""
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream, application/x-ndjson"}
        if self.api_key_env:
            headers["Authorization"] = f"Bearer {os.environ[self.api_key_env]}"
        return headers

    def body(self, request: GenerationRequest) -> dict[str, Any]:
        """JSON body of one streaming request for exactly ``max_output_tokens`` tokens."""
        n = request.max_output_tokens
        if self.is_ollama:
            options = {"num_predict": n, "temperature": self.temperature, "seed": self.seed}
            body: dict[str, Any] = {"model": self.served_model, "stream": True, "options": options}
            if self.api == "ollama-chat":
                body["messages"] = [{"role": "user", "content": request.prompt}]
            else:
                body["prompt"] = request.prompt
            return body
        body = {
            "model": self.served_model,
            "max_tokens": n,
            "temperature": self.temperature,
            "seed": self.seed,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.ignore_eos and self.fixed_length in ("auto", "min_tokens"):
            body["min_tokens"] = n
        if request.ignore_eos and self.fixed_length in ("auto", "ignore_eos"):
            body["ignore_eos"] = True
        if self.cache_prompt != "default":
            body["cache_prompt"] = self.cache_prompt == "on"
        if self.api == "openai-chat":
            body["messages"] = [{"role": "user", "content": request.prompt}]
        else:
            body["prompt"] = request.prompt
        return body


@dataclass
class _Stream:
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


def _openai_event(stream: _Stream, data: str, arrived_s: float) -> None:
    """Apply one SSE ``data:`` payload of an OpenAI-compatible stream."""
    if data.strip() == "[DONE]":
        stream.done = True
        return
    event = json.loads(data)
    if not isinstance(event, dict):
        raise ValueError(f"expected a JSON object, got {type(event).__name__}")
    if "error" in event:
        raise _ServerError(str(event["error"]))
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
            stream.chunk_times_s.append(arrived_s)
            stream.chunk_tokens.append(tokens)
            stream.text.append(text or "")


def _llama_server_timings(stream: _Stream, timings: dict[str, Any]) -> None:
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


def _ollama_line(stream: _Stream, line: str, arrived_s: float) -> None:
    """Apply one NDJSON line of an Ollama-compatible stream."""
    event = json.loads(line)
    if not isinstance(event, dict):
        raise ValueError(f"expected a JSON object, got {type(event).__name__}")
    if "error" in event:
        raise _ServerError(str(event["error"]))
    text = event.get("response")
    if text is None:
        text = (event.get("message") or {}).get("content")
    if text:
        stream.chunk_times_s.append(arrived_s)
        stream.chunk_tokens.append(1)
        stream.text.append(text)
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


class _ServerError(Exception):
    """The server reported an error inside the stream."""


def _finish(
    request: GenerationRequest,
    sent_s: float,
    headers_s: float | None,
    stream: _Stream,
    error: tuple[str, str] | None,
    retries: int = 0,
) -> TokenTrace:
    """Build the trace: one timestamp per token (a chunk of k tokens gives k equal timestamps)."""
    times: list[float] = []
    for arrived, tokens in zip(stream.chunk_times_s, stream.chunk_tokens):
        times.extend([arrived] * tokens)
    counted = len(times)
    source = stream.counted_from
    output_tokens = counted
    if stream.usage_output_tokens is not None:
        source = "server usage"
        output_tokens = int(stream.usage_output_tokens)
    kind, message = error if error else (None, None)
    if error is None and not stream.done:
        kind, message = "truncated", "the stream ended without its end marker"
    return TokenTrace(
        request_id=request.request_id,
        sent_s=sent_s,
        token_times_s=tuple(times),
        prompt_tokens=int(stream.usage_prompt_tokens) if stream.usage_prompt_tokens else 0,
        text="".join(stream.text),
        runtime_timings=stream.server_timings,
        error=message,
        error_kind=kind,
        headers_s=headers_s,
        output_token_count=output_tokens if output_tokens != counted else None,
        token_count_source=source,
        cached_prompt_tokens=stream.cached_prompt_tokens,
        retries=retries,
    )


def client_session(**kwargs):
    """An ``aiohttp.ClientSession`` that tells :func:`stream_request` when it reuses a pooled connection.

    Args:
        **kwargs: Passed to ``aiohttp.ClientSession`` (``connector``, ``timeout`` ...).
    """
    import aiohttp

    async def on_reuse(session, context, params) -> None:
        if isinstance(context.trace_request_ctx, _Exchange):
            context.trace_request_ctx.reused_connection = True

    tracing = aiohttp.TraceConfig()
    tracing.on_connection_reuseconn.append(on_reuse)
    return aiohttp.ClientSession(trace_configs=[tracing], **kwargs)


@dataclass
class _Exchange:
    """One HTTP exchange of a request: what arrived, and whether its connection came from the pool."""

    stream: _Stream = field(default_factory=_Stream)
    headers_s: float | None = None
    error: tuple[str, str] | None = None
    reused_connection: bool = False
    lost_before_response: bool = False

    @property
    def stale_connection(self) -> bool:
        """The server had closed this pooled connection: it failed before any byte of the response."""
        return self.reused_connection and self.lost_before_response and not self.stream.chunk_times_s


async def _exchange(session, settings: HttpSettings, request: GenerationRequest) -> _Exchange:
    """Send the request once on ``session`` and read its stream; failures are recorded, not raised."""
    import aiohttp

    exchange = _Exchange()
    stream = exchange.stream
    timeout = aiohttp.ClientTimeout(total=settings.request_timeout_s)
    try:
        async with session.post(
            settings.endpoint(),
            json=settings.body(request),
            headers=settings.headers(),
            timeout=timeout,
            trace_request_ctx=exchange,
        ) as response:
            exchange.headers_s = time.perf_counter()
            if response.status != 200:
                detail = (await response.text())[:300]
                exchange.error = ("http", f"HTTP {response.status}: {detail}")
                return exchange
            buffer = b""
            async for piece in response.content.iter_any():
                arrived = time.perf_counter()
                buffer += piece
                *lines, buffer = buffer.split(b"\n")
                for raw in lines:
                    _apply_line(stream, settings, raw, arrived)
            if buffer.strip():
                _apply_line(stream, settings, buffer, time.perf_counter())
    except (ValueError, UnicodeDecodeError) as exc:  # json.JSONDecodeError is a ValueError
        exchange.error = ("malformed", f"malformed stream data: {exc}")
    except _ServerError as exc:
        exchange.error = ("server", f"the server reported an error: {exc}")
    except asyncio.TimeoutError:
        exchange.error = ("timeout", f"no complete response within request_timeout_s={settings.request_timeout_s:g} s")
    except aiohttp.ClientConnectorError as exc:
        exchange.error = ("connect", f"cannot connect to {settings.url}: {exc.os_error or exc}")
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError, aiohttp.ClientOSError, ConnectionResetError) as exc:
        exchange.lost_before_response = exchange.headers_s is None
        exchange.error = ("disconnected", f"the connection was lost mid-stream: {type(exc).__name__}: {exc}")
    except aiohttp.ClientError as exc:
        exchange.error = ("disconnected", f"{type(exc).__name__}: {exc}")
    return exchange


def _apply_line(stream: _Stream, settings: HttpSettings, raw: bytes, arrived_s: float) -> None:
    """Apply one line of the response body (an SSE line or an NDJSON object)."""
    line = raw.decode("utf-8").strip()
    if not line:
        return
    if settings.is_ollama:
        _ollama_line(stream, line, arrived_s)
    elif line.startswith("data:"):
        _openai_event(stream, line[5:].strip(), arrived_s)
    elif not line.startswith((":", "event:", "id:", "retry:")):
        raise ValueError(f"not server-sent-event data: {line[:80]!r}")


async def stream_request(session, settings: HttpSettings, request: GenerationRequest) -> TokenTrace:
    """Send one streaming request and time it; failures come back as traces with ``error`` set.

    A keep-alive connection from the pool may have been closed by the server
    (llama.cpp's ``llama-server`` closes it after a streamed response): when
    such a reused connection fails before any byte of the response arrives,
    the request is sent once more on a fresh connection and the trace records
    ``retries=1``; ``sent_s`` stays the first send, so the time lost counts.
    Any other failure is returned as it happened.

    Args:
        session: A session from :func:`client_session` (a plain
            ``aiohttp.ClientSession`` works but cannot tell a reused connection).
        settings: Server settings.
        request: What to generate.
    """
    sent_s = time.perf_counter()
    exchange = await _exchange(session, settings, request)
    retries = 0
    if exchange.stale_connection and settings.retry_stale_connections:
        import aiohttp

        retries = 1
        async with client_session(connector=aiohttp.TCPConnector(force_close=True)) as fresh:
            exchange = await _exchange(fresh, settings, request)
    return _finish(request, sent_s, exchange.headers_s, exchange.stream, exchange.error, retries)


def measure_rtt(url: str, samples: int = 10, timeout_s: float = 5.0) -> dict[str, Any]:
    """Network round-trip time to the server: TCP connect (one SYN/SYN-ACK) times, seconds.

    Returns:
        ``{"rtt_s_median", "rtt_s_min", "samples", "method"}``; ``rtt_s_median`` is
        ``None`` when no connection succeeded (``error`` says why).
    """
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    times: list[float] = []
    error = None
    for _ in range(samples):
        started = time.perf_counter()
        try:
            with socket.create_connection((parsed.hostname, port), timeout=timeout_s):
                times.append(time.perf_counter() - started)
        except OSError as exc:
            error = str(exc)
    return {
        "rtt_s_median": statistics.median(times) if times else None,
        "rtt_s_min": min(times) if times else None,
        "samples": len(times),
        "method": "TCP connect time (one round trip)",
        **({"error": error} if not times else {}),
    }


async def _get_json(session, url: str, headers: dict[str, str]) -> Any:
    async with session.get(url, headers=headers) as response:
        if response.status != 200:
            raise RuntimeFailure(f"GET {url} answered HTTP {response.status}.")
        return await response.json(content_type=None)


async def check_server(settings: HttpSettings) -> dict[str, Any]:
    """Ask the server which models it serves and check ``served_model`` is one of them.

    Returns:
        ``{"models": [...], "version": ...}`` as the server reports them.

    Raises:
        ServerGone: nothing answers at the URL.
        ParameterError: the model is not served (the message lists those that are).
    """
    import aiohttp

    headers = settings.headers()
    timeout = aiohttp.ClientTimeout(total=min(settings.request_timeout_s, 15))
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            base = settings.url.rstrip("/")
            if settings.is_ollama:
                tags = await _get_json(session, base + "/api/tags", headers)
                models = [m.get("name") or m.get("model") for m in tags.get("models", [])]
                try:
                    version = (await _get_json(session, base + "/api/version", headers)).get("version")
                except RuntimeFailure:
                    version = None
            else:
                listing = await _get_json(session, base + "/v1/models", headers)
                models = [m.get("id") for m in listing.get("data", [])]
                version = None
                settings_in_force = await _llama_server_props(session, base, headers)
    except aiohttp.ClientConnectorError as exc:
        raise ServerGone(f"No server answers at {settings.url} ({exc.os_error or exc}); start it or fix url.") from None
    except asyncio.TimeoutError:
        raise ServerGone(f"The server at {settings.url} did not answer its model list within 15 s.") from None
    if settings.served_model not in models:
        raise ParameterError(
            f"The server at {settings.url} does not serve model '{settings.served_model}'; it serves: "
            f"{', '.join(map(str, models)) or 'nothing'}. Set served_model to one of them."
        )
    served = {"models": models, "version": version}
    if not settings.is_ollama and settings_in_force:
        served["llama_server"] = settings_in_force
    return served


async def _llama_server_props(session, base: str, headers: dict[str, str]) -> dict[str, Any] | None:
    """The settings a llama.cpp server runs with (``GET /props``), or ``None`` from other servers."""
    try:
        props = await _get_json(session, base + "/props", headers)
    except (RuntimeFailure, ValueError):
        return None
    if not isinstance(props, dict) or "default_generation_settings" not in props:
        return None
    generation = props.get("default_generation_settings") or {}
    return {
        "build_info": props.get("build_info"),
        "total_slots": props.get("total_slots"),
        "context_tokens_per_slot": generation.get("n_ctx"),
        "model_path": props.get("model_path"),
    }


class HttpRuntime:
    """The Runtime protocol over a streaming server, one request at a time.

    Load generation (concurrency, arrival rates) lives in :mod:`benchlib.load`;
    this class serves single requests and the sweep's warm-up.

    Args:
        settings: Server settings.
    """

    name = "http"

    def __init__(self, settings: HttpSettings) -> None:
        settings.validate()
        self.settings = settings
        self.server: dict[str, Any] = {}

    def load(self) -> None:
        """Check that the server answers and serves the model.

        Raises:
            ServerGone: nothing answers.
            ParameterError: the model is not served.
        """
        self.server = run_coroutine(check_server(self.settings))

    def generate(self, request: GenerationRequest) -> TokenTrace:
        """One streaming request (a failure is returned as a trace with ``error`` set)."""

        async def one() -> TokenTrace:
            async with client_session() as session:
                return await stream_request(session, self.settings, request)

        return run_coroutine(one())

    def info(self) -> dict[str, Any]:
        """Server, API and settings (never the API key)."""
        import aiohttp

        return {
            "runtime": self.name,
            "url": self.settings.url,
            "api": self.settings.api,
            "served_model": self.settings.served_model,
            "api_key_env": self.settings.api_key_env or None,
            "fixed_length": self.settings.fixed_length,
            "request_timeout_s": self.settings.request_timeout_s,
            "temperature": self.settings.temperature,
            "server": self.server,
            "aiohttp_version": aiohttp.__version__,
        }

    def close(self) -> None:
        """Nothing to release (sessions are per call)."""
