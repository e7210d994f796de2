"""Live sweep metrics: a sweep's progress as Prometheus metrics while it runs (``benchlib sweep --metrics-port``).

A Prometheus server that scrapes the sweep (and the power exporter of the
device under test) shows load and power side by side on one time axis; the
Grafana dashboard ``data/grafana/benchlib-dashboard.json`` plots both.

Metrics (every one labelled ``run_id`` and ``platform``; Prometheus adds ``job``
and ``instance``):

* ``benchlib_sweep_info{model, runtime, profile}``: 1, the run's description;
* ``benchlib_sweep_requests_total{outcome="ok"|"failed"}``: measured requests
  finished by this process (a failed one: an error, a timeout, no tokens);
* ``benchlib_sweep_output_tokens_total``: their output tokens (as recorded in
  ``requests.parquet``);
* ``benchlib_sweep_requests_planned``, ``benchlib_sweep_requests_completed``:
  the run's progress as ``run.json`` records it (earlier attempts included);
* ``benchlib_sweep_step{step, mode}``: the current load step, valued by its
  concurrency (``mode="closed"``) or arrival rate in requests/s (``"open"``);
  ``step="sequential"``, 0, for an in-process sweep;
* ``benchlib_sweep_phase{phase}``: 1 for the current phase (``load``,
  ``warmup``, ``idle``, ``measure``, ``done``, ``stopped``), 0 for the others;
* ``benchlib_sweep_phase_entered_total{phase}``: how often the sweep entered
  each phase; unlike the gauge it keeps a phase shorter than a scrape interval
  (a warm-up of one request) visible to every later scrape;
* ``benchlib_sweep_output_tokens_per_second``: output tokens of the requests
  finished in the last ``window_s`` seconds (10) per second; 0 when none did.

Without a port nothing is created: no registry, no server, no thread. The
server listens on loopback unless another address is given explicitly; a port
already in use is an error before the model loads. The server stops with the
sweep: after a complete sweep it first waits (at most one scrape interval, as
observed, and never more than :data:`LINGER_MAX_S`) for one scrape of the final
state when a scraper was seen; the port is free again afterwards.
"""

from __future__ import annotations

import collections
import socket
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchlib.clock import REAL_CLOCK, Clock
from benchlib.errors import ParameterError

__all__ = [
    "LINGER_MAX_S",
    "linger_s",
    "LOOPBACK",
    "METRICS_OFF",
    "PHASES",
    "MetricsPortUnavailable",
    "SweepLabels",
    "SweepMetrics",
    "check_metrics_port",
]

LOOPBACK = "127.0.0.1"
"""The default bind address: only this machine can scrape (``--metrics-bind 0.0.0.0`` to open it)."""

PHASES = ("load", "warmup", "idle", "measure", "done", "stopped")
"""The phases of a sweep: loading the runtime, warm-up, idle baseline, measured requests, complete, stopped."""

LINGER_MAX_S = 20.0
"""Longest a finished sweep waits for a scraper to collect its final state, seconds."""

TOKENS_WINDOW_S = 10.0
"""Window of ``benchlib_sweep_output_tokens_per_second``, seconds."""


class MetricsPortUnavailable(ParameterError):
    """The live metrics port cannot be bound (in use, or an address this machine does not have)."""


@dataclass(frozen=True)
class SweepLabels:
    """What the live metrics say about the run.

    Attributes:
        run_id: The run id (``data/runs/RUN_ID``).
        platform: The hardware label of the run.
        model: The model parameter.
        runtime: The runtime parameter.
        profile: The parameter profile's name.
    """

    run_id: str
    platform: str
    model: str = ""
    runtime: str = ""
    profile: str = ""

    @classmethod
    def of(cls, config: Any) -> "SweepLabels":
        """The labels of a :class:`~benchlib.config.SweepConfig`."""
        run = config.run
        return cls(config.run_id(), run.platform, str(run.model), run.runtime, run.profile)


def _port_problem(port: int, bind: str, exc: OSError) -> MetricsPortUnavailable:
    return MetricsPortUnavailable(
        f"Cannot serve live sweep metrics on {bind}:{port}: {exc.strerror or exc}. "
        f"{'Another process listens on port ' + str(port) + ' (an exporter? an earlier sweep?). ' if port else ''}"
        "Pick a free port with --metrics-port (e.g. --metrics-port 9109; `ss -ltn` lists the ports in use), "
        "or leave --metrics-port out to sweep without live metrics. Nothing was measured."
    )


def _check_port_number(port: int) -> None:
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ParameterError(f"metrics_port must be a TCP port 1-65535 (0: any free port), got {port!r}.")


