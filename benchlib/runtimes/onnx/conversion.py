"""Convert a GGUF file or a Hugging Face folder to an ONNX Runtime GenAI model folder.

``benchlib convert MODEL --precision int4 --provider cpu`` (or :func:`convert`)
produces the folder that :mod:`benchlib.runtimes.onnx` loads: ``model.onnx``,
its external weights, ``genai_config.json``, the tokenizer and benchlib's
manifest ``benchlib-onnx.json`` (source sha256, options, tool versions, times).

How, in two steps, each in its own Python process:

1. **GGUF to Hugging Face folder** (GGUF sources only). onnxruntime-genai's
   model builder reads float GGUF files only, not quantized ones (Q4_1,
   Q4_K_M ...). transformers loads and dequantizes the GGUF, but refuses to save
   a model loaded from GGUF, so benchlib copies the dequantized weights into a
   fresh model built from the same configuration and saves that (float32
   safetensors), together with the tokenizer read from the GGUF. The folder is
   cached (``CACHE/hf/``) and shared by every precision.
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

import copy
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from benchlib.errors import ModelError, ParameterError
from benchlib.models import CATALOGUE, ModelInfo, cache_dir, resolve_model, sha256_file

__all__ = [
    "CONVERT_INSTALL_HINT",
    "DEFAULT_PRECISION",
    "DEFAULT_PROVIDER",
    "MANIFEST_NAME",
    "PRECISIONS",
    "PROVIDERS",
    "VALID_COMBINATIONS",
    "ConvertedModel",
    "check_architecture",
    "check_options",
    "convert",
    "export_gguf_to_hf",
    "hf_folder_for",
    "load_manifest",
    "missing_conversion_tools",
    "onnx_cache_dir",
    "supported_architectures",
]

PRECISIONS = ("int4", "int8", "fp16", "bf16", "fp32")
"""Weight precisions of a converted model (``-p`` of the model builder)."""

PROVIDERS = ("cpu", "cuda", "tensorrt")
"""Execution providers benchlib converts for and runs on; ``tensorrt`` is
onnxruntime-genai's TensorRT path, NVIDIA's TensorRT-RTX execution provider."""

BUILDER_PROVIDER = {"cpu": "cpu", "cuda": "cuda", "tensorrt": "NvTensorRtRtx"}
"""benchlib's provider name -> the model builder's ``-e`` value (and onnxruntime-genai's provider name)."""

VALID_COMBINATIONS: dict[str, tuple[str, ...]] = {
    "cpu": ("int4", "int8", "fp32"),
    "cuda": ("int4", "int8", "fp16", "bf16", "fp32"),
    "tensorrt": ("fp16", "bf16"),
}
"""Precisions each provider supports (the model builder's own table; fp16 on the
CPU provider builds but does not run)."""

DEFAULT_PRECISION = "int4"
DEFAULT_PROVIDER = "cpu"
MANIFEST_NAME = "benchlib-onnx.json"
CONVERT_SCHEMA = 1
CONVERT_INSTALL_HINT = (
    'pip install -e ".[onnx,convert]"   (CPU machines; on GPU machines: conda env create -f environment-gpu.yml, '
    "or pip install -e \".[convert]\" onnxruntime-genai-cuda==0.18.0 'onnxruntime-gpu[cuda,cudnn]==1.31.1')"
)

# import name -> distribution that provides it, for the error message.
CONVERSION_TOOLS = {
    "torch": "torch==2.13.0",
    "transformers": "transformers",
    "accelerate": "accelerate",
    "onnx": "onnx",
    "onnx_ir": "onnx-ir",
    "gguf": "gguf",
    "onnxruntime_genai": "onnxruntime-genai (or onnxruntime-genai-cuda)",
}

_EXPORT_ERROR_PREFIX = "BENCHLIB_EXPORT_ERROR: "


def check_options(precision: str, provider: str) -> None:
    """Check a precision and provider pair.

    Raises:
        ParameterError: unknown name, or a pair the model builder cannot make run
            (the message lists the valid choices).
    """
    if provider not in PROVIDERS:
        raise ParameterError(f"Unknown ONNX execution provider '{provider}'; valid providers: {', '.join(PROVIDERS)}.")
    if precision not in PRECISIONS:
        raise ParameterError(f"Unknown ONNX precision '{precision}'; valid precisions: {', '.join(PRECISIONS)}.")
    if precision not in VALID_COMBINATIONS[provider]:
        others = [p for p, precisions in VALID_COMBINATIONS.items() if precision in precisions]
        raise ParameterError(
            f"Precision {precision} cannot run on the {provider} execution provider; on {provider} choose "
            f"{', '.join(VALID_COMBINATIONS[provider])}" + (f" (or use {precision} on {', '.join(others)})." if others else ".")
        )


def onnx_cache_dir() -> Path:
    """Where converted models go: ``$BENCHLIB_ONNX_CACHE_DIR``, else ``onnx/`` in benchlib's cache folder."""
    root = os.environ.get("BENCHLIB_ONNX_CACHE_DIR")
    path = Path(root) if root else cache_dir() / "onnx"
    path.mkdir(parents=True, exist_ok=True)
    return path


def missing_conversion_tools() -> list[str]:
    """Requirements of the ``convert`` extra (and the builder) that are not importable here."""
    return [dist for name, dist in CONVERSION_TOOLS.items() if importlib.util.find_spec(name) is None]


def _require_conversion_tools() -> None:
    missing = missing_conversion_tools()
    if missing:
        raise ModelError(
            f"Converting to ONNX needs {', '.join(missing)}, which this environment lacks (the optional "
            f"conversion tools). Install them with: {CONVERT_INSTALL_HINT}. "
            "Or convert on another machine and copy the folder (benchlib convert prints it)."
        )


def _builder_source() -> Path:
    spec = importlib.util.find_spec("onnxruntime_genai")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"onnxruntime-genai is not installed. Install it with: {CONVERT_INSTALL_HINT}")
    return Path(spec.submodule_search_locations[0]) / "models" / "builder.py"


