"""Prometheus on both sides of a remote measurement.

* The exporter (``benchlib exporter``) runs on the device next to the server and
  exposes benchlib's local power readers as Prometheus metrics.
* The ``prometheus`` power source reads power or energy of a remote host, either
  straight from an exporter's ``/metrics`` while the sweep runs, or from a
  Prometheus server's HTTP API after the measured window ends.

Import from the modules; this package re-exports nothing.
"""

__all__: list[str] = []
