"""A live power reader that scrapes an exporter's ``/metrics`` at the sampling rate.

:class:`PrometheusScrapeReader` is a power reader like the local ones: the
sweep's :class:`~benchlib.power.sampler.PowerSampler` calls it ten times a
second and integrates. Each read is one GET of the exporter's ``/metrics``,
stamped on this machine's clock at the middle of the exchange, so no clock
offset enters the energy; the offset between the hosts is still estimated
(from the exporter's time metric or its ``Date`` header) and recorded.

An energy counter (preferred) is returned with its resets bridged
(:func:`~benchlib.prometheus.series.bridge_reset_j`), so the sampler sees a
counter that never goes backwards; a reset across a gap longer than
``max_gap_s`` stops the sampler (the window is invalid, never zero).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from benchlib.power.base import KIND_MEASURED
from benchlib.power.errors import CounterError, PowerReadError, PowerSourceUnavailable
from benchlib.prometheus.clock import ClockOffset, offset_from_date_header, offset_from_remote_time
from benchlib.prometheus.http import HttpAnswer, PrometheusHttp, auth_headers, redact_url
from benchlib.prometheus.presets import MetricChoice, custom_choice, get_preset
from benchlib.prometheus.series import bridge_reset_j, series_key

__all__ = ["REMOTE_TIME_METRICS", "PrometheusScrapeReader", "parse_samples"]

REMOTE_TIME_METRICS = ("benchlib_exporter_time_seconds", "node_time_seconds")
"""Metrics that carry the exporter host's clock, for the clock offset."""


@dataclass
class _CounterState:
    raw_j: float
    t_s: float
    total_j: float = 0.0
    rate_w: float | None = None


def parse_samples(text: str) -> list[tuple[str, dict[str, str], float]]:
    """``(name, labels, value)`` of every sample in a Prometheus text exposition, names as written.

    The ``# TYPE`` lines are left out, so that the parser keeps every sample name as the page
    writes it (it would add ``_total`` to a counter such as ``DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION``).
    """
    untyped = "\n".join(line for line in text.splitlines() if not line.startswith("#")) + "\n"
    return [(s.name, dict(s.labels), float(s.value)) for family in text_string_to_metric_families(untyped) for s in family.samples]


