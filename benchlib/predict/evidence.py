"""The evidence library: published measurements, one YAML file per source, in ``data/reference/evidence/``.

Each file names its source (URL, who measured, when it was read, ``kind``:
``evidence`` or ``claim``) and lists entries: hardware (a key of
``hardware.yaml``), runtime and its class, model (a key of ``models.yaml``)
and quantization, workload, one metric with its unit, and a verbatim quote.
Files are validated by the pydantic models below; ``benchlib schema`` writes
their JSON Schema. The format is documented in
``data/reference/evidence/README.md``.

Claims (the article's figures) sit beside the evidence so that the analysis
can show both, but only ``kind: evidence`` calibrates the performance model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from benchlib.errors import BenchlibError
from benchlib.paths import reference_dir
from benchlib.reference_files import load_yaml_model

__all__ = [
    "EVIDENCE_DIR_NAME",
    "KIND_CLAIM",
    "KIND_EVIDENCE",
    "METRIC_UNITS",
    "RUNTIME_CLASSES",
    "EvidenceEntry",
    "EvidenceFile",
    "EvidenceFileError",
    "EvidenceLibrary",
    "EvidencePoint",
    "evidence_dir",
    "load_evidence",
]

EVIDENCE_DIR_NAME = "evidence"
KIND_EVIDENCE = "evidence"
KIND_CLAIM = "claim"
METRIC_UNITS: dict[str, str] = {
    "decode_tps": "tokens/s",
    "prefill_tps": "tokens/s",
    "ttft_s": "s",
    "tpot_s": "s",
    "output_tps": "tokens/s",
    "power_w": "W",
    "j_per_token": "J/token",
}
"""Every metric an entry may state, with the unit it must be written in."""
RUNTIME_CLASSES = ("llama.cpp", "vllm", "tensorrt-llm", "sglang", "hailo", "mlx", "transformers", "other")
"""Families of runtimes whose efficiencies the performance model fits separately."""
POWER_BOUNDARIES = ("wall", "board", "gpu", "soc", "npu")
_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


class EvidenceFileError(BenchlibError):
    """An evidence file is missing, not YAML, or invalid (the message names the file and the field)."""


class Source(BaseModel):
    """Where the figures of one file come from.

    Attributes:
        title: What the source is.
        url: Where it was read.
        measured_by: Who ran the measurement.
        published: When it was published (YYYY, YYYY-MM or YYYY-MM-DD), ``None`` when unknown.
        retrieved: When it was read (YYYY-MM-DD).
        retrieved_via: How it was read.
        kind: ``evidence`` (a real measurement) or ``claim`` (asserted, not reproducible).
        note: What a reader must know about the source as a whole.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    title: str = Field(min_length=3)
    url: str = Field(min_length=8)
    measured_by: str = Field(min_length=2)
    published: str | None = None
    retrieved: str
    retrieved_via: str | None = None
    kind: Literal["evidence", "claim"]
    note: str | None = None

    @model_validator(mode="after")
    def _dates(self) -> "Source":
        for name in ("published", "retrieved"):
            value = getattr(self, name)
            if value is not None and not _DATE.match(str(value)):
                raise ValueError(f"{name} must be YYYY, YYYY-MM or YYYY-MM-DD, not {value!r}")
        return self


class RuntimeRef(BaseModel):
    """The runtime a figure was measured with.

    Attributes:
        name: What the source ran (``ollama``, ``llama.cpp``, ``vllm`` ...).
        version: Its version, ``None`` when not stated.
        class_: Its family (``class`` in YAML), one of :data:`RUNTIME_CLASSES`.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str
    version: str | None = None
    class_: Literal[RUNTIME_CLASSES] = Field(alias="class")  # type: ignore[valid-type]


class ModelRef(BaseModel):
    """The model: a key of ``models.yaml``, its quantization, and the file size when the source states it.

    Attributes:
        id: A key of ``models.yaml`` ``models:``.
        quantization: A key of ``models.yaml`` ``quantizations:``.
        weight_bytes: The model file's size in bytes, when the source states it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    quantization: str
    weight_bytes: float | None = Field(default=None, gt=0)


