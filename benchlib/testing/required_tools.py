"""Programs a test needs that the project installs with a make target (Prometheus, Chromium): found, or the test
skips, or fails where an environment variable (CI sets it) says the program must be there."""

from __future__ import annotations

import os
import shutil
from typing import NoReturn, Sequence

__all__ = ["find_program", "skip_or_fail"]


def find_program(names: Sequence[str]) -> str | None:
    """The first of ``names`` found on ``PATH``, or ``None``."""
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def skip_or_fail(message: str, require_env: str) -> NoReturn:
    """Skip the test with ``message``; fail it instead when ``require_env`` is ``1`` (CI: the tool must be there)."""
    import pytest

    if os.environ.get(require_env) == "1":
        pytest.fail(f"{message}; {require_env}=1 says it must be")
    pytest.skip(message)
