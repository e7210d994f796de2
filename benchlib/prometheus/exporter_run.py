"""Running ``benchlib exporter``: open the chosen reader with its options, serve, wait for Ctrl-C or SIGTERM.

:func:`run_exporter` is what the command line calls; :func:`open_exporter_reader`
turns ``--power NAME --option KEY=VALUE --root DIR`` into an opened reader;
:func:`scrape_metrics` is a client's GET of an exporter's ``/metrics`` (tests,
benchmarks, the doctor's "does an exporter answer").
"""

from __future__ import annotations

import inspect
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from benchlib.errors import ParameterError
from benchlib.power.base import DEFAULT_ROOT, PowerReader
from benchlib.power.errors import PowerReadError, PowerSourceUnavailable
from benchlib.power.registry import READERS, auto_reader, doctor, open_reader
from benchlib.prometheus.exporter import DEFAULT_BIND, PowerExporter, is_loopback, serve_exporter
from benchlib.prometheus.http import PrometheusHttp
from benchlib.thermal.sources import detect_thermal_sources

__all__ = ["EXPORTABLE_SOURCES", "open_exporter_reader", "parse_reader_options", "run_exporter", "scrape_metrics"]

EXPORTABLE_SOURCES: tuple[str, ...] = ("pi5-pmic", "ina2xx", "rapl", "nvml", "auto")
"""What ``--power`` accepts: the live measured sources, and ``auto`` (the best this machine has)."""


def parse_reader_options(pairs: Sequence[str]) -> dict[str, Any]:
    """``KEY=VALUE`` strings to keyword options; each value is read as YAML (so JSON too: ``devices=[hwmon3]``).

    Raises:
        ParameterError: A pair has no ``=`` or no key.
    """
    options: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"--option takes KEY=VALUE (e.g. devices=ina226), got {pair!r}")
        options[key.strip()] = yaml.safe_load(text)
    return options


def _fit_options(name: str, factory: Callable[..., Any], options: dict[str, Any]) -> dict[str, Any]:
    """Check option names against the factory and wrap a single value where it takes a sequence."""
    parameters = inspect.signature(factory).parameters
    valid = [p for p in parameters if p not in ("root", "runner")]
    fitted = {}
    for key, value in options.items():
        if key not in valid:
            raise ParameterError(f"power source {name!r} has no option {key!r}; its options: {', '.join(valid) or 'none'}")
        takes_sequence = "Sequence" in str(parameters[key].annotation) or "list" in str(parameters[key].annotation)
        fitted[key] = [value] if takes_sequence and not isinstance(value, (list, tuple)) and value is not None else value
    return fitted


def open_exporter_reader(name: str, options: dict[str, Any] | None = None, root: Path | str | None = None) -> PowerReader:
    """Open the live power source ``name`` (or the best available for ``auto``).

    Args:
        name: One of :data:`EXPORTABLE_SOURCES`.
        options: The source's keyword options (``devices``, ``domains``, ``indices`` ...).
        root: File-system root for sysfs sources (``/`` by default; a fixture tree in tests).

    Raises:
        ParameterError: Unknown source, unknown option, or ``root`` for a source that reads no files.
        PowerSourceUnavailable: This machine lacks the source (the message says why and how to fix it).
    """
    options = dict(options or {})
    if name not in EXPORTABLE_SOURCES:
        raise ParameterError(
            f"unknown power source {name!r} for the exporter; valid: {', '.join(EXPORTABLE_SOURCES)} "
            f"(every source: {', '.join(READERS)}; meter-log and estimate are not live sensors)"
        )
    if name == "auto":
        if options:
            raise ParameterError("--option needs a named source (--power ina2xx ...), not auto")
        reader = auto_reader(root or DEFAULT_ROOT)
        if reader is None:
            why = "; ".join(f"{s.name}: {s.detail}" for s in doctor(root or DEFAULT_ROOT) if s.name in EXPORTABLE_SOURCES)
            raise PowerSourceUnavailable(f"no measured power source on this machine ({why})")
        return reader
    factory = READERS[name]
    options = _fit_options(name, factory, options)
    if root is not None:
        if "root" not in inspect.signature(factory).parameters:
            raise ParameterError(f"--root applies to sources that read sysfs (ina2xx, rapl), not {name!r}")
        options["root"] = Path(root)
    return open_reader(name, **options)


def run_exporter(
    source: str, options: dict[str, Any] | None = None, *, root: Path | str | None = None, rate_hz: float = 10.0,
    port: int = 9101, bind: str = DEFAULT_BIND, out: Callable[[str], None] = print,
    stop: threading.Event | None = None,
) -> int:  # fmt: skip
    """Serve ``source`` until Ctrl-C, SIGTERM or ``stop`` is set; return the exit status (0).

    Args:
        source: One of :data:`EXPORTABLE_SOURCES`.
        options: The source's keyword options.
        root: File-system root of the sysfs power and thermal sources (a fixture tree in tests);
            with a root, the CPU clock is read only from its cpufreq files.
        rate_hz: Samples per second, Hz.
        port: TCP port (0: a free one).
        bind: Address to listen on; anything but loopback is announced with a warning.
        out: Where the announcements go.
        stop: Set it to stop (from another thread); signals set it too in the main thread.

    Raises:
        ParameterError, PowerSourceUnavailable: As :func:`open_exporter_reader`, or the port cannot be bound.
    """
    reader = open_exporter_reader(source, options, root)
    thermal = detect_thermal_sources(root or DEFAULT_ROOT, cpu_freq="psutil" if root is None else None)
    exporter = PowerExporter(reader, rate_hz, thermal)
    stop = stop or threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        exporter.start()
        server = serve_exporter(exporter, bind, port)
        try:
            temps = ", ".join(thermal.names) or "none"
            out(f"benchlib exporter: serving {server.url}")
            out(f"  reads {reader.name} ({reader.kind}, {reader.quantity}): {reader.boundary}; {rate_hz:g} Hz")
            out(f"  thermal sources: {temps}")
            if not is_loopback(bind):
                print(f"benchlib exporter: warning: listening on {bind}, not loopback: anyone who can reach "
                      "this machine on that network can read its power and temperature metrics", file=sys.stderr)  # fmt: skip
            out("  stop with Ctrl-C or SIGTERM")
            sys.stdout.flush()
            while not stop.wait(1.0):
                pass
        finally:
            server.close()
    finally:
        exporter.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    out("benchlib exporter: stopped")
    return 0


def scrape_metrics(url: str, timeout_s: float = 5.0) -> str:
    """GET a ``/metrics`` URL and return its text exposition (the prometheus source's HTTP client).

    Raises:
        OSError: The exporter cannot be reached, answers with an error status, or does not
            answer within ``timeout_s`` seconds (the message names the URL).
    """
    http = PrometheusHttp(timeout_s)
    try:
        return http.get(url).text
    except PowerReadError as exc:
        raise OSError(f"{url} did not answer: {exc}") from exc
    finally:
        http.close()
