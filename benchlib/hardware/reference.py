"""The physical limits of the compared platforms, from ``data/reference/hardware.yaml``.

Every value carries its source; the file is validated by pydantic models so a
missing source, a misspelt key or a platform that names an unknown hardware
entry is reported with the file and the field (``hardware.nvidia-l4.power_w.source``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from benchlib.errors import BenchlibError
from benchlib.paths import reference_dir
from benchlib.reference_files import load_yaml_model

__all__ = [
    "HARDWARE_CLASSES",
    "HARDWARE_YAML_NAME",
    "HardwareEntry",
    "HardwareFileError",
    "HardwareReference",
    "PlatformEntry",
    "ReferenceModel",
    "SourcedValue",
    "hardware_yaml",
    "load_hardware",
]

HARDWARE_YAML_NAME = "hardware.yaml"


class HardwareFileError(BenchlibError):
    """``hardware.yaml`` is missing, not YAML, or a field in it is invalid (the message names the field)."""


class SourcedValue(BaseModel):
    """One figure and where it comes from.

    Attributes:
        value: The figure (a number, a list of options such as memory sizes, or
            ``None`` when it is not known, in which case ``note`` says why).
        source: URL or document and the quoted figure, or "not retrieved here".
        derivation: The arithmetic, where the figure is derived.
        basis: What the figure is (``TDP``, ``typical``, ``maximum board input`` ...).
        note: Anything a reader must know to use it.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float | list[float] | None
    source: str = Field(min_length=10)
    derivation: str | None = None
    basis: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _unknown_says_why(self) -> "SourcedValue":
        if self.value is None and not self.note:
            raise ValueError("value is null: add a note that says why it is unknown")
        return self

    @property
    def number(self) -> float | None:
        """The value as one number (the largest option of a list), or ``None`` when unknown."""
        if self.value is None:
            return None
        return float(max(self.value)) if isinstance(self.value, list) else float(self.value)


HARDWARE_CLASSES = ("cpu-arm", "cpu-x86", "npu", "gpu-datacenter", "gpu-consumer", "apple-silicon")
"""Classes of hardware whose efficiencies the performance model fits separately."""


class HardwareEntry(BaseModel):
    """A device whose memory bounds decode: bandwidth (GB/s), memory size (GB), board power or TDP (W).

    Attributes:
        name: What it is.
        memory_type: Its memory and bus.
        hardware_class: One of :data:`HARDWARE_CLASSES`.
        memory_bandwidth_gb_s: Peak memory bandwidth, GB/s.
        memory_gb: Memory size, GB (a list: the SKUs).
        power_w: Board power or TDP, W.
        peak_tflops: Peak compute, TFLOPS (GPUs: dense FP16 tensor; CPUs: FP32 vector; NPUs: INT8 TOPS).
        idle_power_w: Draw when idle, W.
        model_bandwidth_gb_s: Where the bandwidth is not published, the figure the performance model
            assumes instead (its ``basis`` says why); never used as a plausibility ceiling.
        model_peak_tflops: Likewise for an unpublished or disputed peak compute.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    memory_type: str
    hardware_class: Literal[HARDWARE_CLASSES]  # type: ignore[valid-type]
    memory_bandwidth_gb_s: SourcedValue
    memory_gb: SourcedValue
    power_w: SourcedValue
    peak_tflops: SourcedValue | None = None
    idle_power_w: SourcedValue | None = None
    model_bandwidth_gb_s: SourcedValue | None = None
    model_peak_tflops: SourcedValue | None = None

    @field_validator("memory_bandwidth_gb_s", "memory_gb", "power_w", "peak_tflops", "idle_power_w",
                     "model_bandwidth_gb_s", "model_peak_tflops")
    @classmethod
    def _positive(cls, value: SourcedValue | None) -> SourcedValue | None:
        if value is None:
            return None
        values = value.value if isinstance(value.value, list) else [value.value]
        if any(v is not None and v <= 0 for v in values):
            raise ValueError(f"must be positive, not {value.value}")
        return value


class PlatformEntry(BaseModel):
    """The hardware entry that bounds a profile's or a published platform's decode (``None``: this machine, measured)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    hardware: str | None
    note: str | None = None


class ReferenceModel(BaseModel):
    """Size and KV-cache geometry of a model size the article names (``7B q4``).

    ``model_id`` and ``quantization`` name the ``models.yaml`` geometry the performance
    model predicts the class with (the article names no model).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_id: str | None = None
    quantization: str | None = None
    weight_bytes: SourcedValue
    block_count: SourcedValue
    head_count_kv: SourcedValue
    head_dim: SourcedValue
    kv_cache_element_bytes: SourcedValue

    def kv_cache_bytes_per_token(self) -> float:
        """Bytes of K and V cached per token: 2 x layers x KV heads x head dim x element bytes."""
        return 2.0 * self.block_count.number * self.head_count_kv.number * self.head_dim.number * (
            self.kv_cache_element_bytes.number
        )


class HardwareReference(BaseModel):
    """The whole of ``hardware.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int
    hardware: dict[str, HardwareEntry]
    platforms: dict[str, PlatformEntry]
    reference_models: dict[str, ReferenceModel]

    @model_validator(mode="after")
    def _platforms_name_known_hardware(self) -> "HardwareReference":
        for label, platform in self.platforms.items():
            if platform.hardware is not None and platform.hardware not in self.hardware:
                raise ValueError(
                    f"platforms.{label}.hardware is '{platform.hardware}', which is not a hardware entry; "
                    f"valid: {', '.join(sorted(self.hardware))}"
                )
        return self

    def platform_hardware(self, label: str | None) -> tuple[str | None, HardwareEntry | None]:
        """The hardware key and entry that bound a profile or platform label (``(None, None)`` when unmapped).

        A label is matched exactly, then without a parenthesised suffix
        (``Raspberry Pi 5 + AI HAT+ 2 (CPU, llama.cpp)`` -> ``Raspberry Pi 5 + AI HAT+ 2``).
        """
        if not label:
            return None, None
        for candidate in (str(label), str(label).split(" (")[0].strip()):
            platform = self.platforms.get(candidate)
            if platform is not None:
                return platform.hardware, self.hardware.get(platform.hardware) if platform.hardware else None
        return None, None


def hardware_yaml() -> Path:
    """Path of the checkout's ``data/reference/hardware.yaml``."""
    return reference_dir() / HARDWARE_YAML_NAME


def load_hardware(path: str | Path | None = None) -> HardwareReference:
    """Read and validate ``hardware.yaml``.

    Args:
        path: The file; the checkout's ``data/reference/hardware.yaml`` when ``None``.

    Raises:
        HardwareFileError: the file is missing or not YAML, or a field is invalid;
            the message names the file and every invalid field.
    """
    path = Path(path) if path is not None else hardware_yaml()
    return load_yaml_model(path, HardwareReference, HardwareFileError, "the hardware limits")
