"""INA219 / INA226 / INA260 (and kin) current-shunt monitors through Linux hwmon sysfs.

The kernel's ``ina2xx`` (and ``ina238``) drivers expose each monitor as
``/sys/class/hwmon/hwmonN`` with a ``name`` file (``ina226``) and:

* ``power1_input``: power, microwatts (preferred when present);
* ``in1_input``: bus voltage, millivolts, and ``curr1_input``: current,
  milliamperes (used when there is no ``power1_input``).

Older kernels put these attributes under ``hwmonN/device/``; both layouts are
read. Where the shunt sits is the user's wiring, so the boundary defaults to
the common case, a shunt in the board's supply line, and can be overridden.
Several monitors are summed only when chosen explicitly with ``devices=``.
The three-channel INA3221 has a different layout and is not read here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.power.base import DEFAULT_ROOT, KIND_MEASURED, Kind, Quantity, read_sysfs_number
from benchlib.power.errors import PowerSourceUnavailable

__all__ = ["HWMON_DIR", "INA_BOUNDARY", "INA_CHIPS", "Ina2xxReader", "InaDevice", "find_ina_devices"]

HWMON_DIR = Path("sys/class/hwmon")
INA_BOUNDARY = "board input (INA2xx shunt in the supply line)"
INA_CHIPS = frozenset(
    {
        "ina2xx",
        "ina209",
        "ina219",
        "ina220",
        "ina226",
        "ina230",
        "ina231",
        "ina233",
        "ina234",
        "ina237",
        "ina238",
        "ina260",
        "ina700",
        "ina780",
    }
)


@dataclass(frozen=True)
class InaDevice:
    """One INA2xx monitor found under hwmon.

    Attributes:
        hwmon: The hwmon directory name (``hwmon3``).
        chip: Its driver name (``ina226``).
        attr_dir: Directory holding its ``*_input`` files.
        method: ``"power1_input"`` or ``"in1_input x curr1_input"``.
    """

    hwmon: str
    chip: str
    attr_dir: Path
    method: str


def _natural_key(name: str) -> tuple[str, int]:
    match = re.match(r"(\D*)(\d+)$", name)
    return (match[1], int(match[2])) if match else (name, -1)


def _hwmon_devices(root: Path) -> list[tuple[str, str, Path]]:
    """(hwmon name, chip name, attribute dir) for every hwmon device with a name."""
    base = root / HWMON_DIR
    if not base.is_dir():
        raise PowerSourceUnavailable(
            f"no {base}: this kernel exposes no hardware monitors here (a container or VM, "
            "or a board without hwmon sensors)"
        )
    found = []
    for entry in sorted(base.iterdir(), key=lambda p: _natural_key(p.name)):
        for attr_dir in (entry, entry / "device"):
            try:
                chip = (attr_dir / "name").read_text().strip()
            except OSError:
                continue
            found.append((entry.name, chip, attr_dir))
            break
    return found


def find_ina_devices(root: Path = DEFAULT_ROOT) -> list[InaDevice]:
    """All INA2xx monitors under ``root/sys/class/hwmon``.

    Raises:
        PowerSourceUnavailable: There is no hwmon directory, or no INA2xx monitor in it.
    """
    all_devices = _hwmon_devices(root)
    inas = []
    for hwmon, chip, attr_dir in all_devices:
        if chip not in INA_CHIPS:
            continue
        if not (attr_dir / "power1_input").exists() and (attr_dir / "device" / "power1_input").exists():
            attr_dir = attr_dir / "device"
        if (attr_dir / "power1_input").exists():
            method = "power1_input"
        elif (attr_dir / "in1_input").exists() and (attr_dir / "curr1_input").exists():
            method = "in1_input x curr1_input"
        else:
            continue
        inas.append(InaDevice(hwmon, chip, attr_dir, method))
    if not inas:
        names = ", ".join(f"{h} {c}" for h, c, _ in all_devices) or "none"
        raise PowerSourceUnavailable(
            f"no INA2xx monitor among the hwmon devices under {root / HWMON_DIR} (found: {names}); "
            "wire an INA219/INA226/INA260 into the supply line and bind its kernel driver, e.g. "
            "`echo ina226 0x40 | sudo tee /sys/bus/i2c/devices/i2c-1/new_device` or a device-tree overlay"
        )
    return inas


class Ina2xxReader:
    """Instantaneous power from one or more INA2xx monitors, summed.

    Args:
        root: File-system root (``/``; a fixture tree in tests).
        devices: hwmon directory names (``hwmon3``) or chip names (``ina226``)
            of the monitors to sum. ``None`` uses the only one found, and is an
            error when there are several (they may be in series).
        boundary: What the chosen shunt(s) see; say so if not the board input.

    Raises:
        PowerSourceUnavailable: No (matching) monitor, or several and no choice.
    """

    name = "ina2xx"
    kind: Kind = KIND_MEASURED
    quantity: Quantity = "power"

    def __init__(
        self,
        root: Path | str = DEFAULT_ROOT,
        devices: Sequence[str] | None = None,
        boundary: str = INA_BOUNDARY,
    ) -> None:
        self.root = Path(root)
        self.boundary = boundary
        found = find_ina_devices(self.root)
        listing = ", ".join(f"{d.hwmon} ({d.chip})" for d in found)
        if devices is None:
            if len(found) > 1:
                raise PowerSourceUnavailable(
                    f"found {len(found)} INA2xx monitors: {listing}; pass devices=[...] naming the "
                    "one(s) at the boundary you want to measure (their powers are summed)"
                )
            chosen = found
        else:
            wanted = list(devices)
            chosen = [d for d in found if d.hwmon in wanted or d.chip in wanted]
            unknown = [w for w in wanted if not any(w in (d.hwmon, d.chip) for d in found)]
            if unknown or not chosen:
                raise PowerSourceUnavailable(f"no INA2xx monitor named {unknown or wanted}; found: {listing}")
        self.devices: tuple[InaDevice, ...] = tuple(chosen)

    @staticmethod
    def device_power_w(device: InaDevice) -> float:
        """One monitor's power now, watts."""
        if device.method == "power1_input":
            return read_sysfs_number(device.attr_dir / "power1_input") / 1e6
        bus_mv = read_sysfs_number(device.attr_dir / "in1_input")
        current_ma = read_sysfs_number(device.attr_dir / "curr1_input")
        return bus_mv * current_ma / 1e6

    def read_power_w(self) -> float:
        """Sum of the chosen monitors' power now, watts."""
        return sum(self.device_power_w(d) for d in self.devices)

    def describe(self) -> dict[str, Any]:
        """Name, boundary, kind, quantity and the monitors read."""
        return {
            "name": self.name,
            "boundary": self.boundary,
            "kind": self.kind,
            "quantity": self.quantity,
            "devices": [
                {"hwmon": d.hwmon, "chip": d.chip, "path": str(d.attr_dir), "method": d.method}
                for d in self.devices
            ],
        }

    def close(self) -> None:
        """Nothing to release."""
