"""CPU package and DRAM energy from RAPL counters in Linux powercap sysfs.

Each RAPL zone is a directory ``/sys/class/powercap/intel-rapl:N`` (a package)
or ``intel-rapl:N:M`` (a subzone: ``core``, ``uncore``, ``dram``) holding:

* ``name``: ``package-0``, ``dram``, ``core``, ``psys`` ...;
* ``energy_uj``: cumulative energy, microjoules, wrapping to 0 after
* ``max_energy_range_uj``: its range, microjoules.

AMD Zen CPUs (Linux 5.8+) use the same ``intel-rapl`` names. ``core`` and
``uncore`` are parts of the package, and ``psys`` covers the whole platform,
so by default only ``package-*`` and ``dram`` zones are read; DRAM is outside
the package, so package + DRAM does not double count.

``energy_uj`` is readable by root only on kernels patched for PLATYPUS
(CVE-2020-8694), which the reader reports with how to fix it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchlib.power.base import (
    BOUNDARY_CPU_PACKAGE,
    BOUNDARY_CPU_PACKAGE_DRAM,
    DEFAULT_ROOT,
    KIND_MEASURED,
    Kind,
    Quantity,
    read_sysfs_number,
)
from benchlib.power.errors import PowerReadError, PowerSourceUnavailable

__all__ = ["POWERCAP_DIR", "RAPL_MAX_PLAUSIBLE_POWER_W", "RaplReader", "RaplZone", "find_rapl_zones"]

POWERCAP_DIR = Path("sys/class/powercap")
RAPL_MAX_PLAUSIBLE_POWER_W = 5000.0
"""Above this mean power per zone, a backwards counter step is a reset, not a wrap."""

_ZONE_DIR = re.compile(r"^intel-rapl:(\d+)(?::(\d+))?$")
_PERMISSION_HINT = (
    "RAPL energy counters are readable by root only on current kernels (the PLATYPUS fix, "
    "CVE-2020-8694): run as root, or until the next reboot grant read access with "
    "`sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj /sys/class/powercap/intel-rapl:*:*/energy_uj`"
)


@dataclass(frozen=True)
class RaplZone:
    """One RAPL zone.

    Attributes:
        zone: Directory name (``intel-rapl:0:2``).
        name: Its ``name`` file (``dram``).
        path: The directory.
        range_j: ``max_energy_range_uj`` in joules, where the counter wraps.
    """

    zone: str
    name: str
    path: Path
    range_j: float


def find_rapl_zones(root: Path = DEFAULT_ROOT) -> list[RaplZone]:
    """Every ``intel-rapl:*`` zone under ``root/sys/class/powercap``, packages first.

    Raises:
        PowerSourceUnavailable: No powercap directory, or no RAPL zone in it.
    """
    base = root / POWERCAP_DIR
    if not base.is_dir():
        raise PowerSourceUnavailable(
            f"no {base}: the kernel exposes no powercap zones (not an x86 CPU, a VM or container, "
            "or the RAPL driver is not loaded: `sudo modprobe intel_rapl_msr`)"
        )
    entries = []
    for entry in base.iterdir():
        match = _ZONE_DIR.match(entry.name)
        if match:
            sub = -1 if match[2] is None else int(match[2])
            entries.append(((int(match[1]), sub), entry))
    if not entries:
        others = ", ".join(sorted(e.name for e in base.iterdir())) or "none"
        raise PowerSourceUnavailable(
            f"no intel-rapl zones under {base} (found: {others}); RAPL needs an Intel CPU or an "
            "AMD Zen CPU with Linux 5.8+, on bare metal, with `sudo modprobe intel_rapl_msr`"
        )
    zones = []
    for _, entry in sorted(entries):
        try:
            name = (entry / "name").read_text().strip()
        except OSError as exc:
            raise PowerReadError(f"cannot read {entry / 'name'}: {exc}") from exc
        range_uj = read_sysfs_number(entry / "max_energy_range_uj", int, _PERMISSION_HINT)
        zones.append(RaplZone(entry.name, name, entry, range_uj / 1e6))
    return zones


class RaplReader:
    """Cumulative CPU package (and DRAM) energy from RAPL.

    Args:
        root: File-system root (``/``; a fixture tree in tests).
        domains: Which zones to read, by name prefix: ``"package"`` matches
            ``package-0``, ``package-1`` ...; ``"dram"`` the DRAM subzones.

    Raises:
        PowerSourceUnavailable: No RAPL zones, none of the requested domains,
            or no permission to read the counters (with how to fix it).
    """

    name = "rapl"
    kind: Kind = KIND_MEASURED
    quantity: Quantity = "energy"
    max_plausible_power_w = RAPL_MAX_PLAUSIBLE_POWER_W

    def __init__(self, root: Path | str = DEFAULT_ROOT, domains: Sequence[str] = ("package", "dram")) -> None:
        self.root = Path(root)
        found = find_rapl_zones(self.root)
        self.zones: tuple[RaplZone, ...] = tuple(
            z for z in found if any(z.name == d or z.name.startswith(f"{d}-") for d in domains)
        )
        if not self.zones:
            names = ", ".join(f"{z.zone} ({z.name})" for z in found)
            raise PowerSourceUnavailable(f"no RAPL zone matches {list(domains)}; found: {names}")
        has_dram = any(z.name == "dram" for z in self.zones)
        self.boundary = BOUNDARY_CPU_PACKAGE_DRAM if has_dram else BOUNDARY_CPU_PACKAGE
        self.counter_range_j: dict[str, float | None] = {z.zone: z.range_j for z in self.zones}
        self.read_energy_j()  # fail now, with the permission hint, rather than mid-run

    def read_energy_j(self) -> dict[str, float]:
        """Each zone's raw counter now, joules, keyed by zone directory name."""
        return {z.zone: read_sysfs_number(z.path / "energy_uj", int, _PERMISSION_HINT) / 1e6 for z in self.zones}

    def describe(self) -> dict[str, Any]:
        """Name, boundary, kind, quantity and the zones read with their ranges."""
        return {
            "name": self.name,
            "boundary": self.boundary,
            "kind": self.kind,
            "quantity": self.quantity,
            "zones": [{"zone": z.zone, "name": z.name, "range_j": z.range_j} for z in self.zones],
        }

    def close(self) -> None:
        """Nothing to release."""
