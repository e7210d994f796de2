"""``benchlib exporter``: a local power reader exposed as Prometheus metrics, for days on end.

Usage::

    exporter = PowerExporter(Ina2xxReader(), rate_hz=10, thermal=detect_thermal_sources()).start()
    server = serve_exporter(exporter, port=9101)     # http://127.0.0.1:9101/metrics
    ...
    server.close(); exporter.close()

:class:`PowerExporter` samples the reader on a background thread at absolute
deadlines (``start + k / rate_hz``, as :class:`~benchlib.power.sampler.PowerSampler`
does) and keeps only running state, never a list of samples:

* power readers: the last power and the trapezoid-integrated energy;
* energy readers: the unwrapped counter total (:class:`~benchlib.power.integrate.CounterUnwrapper`)
  and, as power, the energy of the last interval over its duration.

Every scrape also takes a fresh sample, so the energy counter is current at the
scrape instant. A failed read is counted, logged and marks the exporter down;
it never adds energy: for a power reader the time until the next good read is
a gap (``uncovered``), not a trapezoid; an energy counter keeps counting in the
hardware, so its next good read covers the gap, except after a reset, which
re-baselines the counter (the interval is ``uncovered``) and never makes the
exposed total go backwards. The metric names are in :mod:`benchlib.prometheus.exporter_metrics`.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import socket
import threading
from dataclasses import dataclass
from typing import Any

from prometheus_client import start_http_server
from prometheus_client.registry import CollectorRegistry

from benchlib.clock import REAL_CLOCK, Clock
from benchlib.errors import ParameterError
from benchlib.power.base import PowerReader
from benchlib.power.deadlines import deadlines
from benchlib.power.errors import CounterError, PowerReadError
from benchlib.power.integrate import CounterUnwrapper
from benchlib.prometheus.exporter_metrics import ExporterCollector, ExporterState
from benchlib.thermal.snapshot import ThermalSnapshot
from benchlib.thermal.sources import ThermalSources

__all__ = [
    "DEFAULT_BIND",
    "DEFAULT_EXPORTER_PORT",
    "DEFAULT_EXPORTER_RATE_HZ",
    "ExporterServer",
    "PowerExporter",
    "is_loopback",
    "serve_exporter",
]

log = logging.getLogger(__name__)

DEFAULT_EXPORTER_RATE_HZ = 10.0
DEFAULT_EXPORTER_PORT = 9101
DEFAULT_BIND = "127.0.0.1"
"""Loopback: only this machine can scrape. Binding another address is an explicit choice."""


class PowerExporter:
    """Samples one power reader and keeps the running state Prometheus scrapes.

    Args:
        reader: A power reader (``quantity`` ``"power"`` or ``"energy"``).
        rate_hz: Samples per second, Hz.
        thermal: Thermal sources read at each scrape (``None``: no thermal metrics).
        host: Host name for the info metric; this machine's by default.
        clock: Where sample and scrape times are read and deadlines waited on
            (:mod:`benchlib.clock`; scripted in tests).

    Raises:
        ParameterError: ``rate_hz`` is not positive, or the reader is not sampled (a log).
    """

    def __init__(
        self, reader: PowerReader, rate_hz: float = DEFAULT_EXPORTER_RATE_HZ,
        thermal: ThermalSources | None = None, *, host: str | None = None, clock: Clock = REAL_CLOCK,
    ) -> None:  # fmt: skip
        if not (isinstance(rate_hz, (int, float)) and math.isfinite(rate_hz) and rate_hz > 0):
            raise ParameterError(f"rate_hz must be a positive number of samples per second, got {rate_hz!r}")
        if reader.quantity not in ("power", "energy"):
            raise ParameterError(
                f"power source {reader.name!r} yields {reader.quantity!r}, which is read after a run, not sampled; "
                "export a live source: pi5-pmic, ina2xx, rapl or nvml"
            )
        self.reader = reader
        self.clock = clock
        self.rate_hz = float(rate_hz)
        self.period_s = 1.0 / self.rate_hz
        self.thermal = thermal
        self.host = host or socket.gethostname()
        self.missed_deadlines = 0
        """Deadlines skipped because a read overran its period."""
        self.registry = CollectorRegistry(auto_describe=False)
        """A private registry holding only the exporter's collector (no process or GC metrics)."""
        self.registry.register(ExporterCollector(self.sample_now, self._thermal_now if thermal else None, clock))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_unix_s = self.clock.unix_s()
        self._is_counter = reader.quantity == "energy"
        self._unwrapper: CounterUnwrapper | None = None
        self._offset_j = 0.0  # energy of earlier counter baselines, before a reset
        self._energy_j = 0.0
        self._power_w: float | None = None
        self._last_s: float | None = None  # time of the last good power read; None after a failure
        self._last_counter_s: float | None = None  # time of the counter baseline's last reading
        self._power_ref: tuple[float, float] | None = None  # (time, energy) the counter power is measured from
        self._failed_since_s: float | None = None
        self._samples = 0
        self._read_errors = 0
        self._uncovered_s = 0.0
        self._last_error: str | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> PowerExporter:
        """Take a first sample now (a failure is counted, not raised), then sample on a background thread.

        Returns:
            ``self``, for chaining.
        """
        if self._thread is not None:
            raise ParameterError("this exporter was already started; make a new one")
        self._start_unix_s = self.clock.unix_s()
        self.sample_now()
        self._thread = threading.Thread(target=self._run, name=f"benchlib-exporter-{self.reader.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop sampling (scrapes still read the sensor); safe to call twice."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5 * self.period_s + 5.0)

    def close(self) -> None:
        """Stop, then close the reader and the thermal sources; safe to call twice."""
        self.stop()
        self.reader.close()
        if self.thermal is not None:
            self.thermal.close()

    def __enter__(self) -> PowerExporter:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _run(self) -> None:
        for skipped in deadlines(self.period_s, self._stop, clock=self.clock):
            self.missed_deadlines += skipped
            self.sample_now()

    # ------------------------------------------------------------------ sampling

    def sample_now(self) -> ExporterState:
        """Read the sensor now, update the running state, and return it (never raises on a failed read)."""
        with self._lock:
            try:
                if self._is_counter:
                    raw = self.reader.read_energy_j()  # type: ignore[attr-defined]
                    self._add_counter(raw, self.clock.perf_s())
                else:
                    value = float(self.reader.read_power_w())  # type: ignore[attr-defined]
                    if not math.isfinite(value):
                        raise PowerReadError(f"{self.reader.name} returned a non-finite power {value!r} W")
                    self._add_power(value, self.clock.perf_s())
            except Exception as exc:  # a failed read is counted and logged; the exporter keeps serving
                self._failed(exc, self.clock.perf_s())
            return self._state()

    def _add_power(self, power_w: float, t_s: float) -> None:
        if self._last_s is not None and self._power_w is not None:
            self._energy_j += (self._power_w + power_w) * (t_s - self._last_s) / 2.0
        self._recovered(t_s)
        self._power_w, self._last_s = power_w, t_s
        self._samples += 1

    def _add_counter(self, raw_j: dict[str, float], t_s: float) -> None:
        if self._unwrapper is None or self._last_counter_s is None:
            self._unwrapper = CounterUnwrapper(self.reader.counter_range_j, self.reader.max_plausible_power_w)  # type: ignore[attr-defined]
            self._unwrapper.update(raw_j, t_s)
            self._power_ref = None
        else:
            before_j, interval_s = self._unwrapper.total_j, t_s - self._last_counter_s
            try:
                self._unwrapper.update(raw_j, t_s)
            except CounterError:
                # A reset (or a counter that vanished): the energy since the previous reading is unknown.
                # Keep the total and start a new baseline at this reading; the error is then counted.
                self._offset_j += before_j
                self._uncovered_s += interval_s
                self._unwrapper = None
                self._add_counter(raw_j, t_s)
                raise
        self._energy_j = self._offset_j + self._unwrapper.total_j
        # Power: energy over the last interval of at least half a period (a scrape right after a
        # sample would otherwise divide a few microjoules by a few microseconds).
        if self._power_ref is None:
            self._power_ref, self._power_w = (t_s, self._energy_j), None
        elif t_s - self._power_ref[0] >= self.period_s / 2:
            self._power_w = (self._energy_j - self._power_ref[1]) / (t_s - self._power_ref[0])
            self._power_ref = (t_s, self._energy_j)
        self._last_counter_s = t_s
        self._recovered(t_s)
        self._samples += 1

    def _recovered(self, t_s: float) -> None:
        if self._failed_since_s is not None:
            if not self._is_counter:  # a power reader knows nothing of the gap
                self._uncovered_s += t_s - self._failed_since_s
            log.info("power source %s answers again", self.reader.name)
        self._failed_since_s = None
        self._last_error = None

    def _failed(self, exc: BaseException, t_s: float) -> None:
        self._read_errors += 1
        self._last_error = f"{type(exc).__name__}: {exc}"
        if self._failed_since_s is None:
            log.warning("power source %s: read failed (%s); marked down until it answers", self.reader.name, exc)
            # For a power reader the energy since the last good read is unknown from here on.
            self._failed_since_s = self._last_s if (self._last_s is not None and not self._is_counter) else t_s
        if not self._is_counter:
            self._last_s = None
        if not isinstance(exc, CounterError):
            self._power_w = None

    def _state(self) -> ExporterState:
        return ExporterState(
            source=self.reader.name, boundary=self.reader.boundary, kind=self.reader.kind,
            quantity=self.reader.quantity, host=self.host, rate_hz=self.rate_hz, start_unix_s=self._start_unix_s,
            power_w=self._power_w, energy_j=self._energy_j, samples=self._samples, read_errors=self._read_errors,
            uncovered_s=self._uncovered_s, up=self._failed_since_s is None and self._last_error is None,
            last_error=self._last_error,
        )  # fmt: skip

    def state(self) -> ExporterState:
        """The running state now, without reading the sensor."""
        with self._lock:
            return self._state()

    def _thermal_now(self) -> tuple[ThermalSnapshot, tuple[str, ...]]:
        assert self.thermal is not None
        return self.thermal.snapshot(self.clock), self.thermal.names

    def describe(self) -> dict[str, Any]:
        """The reader's description plus the exporter's settings and state."""
        state = self.state()
        return {**self.reader.describe(), "rate_hz": self.rate_hz, "host": self.host, "samples": state.samples,
                "read_errors": state.read_errors, "missed_deadlines": self.missed_deadlines}  # fmt: skip


