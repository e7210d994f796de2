"""Raspberry Pi 5 PMIC rails through ``vcgencmd pmic_read_adc``.

The Pi 5's PMIC measures the current and the voltage of each rail it makes.
``vcgencmd pmic_read_adc`` prints one line per ADC channel, rail names padded
with spaces, the suffix ``_A`` (current) or ``_V`` (voltage) on the name::

     3V7_WL_SW_A current(0)=0.09368929A
     ...
     3V7_WL_SW_V volt(8)=3.69977600V
         EXT5V_V volt(24)=5.09066000V
          BATT_V volt(25)=0.00000000V

The reader pairs each rail's current with its voltage by name and sums V x I.
Channels without a partner (``EXT5V_V``, the 5 V input voltage, and
``BATT_V``, the RTC battery) give no power and are left out of the sum;
EXT5V is reported in :attr:`PmicReading.ext5v_v`.

Boundary: these rails are the SoC, DRAM, and on-board supplies behind the
PMIC. The 5 V branches that bypass it (USB ports, the HAT/PCIe connector, so
NVMe and the AI HAT+ 2) are not seen, nor the PMIC's own conversion loss. For
board-input power, calibrate against an inline meter with
:class:`LinearCalibration` (the boundary label then says so), or use a meter.

All rails with both channels are summed, including the low-current LDO
rails (3V3_DAC, 3V3_ADC); if those are fed from 3V3_SYS they are counted
twice, which at their microamp currents changes the sum by microwatts.

Each sample starts a ``vcgencmd`` process, which costs far more CPU than a
sysfs read; on a busy Pi, check the sampler's own load and lower ``rate_hz``
if it shows up in the results.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from benchlib.power.base import KIND_MEASURED, CommandRunner, Kind, Quantity, run_command
from benchlib.power.errors import PowerReadError, PowerSourceUnavailable

__all__ = [
    "PMIC_BOUNDARY",
    "PMIC_COMMAND",
    "LinearCalibration",
    "Pi5PmicReader",
    "PmicReading",
    "RailReading",
    "parse_pmic_read_adc",
]

PMIC_COMMAND: tuple[str, ...] = ("vcgencmd", "pmic_read_adc")
PMIC_BOUNDARY = "SoC/PMIC rails (excludes 5 V peripherals and HATs)"

_LINE = re.compile(
    r"^\s*(?P<rail>\S+?)_(?P<suffix>[AV])\s+(?P<what>current|volt)\((?P<channel>\d+)\)"
    r"\s*=\s*(?P<value>[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?)(?P<unit>[AV])\s*$"
)


@dataclass(frozen=True)
class RailReading:
    """One PMIC rail with both channels.

    Attributes:
        rail: Rail name without suffix (``VDD_CORE``).
        volt_v: Rail voltage, volts.
        current_a: Rail current, amperes.
    """

    rail: str
    volt_v: float
    current_a: float

    @property
    def power_w(self) -> float:
        """``volt_v * current_a``, watts."""
        return self.volt_v * self.current_a


@dataclass(frozen=True)
class PmicReading:
    """One parsed ``pmic_read_adc`` output.

    Attributes:
        rails: Rails with both a current and a voltage, in output order.
        voltage_only_v: Channels with a voltage and no current (``EXT5V``, ``BATT``), volts.
        current_only_a: Channels with a current and no voltage, amperes.
    """

    rails: tuple[RailReading, ...]
    voltage_only_v: dict[str, float] = field(default_factory=dict)
    current_only_a: dict[str, float] = field(default_factory=dict)

    @property
    def total_power_w(self) -> float:
        """Sum of V x I over the paired rails, watts."""
        return sum(r.power_w for r in self.rails)

    @property
    def ext5v_v(self) -> float | None:
        """The 5 V input voltage (``EXT5V_V``), volts, if reported."""
        return self.voltage_only_v.get("EXT5V")


def parse_pmic_read_adc(text: str) -> PmicReading:
    """Parse ``vcgencmd pmic_read_adc`` output.

    Lines are matched by rail name; the channel numbers are ignored (a rail's
    current and voltage channels differ). Newlines or NULs separate lines;
    lines that are not ADC readings are ignored.

    Raises:
        PowerReadError: No line looks like an ADC reading, or a line's suffix
            and unit disagree.
    """
    currents: dict[str, float] = {}
    volts: dict[str, float] = {}
    order: list[str] = []
    for line in re.split(r"[\n\x00]", text):
        match = _LINE.match(line)
        if not match:
            continue
        rail, suffix, what, unit = match["rail"], match["suffix"], match["what"], match["unit"]
        expected = ("A", "current", "A") if suffix == "A" else ("V", "volt", "V")
        if (suffix, what, unit) != expected:
            raise PowerReadError(f"pmic_read_adc line {line.strip()!r} mixes current and voltage")
        (currents if suffix == "A" else volts)[rail] = float(match["value"])
        if rail not in order:
            order.append(rail)
    if not order:
        snippet = text.strip()[:200] or "(empty)"
        raise PowerReadError(
            f"`vcgencmd pmic_read_adc` printed no ADC readings: {snippet!r}. "
            "pmic_read_adc exists on the Raspberry Pi 5 only; update its firmware if it is one."
        )
    rails = tuple(RailReading(r, volts[r], currents[r]) for r in order if r in volts and r in currents)
    return PmicReading(
        rails=rails,
        voltage_only_v={r: v for r, v in volts.items() if r not in currents},
        current_only_a={r: a for r, a in currents.items() if r not in volts},
    )


@dataclass(frozen=True)
class LinearCalibration:
    """Board-input power from PMIC rail power: ``watts = scale * rails_w + offset_w``.

    Fit the two coefficients yourself against an inline meter at the 5 V input
    (same load steps on both), then pass them here.

    Attributes:
        scale: Dimensionless slope ``a``.
        offset_w: Intercept ``b``, watts (the 5 V branches and losses at zero rail power).
        reference: The meter and set-up the fit was made against.
    """

    scale: float
    offset_w: float
    reference: str = "an inline meter at the 5 V input"

    def apply(self, rails_w: float) -> float:
        """Calibrated board-input watts for ``rails_w`` watts of rail power."""
        return self.scale * rails_w + self.offset_w

    @property
    def boundary(self) -> str:
        """Boundary label of calibrated readings."""
        return (
            f"board input (PMIC rails calibrated: W = {self.scale:g} x rails + {self.offset_w:g} W, "
            f"fitted against {self.reference})"
        )


class Pi5PmicReader:
    """Instantaneous power of the Raspberry Pi 5's PMIC rails.

    Args:
        runner: Runs a command and returns its output; :func:`run_command` by
            default, recorded output in tests.
        calibration: Optional linear calibration to board-input watts; changes
            :attr:`boundary` accordingly.
        command: The command to run.

    Attributes:
        last_reading: The last parsed output (rails, EXT5V voltage), or ``None``.
    """

    name = "pi5-pmic"
    kind: Kind = KIND_MEASURED
    quantity: Quantity = "power"

    def __init__(
        self,
        runner: CommandRunner | None = None,
        calibration: LinearCalibration | None = None,
        command: Sequence[str] = PMIC_COMMAND,
    ) -> None:
        self._runner: CommandRunner = runner or run_command
        self.calibration = calibration
        self.command = tuple(command)
        self.boundary = calibration.boundary if calibration else PMIC_BOUNDARY
        self.last_reading: PmicReading | None = None

    def read_rails(self) -> PmicReading:
        """Run the command once and parse it.

        Raises:
            PowerSourceUnavailable: vcgencmd is missing or not permitted.
            PowerReadError: It failed, or its output has no rail with both channels.
        """
        try:
            text = self._runner(self.command)
        except PowerSourceUnavailable as exc:
            raise PowerSourceUnavailable(
                f"{exc}: pi5-pmic needs a Raspberry Pi 5 running Raspberry Pi OS, where vcgencmd "
                "comes with the raspi-utils (older: libraspberrypi-bin) package"
            ) from exc
        except PowerReadError as exc:
            hint = ""
            if "VCHI" in str(exc) or "vcio" in str(exc) or "ermission" in str(exc):
                hint = "; add this user to the 'video' group (sudo usermod -aG video $USER) or run as root"
            elif "not registered" in str(exc) or "nknown" in str(exc):
                hint = "; pmic_read_adc exists on the Raspberry Pi 5 with current firmware only"
            raise PowerReadError(f"{exc}{hint}") from exc
        reading = parse_pmic_read_adc(text)
        if not reading.rails:
            raise PowerReadError(
                "`vcgencmd pmic_read_adc` reported no rail with both a current and a voltage "
                f"(voltage-only: {sorted(reading.voltage_only_v)}); is this a Raspberry Pi 5?"
            )
        self.last_reading = reading
        return reading

    def read_power_w(self) -> float:
        """Sum of V x I over the PMIC rails now, watts (calibrated to board input if configured)."""
        rails_w = self.read_rails().total_power_w
        return self.calibration.apply(rails_w) if self.calibration else rails_w

    def describe(self) -> dict[str, Any]:
        """Name, boundary, kind, quantity, command, calibration and the last rails and EXT5V voltage."""
        last = self.last_reading
        return {
            "name": self.name,
            "boundary": self.boundary,
            "kind": self.kind,
            "quantity": self.quantity,
            "command": " ".join(self.command),
            "calibration": None
            if self.calibration is None
            else {
                "scale": self.calibration.scale,
                "offset_w": self.calibration.offset_w,
                "reference": self.calibration.reference,
            },
            "rails": [r.rail for r in last.rails] if last else None,
            "ext5v_v": last.ext5v_v if last else None,
        }

    def close(self) -> None:
        """Nothing to release."""
