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

__all__ = ["ServerProcess", "free_port", "llama_server", "native_llama_server", "replay_server"]


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerProcess:
    """A server started as a subprocess, ready when ``ready_path`` answers.

    Args:
        command: The command line.
        port: Its port.
        ready_path: A GET path that answers 200 once the server is up.
        log: File for its output.
    """

    def __init__(self, command: list[str], port: int, ready_path: str, log: Path, env: dict | None = None) -> None:
        self.command, self.port, self.ready_path, self.log = command, port, ready_path, log
        self.env = env
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 90.0) -> "ServerProcess":
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


def llama_server(model_path: str, port: int, log: Path) -> ServerProcess:
    """llama-cpp-python's OpenAI-compatible server for ``model_path`` as model ``smollm2``.

    ``--interrupt_requests False`` makes it queue concurrent requests instead of
    cutting off the one in progress (its default).
    """
    command = [
        sys.executable, "-m", "llama_cpp.server", "--model", model_path, "--model_alias", "smollm2",
        "--host", "127.0.0.1", "--port", str(port), "--n_threads", "2", "--n_ctx", "2048",
        "--interrupt_requests", "False",
    ]  # fmt: skip
    return ServerProcess(command, port, "/v1/models", log)


def native_llama_server(
    model_path: str, port: int, log: Path, threads: int = 2, parallel: int = 4, context_tokens: int = 4096,
    extra: list[str] | None = None, alias: str = "smollm2",
) -> ServerProcess:
    """llama.cpp's own ``llama-server`` (from ``make native``) for ``model_path`` as model ``alias``.

    Started as a user runs it on a Pi: ``-t THREADS -c CONTEXT -np PARALLEL`` (4 slots,
    so up to 4 requests decode together), default flash attention and prompt cache.

    Raises:
        NativeToolMissing: ``make native`` has not built it.
    """
    command = [
        str(find_native_tool("llama-server")), "-m", str(model_path), "--alias", alias,
        "--host", "127.0.0.1", "--port", str(port), "-t", str(threads), "-c", str(context_tokens),
        "-np", str(parallel), *(extra or []),
    ]  # fmt: skip
    return ServerProcess(command, port, "/health", log)


def replay_server(port: int, log: Path, interval_ms: float = 5.0, slow_s: float = 5.0, api_key_env: str = "", env=None) -> ServerProcess:
    """benchlib's replay server (documented OpenAI and Ollama stream formats)."""
    command = [
        sys.executable, "-m", "benchlib.testing.replay_server", "--port", str(port),
        "--interval-ms", str(interval_ms), "--slow-s", str(slow_s), "--api-key-env", api_key_env,
    ]  # fmt: skip
    return ServerProcess(command, port, "/api/version", log, env=env)
