"""The tools benchlib imports, and ``--tool auto``: which tool wrote a file.

:func:`importers` maps each ``--tool`` name to its :class:`~benchlib.importers.base.Importer`;
:func:`importer_for` returns the one asked for (an unknown name lists the valid
ones) or, for ``auto``, the one whose ``detect`` recognises the file.
"""

from __future__ import annotations

import gzip
from functools import cache
from pathlib import Path

from benchlib.errors import ParameterError
from benchlib.importers import aiperf, guidellm, llama_bench, vllm_bench
from benchlib.importers.base import Importer, ImportFormatError

__all__ = ["AUTO", "importer_for", "importers", "tool_choices"]

AUTO = "auto"


@cache
def importers() -> dict[str, Importer]:
    """``--tool`` name -> importer."""
    return {i.name: i for i in (llama_bench.IMPORTER, vllm_bench.IMPORTER, guidellm.IMPORTER, aiperf.IMPORTER)}


def tool_choices() -> tuple[str, ...]:
    """Valid values of ``--tool``."""
    return (*importers(), AUTO)


DETECT_BYTES = 65536


def importer_for(path: str | Path, tool: str = AUTO) -> Importer:
    """The importer for ``path``: the one named, or for ``auto`` the one that recognises the file.

    Raises:
        ParameterError: An unknown tool name (the message lists the valid ones), or a file that is not there.
        ImportFormatError: ``auto`` and no importer (or more than one) recognises the file.
    """
    path = Path(path)
    if tool != AUTO:
        try:
            return importers()[tool]
        except KeyError:
            raise ParameterError(f"unknown tool {tool!r}; valid: {', '.join(tool_choices())}") from None
    if not path.is_file():
        raise ParameterError(f"{path} is not a file")
    opener = gzip.open if path.suffix == ".gz" else open  # guidellm reports are often kept gzipped
    try:
        with opener(path, "rb") as handle:
            head = handle.read(DETECT_BYTES).decode("utf-8", errors="replace")
    except (OSError, EOFError) as exc:
        raise ImportFormatError(path, AUTO, f"cannot read it: {exc}") from exc
    found = [importer for importer in importers().values() if importer.detect(head)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise ImportFormatError(
            path, AUTO, "no importer recognises it; give --tool "
            + " or ".join(f"{i.name} ({i.formats})" for i in importers().values())
        )  # fmt: skip
    raise ImportFormatError(path, AUTO, f"it looks like output of {', '.join(i.name for i in found)}; say which with --tool")
