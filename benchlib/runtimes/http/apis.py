"""The API dialects by name: the ``api`` setting -> request path, body builder and stream parser.

A new dialect is one module giving a :class:`~benchlib.runtimes.http.stream.Dialect`
plus one line here.
"""

from __future__ import annotations

from benchlib.runtimes.http.ollama import CHAT as OLLAMA_CHAT
from benchlib.runtimes.http.ollama import GENERATE as OLLAMA_GENERATE
from benchlib.runtimes.http.openai_chat import DIALECT as OPENAI_CHAT
from benchlib.runtimes.http.openai_completions import DIALECT as OPENAI_COMPLETIONS
from benchlib.runtimes.http.stream import Dialect

__all__ = ["APIS", "DIALECTS"]

DIALECTS: dict[str, Dialect] = {
    dialect.name: dialect
    for dialect in (OPENAI_COMPLETIONS, OPENAI_CHAT, OLLAMA_GENERATE, OLLAMA_CHAT)
}
"""API name -> its dialect."""

APIS: dict[str, str] = {name: dialect.path for name, dialect in DIALECTS.items()}
"""API name -> request path."""