@lru_cache(maxsize=1)
def supported_architectures() -> tuple[str, ...]:
    """Hugging Face architectures (``config.json`` ``architectures[0]``) the installed model builder converts.

    Read from the builder's own dispatch (``config.architectures[0] == "..."``),
    so the list follows the installed onnxruntime-genai version.
    """
    text = _builder_source().read_text(encoding="utf-8")
    return tuple(sorted(set(re.findall(r'config\.architectures\[0\]\s*==\s*"([^"]+)"', text))))


def check_architecture(hf_dir: str | Path) -> str:
    """The architecture of a Hugging Face folder, checked against the model builder.

    Args:
        hf_dir: Folder holding ``config.json``.

    Returns:
        The architecture name (``LlamaForCausalLM`` ...).

    Raises:
        ModelError: no readable ``config.json``, or an architecture the builder
            does not support (the message lists those it does).
    """
    config_file = Path(hf_dir) / "config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{hf_dir} is not a Hugging Face model folder: it has no config.json.") from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{config_file} cannot be read as JSON: {exc}") from exc
    architectures = config.get("architectures") or []
    model_type = config.get("model_type", "unknown")
    supported = supported_architectures()
    if not architectures:
        raise ModelError(
            f"{config_file} names no architectures (model_type '{model_type}'); the ONNX Runtime GenAI model "
            f"builder needs one of: {', '.join(supported)}."
        )
    architecture = str(architectures[0])
    if architecture not in supported:
        raise ModelError(
            f"Architecture {architecture} (model_type '{model_type}', from {config_file}) is not supported by the "
            f"ONNX Runtime GenAI model builder (onnxruntime-genai {_genai_version()}), so it cannot be converted to "
            f"ONNX. Supported architectures: {', '.join(supported)}. Run this model with runtime: llama.cpp instead."
        )
    return architecture


def _genai_version() -> str:
    for name in ("onnxruntime-genai", "onnxruntime-genai-cuda"):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "not installed"


