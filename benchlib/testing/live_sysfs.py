"""A live copy of a fixture sysfs tree whose power sensors follow a known power profile, for end-to-end tests.

:class:`LiveSysfs` copies a tree from ``data/sensors/sysfs/`` to a temporary
folder, then a thread rewrites its sensor files about 50 times a second with
the power ``P(t) = base_w + amplitude_w * sin(2 pi (t - t0) / period_s)``
(``t`` wall-clock Unix seconds, ``t0`` the start):

* INA2xx hwmon devices: ``power1_input`` gets ``P(t)`` in microwatts and, where
  the device has ``in1_input`` (mV), ``curr1_input`` gets ``P(t) / V`` in
  milliamperes (the only power there for an old INA219 without ``power1_input``);
* powercap zones (``intel-rapl:*``, ``intel-rapl-mmio:*``): ``energy_uj`` gets
  the exact integral of ``share * P`` since the start, added to the fixture's
  value and wrapping at ``max_energy_range_uj``; the share is by zone name
  (:data:`DEFAULT_RAPL_SHARES`: package 1, DRAM 0.25 ...).

Every write is atomic (temporary file + ``os.replace``), so a reader never
sees half a number. :meth:`LiveSysfs.energy_j` gives the exact energy over
any wall-clock window; the files lag the profile by at most one write period
(20 ms). :meth:`LiveSysfs.reset_counters` sets every counter back to 0, as a
reboot of the sensor would. Real programs read the tree too:
``prometheus-node-exporter --path.sysfs=LIVE.sysfs --collector.rapl``.
"""

from __future__ import annotations

import math
import os
import shutil
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from benchlib.clock import REAL_CLOCK, Clock
from benchlib.power.deadlines import deadlines
from benchlib.power.errors import PowerSourceUnavailable
from benchlib.power.ina2xx import find_ina_devices

__all__ = ["DEFAULT_RAPL_SHARES", "LiveSysfs", "PowerProfile"]

DEFAULT_RAPL_SHARES: Mapping[str, float] = {"package": 1.0, "core": 0.6, "uncore": 0.1, "dram": 0.25, "psys": 1.6}
"""Share of the profile's power each RAPL zone counts, by zone-name prefix (``package-0`` -> ``package``)."""


@dataclass(frozen=True)
class PowerProfile:
    """``P(t) = base_w + amplitude_w * sin(2 pi (t - t0_unix_s) / period_s)``, watts, ``t`` in Unix seconds."""

    base_w: float = 6.0
    amplitude_w: float = 2.0
    period_s: float = 10.0
    t0_unix_s: float = 0.0

    def power_w(self, unix_s: float) -> float:
        """The power at ``unix_s``, watts."""
        return self.base_w + self.amplitude_w * math.sin(2 * math.pi * (unix_s - self.t0_unix_s) / self.period_s)

    def energy_j(self, start_unix_s: float, end_unix_s: float) -> float:
        """The exact integral of the power over ``[start_unix_s, end_unix_s]``, joules."""
        omega = 2 * math.pi / self.period_s
        phase_start, phase_end = omega * (start_unix_s - self.t0_unix_s), omega * (end_unix_s - self.t0_unix_s)
        return self.base_w * (end_unix_s - start_unix_s) + self.amplitude_w / omega * (math.cos(phase_start) - math.cos(phase_end))


@dataclass
class _Counter:
    path: Path
    share: float
    range_uj: int
    base_uj: int
    origin_unix_s: float


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text)
    os.replace(temporary, path)


