"""The ``prometheus`` power source: an exporter scraped live, or a Prometheus server queried afterwards.

``power: prometheus`` with ``power_options``:

* ``url``: an exporter's metrics URL (``http://pi.local:9101/metrics``) or a
  Prometheus server (``http://prometheus:9090``);
* ``mode``: ``scrape`` (read the exporter at the sampling rate) or ``query``
  (the server's HTTP API after the window); by default ``scrape`` when the URL
  path ends in ``/metrics``, else ``query``;
* ``preset`` (``benchlib``, ``dcgm``, ``node-rapl``), or ``metric``/``query`` with ``unit``;
* ``labels``, ``boundary``, ``max_gap_s``, ``timeout_s``, ``bearer_token_env``;
  ``step_s`` and ``wait_s`` for ``query``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from benchlib.errors import ParameterError
from benchlib.prometheus.query import PrometheusQuerySource
from benchlib.prometheus.scrape import PrometheusScrapeReader

__all__ = ["DEFAULT_EXPORTER_URL", "MODES", "open_prometheus", "prometheus_mode"]

MODES = ("scrape", "query")
DEFAULT_EXPORTER_URL = "http://127.0.0.1:9101/metrics"
"""Where ``benchlib exporter`` answers by default (the doctor looks there)."""

_SCRAPE_ONLY = {"tolerated_read_errors"}
_QUERY_ONLY = {"query", "step_s", "wait_s"}


def prometheus_mode(options: dict[str, Any]) -> str:
    """``scrape`` or ``query`` for these options (``mode``, else from the URL).

    Raises:
        ParameterError: No ``url``, an unknown mode, or options of the other mode.
    """
    url = options.get("url")
    if not isinstance(url, str) or "://" not in url:
        raise ParameterError(
            "power: prometheus needs power_options.url: an exporter's metrics URL "
            "(http://pi.local:9101/metrics, read live) or a Prometheus server (http://prometheus:9090, queried after the window)"
        )
    mode = options.get("mode") or ("scrape" if urlsplit(url).path.rstrip("/").endswith("/metrics") else "query")
    if mode not in MODES:
        raise ParameterError(f"power_options.mode must be one of {', '.join(MODES)}, got {mode!r}")
    wrong = sorted(set(options) & (_QUERY_ONLY if mode == "scrape" else _SCRAPE_ONLY))
    if wrong:
        raise ParameterError(f"power_options {', '.join(wrong)} do not apply to mode {mode!r} (url {url})")
    return mode


def open_prometheus(**options: Any) -> PrometheusScrapeReader | PrometheusQuerySource:
    """Open the ``prometheus`` source these options describe.

    Raises:
        ParameterError: Bad options (the message says which and lists the valid values).
        PowerSourceUnavailable: The exporter or server does not answer or lacks the metric.
    """
    options = dict(options)
    mode = prometheus_mode(options)
    options.pop("mode", None)
    url = options.pop("url")
    try:
        if mode == "scrape":
            return PrometheusScrapeReader(url, **options)
        return PrometheusQuerySource(url, **options)
    except TypeError as exc:
        valid = "url, mode, preset, metric, unit, labels, boundary, max_gap_s, timeout_s, bearer_token_env, " + (
            "tolerated_read_errors" if mode == "scrape" else "query, step_s, wait_s"
        )
        raise ParameterError(f"bad power_options for prometheus ({mode}): {exc}; valid: {valid}") from None