def check_metrics_port(port: int, bind: str = LOOPBACK) -> int:
    """Check that the live metrics server could listen on ``bind:port`` now (before a kernel starts).

    Returns:
        The port; for 0, a port free right now.

    Raises:
        MetricsPortUnavailable: the port is in use or the address is not this machine's.
        ParameterError: not a port number.
    """
    _check_port_number(port)
    try:
        family = socket.getaddrinfo(bind, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
            probe.bind((bind, port))
            return probe.getsockname()[1]
    except OSError as exc:
        raise _port_problem(port, bind, exc) from None


class _ScrapeClock:
    """A collector that exposes nothing and notes when the registry was scraped (the clock's seconds), and how often."""

    def __init__(self, clock: Clock) -> None:
        self.times_s: collections.deque[float] = collections.deque(maxlen=3)
        self.count = 0
        self.scraped = threading.Condition()
        self._clock = clock

    def describe(self) -> list:
        return []

    def collect(self) -> list:
        with self.scraped:
            self.times_s.append(self._clock.perf_s())
            self.count += 1
            self.scraped.notify_all()
        return []


def linger_s(scrape_times_s: Sequence[float]) -> float | None:
    """How long a finished sweep waits for one scrape of its final state: ``None`` (not at all) below two scrapes.

    One and a half of the longest interval seen between the last scrapes, plus half a second, at most
    :data:`LINGER_MAX_S`.
    """
    if len(scrape_times_s) < 2:
        return None
    interval_s = max(b - a for a, b in zip(scrape_times_s, scrape_times_s[1:]))
    return min(1.5 * interval_s + 0.5, LINGER_MAX_S)


class SweepMetrics:
    """A sweep's live progress on a private registry, served over HTTP while the sweep runs.

    Args:
        port: TCP port to serve ``/metrics`` on; ``None`` for no live metrics
            (every method then returns at once); 0 for any free port.
        bind: Address to listen on (loopback unless given).
        window_s: Window of the tokens-per-second gauge, seconds.
        clock: Where the times of finished requests and scrapes are read
            (:mod:`benchlib.clock`; scripted in tests). The wait for a final
            scrape is real time.

    Raises:
        ParameterError: ``port`` is no port number.
    """

    def __init__(self, port: int | None, bind: str = LOOPBACK, window_s: float = TOKENS_WINDOW_S,
                 clock: Clock = REAL_CLOCK) -> None:  # fmt: skip
        if port is not None:
            _check_port_number(port)
        self.port = port
        self.bind = bind
        self.window_s = window_s
        self.clock = clock
        self.final_scrape_seen: bool | None = None
        """After a complete sweep's :meth:`stop`: whether a scraper read its final state (``None``: not awaited)."""
        self.url: str | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._finished: collections.deque[tuple[float, int]] = collections.deque()
        self._measure_started_s: float | None = None
        self._phase_now: str | None = None

    @property
    def enabled(self) -> bool:
        """True when a port was given."""
        return self.port is not None

    def start(self, labels: SweepLabels) -> str | None:
        """Create the metrics and start serving them; print and return the URL (``None`` when disabled).

        Raises:
            MetricsPortUnavailable: the port is in use (nothing was measured yet).
        """
        if not self.enabled:
            return None
        from prometheus_client import CollectorRegistry, Counter, Gauge, Info, start_http_server

        registry = CollectorRegistry()
        self._scrapes = _ScrapeClock(self.clock)
        registry.register(self._scrapes)  # first: a scrape noted after a change has collected the change
        base = ("run_id", "platform")
        values = (labels.run_id, labels.platform)
        info = Info("benchlib_sweep", "The sweep: run id, platform, model, runtime, profile.", registry=registry)
        info.info({"run_id": labels.run_id, "platform": labels.platform, "model": labels.model,
                   "runtime": labels.runtime, "profile": labels.profile})  # fmt: skip
        requests = Counter("benchlib_sweep_requests", "Measured requests finished by this process, by outcome.",
                           (*base, "outcome"), registry=registry)  # fmt: skip
        self._ok, self._failed = requests.labels(*values, "ok"), requests.labels(*values, "failed")
        self._tokens = Counter("benchlib_sweep_output_tokens", "Output tokens of the finished measured requests.",
                               base, registry=registry).labels(*values)  # fmt: skip
        self._planned = Gauge("benchlib_sweep_requests_planned", "Measured requests the run plans in all.",
                              base, registry=registry).labels(*values)  # fmt: skip
        self._completed = Gauge("benchlib_sweep_requests_completed",
                                "Measured requests of the run complete (earlier attempts included), as run.json says.",
                                base, registry=registry).labels(*values)  # fmt: skip
        self._step = Gauge("benchlib_sweep_step", "Current load step: concurrency (closed), rate in requests/s (open), "
                           "0 (sequential).", (*base, "step", "mode"), registry=registry)  # fmt: skip
        self._phase = Gauge("benchlib_sweep_phase", f"1 for the sweep's current phase ({', '.join(PHASES)}).",
                            (*base, "phase"), registry=registry)  # fmt: skip
        self._phase_entered = Counter("benchlib_sweep_phase_entered", "Times the sweep entered each phase.",
                                      (*base, "phase"), registry=registry)  # fmt: skip
        rate = Gauge("benchlib_sweep_output_tokens_per_second",
                     f"Output tokens of the requests finished in the last {self.window_s:g} s, per second.",
                     base, registry=registry)  # fmt: skip
        rate.labels(*values).set_function(self._tokens_per_s)
        self._values = values
        try:
            self._server, self._thread = start_http_server(self.port, addr=self.bind, registry=registry)
        except OSError as exc:
            raise _port_problem(self.port, self.bind, exc) from None
        self.set_phase("load")
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        self.url = f"http://{host}:{self._server.server_port}/metrics"
        print(f"Live sweep metrics: {self.url}")
        return self.url

    @property
    def serving(self) -> bool:
        """True while the HTTP server runs."""
        return self._server is not None

    def set_phase(self, phase: str) -> None:
        """Mark ``phase`` (one of :data:`PHASES`) as the current one."""
        if self._server is None:
            return
        if phase not in PHASES:
            raise ValueError(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
        for name in PHASES:
            self._phase.labels(*self._values, name).set(1.0 if name == phase else 0.0)
        if phase != self._phase_now:
            self._phase_entered.labels(*self._values, phase).inc()
            self._phase_now = phase
        if phase == "measure" and self._measure_started_s is None:
            self._measure_started_s = self.clock.perf_s()

    def set_step(self, step: str, mode: str, value: float) -> None:
        """The current load step (``c4``, ``closed``, 4), or ``sequential``, ``sequential``, 0."""
        if self._server is None:
            return
        self._step.clear()  # one series: the current step
        self._step.labels(*self._values, step, mode).set(value)

    def set_progress(self, completed: int, planned: int | None = None) -> None:
        """The run's progress: requests complete, and in all (earlier attempts included)."""
        if self._server is None:
            return
        self._completed.set(completed)
        if planned is not None:
            self._planned.set(planned)

    def requests_finished(self, requests: int = 1, output_tokens: int = 0, failed: bool = False) -> None:
        """Count finished measured requests (all failed, or none) and their output tokens."""
        if self._server is None:
            return
        (self._failed if failed else self._ok).inc(requests)
        if output_tokens:
            self._tokens.inc(output_tokens)
            with self._lock:
                self._finished.append((self.clock.perf_s(), int(output_tokens)))

    def _tokens_per_s(self) -> float:
        """Output tokens per second over the last ``window_s`` (or since the measurement began, at least 1 s)."""
        if self._measure_started_s is None:
            return 0.0
        now = self.clock.perf_s()
        with self._lock:
            while self._finished and self._finished[0][0] < now - self.window_s:
                self._finished.popleft()
            tokens = sum(count for _, count in self._finished)
        return tokens / max(min(self.window_s, now - self._measure_started_s), 1.0)

    def stop(self, complete: bool = False) -> None:
        """Stop serving; the port is free again when this returns.

        Args:
            complete: The sweep finished: mark it ``done`` and, when a scraper
                was seen, wait for one scrape of the final state (at most one
                observed scrape interval and :data:`LINGER_MAX_S`). Otherwise
                mark it ``stopped`` and stop at once.
        """
        if self._server is None:
            return
        self.set_phase("done" if complete else "stopped")
        if complete:
            self._await_scrape()
        server, thread = self._server, self._thread
        self._server = self._thread = None
        server.shutdown()
        server.server_close()
        thread.join(timeout=5.0)

    def _await_scrape(self) -> None:
        """Wait for one scrape after now, if something scraped twice (so its interval is known): :func:`linger_s`."""
        scrapes = self._scrapes
        with scrapes.scraped:
            wait_s = linger_s(list(scrapes.times_s))
            if wait_s is None:
                return
            marked = scrapes.count
            self.final_scrape_seen = scrapes.scraped.wait_for(lambda: scrapes.count > marked, timeout=wait_s)


METRICS_OFF = SweepMetrics(None)
"""No live metrics (holds nothing, serves nothing)."""