class LiveSysfs:
    """A copy of a fixture tree driven by a power profile (see the module docstring).

    Args:
        fixture: The tree to copy (it holds ``sys/``), e.g. ``data/sensors/sysfs/pi5_ina226``.
        workdir: Folder for the copy (a test's ``tmp_path``); the tree goes to ``workdir/tree``.
        base_w: Mean power, W.
        amplitude_w: Amplitude of the sine, W (below ``base_w``, so power stays positive).
        period_s: Period of the sine, s.
        write_hz: How often the files are rewritten, Hz.
        rapl_shares: Share of the power each RAPL zone counts, by zone-name prefix.
        clock: Where the profile's time is read and the writer waits (:mod:`benchlib.clock`):
            real for a live tree read by node_exporter; scripted in a unit test, which
            then calls :meth:`write_now` itself at the times it moves to.

    Raises:
        ValueError: The tree has no INA2xx power sensor and no energy counter to drive.
    """

    def __init__(
        self, fixture: Path | str, workdir: Path | str, *, base_w: float = 6.0, amplitude_w: float = 2.0,
        period_s: float = 10.0, write_hz: float = 50.0, rapl_shares: Mapping[str, float] = DEFAULT_RAPL_SHARES,
        clock: Clock = REAL_CLOCK,
    ) -> None:  # fmt: skip
        if not 0 <= amplitude_w < base_w:
            raise ValueError(f"amplitude_w must be in [0, base_w) so power stays positive, got {amplitude_w} and {base_w}")
        self.root = Path(workdir) / "tree"
        shutil.copytree(fixture, self.root)
        self.clock = clock
        self.profile = PowerProfile(base_w, amplitude_w, period_s, clock.unix_s())
        self.write_hz = write_hz
        self.writes = 0
        """Rounds of writes so far."""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._power_files: list[tuple[Path, float]] = []  # (file, divisor: 1e-6 for uW, else volts/1000 for mA)
        try:
            devices = find_ina_devices(self.root)
        except PowerSourceUnavailable:
            devices = []
        for device in devices:
            if (device.attr_dir / "power1_input").exists():
                self._power_files.append((device.attr_dir / "power1_input", 1e-6))
            volts_file = device.attr_dir / "in1_input"
            if volts_file.exists() and (device.attr_dir / "curr1_input").exists():
                self._power_files.append((device.attr_dir / "curr1_input", float(volts_file.read_text()) / 1e6))
        self._counters: list[_Counter] = []
        for energy in sorted((self.root / "sys/class/powercap").glob("*/energy_uj")):
            name = (energy.parent / "name").read_text().strip()
            share = next((s for prefix, s in rapl_shares.items() if name == prefix or name.startswith(f"{prefix}-")), 0.0)
            range_uj = int((energy.parent / "max_energy_range_uj").read_text())
            self._counters.append(_Counter(energy, share, range_uj, int(energy.read_text()), self.profile.t0_unix_s))
        if not self._power_files and not self._counters:
            raise ValueError(f"{fixture} has no INA2xx power sensor and no powercap energy counter to drive")

    @property
    def sysfs(self) -> Path:
        """The tree's ``sys`` folder (node_exporter's ``--path.sysfs``)."""
        return self.root / "sys"

    @property
    def counter_shares(self) -> dict[str, float]:
        """Share of the profile's power by counter zone folder (``intel-rapl:0`` -> 1.0)."""
        return {c.path.parent.name: c.share for c in self._counters}

    def power_w(self, unix_s: float) -> float:
        """The profile's power at ``unix_s``, watts."""
        return self.profile.power_w(unix_s)

    def energy_j(self, start_unix_s: float, end_unix_s: float, share: float = 1.0) -> float:
        """The exact energy of ``share`` times the profile over a wall-clock window, joules."""
        return share * self.profile.energy_j(start_unix_s, end_unix_s)

    def write_now(self) -> float:
        """Write every sensor file for now; return the time written for, Unix s."""
        with self._lock:
            now = self.clock.unix_s()
            power = self.profile.power_w(now)
            for path, divisor in self._power_files:
                _write_atomic(path, f"{round(power / divisor)}\n")
            for counter in self._counters:
                added_uj = round(counter.share * self.profile.energy_j(counter.origin_unix_s, now) * 1e6)
                _write_atomic(counter.path, f"{(counter.base_uj + added_uj) % counter.range_uj}\n")
            self.writes += 1
            return now

    def reset_counters(self) -> float:
        """Set every energy counter back to 0 now (they count on from there); return when, Unix s."""
        with self._lock:
            now = self.clock.unix_s()
            for counter in self._counters:
                counter.base_uj, counter.origin_unix_s = 0, now
        self.write_now()
        return now

    def start(self) -> LiveSysfs:
        """Write once now, then keep writing on a background thread."""
        self.write_now()
        self._thread = threading.Thread(target=self._run, name="benchlib-live-sysfs", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop writing (the files keep their last values); safe to call twice."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5.0)

    def __enter__(self) -> LiveSysfs:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _run(self) -> None:
        for _ in deadlines(1.0 / self.write_hz, self._stop, clock=self.clock):
            self.write_now()
