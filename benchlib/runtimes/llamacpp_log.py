"""llama.cpp's log lines, captured while a block runs (what ``flash_attn: auto`` resolved to is only logged)."""

from __future__ import annotations

import contextlib
import ctypes
from typing import Iterator

__all__ = ["captured_llama_log"]

_log_lines: list[str] | None = None


def _capture_callback(level: int, text: bytes, user_data) -> None:
    if _log_lines is not None:
        _log_lines.append(text.decode("utf-8", errors="replace"))


_capture = None


@contextlib.contextmanager
def captured_llama_log() -> Iterator[list[str]]:
    """Collect llama.cpp's log lines while the block runs, then give logging back to llama-cpp-python."""
    global _log_lines, _capture
    import llama_cpp
    from llama_cpp import _logger

    if _capture is None:
        _capture = llama_cpp.llama_log_callback(_capture_callback)  # kept alive: llama.cpp holds the pointer
    _log_lines = []
    llama_cpp.llama_log_set(_capture, ctypes.c_void_p(0))
    try:
        yield _log_lines
    finally:
        llama_cpp.llama_log_set(_logger.llama_log_callback, ctypes.c_void_p(0))
        _log_lines = None
