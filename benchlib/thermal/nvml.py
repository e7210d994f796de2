"""NVIDIA GPU temperature, SM clock and clock-event (throttle) reasons through NVML (``pynvml``).

Per GPU, each read calls ``nvmlDeviceGetTemperature(h, NVML_TEMPERATURE_GPU)``
(degrees C), ``nvmlDeviceGetClockInfo(h, NVML_CLOCK_SM)`` and
``nvmlDeviceGetMaxClockInfo(h, NVML_CLOCK_SM)`` (MHz), and
``nvmlDeviceGetCurrentClocksEventReasons(h)`` (bindings for drivers before
R535 only have the older name ``nvmlDeviceGetCurrentClocksThrottleReasons``;
same bit mask). The mask is decoded with :data:`CLOCK_EVENT_REASONS`; the
reasons in :data:`THROTTLING_REASONS` count as throttling, the others (idle,
application clocks, sync boost, display clock) are listed but do not.

The module ``pynvml`` (package ``nvidia-ml-py``) is optional: without it, or
without a driver, the source is unavailable with that reason. Tests pass a
replay of recorded values (:class:`~benchlib.thermal.replay.NvmlReplay`) as ``nvml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchlib.power.errors import PowerSourceUnavailable
from benchlib.power.nvml import load_pynvml
from benchlib.thermal.base import ThermalReadError, ThermalReading, ThermalSourceUnavailable

__all__ = ["CLOCK_EVENT_REASONS", "THROTTLING_REASONS", "NvmlThermalSource", "decode_clock_event_reasons"]

CLOCK_EVENT_REASONS: dict[int, str] = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}
"""NVML's ``nvmlClocksEventReason*`` bits (NVML API reference, NvmlClocksEventReasons)."""

THROTTLING_REASONS = frozenset(
    {"sw_power_cap", "hw_slowdown", "sw_thermal_slowdown", "hw_thermal_slowdown", "hw_power_brake_slowdown"}
)
"""Reasons that mean the clocks are held below what the work asks for (power or heat)."""


def decode_clock_event_reasons(mask: int) -> tuple[str, ...]:
    """Names of the bits set in an NVML clock-event reason mask (unknown bits as ``0x...``)."""
    names = [name for bit, name in CLOCK_EVENT_REASONS.items() if mask & bit]
    unknown = mask & ~sum(CLOCK_EVENT_REASONS)
    if unknown:
        names.append(f"unknown_0x{unknown:x}")
    return tuple(names)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class NvmlThermalSource:
    """GPU temperature, SM clock and clock-event reasons of every (or the chosen) NVIDIA GPU.

    Args:
        nvml: The NVML bindings; ``None`` imports ``pynvml``. Tests pass a replay.
        indices: GPU indices to read; ``None`` for all.

    Raises:
        ThermalSourceUnavailable: pynvml not installed, no driver, no GPU, or bad indices.
    """

    name = "nvml"

    def __init__(self, nvml: Any | None = None, indices: Sequence[int] | None = None) -> None:
        if nvml is None:
            try:
                nvml = load_pynvml()
            except PowerSourceUnavailable as exc:
                raise ThermalSourceUnavailable(str(exc)) from exc
        self._nvml = nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as exc:
            raise ThermalSourceUnavailable(
                f"NVML could not start ({exc}): no NVIDIA driver is loaded (libnvidia-ml.so.1 missing or no GPU)"
            ) from exc
        self._open = True
        try:
            count = nvml.nvmlDeviceGetCount()
            chosen = list(range(count)) if indices is None else list(indices)
            if count == 0 or not chosen or any(not 0 <= i < count for i in chosen):
                raise ThermalSourceUnavailable(f"NVML sees {count} GPU(s); cannot read GPUs {chosen}")
            self.indices = tuple(chosen)
            self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in chosen]
            self.gpu_names = tuple(_text(nvml.nvmlDeviceGetName(h)) for h in self._handles)
            self._reasons = getattr(nvml, "nvmlDeviceGetCurrentClocksEventReasons", None) or getattr(
                nvml, "nvmlDeviceGetCurrentClocksThrottleReasons"
            )
        except BaseException:
            self.close()
            raise

    def read(self) -> ThermalReading:
        """Temperature, SM clock, maximum SM clock and clock-event reasons of each GPU now.

        Raises:
            ThermalReadError: An NVML call failed.
        """
        nvml = self._nvml
        temperatures: dict[str, float] = {}
        clocks: dict[str, float] = {}
        max_clocks: dict[str, float] = {}
        reasons: list[str] = []
        masks: dict[str, str] = {}
        try:
            for index, handle in zip(self.indices, self._handles):
                gpu = f"gpu{index}"
                temperatures[gpu] = float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
                clocks[gpu] = float(nvml.nvmlDeviceGetClockInfo(handle, nvml.NVML_CLOCK_SM))
                max_clocks[gpu] = float(nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_SM))
                mask = int(self._reasons(handle))
                masks[gpu] = f"0x{mask:x}"
                reasons += [f"{gpu}: {name}" for name in decode_clock_event_reasons(mask)]
        except nvml.NVMLError as exc:
            raise ThermalReadError(f"NVML read failed: {exc}") from exc
        throttled = any(r.split(": ", 1)[1] in THROTTLING_REASONS for r in reasons)
        return ThermalReading(
            temperatures_c=temperatures,
            gpu_clock_mhz=clocks,
            gpu_max_clock_mhz=max_clocks,
            throttled=throttled,
            throttle_reasons=tuple(reasons),
            raw={"clocks_event_reasons": masks},
        )

    def describe(self) -> dict[str, Any]:
        """Name and the GPUs read."""
        return {
            "name": self.name,
            "reads": "NVML temperature, SM clock, max SM clock, clock-event reasons",
            "gpus": [{"index": i, "name": n} for i, n in zip(self.indices, self.gpu_names)],
        }

    def close(self) -> None:
        """Shut NVML down; safe to call twice."""
        if getattr(self, "_open", False):
            self._open = False
            try:
                self._nvml.nvmlShutdown()
            except self._nvml.NVMLError:
                pass
