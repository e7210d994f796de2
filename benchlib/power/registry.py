"""Which power sources exist, which this machine has, and the best one to use.

:data:`READERS` maps each source name to the factory that opens it.
:func:`doctor` tries every live source once on this machine and says, for
each one it lacks, why (no file, no permission, no GPU or pynvml, no
vcgencmd). :func:`auto_reader` returns the best available measured source,
or ``None``: then the caller falls back to a profile estimate
(:class:`~benchlib.power.estimate.ProfileEstimateReader`) and records that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from benchlib.errors import ParameterError
from benchlib.power.base import DEFAULT_ROOT, CommandRunner, PowerReader
from benchlib.power.errors import PowerError
from benchlib.power.estimate import PROFILE_POWER_W, ProfileEstimateReader
from benchlib.power.ina2xx import Ina2xxReader
from benchlib.power.meter_log import MeterLogReader
from benchlib.power.nvml import open_nvml
from benchlib.power.pmic import Pi5PmicReader
from benchlib.power.rapl import RaplReader

__all__ = [
    "AUTO_PREFERENCE",
    "READERS",
    "SourceStatus",
    "auto_reader",
    "available_sources",
    "doctor",
    "format_doctor",
    "open_reader",
    "prometheus_status",
]

ReaderFactory = Callable[..., PowerReader]


def open_prometheus(**options: Any) -> PowerReader:
    """The ``prometheus`` source (:func:`benchlib.prometheus.source.open_prometheus`).

    Imported when used: the Prometheus modules build on this package's readers.
    """
    # cycle: the Prometheus modules import benchlib.power, whose package imports this registry
    from benchlib.prometheus.source import open_prometheus as open_source

    return open_source(**options)  # type: ignore[return-value]

READERS: dict[str, ReaderFactory] = {
    "pi5-pmic": Pi5PmicReader,
    "ina2xx": Ina2xxReader,
    "rapl": RaplReader,
    "nvml": open_nvml,
    "meter-log": MeterLogReader,
    "prometheus": open_prometheus,
    "estimate": ProfileEstimateReader,
}
"""Source name -> factory; call with that source's keyword options."""

AUTO_PREFERENCE: tuple[str, ...] = ("ina2xx", "nvml", "pi5-pmic", "rapl")
"""Live measured sources, best first: the widest boundary that includes the accelerator
doing the work (a board-input shunt, then the GPU, then the Pi's rails, then the CPU package)."""

# How to open each live source on a machine, from a root and a command runner.
_LIVE: dict[str, Callable[[Path, CommandRunner | None], PowerReader]] = {
    "ina2xx": lambda root, runner: Ina2xxReader(root=root),
    "nvml": lambda root, runner: open_nvml(),
    "pi5-pmic": lambda root, runner: Pi5PmicReader(runner=runner),
    "rapl": lambda root, runner: RaplReader(root=root),
}

Status = Literal["available", "missing", "offline"]


