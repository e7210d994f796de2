"""Moved to :mod:`benchlib.testing.local_servers`; this name stays importable for tests/test_compat_pins.py.

tests/test_compat_pins.py pins run ids and run.json keys across the refactor
and must pass unchanged, and it imports this module by its old name. New code
imports :mod:`benchlib.testing.local_servers`.
"""

from benchlib.testing.local_servers import ServerProcess, free_port, llama_server, native_llama_server, replay_server

__all__ = ["ServerProcess", "free_port", "llama_server", "native_llama_server", "replay_server"]
