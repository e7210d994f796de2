"""The Runtime protocol over a streaming server, one request at a time."""

from __future__ import annotations

from typing import Any

from benchlib.runtimes.base import GenerationRequest, TokenTrace
from benchlib.runtimes.http.settings import HttpSettings
from benchlib.runtimes.http.transport import check_server, client_session, run_coroutine, stream_request

__all__ = ["HttpRuntime"]


class HttpRuntime:
    """The Runtime protocol over a streaming server, one request at a time.

    Load generation (concurrency, arrival rates) lives in :mod:`benchlib.sweep.load_steps`;
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
