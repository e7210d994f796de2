"""Model geometries and quantizations from ``data/reference/models.yaml``, each figure with its source.

A geometry is what the performance model needs of a model: its parameter
count (and how much of it is the token-embedding table), layers, attention
heads, KV heads and head dimension. A quantization is its average bits per
weight. Together they give the bytes a decode step reads
(:meth:`ModelGeometry.weight_bytes_read_per_token`) and the KV cache per token.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from benchlib.errors import BenchlibError
from benchlib.hardware.geometry import kv_cache_bytes_per_token
from benchlib.hardware.reference import SourcedValue
from benchlib.paths import reference_dir
from benchlib.reference_files import load_yaml_model

__all__ = [
    "MODELS_YAML_NAME",
    "ModelEntry",
    "ModelFileError",
    "ModelGeometry",
    "ModelsReference",
    "QuantizationEntry",
    "load_models",
    "models_yaml",
]

MODELS_YAML_NAME = "models.yaml"


class ModelFileError(BenchlibError):
    """``models.yaml`` is missing, not YAML, or invalid; or a model or quantization is unknown."""


class ModelEntry(BaseModel):
    """One model's published configuration (Hugging Face ``config.json`` names in comments).

    Attributes:
        name: Its name.
        family: Architecture family (``llama``, ``qwen2``, ``gemma3`` ...).
        parameters: Total parameters.
        embedding_parameters: Parameters of the token-embedding table (vocab x hidden).
        tied_embeddings: 1 when the output matrix is the embedding table, else 0.
        block_count: Layers (``num_hidden_layers``).
        hidden_size: ``hidden_size``.
        intermediate_size: ``intermediate_size``.
        head_count: ``num_attention_heads``.
        head_count_kv: ``num_key_value_heads``.
        head_dim: ``head_dim`` (or hidden / heads).
        vocab_size: ``vocab_size``.
        context_length: ``max_position_embeddings``.
        note: Anything a reader must know.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    family: str
    parameters: SourcedValue
    embedding_parameters: SourcedValue
    tied_embeddings: SourcedValue
    block_count: SourcedValue
    hidden_size: SourcedValue
    intermediate_size: SourcedValue | None = None
    head_count: SourcedValue
    head_count_kv: SourcedValue
    head_dim: SourcedValue
    vocab_size: SourcedValue
    context_length: SourcedValue | None = None
    note: str | None = None


class QuantizationEntry(BaseModel):
    """Average bits per weight of a quantization, over the whole model file.

    Attributes:
        bits_per_weight: The average.
        note: How it is stored.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    bits_per_weight: SourcedValue
    note: str | None = None


class ModelsReference(BaseModel):
    """The whole of ``models.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int
    models: dict[str, ModelEntry]
    quantizations: dict[str, QuantizationEntry]

    def geometry(self, model_id: str, quantization: str, *, kv_element_bytes: float = 2.0,
                 weight_bytes: float | None = None) -> "ModelGeometry":  # fmt: skip
        """The geometry of ``model_id`` at ``quantization``.

        Args:
            model_id: A key of ``models``.
            quantization: A key of ``quantizations``.
            kv_element_bytes: Bytes per cached K/V element (f16: 2).
            weight_bytes: The model file's size when known (replaces parameters x bits / 8).

        Raises:
            ModelFileError: an unknown model or quantization (the valid ones are listed).
        """
        if model_id not in self.models:
            raise ModelFileError(f"unknown model '{model_id}'; models.yaml has: {', '.join(sorted(self.models))}")
        if quantization not in self.quantizations:
            raise ModelFileError(
                f"unknown quantization '{quantization}'; models.yaml has: {', '.join(sorted(self.quantizations))}"
            )
        entry = self.models[model_id]
        bits = self.quantizations[quantization].bits_per_weight.number
        return ModelGeometry(
            name=f"{model_id} {quantization}",
            parameters=entry.parameters.number,
            embedding_parameters=entry.embedding_parameters.number,
            tied_embeddings=bool(entry.tied_embeddings.number),
            block_count=int(entry.block_count.number),
            head_count=int(entry.head_count.number),
            head_count_kv=int(entry.head_count_kv.number),
            head_dim=int(entry.head_dim.number),
            bits_per_weight=bits,
            kv_element_bytes=kv_element_bytes,
            file_bytes=weight_bytes,
        )


@dataclass(frozen=True)
class ModelGeometry:
    """What one decode step of a model reads and computes.

    Attributes:
        name: ``MODEL QUANTIZATION``.
        parameters: Total parameters.
        embedding_parameters: Parameters of the token-embedding table.
        tied_embeddings: The output matrix is the embedding table (read whole every step).
        block_count: Layers.
        head_count: Attention heads.
        head_count_kv: KV heads.
        head_dim: Head dimension.
        bits_per_weight: Average bits per stored weight.
        kv_element_bytes: Bytes per cached K/V element.
        file_bytes: The model file's size when known (else parameters x bits / 8).
        read_bytes: Bytes read per decode step when known (a GGUF's own count), else derived.
    """

    name: str
    parameters: float
    embedding_parameters: float
    tied_embeddings: bool
    block_count: int
    head_count: int
    head_count_kv: int
    head_dim: int
    bits_per_weight: float
    kv_element_bytes: float = 2.0
    file_bytes: float | None = None
    read_bytes: float | None = None

    @property
    def weight_bytes(self) -> float:
        """Bytes of the stored weights."""
        return self.file_bytes if self.file_bytes is not None else self.parameters * self.bits_per_weight / 8

    @property
    def weight_bytes_read_per_token(self) -> float:
        """Bytes a decode step reads: every weight, less the embedding table when the output matrix is separate."""
        if self.read_bytes is not None:
            return self.read_bytes
        if self.tied_embeddings:
            return self.weight_bytes
        return self.weight_bytes * (1.0 - self.embedding_parameters / self.parameters)

    @property
    def matmul_parameters(self) -> float:
        """Parameters multiplied per token (the embedding lookup is free unless it is also the output matrix)."""
        return self.parameters if self.tied_embeddings else self.parameters - self.embedding_parameters

    @property
    def kv_bytes_per_token(self) -> float:
        """KV-cache bytes per cached token."""
        return kv_cache_bytes_per_token(self.block_count, self.head_count_kv, self.head_dim,
                                        element_bytes=self.kv_element_bytes)  # fmt: skip

    def attention_flops_per_token(self, context_tokens: float) -> float:
        """Attention FLOPs of one new token against ``context_tokens`` cached ones (QK^T and AV, 2 FLOPs per MAC)."""
        return 4.0 * self.block_count * self.head_count * self.head_dim * context_tokens

    def to_dict(self) -> dict[str, Any]:
        """The inputs a prediction states as its basis."""
        return {
            "name": self.name, "parameters": self.parameters, "weight_bytes": self.weight_bytes,
            "weight_bytes_read_per_token": self.weight_bytes_read_per_token,
            "kv_bytes_per_token": self.kv_bytes_per_token, "bits_per_weight": self.bits_per_weight,
        }  # fmt: skip


def models_yaml() -> Path:
    """Path of the checkout's ``data/reference/models.yaml``."""
    return reference_dir() / MODELS_YAML_NAME


def load_models(path: str | Path | None = None) -> ModelsReference:
    """Read and validate ``models.yaml``.

    Raises:
        ModelFileError: missing, not YAML, or a field is invalid (every invalid field is named).
    """
    path = Path(path) if path is not None else models_yaml()
    return load_yaml_model(path, ModelsReference, ModelFileError, "the model geometries")
