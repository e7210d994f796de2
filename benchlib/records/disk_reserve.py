"""Room kept free in a run directory for its last writes, so a full disk cannot leave ``run.json`` saying ``running``.

A sweep on a filling disk fails at whichever write comes first; the write
that records *why* it stopped then fails as well. While a sweep runs its run
directory holds a file of :data:`RESERVE_BYTES` (``.disk-reserve``); when the
sweep ends, however it ends, the file is deleted before its status is
settled, so that write has room.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

__all__ = ["RESERVE_BYTES", "RESERVE_FILE", "disk_reserve"]

RESERVE_FILE = ".disk-reserve"
RESERVE_BYTES = 64 * 1024
"""Enough for ``run.json`` (5 to 15 kB for the sweeps shipped) written atomically beside its old copy."""


@contextlib.contextmanager
def disk_reserve(folder: Path, size_bytes: int = RESERVE_BYTES) -> Iterator[int]:
    """Hold up to ``size_bytes`` in ``folder`` while the block runs; free them when it ends, however it ends.

    On a disk with less than twice ``size_bytes`` free, half of what is free is
    held: the sweep then stops earlier, with room left to say why.

    Args:
        folder: The run directory (created when missing).
        size_bytes: How much to hold at most.

    Yields:
        How many bytes are held (0 when not even that could be written).
    """
    reserve = Path(folder) / RESERVE_FILE
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        size_bytes = min(size_bytes, shutil.disk_usage(folder).free // 2)
        with open(reserve, "wb") as handle:
            handle.write(b"\0" * size_bytes)  # written, not sparse: the blocks are really taken
        held = size_bytes
    except OSError:
        reserve.unlink(missing_ok=True)
        held = 0
    try:
        yield held
    finally:
        reserve.unlink(missing_ok=True)
