"""Streaming HTTP transport: one timed streaming request, connection reuse, the server check.

Cloud GPUs are benchmarked the way they are used: a client streams requests
to a server (vLLM, TGI, Triton's OpenAI front end, llama.cpp's server) and the
AI HAT+ 2's ``hailo-ollama`` serves the Ollama API. One request here is one
streaming HTTP call, timed at four points on ``time.perf_counter``: sent,
response headers received (connection + queueing), each chunk of tokens, end.
What the body carries and how the stream reads is the API dialect's
(:mod:`benchlib.runtimes.http.apis`); this module is the same for all of them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from benchlib.errors import ParameterError, RuntimeFailure
from benchlib.secrets import redact
from benchlib.runtimes.base import GenerationRequest, TokenTrace
from benchlib.runtimes.http.settings import HttpSettings
from benchlib.runtimes.http.stream import ServerError, StreamState

__all__ = [
    "ERROR_KINDS",
    "ServerGone",
    "check_server",
    "client_session",
    "measure_rtt",
    "run_coroutine",
    "stream_request",
]

MODEL_LIST_TIMEOUT_S = 15.0
"""The longest the model-list probe waits (less when ``request_timeout_s`` is shorter)."""

ERROR_KINDS = ("connect", "timeout", "http", "malformed", "truncated", "disconnected", "server")
"""How a request can fail: refused or unreachable, past its timeout, an HTTP
error status, unparseable stream data, a stream that ended without its end
marker, a connection lost mid-stream, an error reported inside the stream."""


def run_coroutine(coroutine):
    """Run a coroutine to completion from synchronous code, also inside Jupyter.

    A notebook kernel already runs an event loop, where ``asyncio.run`` is
    refused; there the coroutine runs on a loop of its own in a worker thread.
    Exceptions propagate to the caller. A ``KeyboardInterrupt`` of the caller
    (Ctrl-C, the kernel's interrupt) cancels the coroutine — requests in flight
    are abandoned — before it propagates.
    """
    import threading

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)  # asyncio.run cancels the coroutine on Ctrl-C itself
    loop = asyncio.new_event_loop()
    task = loop.create_task(coroutine)
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = loop.run_until_complete(task)
        except BaseException as exc:  # handed to the calling thread
            outcome["error"] = exc
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    worker = threading.Thread(target=target, name="benchlib-http")
    worker.start()
    try:
        while worker.is_alive():
            worker.join(timeout=0.1)
    except KeyboardInterrupt:
        loop.call_soon_threadsafe(task.cancel)
        worker.join(timeout=CANCEL_GRACE_S)
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


CANCEL_GRACE_S = 5.0
"""Longest an interrupted coroutine may take to cancel its requests, seconds."""


class ServerGone(RuntimeFailure):
    """The server stopped answering (refused or dropped several requests in a row)."""


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

    stream: StreamState = field(default_factory=StreamState)
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
    except ServerError as exc:
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


def _apply_line(stream: StreamState, settings: HttpSettings, raw: bytes, arrived_s: float) -> None:
    """Apply one line of the response body (an SSE line or an NDJSON object) through the API's dialect."""
    line = raw.decode("utf-8").strip()
    if line:
        settings.dialect.apply_line(stream, line, arrived_s)


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
    error = exchange.error
    if error is not None:  # no stored error text carries a key or a URL's password, whatever the server echoed
        error = (error[0], redact(error[1], settings.secret_values()))
    return exchange.stream.to_trace(request, sent_s, exchange.headers_s, error, retries)


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
        text = await response.text()
    try:
        return json.loads(text)
    except ValueError:
        raise MalformedListing(f"GET {url} answered HTTP 200 with something that is not JSON: "
                               f"{' '.join(text.split())[:80]!r}") from None


class MalformedListing(ValueError):
    """A server's model list (or other probe) that is not the JSON it should be."""


def _listed_models(payload: Any, entries_key: str, id_keys: tuple[str, ...], url: str) -> list[Any]:
    """The model ids of a model list (``{"data": [{"id": ...}]}``, Ollama's ``{"models": [{"name": ...}]}``)."""
    entries = payload.get(entries_key) if isinstance(payload, dict) else None
    if not isinstance(entries, list) or not all(isinstance(entry, dict) for entry in entries):
        shown = " ".join(json.dumps(payload)[:80].split())
        raise MalformedListing(f"GET {url} answered JSON without a list of models under '{entries_key}': {shown!r}")
    return [next((entry.get(key) for key in id_keys if entry.get(key)), None) for entry in entries]


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
    limit_s = min(settings.request_timeout_s, MODEL_LIST_TIMEOUT_S)
    timeout = aiohttp.ClientTimeout(total=limit_s)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            base = settings.url.rstrip("/")
            if settings.is_ollama:
                tags = await _get_json(session, base + "/api/tags", headers)
                models = _listed_models(tags, "models", ("name", "model"), base + "/api/tags")
                try:
                    answer = await _get_json(session, base + "/api/version", headers)
                    version = answer.get("version") if isinstance(answer, dict) else None
                except (RuntimeFailure, MalformedListing):
                    version = None
            else:
                listing = await _get_json(session, base + "/v1/models", headers)
                models = _listed_models(listing, "data", ("id",), base + "/v1/models")
                version = None
                settings_in_force = await _llama_server_props(session, base, headers)
    except aiohttp.ClientConnectorError as exc:
        raise ServerGone(f"No server answers at {settings.url} ({exc.os_error or exc}); start it or fix url.") from None
    except asyncio.TimeoutError:
        raise ServerGone(f"The server at {settings.url} did not answer its model list within {limit_s:g} s "
                         "(request_timeout_s, at most 15 s for this probe).") from None
    except MalformedListing as exc:
        raise ParameterError(f"{exc}. Is url an OpenAI-compatible server (or an Ollama one, with api: ollama-generate or ollama-chat)?") from None
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
