"""NVIDIA GPU energy and power through NVML (the ``nvidia-ml-py`` package, module ``pynvml``).

Where every chosen GPU supports it (Volta and newer), the reader uses the
total-energy counter ``nvmlDeviceGetTotalEnergyConsumption`` (millijoules
since the driver loaded); otherwise it reads ``nvmlDeviceGetPowerUsage``
(milliwatts; on recent data-centre GPUs a short moving average rather than
an instantaneous value). Boundary: the GPU board only, not the host CPU,
memory, or the rest of the server.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import Any

from benchlib.power.base import BOUNDARY_GPU, KIND_MEASURED, Kind, Quantity
from benchlib.power.errors import PowerReadError, PowerSourceUnavailable

__all__ = [
    "NVML_COUNTER_RANGE_J",
    "NvmlEnergyReader",
    "NvmlPowerReader",
    "load_pynvml",
    "open_nvml",
]

NVML_COUNTER_RANGE_J = 2**64 / 1000.0
"""The energy counter is an unsigned 64-bit count of millijoules."""
NVML_MAX_PLAUSIBLE_POWER_W = 5000.0

_INSTALL_HINT = "pip install nvidia-ml-py"


def load_pynvml() -> ModuleType:
    """Import ``pynvml``.

    Raises:
        PowerSourceUnavailable: It is not installed (says ``pip install nvidia-ml-py``).
    """
    try:
        return importlib.import_module("pynvml")
    except ImportError as exc:
        raise PowerSourceUnavailable(
            f"the NVML bindings are not installed (no module 'pynvml'): {_INSTALL_HINT} "
            "(and have an NVIDIA driver and GPU)"
        ) from exc


class _NvmlGpus:
    """An initialised NVML session with chosen GPU handles."""

    def __init__(self, indices: Sequence[int] | None) -> None:
        nvml = load_pynvml()
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            raise PowerSourceUnavailable(
                f"NVML could not start ({exc}): no NVIDIA driver is loaded on this machine "
                "(libnvidia-ml.so.1 missing or no GPU); install the NVIDIA driver or run on a GPU machine"
            ) from exc
        self.nvml = nvml
        self._open = True
        try:
            count = nvml.nvmlDeviceGetCount()
            if count == 0:
                raise PowerSourceUnavailable("NVML sees no NVIDIA GPU on this machine")
            chosen = list(range(count)) if indices is None else list(indices)
            bad = [i for i in chosen if not 0 <= i < count]
            if bad or not chosen:
                raise PowerSourceUnavailable(
                    f"GPU indices {bad or chosen} do not exist; this machine has GPUs 0..{count - 1}"
                )
            self.indices = tuple(chosen)
            self.handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in chosen]
            self.names = [_text(nvml.nvmlDeviceGetName(h)) for h in self.handles]
        except BaseException:
            self.close()
            raise

    def supports_energy(self) -> bool:
        for handle in self.handles:
            try:
                self.nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
            except self.nvml.NVMLError:
                return False
        return True

    def close(self) -> None:
        if self._open:
            self._open = False
            try:
                self.nvml.nvmlShutdown()
            except self.nvml.NVMLError:
                pass


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class _NvmlReaderBase:
    name = "nvml"
    kind: Kind = KIND_MEASURED
    boundary = BOUNDARY_GPU

    def __init__(self, gpus: _NvmlGpus) -> None:
        self._gpus = gpus

    def describe(self) -> dict[str, Any]:
        """Name, boundary, kind, quantity and the GPUs read."""
        return {
            "name": self.name,
            "boundary": self.boundary,
            "kind": self.kind,
            "quantity": self.quantity,  # type: ignore[attr-defined]
            "gpus": [{"index": i, "name": n} for i, n in zip(self._gpus.indices, self._gpus.names)],
        }

    def close(self) -> None:
        """Shut NVML down."""
        self._gpus.close()


class NvmlEnergyReader(_NvmlReaderBase):
    """Cumulative energy counters of the chosen GPUs (``gpu0``, ``gpu1`` ...), joules."""

    quantity: Quantity = "energy"
    max_plausible_power_w = NVML_MAX_PLAUSIBLE_POWER_W

    def __init__(self, gpus: _NvmlGpus) -> None:
        super().__init__(gpus)
        self.counter_range_j: dict[str, float | None] = {f"gpu{i}": NVML_COUNTER_RANGE_J for i in gpus.indices}

    def read_energy_j(self) -> dict[str, float]:
        """Each GPU's total energy since the driver loaded, joules."""
        nvml = self._gpus.nvml
        try:
            return {
                f"gpu{i}": nvml.nvmlDeviceGetTotalEnergyConsumption(h) / 1000.0
                for i, h in zip(self._gpus.indices, self._gpus.handles)
            }
        except nvml.NVMLError as exc:
            raise PowerReadError(f"NVML energy read failed: {exc}") from exc


class NvmlPowerReader(_NvmlReaderBase):
    """Summed power draw of the chosen GPUs, watts."""

    quantity: Quantity = "power"

    def read_power_w(self) -> float:
        """Sum of the GPUs' power usage now, watts."""
        nvml = self._gpus.nvml
        try:
            return sum(nvml.nvmlDeviceGetPowerUsage(h) for h in self._gpus.handles) / 1000.0
        except nvml.NVMLError as exc:
            raise PowerReadError(f"NVML power read failed: {exc}") from exc


def open_nvml(indices: Sequence[int] | None = None, prefer_energy: bool = True) -> NvmlEnergyReader | NvmlPowerReader:
    """Open NVML for all GPUs or the chosen indices.

    Args:
        indices: GPU indices to sum; ``None`` for all.
        prefer_energy: Use the energy counter when every chosen GPU supports it.

    Returns:
        An energy-counter reader, or a power reader when the counter is unsupported.

    Raises:
        PowerSourceUnavailable: pynvml missing (``pip install nvidia-ml-py``), no
            driver, no GPU, or bad indices.
    """
    gpus = _NvmlGpus(indices)
    if prefer_energy and gpus.supports_energy():
        return NvmlEnergyReader(gpus)
    return NvmlPowerReader(gpus)
