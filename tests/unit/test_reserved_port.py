"""Ports for test servers: held from the OS's ``bind(0)`` until the server listens, so parallel workers never race."""

import socket
import sys

import pytest

from benchlib.testing.local_servers import ServerProcess, reserve_port


def _plain_bind(port: int) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))


def test_a_reserved_port_is_refused_to_a_plain_bind_until_released():
    reserved = reserve_port()
    assert reserved.held
    with pytest.raises(OSError):
        _plain_bind(reserved.port)
    reserved.release()
    reserved.release()  # idempotent
    _plain_bind(reserved.port)


def test_the_os_never_hands_a_reserved_port_to_another_bind_zero():
    with reserve_port() as reserved:
        handed = set()
        for _ in range(500):
            with socket.socket() as other:
                other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                other.bind(("127.0.0.1", 0))
                handed.add(other.getsockname()[1])
    assert reserved.port not in handed


def test_a_server_binding_with_reuseaddr_listens_on_a_reserved_port():
    with reserve_port() as reserved, socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", reserved.port))
        server.listen()
        with socket.create_connection(("127.0.0.1", reserved.port), timeout=5):
            pass


@pytest.mark.server
def test_a_server_process_takes_the_reserved_port_and_releases_it_once_up(tmp_path):
    reserved = reserve_port()
    command = [sys.executable, "-m", "http.server", str(reserved.port), "--bind", "127.0.0.1", "--directory", str(tmp_path)]
    server = ServerProcess(command, reserved, "/", tmp_path / "server.log").start(timeout_s=60)
    try:
        assert server.port == reserved.port
        assert not reserved.held  # released: only the server holds the port now
    finally:
        server.stop()
