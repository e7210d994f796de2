"""Child processes of a conversion: output to a log and to progress lines, under a file lock."""

from __future__ import annotations

import os
import re
import subprocess
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

__all__ = ["locked", "log_tail", "run_logged", "say", "subprocess_env"]


@contextmanager
def locked(lock_file: Path) -> Iterator[None]:
    """An exclusive lock (another process converting the same model waits here)."""
    import fcntl

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def say(progress: bool | Callable[[str], None], message: str) -> None:
    """Hand a progress line on: print it (``progress`` True), pass it to a callable, or drop it (False)."""
    if progress is True:
        print(f"[benchlib convert] {message}", flush=True)
    elif callable(progress):
        progress(message)


def subprocess_env() -> dict[str, str]:
    """Environment of a conversion child: offline Hugging Face, no telemetry, unbuffered output."""
    env = dict(os.environ)
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "PYTHONUNBUFFERED": "1"})
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def run_logged(command: list[str], log_path: Path, on_line: Callable[[str], None] | None = None) -> int:
    """Run ``command``, appending its output to ``log_path`` and handing each line to ``on_line``."""
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=subprocess_env())
        pending = b""
        try:
            while chunk := process.stdout.read1(65536):
                log.write(chunk)
                pending += chunk
                *lines, pending = re.split(rb"[\r\n]", pending)
                if on_line is not None:
                    for line in lines:
                        on_line(line.decode("utf-8", errors="replace"))
        except BaseException:
            process.kill()
            raise
        finally:
            process.stdout.close()
        return process.wait()


_NOISE = re.compile(r"it/s\]|s/it\]|^Saving |matmul_nbits_quantizer|^\s*$|Loading weights|de-quantizing")


def log_tail(log_path: Path, lines: int = 15) -> str:
    """The last ``lines`` lines of a log without progress-bar noise (empty when unreadable)."""
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line for line in re.split(r"[\r\n]", text) if not _NOISE.search(line)]
    return "\n".join(kept[-lines:])
