"""Convert a GGUF file or a Hugging Face folder to an ONNX Runtime GenAI model folder.

``benchlib convert MODEL --precision int4 --provider cpu`` (or :func:`convert`)
produces the folder that :mod:`benchlib.runtimes.onnx.runtime` loads: ``model.onnx``,
its external weights, ``genai_config.json``, the tokenizer and benchlib's
manifest ``benchlib-onnx.json`` (source sha256, options, tool versions, times).

How, in two steps, each in its own Python process:

1. **GGUF to Hugging Face folder** (GGUF sources only; :mod:`.export`):
   transformers dequantizes the GGUF into float32 safetensors and its
   tokenizer. The folder is cached (``CACHE/hf/``) and shared by every precision.
2. **Model builder**: ``python -m onnxruntime_genai.models.builder -i HF_DIR -o
   OUT -p PRECISION -e PROVIDER``, offline. For a GGUF source benchlib then sets
   the end-of-generation ids in ``genai_config.json`` to llama.cpp's set for the
   same file, so both runtimes stop at, and with ``ignore_eos`` mask, the same
   tokens.

Results are cached under :func:`onnx_cache_dir` (``$BENCHLIB_ONNX_CACHE_DIR``, or
``onnx/`` in :func:`benchlib.models.cache_dir`), in a folder named after the
source, precision and provider plus a hash of the source's sha256, the options
and the onnxruntime-genai version: converting again with the same inputs reuses
it, and a folder converted on another machine can be copied into the cache of a
machine that only runs models (same onnxruntime-genai version). Each
folder is built beside its final name and renamed when complete, under a file
lock, so an interrupted or concurrent conversion never leaves half a model.

The tools (torch, transformers, accelerate, onnx, onnx-ir) are the optional
``convert`` extra, so that a machine that only runs models (a Raspberry Pi)
needs just the ``onnx`` extra: ``pip install -e ".[onnx,convert]"``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from benchlib.errors import ModelError
from benchlib.models import CATALOGUE, ModelInfo, cache_dir, resolve_model, sha256_file
from benchlib.runtimes.onnx.export import export_command, export_error, gguf_eog_ids
from benchlib.runtimes.onnx.manifest import CONVERT_SCHEMA, MANIFEST_NAME, ConvertedModel
from benchlib.runtimes.onnx.options import BUILDER_PROVIDER, DEFAULT_PRECISION, DEFAULT_PROVIDER, check_options
from benchlib.runtimes.onnx.process import locked, log_tail, run_logged, say
from benchlib.runtimes.onnx.tools import (
    CONVERT_INSTALL_HINT,
    check_architecture,
    missing_conversion_tools,
    supported_architectures,
    tool_versions,
)

__all__ = ["DEFAULT_PRECISION", "DEFAULT_PROVIDER", "convert", "hf_folder_for", "hf_folder_sha256", "onnx_cache_dir"]


def onnx_cache_dir() -> Path:
    """Where converted models go: ``$BENCHLIB_ONNX_CACHE_DIR``, else ``onnx/`` in benchlib's cache folder."""
    root = os.environ.get("BENCHLIB_ONNX_CACHE_DIR")
    path = Path(root) if root else cache_dir() / "onnx"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _require_conversion_tools() -> None:
    missing = missing_conversion_tools()
    if missing:
        raise ModelError(
            f"Converting to ONNX needs {', '.join(missing)}, which this environment lacks (the optional "
            f"conversion tools). Install them with: {CONVERT_INSTALL_HINT}. "
            "Or convert on another machine and copy the folder (benchlib convert prints it)."
        )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-").lower() or "model"


def hf_folder_sha256(folder: str | Path) -> str:
    """One sha256 over every file of a folder (relative names and contents, in name order)."""
    folder = Path(folder)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
        digest.update(str(path.relative_to(folder)).encode("utf-8") + b"\0")
        digest.update(sha256_file(path).encode("ascii") + b"\n")
    return digest.hexdigest()


@dataclass(frozen=True)
class _Source:
    kind: str  # "gguf" or "hf"
    path: Path
    name: str
    sha256: str
    architecture: str  # GGUF general.architecture, or the HF architecture


def _resolve_source(source: ModelInfo | str | os.PathLike) -> _Source:
    if isinstance(source, ModelInfo):
        return _Source("gguf", Path(source.path), source.name, source.sha256, source.architecture)
    text = str(source)
    path = Path(text).expanduser()
    if text not in CATALOGUE and path.is_dir():
        architecture = check_architecture(path)
        return _Source("hf", path.resolve(), path.name, hf_folder_sha256(path), architecture)
    info = resolve_model(text)  # a catalogue name or a GGUF file; ModelError otherwise
    return _Source("gguf", Path(info.path), info.name, info.sha256, info.architecture)