def _tool_versions() -> dict[str, str]:
    versions = {}
    for name in (
        "onnxruntime-genai", "onnxruntime-genai-cuda", "onnxruntime", "onnxruntime-gpu",
        "transformers", "torch", "onnx", "onnx-ir", "accelerate", "gguf",
    ):  # fmt: skip
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


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
    versions = _tool_versions()
    defining = {
        "schema": CONVERT_SCHEMA,
        "source_kind": source.kind,
        "source_sha256": source.sha256,
        "precision": precision,
        "provider": provider,
        "onnxruntime_genai": versions.get("onnxruntime-genai") or versions.get("onnxruntime-genai-cuda"),
    }  # not the conversion tools' versions: a machine without them (a Pi) must find a folder converted elsewhere
    return hashlib.sha256(json.dumps(defining, sort_keys=True).encode("utf-8")).hexdigest()[:10]


@dataclass(frozen=True)
class ConvertedModel:
    """A converted ONNX Runtime GenAI model folder.

    Attributes:
        path: The folder (``genai_config.json``, ``model.onnx`` ...).
        precision: Weight precision (``int4``, ``fp32`` ...).
        provider: Execution provider it was built for (``cpu``, ``cuda``, ``tensorrt``).
        source_kind: ``gguf`` or ``hf``.
        source_path: The GGUF file or Hugging Face folder it came from.
        source_sha256: sha256 of the GGUF file (or of the folder's files).
        source_name: Catalogue name or file/folder name of the source.
        architecture: Hugging Face architecture (``LlamaForCausalLM`` ...).
        size_bytes: Total size of the folder, bytes.
        reused: True when an earlier conversion was found in the cache.
        convert_s: Wall time of the conversion that made the folder, seconds.
        manifest: The folder's ``benchlib-onnx.json``.
    """

    path: str
    precision: str
    provider: str
    source_kind: str
    source_path: str
    source_sha256: str
    source_name: str
    architecture: str
    size_bytes: int
    reused: bool
    convert_s: float | None
    manifest: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """Plain dictionary (for ``run.json``), without the full manifest."""
        values = asdict(self)
        values.pop("manifest")
        values["tool_versions"] = self.manifest.get("tool_versions", {})
        return values

    @classmethod
    def from_folder(cls, folder: str | Path, reused: bool = True) -> "ConvertedModel":
        """Describe a converted folder from its manifest.

        Raises:
            ModelError: the folder has no benchlib manifest.
        """
        manifest = load_manifest(folder)
        source = manifest["source"]
        return cls(
            path=str(Path(folder).resolve()),
            precision=manifest["precision"],
            provider=manifest["provider"],
            source_kind=source["kind"],
            source_path=source["path"],
            source_sha256=source["sha256"],
            source_name=source["name"],
            architecture=manifest["hf_architecture"],
            size_bytes=int(manifest["size_bytes"]),
            reused=reused,
            convert_s=manifest.get("convert_s"),
            manifest=manifest,
        )


def load_manifest(folder: str | Path) -> dict[str, Any]:
    """The ``benchlib-onnx.json`` of a converted folder.

    Raises:
        ModelError: missing or unreadable manifest.
    """
    path = Path(folder) / MANIFEST_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(
            f"{folder} is not a folder made by benchlib convert (no {MANIFEST_NAME}). Convert the model with "
            "benchlib convert MODEL, or give the GGUF file as the model."
        ) from None
    except (OSError, ValueError) as exc:
        raise ModelError(f"{path} cannot be read: {exc}") from exc


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


@contextmanager
def _locked(lock_file: Path) -> Iterator[None]:
    """An exclusive lock (another process converting the same model waits here)."""
    import fcntl

    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _say(progress: bool | Callable[[str], None], message: str) -> None:
    if progress is True:
        print(f"[benchlib convert] {message}", flush=True)
    elif callable(progress):
        progress(message)


def _subprocess_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "PYTHONUNBUFFERED": "1"})
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    return env


def _run_logged(command: list[str], log_path: Path, on_line: Callable[[str], None] | None = None) -> int:
    """Run ``command``, appending its output to ``log_path`` and handing each line to ``on_line``."""
    with open(log_path, "ab") as log:
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=_subprocess_env())
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


def _log_tail(log_path: Path, lines: int = 15) -> str:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    kept = [line for line in re.split(r"[\r\n]", text) if not _NOISE.search(line)]
    return "\n".join(kept[-lines:])


