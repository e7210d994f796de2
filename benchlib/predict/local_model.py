"""The geometry of the model a run measured, for the performance model.

An in-process llama.cpp run records its GGUF's metadata in ``run.json``
``model``: ``parameter_count`` (the tensor table's elements) and ``geometry``
(:func:`benchlib.hardware.geometry.gguf_geometry`: weight bytes, bytes read per
decoded token, layers, heads, KV heads, head dimension, KV-cache element bytes).
A run against ``llama-server`` records only the server's ``model_path``; the
GGUF is then read here: the catalogue model the sweep's ``model`` parameter
names when that is the file the server loaded, else the server's file itself
when it is on this machine.

Parameters come from the GGUF; where a run lacks them, from ``models.yaml`` when
the catalogue name maps to one of its models (``smollm2-135m-q4_1`` ->
``smollm2-135m``), else from the weight bytes and the quantization's bits per
weight. Whether the output matrix is the embedding table (tied) follows from the
GGUF (no separate ``output.weight``: every byte is read per token).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from benchlib.errors import BenchlibError
from benchlib.hardware.geometry import KV_CACHE_ELEMENT_BYTES
from benchlib.hardware.model_reference import (
    ModelGeometry,
    ModelsReference,
    load_models,
)
from benchlib.models import CATALOGUE, resolve_model

__all__ = ["LocalRunError", "ModelResolver", "model_geometry_of", "reference_model_id"]

QUANT_SUFFIX = re.compile(r"^(?P<model>.+?)-(?P<quant>(?:q\d[\w]*|iq\d[\w]*|f16|bf16|f32))$", re.IGNORECASE)


class LocalRunError(BenchlibError):
    """A run measured here cannot become observations of the performance model (the message says what to fix)."""


def reference_model_id(name: str, models: ModelsReference) -> str | None:
    """The ``models.yaml`` key of a catalogue name (``gemma3-270m-q4_k_m`` -> ``gemma3-270m``), ``None`` when none."""
    if name in models.models:
        return name
    match = QUANT_SUFFIX.match(name)
    return match.group("model") if match and match.group("model") in models.models else None


class ModelResolver:
    """GGUF metadata of the models runs name, each file read (and hashed) once.

    Args:
        models: ``models.yaml`` (read on first use when ``None``).
    """

    def __init__(self, models: ModelsReference | None = None) -> None:
        self._models = models
        self._infos: dict[str, dict[str, Any]] = {}

    @property
    def models(self) -> ModelsReference:
        """``models.yaml``."""
        if self._models is None:
            self._models = load_models()
        return self._models

    def info(self, model: str) -> dict[str, Any]:
        """``benchlib.models.resolve_model(model).to_dict()``, cached."""
        if model not in self._infos:
            self._infos[model] = resolve_model(model).to_dict()
        return self._infos[model]

    def served_model(self, meta: dict[str, Any]) -> dict[str, Any]:
        """The model record of a run against ``llama-server``: the catalogue model when it is the served file.

        Raises:
            LocalRunError: the server's file is neither the catalogue model the run names nor on this machine.
        """
        server = ((meta.get("model") or {}).get("server") or {}).get("llama_server") or {}
        served = server.get("model_path")
        name = str((meta.get("parameters") or {}).get("model") or "")
        if name in CATALOGUE:
            info = self.info(name)
            if not served or Path(served).name == Path(info["path"]).name:
                return info
        if served and Path(served).is_file():
            return self.info(served)
        raise LocalRunError(
            f"the run records no model geometry and its server's model file {served or '(not recorded)'} is not on "
            f"this machine, nor is '{name}' the catalogue model of that file; run observations where the GGUF is, "
            "or sweep with model set to the catalogue name of the file the server loads"
        )

    def geometry(self, meta: dict[str, Any]) -> ModelGeometry:
        """The run's model geometry (see :func:`model_geometry_of`)."""
        return model_geometry_of(meta, self)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def model_geometry_of(meta: dict[str, Any], resolver: ModelResolver | None = None) -> ModelGeometry:
    """The geometry of the model a run measured.

    Args:
        meta: The run's ``run.json``.
        resolver: Reads GGUF files and ``models.yaml`` (a new one when ``None``).

    Raises:
        LocalRunError: no geometry recorded or readable, or a field the model needs is missing.
    """
    resolver = resolver or ModelResolver()
    record = meta.get("model") or {}
    if not record.get("geometry"):
        record = resolver.served_model(meta)
    geometry = record.get("geometry") or {}
    weight = _number(geometry.get("weight_bytes"))
    read = _number(geometry.get("weight_bytes_read_per_token")) or weight
    needed = {k: geometry.get(k) for k in ("block_count", "head_count", "head_count_kv", "head_dim_k")}
    missing = [k for k, v in needed.items() if not v] + ([] if weight else ["weight_bytes"])
    if missing:
        raise LocalRunError(f"the model's GGUF geometry lacks {', '.join(missing)}; a GGUF without them "
                            "(an unusual architecture) cannot be modelled")  # fmt: skip
    name = str(record.get("name") or (meta.get("parameters") or {}).get("model") or "model")
    reference_id = reference_model_id(name, resolver.models)
    reference = resolver.models.models.get(reference_id) if reference_id else None
    parameters = _number(record.get("parameter_count"))
    if parameters is None and reference is not None:
        parameters = reference.parameters.number
    if parameters is None:
        bits = resolver.models.quantizations.get(str(record.get("quantization") or "").lower())
        if bits is None:
            raise LocalRunError(f"'{name}': no parameter count recorded, no models.yaml entry and no known "
                                f"quantization ({record.get('quantization')!r}) to derive it from the weight bytes")  # fmt: skip
        parameters = weight * 8 / bits.bits_per_weight.number
    tied = read >= weight
    if reference is not None:
        embedding = reference.embedding_parameters.number
    else:  # untied: the embedding table's share of the bytes; tied: unused (read bytes and matmul are known)
        embedding = 0.0 if tied else parameters * (weight - read) / weight
    kv_type = ((meta.get("runtime") or {}).get("effective") or {}).get("kv_cache_type_k")
    element = KV_CACHE_ELEMENT_BYTES.get(kv_type or "", geometry.get("kv_cache_element_bytes") or 2.0)
    return ModelGeometry(
        name=name, parameters=float(parameters), embedding_parameters=float(embedding), tied_embeddings=tied,
        block_count=int(needed["block_count"]), head_count=int(needed["head_count"]),
        head_count_kv=int(needed["head_count_kv"]), head_dim=int(needed["head_dim_k"]),
        bits_per_weight=weight * 8 / parameters, kv_element_bytes=float(element), file_bytes=weight, read_bytes=read,
    )  # fmt: skip