class WorkloadRef(BaseModel):
    """The workload of a figure (``None``: not stated).

    Attributes:
        prompt_tokens: Input tokens per request.
        output_tokens: Output tokens per request.
        context_tokens: Tokens already in context before the prompt (llama-bench ``-d``).
        concurrency: Concurrent requests or batch size (1: single stream), or ``saturation``
            for an offline run that queues every request at once (the server batches all it can).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prompt_tokens: int | None = Field(default=None, ge=0)
    output_tokens: int | None = Field(default=None, ge=1)
    context_tokens: int | None = Field(default=None, ge=0)
    concurrency: Annotated[int, Field(ge=1)] | Literal["saturation"] = 1


class EvidenceEntry(BaseModel):
    """One published figure.

    Attributes:
        id: Unique within its file.
        hardware: A key of ``hardware.yaml`` ``hardware:``.
        runtime: What it was measured with.
        model: Which model and quantization.
        workload: Prompt, output, context and concurrency.
        metric: One of :data:`METRIC_UNITS`.
        value: The figure, in ``unit``.
        unit: Must be the metric's unit.
        power_boundary: Where power was measured (power and energy metrics only).
        quote: A short verbatim excerpt of the source that contains the figure.
        note: Conversions, conditions, caveats.
        outlier_reason: Why the performance model is not expected to reproduce this figure
            (a different runtime build, thermal throttling, a disputed source), when known.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=2)
    hardware: str
    runtime: RuntimeRef
    model: ModelRef
    workload: WorkloadRef = WorkloadRef()
    metric: Literal[tuple(METRIC_UNITS)]  # type: ignore[valid-type]
    value: float = Field(gt=0)
    unit: str
    power_boundary: Literal[POWER_BOUNDARIES] | None = None  # type: ignore[valid-type]
    quote: str = Field(min_length=3)
    note: str | None = None
    outlier_reason: str | None = None

    @model_validator(mode="after")
    def _unit_and_boundary(self) -> "EvidenceEntry":
        expected = METRIC_UNITS[self.metric]
        if self.unit != expected:
            raise ValueError(f"unit of {self.metric} must be '{expected}', not '{self.unit}'")
        power = self.metric in ("power_w", "j_per_token")
        if power and self.power_boundary is None:
            raise ValueError(f"{self.metric} needs power_boundary: one of {', '.join(POWER_BOUNDARIES)}")
        if not power and self.power_boundary is not None:
            raise ValueError(f"power_boundary is only for power_w and j_per_token, not {self.metric}")
        if self.metric == "decode_tps" and self.workload.concurrency != 1:
            raise ValueError("decode_tps is a single-stream rate: concurrency must be 1 (use output_tps or tpot_s)")
        return self


class Gap(BaseModel):
    """A figure that was looked for and not found.

    Attributes:
        hardware: A key of ``hardware.yaml``.
        metric: The metric missing.
        note: What was searched.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    hardware: str
    metric: str
    note: str = Field(min_length=10)


class EvidenceFile(BaseModel):
    """One source's file: its source, entries and gaps.

    Attributes:
        schema_version: 1.
        source: Where the figures come from.
        entries: The figures.
        gaps: What was looked for and not found.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1]
    source: Source
    entries: list[EvidenceEntry] = []
    gaps: list[Gap] = []

    @model_validator(mode="after")
    def _unique_ids(self) -> "EvidenceFile":
        seen: set[str] = set()
        for entry in self.entries:
            if entry.id in seen:
                raise ValueError(f"entry id '{entry.id}' appears twice")
            seen.add(entry.id)
        if not self.entries and not self.gaps:
            raise ValueError("a file needs entries or gaps")
        return self


