"""Locations inside the benchlib checkout."""

from __future__ import annotations

from pathlib import Path

__all__ = ["repo_root"]


def repo_root() -> Path:
    """The benchlib checkout: the folder that holds ``benchlib/``, ``notebooks/``, ``params/`` and ``data/``.

    Returns:
        The absolute path of the checkout root.
    """
    return Path(__file__).resolve().parents[1]
