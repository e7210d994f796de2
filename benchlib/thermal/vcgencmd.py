"""Raspberry Pi temperature, ARM clock and throttle state through ``vcgencmd``.

Three commands, output formats as in the Raspberry Pi documentation::

    $ vcgencmd get_throttled
    throttled=0x50000
    $ vcgencmd measure_temp
    temp=47.8'C
    $ vcgencmd measure_clock arm
    frequency(0)=2400000000

``get_throttled`` is a bit mask: bits 0-3 are the state now, bits 16-19 say
the same condition has occurred since boot (:data:`THROTTLE_BITS`). The ARM
clock is the firmware's, so it shows throttling that cpufreq's
``scaling_cur_freq`` (the kernel's request) may not.

Each read starts three short ``vcgencmd`` processes; at the monitor's 1 Hz
that is negligible on a Pi 5.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchlib.power.base import CommandRunner, run_command
from benchlib.power.errors import PowerReadError, PowerSourceUnavailable
from benchlib.thermal.base import ThermalReadError, ThermalReading, ThermalSourceUnavailable

__all__ = [
    "COMMAND_TIMEOUT_S",
    "THROTTLE_BITS",
    "THROTTLE_HISTORY_BITS",
    "ThrottleState",
    "VcgencmdSource",
    "decode_throttled",
    "parse_get_throttled",
    "parse_measure_clock_hz",
    "parse_measure_temp_c",
]

COMMAND_TIMEOUT_S = 2.0
"""How long one ``vcgencmd`` call may take before the read is given up, seconds."""

THROTTLE_BITS: dict[int, str] = {
    0x1: "under-voltage",
    0x2: "arm frequency capped",
    0x4: "currently throttled",
    0x8: "soft temperature limit",
}
"""``get_throttled`` bits for the state now."""

THROTTLE_HISTORY_BITS: dict[int, str] = {
    0x10000: "under-voltage has occurred",
    0x20000: "arm frequency capping has occurred",
    0x40000: "throttling has occurred",
    0x80000: "soft temperature limit has occurred",
}
"""``get_throttled`` bits for conditions that occurred since boot."""

_THROTTLED = re.compile(r"throttled=(0x[0-9a-fA-F]+|\d+)")
_TEMP = re.compile(r"temp=([-+]?\d+(?:\.\d+)?)'C")
_CLOCK = re.compile(r"frequency\(\d+\)=(\d+)")


@dataclass(frozen=True)
class ThrottleState:
    """A decoded ``get_throttled`` mask.

    Attributes:
        bits: The raw mask.
    """

    bits: int

    @property
    def now(self) -> tuple[str, ...]:
        """Conditions active now, in words (:data:`THROTTLE_BITS`)."""
        return tuple(name for bit, name in THROTTLE_BITS.items() if self.bits & bit)

    @property
    def history(self) -> tuple[str, ...]:
        """Conditions that have occurred since boot, in words (:data:`THROTTLE_HISTORY_BITS`)."""
        return tuple(name for bit, name in THROTTLE_HISTORY_BITS.items() if self.bits & bit)

    @property
    def throttled(self) -> bool:
        """True when any condition is active now (under-voltage, capped, throttled, soft limit)."""
        return bool(self.now)


def decode_throttled(bits: int) -> ThrottleState:
    """Decode a ``get_throttled`` mask into the conditions active now and since boot."""
    return ThrottleState(bits)


def _match(pattern: re.Pattern[str], text: str, command: str, example: str) -> str:
    match = pattern.search(text)
    if not match:
        raise ThermalReadError(f"`vcgencmd {command}` printed {text.strip()[:120]!r}, not the expected {example!r}")
    return match.group(1)


def parse_get_throttled(text: str) -> ThrottleState:
    """Parse ``throttled=0x50000``.

    Raises:
        ThermalReadError: The text has no ``throttled=`` value.
    """
    value = _match(_THROTTLED, text, "get_throttled", "throttled=0x0")
    return decode_throttled(int(value, 16) if value.lower().startswith("0x") else int(value))


def parse_measure_temp_c(text: str) -> float:
    """Parse ``temp=47.8'C`` into degrees Celsius.

    Raises:
        ThermalReadError: The text has no ``temp=`` value.
    """
    return float(_match(_TEMP, text, "measure_temp", "temp=47.8'C"))


def parse_measure_clock_hz(text: str) -> float:
    """Parse ``frequency(0)=2400000000`` into hertz (the number in brackets is the clock id and varies by model).

    Raises:
        ThermalReadError: The text has no ``frequency(..)=`` value.
    """
    return float(_match(_CLOCK, text, "measure_clock arm", "frequency(0)=2400000000"))


def _timed_runner(argv: Sequence[str]) -> str:
    return run_command(argv, timeout_s=COMMAND_TIMEOUT_S)


class VcgencmdSource:
    """The Raspberry Pi firmware's view (``vcgencmd``): SoC temperature, ARM clock, throttle bits.

    Args:
        runner: Runs a command and returns its output; :func:`run_command` with
            a 2 s timeout by default, recorded output in tests.

    Raises:
        ThermalSourceUnavailable: vcgencmd is missing, not permitted, or fails on the first read.
    """

    name = "vcgencmd"

    def __init__(self, runner: CommandRunner | None = None) -> None:
        self._runner: CommandRunner = runner or _timed_runner
        self.last_throttle: ThrottleState | None = None
        try:
            self.read()
        except (ThermalReadError, PowerReadError) as exc:
            raise ThermalSourceUnavailable(f"vcgencmd does not answer here: {exc}") from exc

    def _run(self, *args: str) -> str:
        try:
            return self._runner(("vcgencmd", *args))
        except PowerSourceUnavailable as exc:
            raise ThermalSourceUnavailable(
                f"{exc}: vcgencmd exists on Raspberry Pi OS only (package raspi-utils, older: libraspberrypi-bin)"
            ) from exc
        except PowerReadError as exc:
            hint = " (add this user to the 'video' group)" if "VCHI" in str(exc) or "ermission" in str(exc) else ""
            raise ThermalReadError(f"{exc}{hint}") from exc

    def read(self) -> ThermalReading:
        """Throttle bits, SoC temperature and ARM clock now.

        Raises:
            ThermalReadError: A command failed or printed something unexpected.
        """
        throttle = parse_get_throttled(self._run("get_throttled"))
        temp_c = parse_measure_temp_c(self._run("measure_temp"))
        clock_hz = parse_measure_clock_hz(self._run("measure_clock", "arm"))
        self.last_throttle = throttle
        return ThermalReading(
            temperatures_c={"soc (vcgencmd)": temp_c},
            cpu_clock_mhz=clock_hz / 1e6,
            throttled=throttle.throttled,
            throttle_reasons=throttle.now,
            throttle_history=throttle.history,
            raw={"get_throttled": f"0x{throttle.bits:x}"},
        )

    def describe(self) -> dict[str, Any]:
        """Name, commands and the last throttle mask."""
        return {
            "name": self.name,
            "reads": "vcgencmd get_throttled, measure_temp, measure_clock arm",
            "get_throttled": f"0x{self.last_throttle.bits:x}" if self.last_throttle else None,
        }

    def close(self) -> None:
        """Nothing to release."""
