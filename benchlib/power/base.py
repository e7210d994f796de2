"""The protocols every power reader implements, and the command runner readers use.

A reader is one power source on one machine. It says what it is (``name``),
what part of the machine its sensor sees (``boundary``), whether it measures
or estimates (``kind``) and which quantity it yields (``quantity``):

* ``"power"`` readers implement :meth:`PowerRateReader.read_power_w`, an
  instantaneous power in watts; the sampler integrates the samples.
* ``"energy"`` readers implement :meth:`EnergyCounterReader.read_energy_j`,
  raw cumulative counters in joules (one per counter, e.g. per RAPL zone or
  per GPU); the sampler differences them and handles wrap-around using
  :attr:`EnergyCounterReader.counter_range_j`.
* ``"log"`` sources (an external meter's log) are read offline, for a window
  given in wall-clock time, and are not sampled.

Readers that read sysfs take a ``root`` directory (``/`` on a real machine, a
fixture tree in tests); readers that run a command take a ``runner`` callable
(:func:`run_command` on a real machine, recorded output in tests).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from benchlib.power.errors import PowerReadError, PowerSourceUnavailable

__all__ = [
    "BOUNDARY_CPU_PACKAGE",
    "BOUNDARY_CPU_PACKAGE_DRAM",
    "BOUNDARY_ESTIMATE",
    "BOUNDARY_GPU",
    "DEFAULT_ROOT",
    "KIND_ESTIMATED",
    "KIND_MEASURED",
    "CommandRunner",
    "EnergyCounterReader",
    "Kind",
    "PowerRateReader",
    "PowerReader",
    "Quantity",
    "read_sysfs_number",
    "run_command",
]

Kind = Literal["measured", "estimated"]
Quantity = Literal["power", "energy", "log"]

KIND_MEASURED: Kind = "measured"
KIND_ESTIMATED: Kind = "estimated"

BOUNDARY_GPU = "GPU only (board power of each GPU, NVML)"
BOUNDARY_CPU_PACKAGE = "CPU package"
BOUNDARY_CPU_PACKAGE_DRAM = "CPU package + DRAM"
BOUNDARY_ESTIMATE = "estimate (profile)"

DEFAULT_ROOT = Path("/")
"""Root of the file system readers look under; tests pass a fixture tree instead."""

CommandRunner = Callable[[Sequence[str]], str]
"""Runs a command (argv list) and returns its standard output as text.

Raises :class:`~benchlib.power.errors.PowerSourceUnavailable` when the program
does not exist or is not permitted, :class:`~benchlib.power.errors.PowerReadError`
when it fails or times out.
"""


@runtime_checkable
class PowerReader(Protocol):
    """What every power reader has.

    Attributes:
        name: Source name as recorded with measurements: the registry name
            (``pi5-pmic``, ``rapl`` ...), qualified where useful (``estimate:l4``).
        boundary: What the sensor sees, in words (``SoC/PMIC rails ...``,
            ``board input``, ``GPU only``, ``CPU package + DRAM``, ``estimate (profile)``).
        kind: ``"measured"`` for a sensor, ``"estimated"`` for a profile figure.
        quantity: ``"power"`` (instantaneous watts), ``"energy"`` (cumulative
            joules) or ``"log"`` (offline log, not sampled).
    """

    name: str
    boundary: str
    kind: Kind
    quantity: Quantity

    def describe(self) -> dict[str, Any]:
        """A JSON-serializable description for run.json: name, boundary, kind, quantity, details."""
        ...

    def close(self) -> None:
        """Release what the reader holds (library handles); safe to call twice."""
        ...


@runtime_checkable
class PowerRateReader(PowerReader, Protocol):
    """A reader of instantaneous power."""

    def read_power_w(self) -> float:
        """The power now, watts.

        Raises:
            PowerReadError: The sensor could not be read.
        """
        ...


@runtime_checkable
class EnergyCounterReader(PowerReader, Protocol):
    """A reader of cumulative energy counters.

    Attributes:
        counter_range_j: Per counter, the value in joules at which it wraps to
            zero, or ``None`` when no wrap is expected (then any backwards
            step is an error).
        max_plausible_power_w: Per counter, the largest mean power in watts a
            wrap may imply; a backwards step that would need more is an error,
            not a wrap.
    """

    counter_range_j: Mapping[str, float | None]
    max_plausible_power_w: float

    def read_energy_j(self) -> dict[str, float]:
        """The raw counters now, joules, keyed by counter name (``package-0``, ``gpu0`` ...).

        Raises:
            PowerReadError: A counter could not be read.
        """
        ...


def run_command(argv: Sequence[str], timeout_s: float = 5.0) -> str:
    """Run a command and return its standard output; the default :data:`CommandRunner`.

    Args:
        argv: Program and arguments.
        timeout_s: Seconds to wait before giving up.

    Raises:
        PowerSourceUnavailable: The program is not installed or not permitted.
        PowerReadError: It exited non-zero or took longer than ``timeout_s``.
    """
    program = argv[0]
    try:
        done = subprocess.run(
            list(argv), capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except FileNotFoundError as exc:
        raise PowerSourceUnavailable(f"{program} not found on PATH") from exc
    except PermissionError as exc:
        raise PowerSourceUnavailable(f"{program} is not executable by this user: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise PowerReadError(f"`{' '.join(argv)}` did not answer within {timeout_s:g} s") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip() or "no output"
        raise PowerReadError(f"`{' '.join(argv)}` exited with status {done.returncode}: {detail}")
    return done.stdout


def read_sysfs_number(path: Path, parse: Callable[[str], float] = float, permission_hint: str = "run as root or grant read access") -> float:
    """Read one number from a sysfs attribute file.

    Args:
        path: The attribute file.
        parse: ``float`` or ``int``.
        permission_hint: What to do when the file is not readable.

    Raises:
        PowerSourceUnavailable: no permission to read it (the hint says what to do).
        PowerReadError: it cannot be read, or does not hold a number.
    """
    try:
        text = path.read_text().strip()
    except PermissionError as exc:
        raise PowerSourceUnavailable(f"no permission to read {path}: {permission_hint}") from exc
    except OSError as exc:
        raise PowerReadError(f"cannot read {path}: {exc}") from exc
    try:
        return parse(text)
    except ValueError as exc:
        kind = "an integer" if parse is int else "a number"
        raise PowerReadError(f"{path} holds {text!r}, not {kind}") from exc