@dataclass(frozen=True)
class EvidencePoint:
    """One entry with its file's source, as the model and the analysis use it.

    Attributes:
        key: ``FILE_STEM/ENTRY_ID``, unique in the library.
        entry: The entry.
        source: Its file's source.
    """

    key: str
    entry: EvidenceEntry
    source: Source

    @property
    def is_claim(self) -> bool:
        """True for a claim (never calibrates anything)."""
        return self.source.kind == KIND_CLAIM


@dataclass(frozen=True)
class EvidenceLibrary:
    """Every evidence file of a folder.

    Attributes:
        files: File stem -> its validated content.
    """

    files: dict[str, EvidenceFile]

    @property
    def points(self) -> list[EvidencePoint]:
        """Every entry of every file, claims included."""
        return [
            EvidencePoint(f"{stem}/{entry.id}", entry, content.source)
            for stem, content in sorted(self.files.items())
            for entry in content.entries
        ]

    def evidence(self) -> list[EvidencePoint]:
        """The entries of ``kind: evidence`` files (what calibrates the model)."""
        return [point for point in self.points if not point.is_claim]

    def claims(self) -> list[EvidencePoint]:
        """The entries of ``kind: claim`` files."""
        return [point for point in self.points if point.is_claim]

    def gaps(self) -> list[tuple[str, Gap]]:
        """(file stem, gap) for every stated gap."""
        return [(stem, gap) for stem, content in sorted(self.files.items()) for gap in content.gaps]


def evidence_dir() -> Path:
    """The checkout's ``data/reference/evidence/``."""
    return reference_dir() / EVIDENCE_DIR_NAME


def _read(path: Path) -> EvidenceFile:
    return load_yaml_model(path, EvidenceFile, EvidenceFileError)


def load_evidence(
    folder: str | Path | None = None, *, hardware_ids: set[str] | None = None, model_ids: set[str] | None = None,
    quantizations: set[str] | None = None,
) -> EvidenceLibrary:  # fmt: skip
    """Read and validate every ``*.yaml`` file of the evidence folder.

    Args:
        folder: The folder; the checkout's ``data/reference/evidence/`` when ``None``.
        hardware_ids: Known hardware keys; an entry naming another is refused (``None``: not checked).
        model_ids: Known model keys, likewise.
        quantizations: Known quantization keys, likewise.

    Raises:
        EvidenceFileError: a file is unreadable or invalid, an id is unknown (the valid ones
            are listed), or an entry key appears twice; every problem of the folder at once.
    """
    folder = Path(folder) if folder is not None else evidence_dir()
    if not folder.is_dir():
        raise EvidenceFileError(f"{folder} is not a folder of evidence files (data/reference/evidence/).")
    files: dict[str, EvidenceFile] = {}
    problems: list[str] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            files[path.stem] = _read(path)
        except EvidenceFileError as exc:
            problems.append(str(exc))
            continue
        problems += _unknown_ids(path, files[path.stem], hardware_ids, model_ids, quantizations)
    if problems:
        raise EvidenceFileError("\n".join(problems))
    return EvidenceLibrary(files)


def _unknown_ids(path: Path, content: EvidenceFile, hardware_ids: set[str] | None, model_ids: set[str] | None,
                 quantizations: set[str] | None) -> list[str]:  # fmt: skip
    problems = []
    checks = (("hardware", hardware_ids, "hardware.yaml"), ("model", model_ids, "models.yaml models"),
              ("quantization", quantizations, "models.yaml quantizations"))  # fmt: skip
    for index, entry in enumerate(content.entries):
        values = {"hardware": entry.hardware, "model": entry.model.id, "quantization": entry.model.quantization}
        for name, known, where in checks:
            if known is not None and values[name] not in known:
                problems.append(
                    f"{path}: entries.{index} ({entry.id}): {name} '{values[name]}' is not in {where}; "
                    f"valid: {', '.join(sorted(known))}"
                )
    for index, gap in enumerate(content.gaps):
        if hardware_ids is not None and gap.hardware not in hardware_ids:
            problems.append(f"{path}: gaps.{index}: hardware '{gap.hardware}' is not in hardware.yaml")
    return problems