def is_loopback(host: str) -> bool:
    """``True`` when ``host`` (an address or ``localhost``) is reachable only from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class ExporterServer:
    """The HTTP server of a running exporter; :meth:`close` stops it.

    Attributes:
        host: The address it listens on.
        port: Its port.
    """

    host: str
    port: int
    _server: Any
    _thread: threading.Thread

    @property
    def url(self) -> str:
        """The ``/metrics`` URL (IPv6 addresses in brackets)."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}/metrics"

    def close(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=5.0)
        self._server.server_close()

    stop = close

    def __enter__(self) -> ExporterServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def serve_exporter(exporter: PowerExporter, host: str = DEFAULT_BIND, port: int = DEFAULT_EXPORTER_PORT) -> ExporterServer:
    """Serve the exporter's registry at ``http://host:port/metrics`` on a background thread.

    Args:
        exporter: The exporter (start it too, or scrapes alone sample the sensor).
        host: Address to bind: loopback by default; ``0.0.0.0`` or a LAN address lets
            anyone on that network read the metrics.
        port: TCP port; ``0`` picks a free one (see :attr:`ExporterServer.port`).

    Raises:
        ParameterError: The address cannot be bound (in use, not this machine's), with what to do.
    """
    try:
        server, thread = start_http_server(port, addr=host, registry=exporter.registry)
    except OSError as exc:
        raise ParameterError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port, "
            "or --bind an address of this machine"
        ) from exc
    return ExporterServer(host, server.server_address[1], server, thread)