@dataclass(frozen=True)
class SourceStatus:
    """One power source on this machine.

    Attributes:
        name: Source name (a :data:`READERS` key).
        status: ``"available"`` (read once successfully), ``"missing"`` (see
            ``detail`` for why), or ``"offline"`` (needs a file, nothing to probe).
        kind: ``"measured"`` or ``"estimated"``.
        boundary: What it sees, when available.
        detail: Why it is missing (and how to fix that), or what it read.
    """

    name: str
    status: Status
    kind: str
    boundary: str | None
    detail: str

    @property
    def available(self) -> bool:
        """``True`` when the source can be read on this machine now."""
        return self.status == "available"

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for run.json."""
        return asdict(self)


def open_reader(name: str, **options: Any) -> PowerReader:
    """Open the power source ``name`` with its keyword options.

    Raises:
        ParameterError: Unknown source name.
        PowerSourceUnavailable: The source is not on this machine (says why).
    """
    try:
        factory = READERS[name]
    except KeyError:
        raise ParameterError(f"unknown power source {name!r}; known: {', '.join(READERS)} (or 'auto')") from None
    return factory(**options)


def _read_once(reader: PowerReader) -> str:
    if reader.quantity == "energy":
        counters = reader.read_energy_j()  # type: ignore[attr-defined]
        return f"{len(counters)} counter(s): " + ", ".join(f"{k}={v:.3f} J" for k, v in counters.items())
    return f"{reader.read_power_w():.3f} W now"  # type: ignore[attr-defined]


def _probe(name: str, root: Path, runner: CommandRunner | None) -> tuple[SourceStatus, PowerReader | None]:
    reader: PowerReader | None = None
    try:
        reader = _LIVE[name](root, runner)
        reading = _read_once(reader)
    except PowerError as exc:
        if reader is not None:
            reader.close()
        return SourceStatus(name, "missing", "measured", None, str(exc)), None
    except Exception as exc:  # a broken driver or library: report it, do not crash the doctor
        if reader is not None:
            reader.close()
        return SourceStatus(name, "missing", "measured", None, f"{type(exc).__name__}: {exc}"), None
    return SourceStatus(name, "available", reader.kind, reader.boundary, reading), reader


def prometheus_status(url: str | None = None) -> SourceStatus:
    """Whether an exporter or Prometheus server answers at ``url`` (default: ``benchlib exporter``'s on loopback)."""
    # cycle: the Prometheus modules import benchlib.power, whose package imports this registry
    from benchlib.prometheus.source import DEFAULT_EXPORTER_URL

    url = url or DEFAULT_EXPORTER_URL
    hint = (
        "start `benchlib exporter` on the device, then give power: prometheus with power_options.url "
        "(its /metrics, or a Prometheus server that scrapes it)"
    )
    try:
        reader = open_prometheus(url=url, timeout_s=2.0)
    except PowerError as exc:
        return SourceStatus("prometheus", "missing", "measured", None, f"{exc} — {hint}")
    described = reader.describe()
    reader.close()
    metric = described.get("metric") or described.get("query")
    return SourceStatus(
        "prometheus", "available", "measured", reader.boundary,
        f"{described['mode']} {described['url']} answers: {metric} ({len(described['series'])} series)",
    )  # fmt: skip


def doctor(
    root: Path | str = DEFAULT_ROOT, runner: CommandRunner | None = None, prometheus_url: str | None = None
) -> list[SourceStatus]:
    """Every power source, and whether this machine has it (with why not).

    Args:
        root: File-system root (``/``; a fixture tree in tests).
        runner: Command runner for command-based sources; the real one by default.
        prometheus_url: Where to look for an exporter or Prometheus server
            (default: ``benchlib exporter`` on loopback, ``http://127.0.0.1:9101/metrics``).
    """
    root = Path(root)
    statuses = []
    for name in AUTO_PREFERENCE:
        status, reader = _probe(name, root, runner)
        if reader is not None:
            reader.close()
        statuses.append(status)
    statuses.append(
        SourceStatus(
            "meter-log",
            "offline",
            "measured",
            None,
            "reads an external meter's CSV log after the run: MeterLogReader(path, clock_offset_s=...)",
        )
    )
    statuses.append(prometheus_status(prometheus_url))
    statuses.append(
        SourceStatus(
            "estimate",
            "available",
            "estimated",
            ProfileEstimateReader.boundary,
            "profile figures (not measurements): "
            + ", ".join(f"{k} {v:g} W" for k, v in PROFILE_POWER_W.items()),
        )
    )
    return statuses


def available_sources(root: Path | str = DEFAULT_ROOT, runner: CommandRunner | None = None) -> list[str]:
    """Names of the live measured sources this machine has, best first."""
    return [s.name for s in doctor(root, runner) if s.available and s.kind == "measured"]


def auto_reader(root: Path | str = DEFAULT_ROOT, runner: CommandRunner | None = None) -> PowerReader | None:
    """The best available measured source, opened, or ``None`` when there is none.

    On ``None`` the caller falls back to the hardware profile's estimate and
    records that the energy figures are estimated.
    """
    root = Path(root)
    for name in AUTO_PREFERENCE:
        _, reader = _probe(name, root, runner)
        if reader is not None:
            return reader
    return None


def format_doctor(statuses: list[SourceStatus]) -> str:
    """The doctor listing as text, one source per line."""
    marks = {"available": "ok", "missing": "--", "offline": ".."}
    width = max(len(s.name) for s in statuses)
    lines = []
    for s in statuses:
        where = f" [{s.kind}; {s.boundary}]" if s.boundary else f" [{s.kind}]"
        lines.append(f"{marks[s.status]} {s.name:<{width}}{where}: {s.detail}")
    return "\n".join(lines)