def _export_error(log_path: Path) -> str | None:
    try:
        text = log_path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    found = [line[len(_EXPORT_ERROR_PREFIX):] for line in text.splitlines() if line.startswith(_EXPORT_ERROR_PREFIX)]
    return found[-1] if found else None


def export_gguf_to_hf(gguf_path: str | Path, out_dir: str | Path, architecture: str | None = None) -> dict[str, Any]:
    """Dequantize a GGUF file into a Hugging Face folder (float32 safetensors + tokenizer).

    transformers loads the GGUF (``gguf_file=``) but will not save a model loaded
    that way; the weights are copied into a fresh model made from the same
    configuration (without the GGUF ``quantization_config``), which saves normally.
    Runs in a child process when called through :func:`convert`. transformers
    parses the GGUF file once per call (several seconds for a large vocabulary),
    so it is asked three times only: configuration, weights, tokenizer.

    Args:
        gguf_path: The GGUF file.
        out_dir: The folder to write (created).
        architecture: GGUF ``general.architecture`` when already known (else read here).

    Returns:
        ``architecture``, ``model_type``, ``parameters`` and ``export_s``.

    Raises:
        ModelError: a GGUF architecture transformers cannot read.
    """
    started = time.perf_counter()
    gguf_path = Path(gguf_path)
    if architecture is None:
        from benchlib.models import inspect_gguf

        architecture = inspect_gguf(gguf_path)["architecture"]
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    if architecture not in GGUF_SUPPORTED_ARCHITECTURES and architecture.replace("-", "") not in GGUF_SUPPORTED_ARCHITECTURES:
        raise ModelError(
            f"GGUF architecture '{architecture}' of {gguf_path} cannot be read by transformers "
            f"(which benchlib uses to dequantize GGUF files before the ONNX model builder); it reads: "
            f"{', '.join(sorted(GGUF_SUPPORTED_ARCHITECTURES))}. Convert from the model's Hugging Face folder "
            "instead (benchlib convert PATH/TO/HF_FOLDER), or run it with runtime: llama.cpp."
        )
    folder, name = str(gguf_path.parent), gguf_path.name
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, config=config, dtype=torch.float32)
    clean = copy.deepcopy(loaded.config)
    if hasattr(clean, "quantization_config"):
        del clean.quantization_config
    fresh = AutoModelForCausalLM.from_config(clean, dtype=torch.float32)
    fresh.load_state_dict(loaded.state_dict(), strict=True)
    fresh.generation_config = loaded.generation_config
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    fresh.save_pretrained(out_dir)
    AutoTokenizer.from_pretrained(folder, gguf_file=name).save_pretrained(out_dir)
    return {
        "architecture": (fresh.config.architectures or [type(fresh).__name__])[0],
        "model_type": fresh.config.model_type,
        "parameters": int(sum(p.numel() for p in fresh.parameters())),
        "export_s": time.perf_counter() - started,
    }


def _gguf_eog_ids(gguf_path: Path) -> list[int]:
    """llama.cpp's end-of-generation token ids of a GGUF file (its vocabulary only: no weights, no context)."""
    import llama_cpp
    from llama_cpp._utils import suppress_stdout_stderr

    llama_cpp.llama_backend_init()
    params = llama_cpp.llama_model_default_params()
    params.vocab_only = True
    with suppress_stdout_stderr(disable=False):
        model = llama_cpp.llama_model_load_from_file(str(gguf_path).encode("utf-8"), params)
    if not model:
        raise ModelError(f"llama.cpp could not read the vocabulary of {gguf_path}.")
    try:
        vocab = llama_cpp.llama_model_get_vocab(model)
        return [t for t in range(llama_cpp.llama_vocab_n_tokens(vocab)) if llama_cpp.llama_vocab_is_eog(vocab, t)]
    finally:
        llama_cpp.llama_model_free(model)


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
    versions = _tool_versions()
    key = hashlib.sha256(f"{source.sha256}-{versions.get('transformers')}".encode()).hexdigest()[:10]
    target = root / "hf" / f"{_slug(source.name.removesuffix('.gguf'))}-{key}"
    if (target / "benchlib-export.json").exists():
        return target
    with _locked(root / ".locks" / f"hf-{key}.lock"):
        if (target / "benchlib-export.json").exists():
            return target
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        log_path = partial.parent / f"{partial.name}.log"
        _say(progress, f"GGUF -> Hugging Face folder: dequantizing {source.path.name} with transformers ...")
        started = time.perf_counter()
        command = [sys.executable, "-m", "benchlib.convert", "--export-hf", str(source.path), str(partial), source.architecture]
        try:
            code = _run_logged(command, log_path)
            if code != 0:
                reason = _export_error(log_path)
                if reason:
                    raise ModelError(reason)
                raise ModelError(
                    f"Exporting {source.path} to a Hugging Face folder failed (exit status {code}). "
                    f"Last lines of the log:\n{_log_tail(log_path)}"
                )
            report = json.loads((partial / "benchlib-export.json").read_text())
            shutil.rmtree(target, ignore_errors=True)
            os.replace(partial, target)
        finally:
            shutil.rmtree(partial, ignore_errors=True)
            log_path.unlink(missing_ok=True)
        _say(progress, f"    {report['architecture']}, {report['parameters'] / 1e6:.0f}M parameters, {time.perf_counter() - started:.1f} s")
    return target


