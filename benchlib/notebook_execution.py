"""Execute one notebook with papermill so that its executed copy is whole or absent, never half-written.

papermill writes the executed notebook at the start, after every cell and
at the end. On a full disk one of those writes stops part-way, and writing
over the destination would leave it as truncated JSON. Here papermill writes
a partial file beside the destination (``.NAME.partial.ipynb``), renamed over it
once papermill wrote it whole, or deleted when a write failed; so space
is freed for the run's own records, and an earlier executed copy stays whole.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

__all__ = ["KERNEL_NAME", "NotebookFailed", "NotebookNotWritten", "execute_notebook", "partial_notebook_path"]

KERNEL_NAME = "benchlib"
"""The Jupyter kernel ``make setup`` installs; ``python3`` when it is missing."""


class NotebookFailed(Exception):
    """A notebook raised an error while papermill executed it, or its executed copy could not be written."""


class NotebookNotWritten(NotebookFailed):
    """The executed notebook could not be written (disk full, folder no longer writable); ``os_error`` says why."""

    def __init__(self, message: str, os_error: OSError):
        super().__init__(message)
        self.os_error = os_error


def _kernel_name() -> str:
    from jupyter_client.kernelspec import KernelSpecManager

    return KERNEL_NAME if KERNEL_NAME in KernelSpecManager().find_kernel_specs() else "python3"


def partial_notebook_path(output: Path) -> Path:
    """Where papermill writes the executed copy of ``output`` until it is whole."""
    return output.with_name(f".{output.stem}.partial{output.suffix}")


def execute_notebook(notebook: Path, output: Path, parameters: dict[str, Any], cwd: Path) -> None:
    """Run a notebook with papermill into ``output``: the executed copy is whole, or absent when it could not be written.

    Args:
        notebook: The notebook to execute.
        output: Where its executed copy goes (with outputs and any traceback).
        parameters: Values for its parameters cell.
        cwd: The kernel's working folder.

    Raises:
        NotebookFailed: a cell raised; the message names the cell and the executed copy to open.
        NotebookNotWritten: the executed copy could not be written (the partial file is deleted).
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    partial = partial_notebook_path(output)
    try:
        papermill.execute_notebook(
            str(notebook),
            str(partial),
            parameters=parameters,
            kernel_name=_kernel_name(),
            cwd=str(cwd),
            progress_bar=False,
        )
    except PapermillExecutionError as exc:  # papermill wrote the notebook, with the traceback, before raising
        os.replace(partial, output)
        raise NotebookFailed(
            f"{notebook.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}\n"
            f"The executed notebook, with the traceback, is at {output}"
        ) from None
    except OSError as exc:  # a write of the executed copy failed part-way
        partial.unlink(missing_ok=True)
        reason = exc.strerror or str(exc)
        raise NotebookNotWritten(
            f"The executed {notebook.name} could not be written to {output.parent}: {reason}; it is not kept "
            f"(an earlier executed copy, if any, is unchanged).",
            exc,
        ) from None
    except BaseException:
        _keep_if_whole(partial, output)
        raise
    os.replace(partial, output)


def _keep_if_whole(partial: Path, output: Path) -> None:
    """After papermill stopped unexpectedly: keep its last save if it is a whole notebook, else delete it."""
    try:
        json.loads(partial.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        partial.unlink(missing_ok=True)
        return
    os.replace(partial, output)
