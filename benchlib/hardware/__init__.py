"""Physical limits: the hardware reference (``data/reference/hardware.yaml``), a memory-bandwidth probe, model geometry.

Modules: :mod:`~benchlib.hardware.reference` (the sourced hardware table and
its loader), :mod:`~benchlib.hardware.bandwidth` (this machine's bandwidth,
measured), :mod:`~benchlib.hardware.geometry` (weight and KV-cache bytes a
decode step reads).
"""

from benchlib.hardware.bandwidth import BandwidthProbe, measure_memory_bandwidth
from benchlib.hardware.geometry import gguf_geometry, kv_cache_bytes_per_token, onnx_weight_bytes
from benchlib.hardware.reference import (
    HardwareEntry,
    HardwareFileError,
    HardwareReference,
    ReferenceModel,
    SourcedValue,
    hardware_yaml,
    load_hardware,
)

__all__ = [
    "BandwidthProbe",
    "HardwareEntry",
    "HardwareFileError",
    "HardwareReference",
    "ReferenceModel",
    "SourcedValue",
    "gguf_geometry",
    "hardware_yaml",
    "kv_cache_bytes_per_token",
    "load_hardware",
    "measure_memory_bandwidth",
    "onnx_weight_bytes",
]