class PrometheusScrapeReader:
    """Power or energy of a remote host, read from its exporter's ``/metrics``.

    Args:
        url: The exporter's metrics URL (``http://pi.local:9101/metrics``).
        preset: ``benchlib``, ``dcgm`` or ``node-rapl`` (:data:`~benchlib.prometheus.presets.PRESETS`).
        metric: A metric name instead of the preset's.
        unit: Its unit (``J``, ``mJ``, ``W`` ...; see :func:`~benchlib.prometheus.presets.custom_choice`).
        labels: Label values a series must have (``{gpu: "0"}``); all matching series are summed.
        boundary: What the sensor sees, when the preset or the series' ``boundary`` label does not say.
        max_gap_s: Longest interval across which a counter reset is bridged, seconds.
        timeout_s: Timeout of one scrape, seconds.
        bearer_token_env: Environment variable holding a bearer token, if the exporter needs one.
        tolerated_read_errors: Consecutive failed scrapes the sampler tolerates.

    Raises:
        PowerSourceUnavailable: The exporter does not answer, or exposes none of the metrics
            (the message lists what it searched and the power-looking metrics it found).
    """

    name = "prometheus"
    kind = KIND_MEASURED
    max_plausible_power_w = math.inf  # resets are bridged here: the counters handed on never go backwards

    def __init__(
        self,
        url: str,
        *,
        preset: str = "benchlib",
        metric: str | None = None,
        unit: str | None = None,
        labels: dict[str, str] | None = None,
        boundary: str | None = None,
        max_gap_s: float = 5.0,
        timeout_s: float = 2.0,
        bearer_token_env: str | None = None,
        tolerated_read_errors: int = 20,
    ) -> None:
        self.url = url
        self.labels = {str(k): str(v) for k, v in (labels or {}).items()}
        self.max_gap_s = float(max_gap_s)
        self.tolerated_read_errors = int(tolerated_read_errors)
        chosen_preset = get_preset(preset)
        choices = (custom_choice(metric, None, unit),) if metric is not None else chosen_preset.choices
        self.preset = None if metric is not None else preset
        self._http = PrometheusHttp(timeout_s, auth_headers(bearer_token_env))
        try:
            answer = self._http.get(url)
        except PowerReadError as exc:
            self._http.close()
            raise PowerSourceUnavailable(f"the exporter does not answer: {exc}") from exc
        samples = parse_samples(answer.text)
        self.choice, found = self._choose(choices, samples)
        self.quantity = "energy" if self.choice.quantity == "energy" else "power"
        self.series = sorted(found)
        self.counter_range_j = {key: None for key in self.series}
        label_boundaries = {labels.get("boundary") for name, labels, _ in samples if series_key(name, labels) in found}
        self.boundary = boundary or chosen_preset.boundary or next(iter(label_boundaries - {None}), None) or (
            "remote exporter (no boundary label; say power_options.boundary)"
        )
        self.clock = self._clock_offset(answer, samples)
        self.counter_resets = 0
        self._names = {name for name, labels, _ in samples if series_key(name, labels) in found}
        self._state: dict[str, _CounterState] = {}
        # A counter of seconds the exporter's energy lacks (benchlib's): if it grows, energy is missing.
        self.guard = chosen_preset.guard if self.preset is not None and self.quantity == "energy" else None
        self._guard_s: float | None = None

    def _wanted(self, labels: dict[str, str]) -> bool:
        return all(labels.get(k) == v for k, v in self.labels.items())

    def _choose(self, choices: tuple[MetricChoice, ...], samples: list[tuple[str, dict[str, str], float]]) -> tuple[MetricChoice, set[str]]:
        for choice in choices:
            found = {series_key(n, lab) for n, lab, _ in samples if choice.matches(n, lab) and self._wanted(lab)}
            if found:
                return choice, found
        powerish = sorted({n for n, _, _ in samples if any(w in n.lower() for w in ("joule", "watt", "power", "energy"))})
        self._http.close()
        raise PowerSourceUnavailable(
            f"{redact_url(self.url)} exposes none of {', '.join(c.pattern for c in choices)}"
            + (f" with labels {self.labels}" if self.labels else "")
            + f"; power-looking metrics there: {', '.join(powerish[:12]) or 'none'}. "
            "Pick another preset (benchlib, dcgm, node-rapl) or give power_options.metric and unit."
        )

    def _clock_offset(self, answer: HttpAnswer, samples: list[tuple[str, dict[str, str], float]]) -> ClockOffset | None:
        for metric in REMOTE_TIME_METRICS:
            for name, _, value in samples:
                if name == metric:
                    return offset_from_remote_time(value, answer.sent_unix_s, answer.received_unix_s, metric)
        if answer.date:
            return offset_from_date_header(answer.date, answer.sent_unix_s, answer.received_unix_s)
        return None

    def _scrape(self) -> tuple[dict[str, float], float]:
        answer = self._http.get(self.url)
        # Parse only the chosen metrics' sample lines: a node_exporter page has thousands of others.
        wanted_names = self._names | ({self.guard} if self.guard else set())
        lines = [line for line in answer.text.splitlines() if line.split("{", 1)[0].split(" ", 1)[0] in wanted_names]
        samples = [(name, labels, value) for name, labels, value in parse_samples("\n".join(lines) + "\n") if self._wanted(labels)]
        values = {
            series_key(name, labels): value * self.choice.scale
            for name, labels, value in samples
            if name in self._names and self.choice.matches(name, labels)
        }
        if not values:
            raise PowerReadError(f"{redact_url(self.url)} no longer exposes {', '.join(sorted(self._names))}")
        self._check_guard(sum(value for name, _, value in samples if name == self.guard))
        return values, (answer.sent_unix_s + answer.received_unix_s) / 2.0

    def _check_guard(self, uncovered_s: float) -> None:
        """Fail when the exporter says its energy counter lacks some seconds since the last read."""
        if self.guard is None:
            return
        previous, self._guard_s = self._guard_s, uncovered_s
        if previous is not None and uncovered_s > previous + 1e-9:
            raise CounterError(
                f"the exporter's energy counter lacks {uncovered_s - previous:.2f} s ({self.guard} rose): "
                "its sensor failed or reset, so the energy of that time is unknown"
            )

    def read_power_w(self) -> float:
        """The summed power of the chosen gauges now, watts.

        Raises:
            PowerReadError: The scrape failed or the metric is gone.
        """
        values, _ = self._scrape()
        return float(sum(values.values()))

    def read_energy_j(self) -> dict[str, float]:
        """Each chosen counter's energy since the first read, joules, resets bridged.

        Raises:
            PowerReadError: The scrape failed or the metric is gone.
            CounterError: A counter reset across a gap longer than ``max_gap_s``.
        """
        values, t_s = self._scrape()
        for key, raw_j in values.items():
            state = self._state.get(key)
            if state is None:
                self._state[key] = _CounterState(raw_j, t_s)
                continue
            interval_s = t_s - state.t_s
            if raw_j < state.raw_j:
                if interval_s > self.max_gap_s:
                    raise CounterError(
                        f"the counter {key} was reset across a gap of {interval_s:.1f} s, longer than "
                        f"max_gap_s = {self.max_gap_s:g} s: the energy in between is unknown"
                    )
                step_j = bridge_reset_j(raw_j, interval_s, state.rate_w)
                self.counter_resets += 1
            else:
                step_j = raw_j - state.raw_j
                state.rate_w = step_j / interval_s if interval_s > 0 else state.rate_w
            state.raw_j, state.t_s, state.total_j = raw_j, t_s, state.total_j + step_j
        return {key: state.total_j for key, state in self._state.items() if key in values}

    def describe(self) -> dict[str, Any]:
        """For run.json: the exporter (URL without credentials), metric, series, boundary, clock offset."""
        return {
            "name": self.name,
            "mode": "scrape",
            "url": redact_url(self.url),
            "preset": self.preset,
            "metric": self.choice.pattern,
            "unit": self.choice.unit,
            "labels": self.labels,
            "series": self.series,
            "boundary": self.boundary,
            "kind": self.kind,
            "quantity": self.quantity,
            "clock_offset": self.clock.to_dict() if self.clock else None,
            "counter_resets": self.counter_resets,
            "guard": self.guard,
            "read_at": "this machine's clock, middle of each scrape",
        }

    def close(self) -> None:
        """Close the HTTP client; safe to call twice."""
        self._http.close()

