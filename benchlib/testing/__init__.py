"""Servers for tests and benchmarks, started on free loopback ports; not part of a sweep.

* :mod:`benchlib.testing.local_servers`: start llama.cpp's ``llama-server``,
  llama-cpp-python's OpenAI server or the replay server as a subprocess
  (:class:`~benchlib.testing.local_servers.ServerProcess`);
* :mod:`benchlib.testing.replay_server`: a server that streams the OpenAI and
  Ollama formats at a known token interval
  (``python -m benchlib.testing.replay_server --port 8123``).

Import from the modules: this package re-exports nothing, so that the name
``replay_server`` (a module here, a function in ``local_servers``) means one thing.
"""

__all__: list[str] = []