def _cache_key(source: _Source, precision: str, provider: str) -> str:
    versions = tool_versions()
    defining = {
        "schema": CONVERT_SCHEMA,
        "source_kind": source.kind,
        "source_sha256": source.sha256,
        "precision": precision,
        "provider": provider,
        "onnxruntime_genai": versions.get("onnxruntime-genai") or versions.get("onnxruntime-genai-cuda"),
    }  # not the conversion tools' versions: a machine without them (a Pi) must find a folder converted elsewhere
    return hashlib.sha256(json.dumps(defining, sort_keys=True).encode("utf-8")).hexdigest()[:10]


def hf_folder_for(
    source: ModelInfo | str | os.PathLike,
    cache_root: str | Path | None = None,
    progress: bool | Callable[[str], None] = True,
) -> Path:
    """The Hugging Face folder a source converts from: the folder itself, or a GGUF's export (cached).

    Args:
        source: A catalogue name, a GGUF path or :class:`~benchlib.models.ModelInfo`, or a Hugging Face folder.
        cache_root: Cache folder (default :func:`onnx_cache_dir`).
        progress: True to print progress, a callable to receive it, False for silence.

    Raises:
        ModelError: missing tools, unreadable source, or a failed export.
    """
    resolved = _resolve_source(source)
    if resolved.kind == "hf":
        return resolved.path
    _require_conversion_tools()
    return _export_hf(resolved, Path(cache_root) if cache_root else onnx_cache_dir(), progress)


def _export_hf(source: _Source, root: Path, progress: bool | Callable[[str], None]) -> Path:
    versions = tool_versions()
    key = hashlib.sha256(f"{source.sha256}-{versions.get('transformers')}".encode()).hexdigest()[:10]
    target = root / "hf" / f"{_slug(source.name.removesuffix('.gguf'))}-{key}"
    if (target / "benchlib-export.json").exists():
        return target
    with locked(root / ".locks" / f"hf-{key}.lock"):
        if (target / "benchlib-export.json").exists():
            return target
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        log_path = partial.parent / f"{partial.name}.log"
        say(progress, f"GGUF -> Hugging Face folder: dequantizing {source.path.name} with transformers ...")
        started = time.perf_counter()
        command = export_command(source.path, partial, source.architecture)
        try:
            code = run_logged(command, log_path)
            if code != 0:
                reason = export_error(log_path)
                if reason:
                    raise ModelError(reason)
                raise ModelError(
                    f"Exporting {source.path} to a Hugging Face folder failed (exit status {code}). "
                    f"Last lines of the log:\n{log_tail(log_path)}"
                )
            report = json.loads((partial / "benchlib-export.json").read_text())
            shutil.rmtree(target, ignore_errors=True)
            os.replace(partial, target)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
            log_path.unlink(missing_ok=True)
        say(progress, f"    {report['architecture']}, {report['parameters'] / 1e6:.0f}M parameters, {time.perf_counter() - started:.1f} s")
    return target


def _builder_progress(progress: bool | Callable[[str], None], layers: int | None) -> Callable[[str], None]:
    """Turn the builder's output into a few progress lines (one per quarter of the layers)."""
    marks = {max(1, round(layers * f)) - 1 for f in (0.25, 0.5, 0.75, 1.0)} if layers else set()

    def on_line(line: str) -> None:
        line = line.strip()
        if line.startswith("Reading layer "):
            index = int(line.split()[-1]) if line.split()[-1].isdigit() else -1
            if index in marks:
                say(progress, f"    layer {index + 1}/{layers}")
        elif line.startswith(("Reading embedding", "Reading LM head", "Saving ONNX model", "Saving GenAI config")):
            say(progress, f"    {line}")

    return on_line


def _converted_folder(source: _Source, precision: str, provider: str, root: Path) -> Path:
    name = _slug(source.name.removesuffix(".gguf"))
    return root / f"{name}-{precision}-{provider}-{_cache_key(source, precision, provider)}"


