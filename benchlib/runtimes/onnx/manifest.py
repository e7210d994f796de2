"""A converted folder's manifest (``benchlib-onnx.json``) and its description, :class:`ConvertedModel`."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from benchlib.errors import ModelError

__all__ = ["CONVERT_SCHEMA", "MANIFEST_NAME", "ConvertedModel", "load_manifest"]

MANIFEST_NAME = "benchlib-onnx.json"
CONVERT_SCHEMA = 1


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
