"""Local servers on free loopback ports, for tests and benchmarks: llama.cpp's own ``llama-server``
(built by ``make native``), llama-cpp-python's OpenAI server, and the replay server."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from benchlib.native import find_native_tool
from benchlib.runtimes.local_settings import default_threads

__all__ = [
    "ReservedPort", "ServerProcess", "llama_server", "native_llama_server", "port_number", "replay_server", "reserve_port",
]


class ReservedPort:
    """A loopback TCP port held for a server that is about to start: no other ``bind(0)`` can be handed it.

    The port comes from the OS (``bind(("127.0.0.1", 0))``) and stays bound, not listening, with
    ``SO_REUSEADDR``, so a server that binds with ``SO_REUSEADDR`` (llama-server, Prometheus, node_exporter,
    aiohttp, Python's ``http.server`` and prometheus-client all do) can still listen on it. Release it once
    the server listens. This replaces bind-release-reuse, where two test workers could be handed the same
    port between the release and the server's bind.

    Use it as a context manager, or hand it to :class:`ServerProcess`, which releases it when the server is up.
    """

    def __init__(self) -> None:
        self._socket: socket.socket | None = socket.socket()
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]

    @property
    def held(self) -> bool:
        """Whether the port is still held (not yet released)."""
        return self._socket is not None

    def release(self) -> None:
        """Stop holding the port (idempotent)."""
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> "ReservedPort":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()


def port_number(port: int | ReservedPort) -> int:
    """The number of ``port``, reserved or not."""
    return port.port if isinstance(port, ReservedPort) else port


def reserve_port() -> ReservedPort:
    """A loopback port held until released: see :class:`ReservedPort`."""
    return ReservedPort()


class ServerProcess:
    """A server started as a subprocess, ready when ``ready_path`` answers.

    Args:
        command: The command line.
        port: Its port; a :class:`ReservedPort` is held until the server answers (or fails to start).
        ready_path: A GET path that answers 200 once the server is up.
        log: File for its output.
    """

    def __init__(
        self, command: list[str], port: int | ReservedPort, ready_path: str, log: Path, env: dict | None = None
    ) -> None:
        self.command, self.ready_path, self.log = command, ready_path, log
        self._reservation = port if isinstance(port, ReservedPort) else None
        self.port = port_number(port)
        self.env = env
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> "ServerProcess":
        try:
            return self._start(timeout_s)
        finally:
            if self._reservation is not None:
                self._reservation.release()

    def _start(self, timeout_s: float) -> "ServerProcess":
        handle = open(self.log, "ab")
        self.process = subprocess.Popen(self.command, stdout=handle, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url + self.ready_path, timeout=2):
                    return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"server not ready after {timeout_s} s: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def llama_server(model_path: str, port: int | ReservedPort, log: Path) -> ServerProcess:
    """llama-cpp-python's OpenAI-compatible server for ``model_path`` as model ``smollm2``.

    ``--interrupt_requests False`` makes it queue concurrent requests instead of
    cutting off the one in progress (its default).
    """
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", model_path, "--model_alias", "smollm2",
        "--host", "127.0.0.1", "--port", str(port_number(port)), "--n_threads", str(default_threads()), "--n_ctx", "2048",
        "--interrupt_requests", "False",
    ]  # fmt: skip
    return ServerProcess(command, port, "/v1/models", log)


def native_llama_server(
    model_path: str, port: int | ReservedPort, log: Path, threads: int = 0, parallel: int = 4, context_tokens: int = 4096,
    extra: list[str] | None = None, alias: str = "smollm2",
) -> ServerProcess:
    """llama.cpp's own ``llama-server`` (from ``make native``) for ``model_path`` as model ``alias``.

    Started as a user runs it on a Pi: ``-t THREADS -c CONTEXT -np PARALLEL`` (THREADS 0: one per allowed core; 4 slots,
    so up to 4 requests decode together), default flash attention and prompt cache.

    Raises:
        NativeToolMissing: ``make native`` has not built it.
    """
    command = [
        str(find_native_tool("llama-server")), "-m", str(model_path), "--alias", alias,
        "--host", "127.0.0.1", "--port", str(port_number(port)), "-t", str(threads or default_threads()), "-c", str(context_tokens),
        "-np", str(parallel), *(extra or []),
    ]  # fmt: skip
    return ServerProcess(command, port, "/health", log)


def replay_server(port: int | ReservedPort, log: Path, interval_ms: float = 5.0, slow_s: float = 5.0, api_key_env: str = "", env=None) -> ServerProcess:
    """benchlib's replay server (documented OpenAI and Ollama stream formats)."""
    command = [
        sys.executable, "-m", "benchlib.testing.replay_server", "--port", str(port_number(port)),
        "--interval-ms", str(interval_ms), "--slow-s", str(slow_s), "--api-key-env", api_key_env,
    ]  # fmt: skip
    return ServerProcess(command, port, "/api/version", log, env=env)
