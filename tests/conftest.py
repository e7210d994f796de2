"""Shared fixtures: paths of the checkout and a tiny sweep that runs in seconds."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep the GGUF metadata cache of one test session away from the user's."""
    if "BENCHLIB_CACHE_DIR" not in __import__("os").environ:
        monkeypatch.setenv("BENCHLIB_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "benchlib-cache"))


@pytest.fixture
def root() -> Path:
    """The benchlib checkout."""
    return ROOT
