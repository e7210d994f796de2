"""What ``benchlib exporter`` exposes: the exporter's state and the metric families built from it.

Pure functions of an :class:`ExporterState` and a
:class:`~benchlib.thermal.snapshot.ThermalSnapshot`, plus the
``prometheus_client`` collector that calls them at every scrape. The sampling
lives in :mod:`benchlib.prometheus.exporter`.

Metrics (power ones labelled ``source``, ``boundary``, ``kind``):

* ``benchlib_power_watts`` (gauge): the last power read, W; absent while reads fail.
* ``benchlib_energy_joules_total`` (counter): energy since the exporter started, J.
  It never decreases; a failed read adds nothing (see ``uncovered``).
* ``benchlib_exporter_up`` (gauge): 1 when the last read succeeded, 0 while reads fail.
* ``benchlib_exporter_samples_total`` / ``benchlib_exporter_read_errors_total`` (counters).
* ``benchlib_exporter_uncovered_seconds_total`` (counter): time, s, whose energy the
  counter lacks (power-reader gaps after failed reads, counter resets).
* ``benchlib_exporter_time_seconds`` (gauge): the exporter's wall clock at the scrape,
  Unix s, to estimate the clock offset between hosts.
* ``benchlib_exporter_start_time_seconds``, ``benchlib_exporter_rate_hz`` (gauges) and
  ``benchlib_exporter_info`` (source, boundary, kind, quantity, host).
* Thermal, where the machine has it: ``benchlib_temperature_celsius{sensor}``,
  ``benchlib_throttled`` (0/1, only when a source can tell), ``benchlib_throttle_reason{reason}``
  and ``benchlib_throttle_history{condition}`` (1 each), ``benchlib_cpu_clock_hz``,
  ``benchlib_cpu_max_clock_hz``, ``benchlib_gpu_clock_hz{gpu}``,
  ``benchlib_thermal_source_up{source}``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from benchlib.clock import REAL_CLOCK, Clock
from benchlib.thermal.snapshot import ThermalSnapshot

__all__ = [
    "ENERGY_METRIC",
    "POWER_LABELS",
    "POWER_METRIC",
    "ExporterCollector",
    "ExporterState",
    "power_families",
    "thermal_families",
]

log = logging.getLogger(__name__)

POWER_METRIC = "benchlib_power_watts"
ENERGY_METRIC = "benchlib_energy_joules_total"
POWER_LABELS = ("source", "boundary", "kind")
"""Labels of every power metric, from the reader: its name, what it sees, ``measured`` or ``estimated``."""


@dataclass(frozen=True)
class ExporterState:
    """The exporter's running state at one moment (no sample history: it runs for days).

    Attributes:
        source: Reader name (``ina2xx``, ``rapl`` ...).
        boundary: What the reader's sensor sees.
        kind: ``measured`` or ``estimated``.
        quantity: ``power`` or ``energy``: what the reader yields.
        host: Host name of the exporter's machine.
        rate_hz: Sampling rate, Hz.
        start_unix_s: When the exporter started, Unix s.
        power_w: Last power, W (for counters: the mean over the last interval); ``None`` before
            there is one or while reads fail.
        energy_j: Energy since the start, J; never decreases.
        samples: Successful reads.
        read_errors: Failed reads (including counter resets).
        uncovered_s: Seconds whose energy is missing from ``energy_j``.
        up: ``True`` when the last read succeeded.
        last_error: Why the last failed read failed, or ``None``.
    """

    source: str
    boundary: str
    kind: str
    quantity: str
    host: str
    rate_hz: float
    start_unix_s: float
    power_w: float | None
    energy_j: float
    samples: int
    read_errors: int
    uncovered_s: float
    up: bool
    last_error: str | None = None


def _gauge(name: str, documentation: str, value: float, labels: dict[str, str] | None = None) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


def _counter(name: str, documentation: str, value: float, labels: dict[str, str] | None = None) -> CounterMetricFamily:
    family = CounterMetricFamily(name, documentation, labels=list(labels or {}))
    family.add_metric(list((labels or {}).values()), value)
    return family


def power_families(state: ExporterState, now_unix_s: float) -> list[Metric]:
    """The power, energy and exporter metric families of ``state``, scraped at ``now_unix_s`` (Unix s)."""
    labels = {"source": state.source, "boundary": state.boundary, "kind": state.kind}
    families: list[Metric] = []
    if state.up and state.power_w is not None:
        families.append(_gauge(POWER_METRIC, "Power now (for energy counters: mean over the last interval), watts.",
                               state.power_w, labels))  # fmt: skip
    families += [
        _counter("benchlib_energy_joules", "Energy since the exporter started, joules; never decreases, "
                 "a failed read adds nothing (see benchlib_exporter_uncovered_seconds_total).", state.energy_j, labels),
        _gauge("benchlib_exporter_up", "1 when the last read of the power source succeeded, 0 while reads fail.",
               1.0 if state.up else 0.0, labels),
        _counter("benchlib_exporter_samples", "Successful reads of the power source.", state.samples, labels),
        _counter("benchlib_exporter_read_errors", "Failed reads of the power source (and counter resets).",
                 state.read_errors, labels),
        _counter("benchlib_exporter_uncovered_seconds", "Seconds whose energy the energy counter lacks "
                 "(gaps after failed reads, counter resets).", state.uncovered_s, labels),
        _gauge("benchlib_exporter_time_seconds", "The exporter's wall clock at this scrape, Unix seconds "
               "(compare with the scraper's clock to estimate the offset between hosts).", now_unix_s),
        _gauge("benchlib_exporter_start_time_seconds", "When the exporter started, Unix seconds.", state.start_unix_s),
        _gauge("benchlib_exporter_rate_hz", "Sampling rate of the power source, hertz.", state.rate_hz),
    ]  # fmt: skip
    info = InfoMetricFamily("benchlib_exporter", "What the exporter reads, and where.")
    info.add_metric([], {**labels, "quantity": state.quantity, "host": state.host})
    families.append(info)
    return families


def thermal_families(snapshot: ThermalSnapshot, sources: tuple[str, ...] = ()) -> list[Metric]:
    """Temperature, throttle and clock metric families of one thermal snapshot.

    Args:
        snapshot: What the thermal sources read now.
        sources: Every available thermal source's name; each gets ``benchlib_thermal_source_up``
            (0 when it failed in this snapshot).
    """
    families: list[Metric] = []
    if snapshot.temperatures_c:
        temps = GaugeMetricFamily("benchlib_temperature_celsius", "Temperature by sensor, degrees Celsius.",
                                  labels=["sensor"])  # fmt: skip
        for sensor, value in snapshot.temperatures_c.items():
            temps.add_metric([sensor], value)
        families.append(temps)
    if snapshot.throttled is not None:
        families.append(_gauge("benchlib_throttled", "1 when a source says clocks are held down now, else 0.",
                               1.0 if snapshot.throttled else 0.0))  # fmt: skip
    for name, label, values, doc in (
        ("benchlib_throttle_reason", "reason", snapshot.throttle_reasons, "What holds the clocks down now (1 each)."),
        ("benchlib_throttle_history", "condition", snapshot.throttle_history, "Conditions that occurred since boot (1 each)."),
    ):  # fmt: skip
        if values:
            family = GaugeMetricFamily(name, doc, labels=[label])
            for value in dict.fromkeys(values):
                family.add_metric([value], 1.0)
            families.append(family)
    if snapshot.cpu_clock_mhz is not None:
        families.append(_gauge("benchlib_cpu_clock_hz", "CPU clock now, hertz.", snapshot.cpu_clock_mhz * 1e6))
    if snapshot.cpu_max_clock_mhz is not None:
        families.append(_gauge("benchlib_cpu_max_clock_hz", "Maximum CPU clock, hertz.", snapshot.cpu_max_clock_mhz * 1e6))
    if snapshot.gpu_clock_mhz:
        gpus = GaugeMetricFamily("benchlib_gpu_clock_hz", "SM clock by GPU now, hertz.", labels=["gpu"])
        for gpu, value in snapshot.gpu_clock_mhz.items():
            gpus.add_metric([gpu], value * 1e6)
        families.append(gpus)
    if sources:
        up = GaugeMetricFamily("benchlib_thermal_source_up", "1 when the thermal source answered this scrape.",
                               labels=["source"])  # fmt: skip
        for name in sources:
            up.add_metric([name], 0.0 if name in snapshot.errors else 1.0)
        families.append(up)
    return families


class ExporterCollector(Collector):
    """A ``prometheus_client`` collector that builds every family at scrape time.

    Args:
        state: Returns the exporter's state, current at the scrape (it may read the sensor).
        thermal: Returns a thermal snapshot and the available source names, or ``None`` without thermal sources.
        clock: Where the scrape time is read (:mod:`benchlib.clock`).
    """

    def __init__(
        self,
        state: Callable[[], ExporterState],
        thermal: Callable[[], tuple[ThermalSnapshot, tuple[str, ...]]] | None = None,
        clock: Clock = REAL_CLOCK,
    ) -> None:
        self._state = state
        self._thermal = thermal
        self._clock = clock

    def collect(self) -> Iterator[Metric]:
        """Every metric family, now."""
        yield from power_families(self._state(), self._clock.unix_s())
        if self._thermal is None:
            return
        try:
            snapshot, sources = self._thermal()
            families = thermal_families(snapshot, sources)
        except Exception as exc:  # a thermal failure must not lose the power metrics of this scrape
            log.warning("thermal read failed at scrape: %s: %s", type(exc).__name__, exc)
            return
        yield from families
