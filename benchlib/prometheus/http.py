"""GET requests to exporters and Prometheus servers (aiohttp), from any thread, also inside Jupyter.

A :class:`PrometheusHttp` owns one event loop on a background thread and one
aiohttp session on it, so a power sampler reading an exporter ten times a
second reuses its connection, and a notebook (whose thread already runs a
loop) can call it too. Credentials never reach a record: :func:`redact_url`
removes them from URLs, and a bearer token is read from an environment
variable named in the options, not from the options themselves.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from benchlib.errors import ParameterError
from benchlib.power.errors import PowerReadError

__all__ = ["HttpAnswer", "PrometheusHttp", "auth_headers", "redact_url"]


@dataclass(frozen=True)
class HttpAnswer:
    """One answered GET.

    Attributes:
        text: The body.
        sent_unix_s: When the request left, Unix seconds.
        received_unix_s: When the whole body had arrived, Unix seconds.
        date: The ``Date`` header, if any.
    """

    text: str
    sent_unix_s: float
    received_unix_s: float
    date: str | None


def redact_url(url: str) -> str:
    """``url`` without any user name or password in it."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def auth_headers(bearer_token_env: str | None) -> dict[str, str]:
    """An ``Authorization`` header from the environment variable ``bearer_token_env`` (none when ``None``).

    Raises:
        ParameterError: The variable is not set.
    """
    if bearer_token_env is None:
        return {}
    token = os.environ.get(bearer_token_env)
    if not token:
        raise ParameterError(f"power_options.bearer_token_env names {bearer_token_env!r}, which is not set in the environment")
    return {"Authorization": f"Bearer {token}"}


class PrometheusHttp:
    """A GET client on its own event loop thread.

    Args:
        timeout_s: Whole-request timeout, seconds.
        headers: Headers sent with every request (e.g. :func:`auth_headers`).
    """

    def __init__(self, timeout_s: float = 5.0, headers: Mapping[str, str] | None = None) -> None:
        self.timeout_s = timeout_s
        self._headers = dict(headers or {})
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="benchlib-prometheus-http", daemon=True)
        self._thread.start()
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def _get(self, url: str, params: Mapping[str, Any] | None) -> HttpAnswer:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout_s), headers=self._headers
            )
        sent = time.time()
        async with self._session.get(url, params=dict(params or {})) as response:
            text = await response.text()
            received = time.time()
            if response.status != 200:
                raise PowerReadError(f"{redact_url(url)} answered HTTP {response.status}: {text.strip()[:300]}")
            return HttpAnswer(text, sent, received, response.headers.get("Date"))

    def get(self, url: str, params: Mapping[str, Any] | None = None) -> HttpAnswer:
        """GET ``url`` with query ``params``.

        Raises:
            PowerReadError: Not reachable, timed out, or an HTTP error status (the message names the URL).
        """
        if self._closed:
            raise PowerReadError("this Prometheus client is closed")
        future = asyncio.run_coroutine_threadsafe(self._get(url, params), self._loop)
        try:
            return future.result(timeout=self.timeout_s + 1.0)
        except PowerReadError:
            raise
        except (aiohttp.ClientError, OSError) as exc:
            raise PowerReadError(f"cannot reach {redact_url(url)}: {type(exc).__name__}: {exc}") from exc
        except (asyncio.TimeoutError, TimeoutError) as exc:
            future.cancel()
            raise PowerReadError(f"{redact_url(url)} did not answer within {self.timeout_s:g} s") from exc

    def close(self) -> None:
        """Close the session and stop the loop; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._session is not None:
            asyncio.run_coroutine_threadsafe(self._session.close(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()