def convert(
    source: ModelInfo | str | os.PathLike,
    precision: str = DEFAULT_PRECISION,
    provider: str = DEFAULT_PROVIDER,
    *,
    cache_root: str | Path | None = None,
    force: bool = False,
    progress: bool | Callable[[str], None] = True,
) -> ConvertedModel:
    """Convert a model to ONNX Runtime GenAI for one precision and provider, or reuse the cached result.

    Args:
        source: A catalogue name, a GGUF path, a :class:`~benchlib.models.ModelInfo`,
            or a local Hugging Face folder (``config.json`` + weights + tokenizer).
        precision: One of :data:`PRECISIONS` valid for ``provider``.
        provider: One of :data:`PROVIDERS`.
        cache_root: Cache folder (default :func:`onnx_cache_dir`).
        force: Convert again even when a cached folder exists.
        progress: True to print progress lines, a callable to receive them, False for silence.

    Returns:
        The converted folder and its description.

    Raises:
        ParameterError: an unknown or unsupported precision/provider pair.
        ModelError: the conversion tools are missing, the source cannot be read,
            its architecture is not supported, or the builder failed (with the
            end of its log).
    """
    check_options(precision, provider)
    resolved = _resolve_source(source)  # HF folders: architecture checked here
    root = Path(cache_root) if cache_root else onnx_cache_dir()
    target = _converted_folder(resolved, precision, provider, root)
    if not force and (target / MANIFEST_NAME).exists():
        return ConvertedModel.from_folder(target, reused=True)
    _require_conversion_tools()
    with locked(root / ".locks" / f"{target.name}.lock"):
        if not force and (target / MANIFEST_NAME).exists():
            return ConvertedModel.from_folder(target, reused=True)
        started = time.perf_counter()
        say(progress, f"converting {resolved.name} ({resolved.kind}) to ONNX {precision} for {provider} -> {target}")
        hf_dir = _export_hf(resolved, root, progress) if resolved.kind == "gguf" else resolved.path
        export_s = time.perf_counter() - started
        architecture = check_architecture(hf_dir)
        hf_config = json.loads((hf_dir / "config.json").read_text())
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        log_path = partial / "convert.log"
        builder_cache = root / ".builder-cache" / f"{target.name}.{os.getpid()}"
        command = [
            sys.executable, "-m", "onnxruntime_genai.models.builder", "-i", str(hf_dir), "-o", str(partial),
            "-p", precision, "-e", BUILDER_PROVIDER[provider], "-c", str(builder_cache),
        ]  # fmt: skip
        say(progress, f"model builder: {architecture}, {precision}, {BUILDER_PROVIDER[provider]} ...")
        try:
            build_started = time.perf_counter()
            code = run_logged(command, log_path, _builder_progress(progress, hf_config.get("num_hidden_layers")))
            if code != 0:
                tail = log_tail(log_path)
                if "is not currently supported" in tail:
                    raise ModelError(
                        f"The ONNX Runtime GenAI model builder does not support {architecture} ({hf_dir}); supported "
                        f"architectures: {', '.join(supported_architectures())}."
                    )
                raise ModelError(
                    f"The ONNX Runtime GenAI model builder failed converting {resolved.path} to {precision} for "
                    f"{provider} (exit status {code}). Last lines of its log:\n{tail}"
                )
            build_s = time.perf_counter() - build_started
            eos_ids = _set_eos_ids(partial, resolved)
            manifest = {
                "schema": CONVERT_SCHEMA,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "source": {
                    "kind": resolved.kind, "path": str(resolved.path), "name": resolved.name,
                    "sha256": resolved.sha256, "architecture": resolved.architecture,
                },
                "hf_architecture": architecture,
                "model_type": hf_config.get("model_type"),
                "precision": precision,
                "provider": provider,
                "builder_provider": BUILDER_PROVIDER[provider],
                "builder_command": "python -m onnxruntime_genai.models.builder -i HF_DIR -o OUT "
                f"-p {precision} -e {BUILDER_PROVIDER[provider]}",
                "tool_versions": tool_versions(),
                "export_s": round(export_s, 3) if resolved.kind == "gguf" else None,
                "build_s": round(build_s, 3),
                "convert_s": round(time.perf_counter() - started, 3),
                "eos_token_ids": eos_ids,
                "files": {p.name: p.stat().st_size for p in sorted(partial.iterdir()) if p.is_file()},
            }  # fmt: skip
            manifest["size_bytes"] = sum(manifest["files"].values())
            (partial / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n")
            shutil.rmtree(target, ignore_errors=True)
            os.replace(partial, target)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
            shutil.rmtree(builder_cache, ignore_errors=True)
        converted = ConvertedModel.from_folder(target, reused=False)
        say(progress, f"done in {converted.convert_s:.1f} s: {converted.size_bytes / 1e6:.0f} MB in {target}")
        return converted


def _set_eos_ids(folder: Path, source: _Source) -> list[int]:
    """For a GGUF source, make genai_config.json's end-of-generation ids llama.cpp's; return the ids in force."""
    config_path = folder / "genai_config.json"
    config = json.loads(config_path.read_text())
    current = config["model"].get("eos_token_id")
    current_ids = [current] if isinstance(current, int) else list(current or [])
    if source.kind != "gguf":
        return current_ids
    ids = current_ids + [t for t in gguf_eog_ids(source.path) if t not in current_ids]
    config["model"]["eos_token_id"] = ids if len(ids) > 1 else ids[0]
    config_path.write_text(json.dumps(config, indent=4) + "\n")
    return ids
