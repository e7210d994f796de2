"""What one decode step reads: a model's weight bytes and its KV cache per token.

For a GGUF file the weight bytes are the sum of its tensors' data sizes and the
geometry comes from its metadata (``{arch}.block_count``,
``{arch}.attention.head_count``/``head_count_kv``, ``key_length``/``value_length``
or ``embedding_length / head_count``). For an ONNX folder the weight bytes are
the sizes of its ``.onnx`` and ``.onnx.data`` files.

KV cache per token = K and V (2) x layers x KV heads x head dim x element bytes,
with llama.cpp's default cache type f16 (2 bytes) unless the run says otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_KV_CACHE_TYPE",
    "KV_CACHE_ELEMENT_BYTES",
    "gguf_geometry",
    "kv_cache_bytes_per_token",
    "onnx_weight_bytes",
]

DEFAULT_KV_CACHE_TYPE = "f16"
# Bytes per cached element of llama.cpp's KV cache types (quantized types: block bytes / 32 elements).
KV_CACHE_ELEMENT_BYTES = {"f32": 4.0, "f16": 2.0, "bf16": 2.0, "q8_0": 34 / 32, "q5_1": 24 / 32, "q5_0": 22 / 32,
                          "q4_1": 20 / 32, "q4_0": 18 / 32}  # fmt: skip


def kv_cache_bytes_per_token(block_count: int, head_count_kv: int, head_dim_k: int, head_dim_v: int | None = None,
                             element_bytes: float = 2.0) -> float:  # fmt: skip
    """Bytes of K and V cached per token.

    Args:
        block_count: Transformer layers.
        head_count_kv: Key/value heads per layer.
        head_dim_k: Key head dimension.
        head_dim_v: Value head dimension (``head_dim_k`` when ``None``).
        element_bytes: Bytes per cached element (f16: 2).

    Returns:
        ``layers x kv_heads x (head_dim_k + head_dim_v) x element_bytes``, which
        is ``2 x layers x kv_heads x head_dim x element_bytes`` when K and V match.
    """
    head_dim_v = head_dim_k if head_dim_v is None else head_dim_v
    return float(block_count * head_count_kv * (head_dim_k + head_dim_v) * element_bytes)


def _first(value: Any) -> int | None:
    """A GGUF integer field, or the first of a per-layer array."""
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return int(value[0]) if value else None
    return int(value)


def gguf_geometry(reader: Any, kv_cache_type: str = DEFAULT_KV_CACHE_TYPE) -> dict[str, Any]:
    """Weight bytes and attention geometry of an open GGUF file.

    Args:
        reader: A ``gguf.GGUFReader`` of the file.
        kv_cache_type: The runtime's KV cache type (llama.cpp's default, f16).

    Returns:
        ``weight_bytes`` (sum of tensor data sizes), ``weight_bytes_read_per_token``
        (the same, less the token-embedding table when a separate output matrix
        exists: a decode step reads one row of it), ``block_count``,
        ``head_count``, ``head_count_kv``, ``head_dim_k``, ``head_dim_v``,
        ``embedding_length``, ``kv_cache_type``, ``kv_cache_element_bytes`` and
        ``kv_cache_bytes_per_token`` (``None`` where the metadata lacks a field).
    """

    def field(key: str) -> Any:
        item = reader.fields.get(key)
        return item.contents() if item is not None else None

    arch = str(field("general.architecture") or "unknown")
    tensors = {t.name: int(t.n_bytes) for t in reader.tensors}
    weight_bytes = sum(tensors.values())
    read_per_token = weight_bytes
    if "output.weight" in tensors and "token_embd.weight" in tensors:
        read_per_token -= tensors["token_embd.weight"]
    blocks = _first(field(f"{arch}.block_count"))
    heads = _first(field(f"{arch}.attention.head_count"))
    heads_kv = _first(field(f"{arch}.attention.head_count_kv")) or heads
    embedding = _first(field(f"{arch}.embedding_length"))
    derived_dim = embedding // heads if embedding and heads else None
    dim_k = _first(field(f"{arch}.attention.key_length")) or derived_dim
    dim_v = _first(field(f"{arch}.attention.value_length")) or dim_k
    element_bytes = KV_CACHE_ELEMENT_BYTES.get(kv_cache_type)
    per_token = (
        kv_cache_bytes_per_token(blocks, heads_kv, dim_k, dim_v, element_bytes)
        if None not in (blocks, heads_kv, dim_k, dim_v, element_bytes) else None
    )  # fmt: skip
    return {
        "weight_bytes": int(weight_bytes),
        "weight_bytes_read_per_token": int(read_per_token),
        "block_count": blocks,
        "head_count": heads,
        "head_count_kv": heads_kv,
        "head_dim_k": dim_k,
        "head_dim_v": dim_v,
        "embedding_length": embedding,
        "kv_cache_type": kv_cache_type,
        "kv_cache_element_bytes": element_bytes,
        "kv_cache_bytes_per_token": per_token,
    }


def onnx_weight_bytes(folder: str | Path) -> int:
    """Bytes of an ONNX model folder's weights: its ``*.onnx`` and ``*.onnx.data`` files.

    Raises:
        FileNotFoundError: the folder does not exist or holds no ONNX file.
    """
    folder = Path(folder)
    files = [p for p in folder.glob("*") if p.is_file() and (p.name.endswith(".onnx") or p.name.endswith(".onnx.data"))]
    if not files:
        raise FileNotFoundError(f"{folder} holds no .onnx or .onnx.data file; give the folder of a converted model.")
    return int(sum(p.stat().st_size for p in files))
