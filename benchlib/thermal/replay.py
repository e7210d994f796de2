"""A stand-in for the ``pynvml`` module that answers NVML calls from a JSON file of recorded values.

This machine has no NVIDIA GPU; :class:`NvmlReplay` lets the real
:class:`~benchlib.thermal.nvml.NvmlThermalSource` code run on values in
``data/sensors/nvml/*.json`` (see that folder's README for where they come from).

The file holds NVML's constants, and per GPU its name and a list of samples
(``temperature_c``, ``clock_sm_mhz``, ``max_clock_sm_mhz``, ``clocks_event_reasons``).
:meth:`NvmlReplay.step` moves every GPU to its next sample (staying on the last).
``"event_reasons_api": false`` leaves out ``nvmlDeviceGetCurrentClocksEventReasons``,
as in bindings older than driver R535, so the fallback name is used.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["NvmlReplay", "ReplayNVMLError"]


class ReplayNVMLError(Exception):
    """What the replay raises where pynvml raises ``NVMLError``."""


class NvmlReplay:
    """Answers the NVML calls the thermal source makes, from recorded values.

    Args:
        values: The parsed JSON (see the module docstring).
        fail_init: Make ``nvmlInit`` raise, as on a machine with pynvml but no driver.
    """

    NVMLError = ReplayNVMLError

    def __init__(self, values: dict[str, Any], fail_init: bool = False) -> None:
        self.values = values
        self.fail_init = fail_init
        self.cursor = 0
        self.initialised = False
        for name, value in values["constants"].items():
            setattr(self, name, value)
        if values.get("event_reasons_api", True):
            self.nvmlDeviceGetCurrentClocksEventReasons = self._reasons

    @classmethod
    def load(cls, path: str | Path, fail_init: bool = False) -> NvmlReplay:
        """A replay of the JSON file at ``path``."""
        return cls(json.loads(Path(path).read_text()), fail_init)

    def step(self) -> None:
        """Move every GPU to its next recorded sample (the last one stays)."""
        self.cursor += 1

    def _sample(self, handle: int) -> dict[str, Any]:
        if not self.initialised:
            raise ReplayNVMLError("Uninitialized")
        samples = self.values["devices"][handle]["samples"]
        return samples[min(self.cursor, len(samples) - 1)]

    def nvmlInit(self) -> None:  # noqa: N802 - pynvml's names
        if self.fail_init:
            raise ReplayNVMLError("Driver Not Loaded")
        self.initialised = True

    def nvmlShutdown(self) -> None:  # noqa: N802
        self.initialised = False

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        return len(self.values["devices"])

    def nvmlDeviceGetHandleByIndex(self, index: int) -> int:  # noqa: N802
        return index

    def nvmlDeviceGetName(self, handle: int) -> str:  # noqa: N802
        return self.values["devices"][handle]["name"]

    def nvmlDeviceGetTemperature(self, handle: int, sensor: int) -> int:  # noqa: N802
        if sensor != self.NVML_TEMPERATURE_GPU:  # type: ignore[attr-defined]
            raise ReplayNVMLError("Not Supported")
        return self._sample(handle)["temperature_c"]

    def nvmlDeviceGetClockInfo(self, handle: int, clock: int) -> int:  # noqa: N802
        if clock != self.NVML_CLOCK_SM:  # type: ignore[attr-defined]
            raise ReplayNVMLError("Not Supported (only the SM clock is recorded)")
        return self._sample(handle)["clock_sm_mhz"]

    def nvmlDeviceGetMaxClockInfo(self, handle: int, clock: int) -> int:  # noqa: N802
        if clock != self.NVML_CLOCK_SM:  # type: ignore[attr-defined]
            raise ReplayNVMLError("Not Supported (only the SM clock is recorded)")
        return self._sample(handle)["max_clock_sm_mhz"]

    def _reasons(self, handle: int) -> int:
        return int(self._sample(handle)["clocks_event_reasons"], 16)

    def nvmlDeviceGetCurrentClocksThrottleReasons(self, handle: int) -> int:  # noqa: N802
        return self._reasons(handle)