def _builder_progress(progress: bool | Callable[[str], None], layers: int | None) -> Callable[[str], None]:
    """Turn the builder's output into a few progress lines (one per quarter of the layers)."""
    marks = {max(1, round(layers * f)) - 1 for f in (0.25, 0.5, 0.75, 1.0)} if layers else set()

    def on_line(line: str) -> None:
        line = line.strip()
        if line.startswith("Reading layer "):
            index = int(line.split()[-1]) if line.split()[-1].isdigit() else -1
            if index in marks:
                _say(progress, f"    layer {index + 1}/{layers}")
        elif line.startswith(("Reading embedding", "Reading LM head", "Saving ONNX model", "Saving GenAI config")):
            _say(progress, f"    {line}")

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
    with _locked(root / ".locks" / f"{target.name}.lock"):
        if not force and (target / MANIFEST_NAME).exists():
            return ConvertedModel.from_folder(target, reused=True)
        started = time.perf_counter()
        _say(progress, f"converting {resolved.name} ({resolved.kind}) to ONNX {precision} for {provider} -> {target}")
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
        _say(progress, f"model builder: {architecture}, {precision}, {BUILDER_PROVIDER[provider]} ...")
        try:
            build_started = time.perf_counter()
            code = _run_logged(command, log_path, _builder_progress(progress, hf_config.get("num_hidden_layers")))
            if code != 0:
                tail = _log_tail(log_path)
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
                "tool_versions": _tool_versions(),
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
        _say(progress, f"done in {converted.convert_s:.1f} s: {converted.size_bytes / 1e6:.0f} MB in {target}")
        return converted


def _set_eos_ids(folder: Path, source: _Source) -> list[int]:
    """For a GGUF source, make genai_config.json's end-of-generation ids llama.cpp's; return the ids in force."""
    config_path = folder / "genai_config.json"
    config = json.loads(config_path.read_text())
    current = config["model"].get("eos_token_id")
    current_ids = [current] if isinstance(current, int) else list(current or [])
    if source.kind != "gguf":
        return current_ids
    ids = current_ids + [t for t in _gguf_eog_ids(source.path) if t not in current_ids]
    config["model"]["eos_token_id"] = ids if len(ids) > 1 else ids[0]
    config_path.write_text(json.dumps(config, indent=4) + "\n")
    return ids


def _export_main(gguf_path: str, out_dir: str, architecture: str | None) -> int:
    """Child-process entry of :func:`export_gguf_to_hf`: writes ``benchlib-export.json`` when done."""
    try:
        report = export_gguf_to_hf(gguf_path, out_dir, architecture)
    except ModelError as exc:
        print(f"{_EXPORT_ERROR_PREFIX}{exc}", flush=True)
        return 2
    Path(out_dir, "benchlib-export.json").write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) in (4, 5) and sys.argv[1] == "--export-hf":
        sys.exit(_export_main(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) == 5 else None))
    print("usage: benchlib convert MODEL (this module's own entry is internal: --export-hf GGUF OUT_DIR [ARCH])")
    sys.exit(2)
