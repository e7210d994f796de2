"""Unit tests import their shared fakes (``fakes.py``) from this folder, whichever subfolder they are in;
every test's figures are closed after it."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _close_figures():
    """Close the figures a test drew (plot_* functions return them open), so hundreds do not pile up."""
    yield
    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")
