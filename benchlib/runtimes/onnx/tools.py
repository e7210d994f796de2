"""The optional conversion tools: which are installed, their versions, the architectures the builder converts."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
from functools import lru_cache
from pathlib import Path

from benchlib.errors import ModelError

__all__ = [
    "CONVERSION_TOOLS",
    "CONVERT_INSTALL_HINT",
    "builder_source",
    "check_architecture",
    "genai_version",
    "missing_conversion_tools",
    "supported_architectures",
    "tool_versions",
]

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


def missing_conversion_tools() -> list[str]:
    """Requirements of the ``convert`` extra (and the builder) that are not importable here."""
    return [dist for name, dist in CONVERSION_TOOLS.items() if importlib.util.find_spec(name) is None]


def builder_source() -> Path:
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
    text = builder_source().read_text(encoding="utf-8")
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
            f"ONNX Runtime GenAI model builder (onnxruntime-genai {genai_version()}), so it cannot be converted to "
            f"ONNX. Supported architectures: {', '.join(supported)}. Run this model with runtime: llama.cpp instead."
        )
    return architecture


def genai_version() -> str:
    for name in ("onnxruntime-genai", "onnxruntime-genai-cuda"):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return "not installed"


def tool_versions() -> dict[str, str]:
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
