"""Fixtures shared by the integration tests: real servers on loopback."""

import pytest

from benchlib.models import resolve_model
from benchlib.testing.local_servers import reserve_port, llama_server, replay_server


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    """llama-cpp-python's OpenAI-compatible server serving the embedded SmolLM2 (one per test module)."""
    server = llama_server(resolve_model("smollm2-135m-q4_1").path, reserve_port(), tmp_path_factory.mktemp("llama") / "server.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    """The replay server (benchlib.testing.replay_server) on loopback, its default pace (one per test module)."""
    server = replay_server(reserve_port(), tmp_path_factory.mktemp("replay") / "server.log")
    server.start()
    yield server
    server.stop()
