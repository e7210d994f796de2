"""Ctrl-C while papermill runs a notebook: interrupt the kernel's cell first, kill the kernel on a second Ctrl-C.

papermill starts the kernel in a session of its own, so the terminal's
Ctrl-C reaches only the ``benchlib`` process. While a notebook runs, benchlib
handles SIGINT itself (also when it was started with SIGINT ignored, as a
background job of a script is): the first one is passed to the kernel, where
it raises ``KeyboardInterrupt`` in the running cell, exactly as JupyterLab's
interrupt button does; the sweep then records its run as ``interrupted`` and
the notebook ends. A second one kills the kernel and exits at once: every
completed request is already on disk, and the run, whose process is gone,
reads as ``interrupted (process gone)``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["EXIT_INTERRUPTED", "interrupt_kernels", "kernel_processes", "forward_ctrl_c"]

EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT), as shells report it."""


def kernel_processes():
    """The Jupyter kernels this process started (``ipykernel_launcher`` children)."""
    import psutil

    kernels = []
    for child in psutil.Process().children(recursive=True):
        try:
            if any("ipykernel" in part for part in child.cmdline()):
                kernels.append(child)
        except psutil.Error:  # gone meanwhile
            continue
    return kernels


def interrupt_kernels(sig: int = signal.SIGINT) -> int:
    """Send ``sig`` to every kernel this process started; return how many got it."""
    import psutil

    sent = 0
    for kernel in kernel_processes():
        try:
            kernel.send_signal(sig)
            sent += 1
        except psutil.Error:
            continue
    return sent


@contextmanager
def forward_ctrl_c(resume_hint: str) -> Iterator[threading.Event]:
    """While the block runs, the first Ctrl-C interrupts the kernel and the second exits at once.

    Args:
        resume_hint: What to tell the user about resuming (printed on each Ctrl-C).

    Yields:
        An event that is set once Ctrl-C was pressed.
    """
    pressed = threading.Event()
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield pressed
        return

    def on_sigint(signum: int, frame) -> None:
        if pressed.is_set():
            interrupt_kernels(signal.SIGKILL)
            print(f"\nStopped at once. {resume_hint}", file=sys.stderr, flush=True)
            os._exit(EXIT_INTERRUPTED)
        pressed.set()
        print(
            f"\nInterrupting the sweep (Ctrl-C again to stop at once). {resume_hint}", file=sys.stderr, flush=True
        )
        interrupt_kernels()

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield pressed
    finally:
        signal.signal(signal.SIGINT, previous)
