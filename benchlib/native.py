"""llama.cpp's own tools (``llama-server``, ``llama-bench``), built from the vendored llama.cpp
of the exact llama-cpp-python version benchlib pins.

benchlib's in-process runtime is llama.cpp through llama-cpp-python; users on a
Raspberry Pi or a GPU host mostly run llama.cpp's C++ server and measure with
``llama-bench``. To compare like with like, ``make native`` (``benchlib native
build``) fetches the llama-cpp-python sdist of the installed version with pip,
configures the llama.cpp inside it with the options the binding's own build
uses (Release, ``GGML_NATIVE`` on, no curl, ``CMAKE_ARGS`` from the environment
as for the binding) and builds the two tools, once. The build lives outside
the checkout, in ``~/.cache/benchlib/native/llama-cpp-python-VERSION``
(``BENCHLIB_NATIVE_DIR`` overrides it), so every clone on the machine reuses it;
the programs are in its ``build/bin``.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, replace
from importlib import metadata
from pathlib import Path

from benchlib.errors import BenchlibError

__all__ = [
    "NATIVE_TOOLS",
    "NativeBuild",
    "NativeToolMissing",
    "build_native",
    "find_native_tool",
    "llama_cpp_python_version",
    "native_dir",
    "native_status",
]

NATIVE_TOOLS = ("llama-server", "llama-bench")
"""The llama.cpp programs ``make native`` builds."""

BASE_CMAKE_OPTIONS = (
    "-DCMAKE_BUILD_TYPE=Release",
    "-DGGML_NATIVE=ON",
    "-DLLAMA_CURL=OFF",
    "-DLLAMA_OPENSSL=OFF",
    "-DBUILD_SHARED_LIBS=ON",
    "-DLLAMA_BUILD_TESTS=OFF",
    "-DLLAMA_BUILD_EXAMPLES=OFF",
    "-DLLAMA_BUILD_TOOLS=ON",
    "-DLLAMA_BUILD_SERVER=ON",
    "-DLLAMA_BUILD_UI=OFF",
    "-DLLAMA_USE_PREBUILT_UI=OFF",
)
"""Options of the native build. Those that shape the compiled code are llama-cpp-python's
(Release, native CPU instructions, shared libraries as the binding loads them —
position-independent code, as in llama.cpp's default build — and no curl); the
rest only leave out what needs a network or is not needed (tests, examples, the
web UI download). The tools run from the build tree, next to their libraries."""


class NativeToolMissing(BenchlibError):
    """A llama.cpp tool was asked for but ``make native`` has not built it."""


def llama_cpp_python_version() -> str:
    """The installed llama-cpp-python version (the one pyproject.toml pins).

    Raises:
        NativeToolMissing: llama-cpp-python is not installed (run ``make setup``).
    """
    try:
        return metadata.version("llama-cpp-python")
    except metadata.PackageNotFoundError:
        raise NativeToolMissing("llama-cpp-python is not installed; run `make setup` first.") from None


def native_dir(version: str | None = None) -> Path:
    """Folder of the native build for a llama-cpp-python version (``build/bin/`` holds the tools)."""
    override = os.environ.get("BENCHLIB_NATIVE_DIR")
    if override:
        return Path(override).expanduser()
    version = version or llama_cpp_python_version()
    return Path("~/.cache/benchlib/native").expanduser() / f"llama-cpp-python-{version}"


@dataclass(frozen=True)
class NativeBuild:
    """What ``build.json`` records about a native build.

    Attributes:
        directory: The build folder.
        llama_cpp_python_version: Version whose vendored llama.cpp was built.
        cmake_options: Every option passed to cmake.
        tools: Tool name -> path of the binary.
        built_at_unix_s: When the build finished.
        build_s: How long it took, seconds.
        reused: True when :func:`build_native` found this build and built nothing.
    """

    directory: Path
    llama_cpp_python_version: str
    cmake_options: tuple[str, ...]
    tools: dict[str, str]
    built_at_unix_s: float
    build_s: float
    reused: bool = False

    def to_dict(self) -> dict:
        return {
            "llama_cpp_python_version": self.llama_cpp_python_version,
            "cmake_options": list(self.cmake_options),
            "tools": self.tools,
            "built_at_unix_s": self.built_at_unix_s,
            "build_s": self.build_s,
        }


def _cmake_options() -> tuple[str, ...]:
    """The base options plus ``CMAKE_ARGS`` from the environment, as llama-cpp-python's build takes them."""
    return BASE_CMAKE_OPTIONS + tuple(shlex.split(os.environ.get("CMAKE_ARGS", "")))


def _read_build(directory: Path) -> NativeBuild | None:
    try:
        record = json.loads((directory / "build.json").read_text())
    except (OSError, ValueError):
        return None
    return NativeBuild(
        directory=directory,
        llama_cpp_python_version=record["llama_cpp_python_version"],
        cmake_options=tuple(record["cmake_options"]),
        tools=dict(record["tools"]),
        built_at_unix_s=float(record["built_at_unix_s"]),
        build_s=float(record["build_s"]),
    )


def _run(command: list[str], log) -> None:
    log.write(f"$ {shlex.join(command)}\n")
    log.flush()
    result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise BenchlibError(f"`{shlex.join(command)}` failed with exit status {result.returncode}; see {log.name}.")


def build_native(jobs: int | None = None, force: bool = False) -> NativeBuild:
    """Build ``llama-server`` and ``llama-bench`` once (a second call returns the existing build).

    Args:
        jobs: Parallel compile jobs (default: the CPU count).
        force: Rebuild even when a build with the same version and options exists.

    Returns:
        The build's record.

    Raises:
        BenchlibError: pip, cmake or the compiler failed (the message names the log file).
    """
    version = llama_cpp_python_version()
    directory = native_dir(version)
    options = _cmake_options()
    existing = _read_build(directory)
    if (
        not force
        and existing is not None
        and existing.llama_cpp_python_version == version
        and existing.cmake_options == options
        and all(Path(p).exists() for p in existing.tools.values())
    ):
        return replace(existing, reused=True)
    if shutil.which("cmake") is None:
        raise BenchlibError("cmake is not installed; install it (Debian: apt-get install cmake) and run make native again.")
    directory.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log_path = directory / "build.log"
    with open(log_path, "w", encoding="utf-8") as log:
        source = directory / "src"
        if not (source / "vendor" / "llama.cpp" / "CMakeLists.txt").exists():
            with tempfile.TemporaryDirectory() as download:
                _run(
                    [sys.executable, "-m", "pip", "download", "--no-binary", ":all:", "--no-deps",
                     "--quiet", "-d", download, f"llama-cpp-python=={version}"],
                    log,
                )  # fmt: skip
                archives = list(Path(download).glob("*.tar.gz"))
                if not archives:
                    raise BenchlibError(f"pip downloaded no sdist of llama-cpp-python {version}; see {log_path}.")
                shutil.rmtree(source, ignore_errors=True)
                unpacked = directory / "src.partial"
                shutil.rmtree(unpacked, ignore_errors=True)
                with tarfile.open(archives[0]) as archive:
                    archive.extractall(unpacked, filter="data")
                (top,) = list(unpacked.iterdir())
                top.rename(source)
                shutil.rmtree(unpacked)
        llama_cpp_source = source / "vendor" / "llama.cpp"
        build = directory / "build"
        _run(["cmake", "-S", str(llama_cpp_source), "-B", str(build), *options], log)
        _run(
            ["cmake", "--build", str(build), "--config", "Release", "-j", str(jobs or os.cpu_count() or 1),
             "--target", *NATIVE_TOOLS],
            log,
        )  # fmt: skip
    tools: dict[str, str] = {}
    for name in NATIVE_TOOLS:
        built = build / "bin" / name
        if not built.exists():
            raise BenchlibError(f"The build produced no {built}; see {log_path}.")
        tools[name] = str(built)
    record = NativeBuild(directory, version, options, tools, time.time(), time.monotonic() - started)
    (directory / "build.json").write_text(json.dumps(record.to_dict(), indent=2) + "\n")
    return record


def find_native_tool(name: str) -> Path:
    """Path of a tool ``make native`` built.

    Args:
        name: One of :data:`NATIVE_TOOLS`.

    Raises:
        NativeToolMissing: an unknown name (the message lists the valid ones),
            or the tool has not been built (the message says how to build it).
    """
    if name not in NATIVE_TOOLS:
        raise NativeToolMissing(f"Unknown native tool '{name}'; valid: {', '.join(NATIVE_TOOLS)}.")
    build = _read_build(native_dir())
    path = Path(build.tools[name]) if build is not None and name in build.tools else None
    if path is None or not path.exists():
        raise NativeToolMissing(
            f"{name} is not built; run `make native` (builds llama.cpp's tools from the llama-cpp-python "
            f"{llama_cpp_python_version()} sdist into {native_dir()}, about 9 minutes on 2 cores, once)."
        )
    return path


def native_status() -> list[tuple[str, Path | None, str]]:
    """For each native tool: its name, its path (``None`` when missing) and a one-line note."""
    statuses: list[tuple[str, Path | None, str]] = []
    for name in NATIVE_TOOLS:
        try:
            path = find_native_tool(name)
        except NativeToolMissing as exc:
            statuses.append((name, None, str(exc)))
            continue
        statuses.append((name, path, f"llama.cpp of llama-cpp-python {llama_cpp_python_version()}"))
    return statuses
