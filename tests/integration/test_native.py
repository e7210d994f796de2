"""llama.cpp's own tools from `make native`: where they are, what doctor says, and what is said when they are missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from benchlib.native import (
    BASE_CMAKE_OPTIONS,
    NativeToolMissing,
    find_native_tool,
    llama_cpp_python_version,
    native_dir,
    native_status,
)

pytestmark = [pytest.mark.model]


def test_make_native_built_both_tools_from_the_pinned_llama_cpp_python(root):
    pinned = next(line for line in (root / "pyproject.toml").read_text().splitlines() if "llama-cpp-python" in line)
    assert llama_cpp_python_version() in pinned
    for name in ("llama-server", "llama-bench"):
        path = find_native_tool(name)
        assert f"llama-cpp-python-{llama_cpp_python_version()}" in str(path)
        version = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=30)
        assert "version" in (version.stdout + version.stderr)
    record = json.loads((native_dir() / "build.json").read_text())
    assert record["cmake_options"][: len(BASE_CMAKE_OPTIONS)] == list(BASE_CMAKE_OPTIONS)
    assert "-DGGML_NATIVE=ON" in record["cmake_options"] and "-DCMAKE_BUILD_TYPE=Release" in record["cmake_options"]


def test_a_missing_build_says_how_to_make_it(tmp_path, monkeypatch):
    monkeypatch.setenv("BENCHLIB_NATIVE_DIR", str(tmp_path / "nothing-here"))
    with pytest.raises(NativeToolMissing, match="make native"):
        find_native_tool("llama-server")
    with pytest.raises(NativeToolMissing) as error:
        find_native_tool("llama-cli")
    assert "llama-server" in str(error.value) and "llama-bench" in str(error.value)
    assert [path for _, path, _ in native_status()] == [None, None]


def test_doctor_lists_the_native_tools(tmp_path):
    shown = subprocess.run([sys.executable, "-m", "benchlib.cli", "doctor"], capture_output=True, text=True, check=True)
    assert "llama.cpp's own tools" in shown.stdout
    assert "ok llama-server" in shown.stdout and "ok llama-bench" in shown.stdout
    missing = subprocess.run(
        [sys.executable, "-m", "benchlib.cli", "doctor"], capture_output=True, text=True, check=True,
        env={**os.environ, "BENCHLIB_NATIVE_DIR": str(tmp_path)},
    )  # fmt: skip
    assert "-- llama-server" in missing.stdout and "make native" in missing.stdout
