"""Energy of a window that already happened, from a Prometheus server's HTTP API.

:class:`PrometheusQuerySource` is read after the measured window, like an
inline meter's log. Opening it checks that the server answers, estimates the
offset between its clock and this machine's (``time()`` evaluated by the
server) and finds the series; :meth:`~PrometheusQuerySource.measure` waits
until the server has scraped past the window's end, then:

* for a metric (a preset's or ``metric:``), fetches the RAW samples of every
  matching series over the window (the range selector ``metric[...]`` at the
  window's end: exact scrape timestamps, no resampling);
* for a PromQL expression (``query:``), evaluates it with ``query_range`` over
  the window at ``step_s`` (Prometheus holds each value until the next scrape,
  so the edges are only as fine as the step).

Counter resets are bridged and gaps refused (:mod:`benchlib.prometheus.series`).
A server that cannot be reached, a query that returns nothing and a window the
series does not cover all give an invalid :class:`~benchlib.power.measurement.Measurement`
with the reason — never zero.
"""

from __future__ import annotations

import json
import math
import time
from typing import Any

import numpy as np
import pandas as pd

from benchlib.power.base import KIND_MEASURED
from benchlib.power.errors import PowerError, PowerReadError, PowerSourceUnavailable
from benchlib.power.measurement import SAMPLE_COLUMNS, Measurement
from benchlib.prometheus.clock import ClockOffset, offset_from_remote_time
from benchlib.prometheus.http import PrometheusHttp, auth_headers, redact_url
from benchlib.prometheus.presets import MetricChoice, custom_choice, get_preset, selector
from benchlib.prometheus.series import SeriesSamples, series_window_energy, unreset_counter

__all__ = ["METHOD_QUERY_RANGE", "METHOD_RAW_SAMPLES", "PrometheusQuerySource"]

METHOD_RAW_SAMPLES = "Prometheus raw samples over the window, edges interpolated"
METHOD_QUERY_RANGE = "Prometheus query_range at step_s over the window, edges interpolated"
SERIES_LOOKBACK_S = 600.0
"""How far back opening the source looks for the series, seconds."""


def _duration(seconds: float) -> str:
    return f"{max(int(math.ceil(seconds * 1000)), 1)}ms"


class PrometheusQuerySource:
    """Power or energy of a host scraped by a Prometheus server, read after each window.

    Args:
        url: The server's base URL (``http://prometheus:9090``).
        preset: ``benchlib``, ``dcgm`` or ``node-rapl``.
        metric: A metric name instead of the preset's.
        query: A PromQL expression instead of a metric (its ``unit`` is required).
        unit: The unit of ``metric`` or ``query`` (``J``, ``mJ``, ``W`` ...).
        labels: Label values a series must have (``{instance: "gpu1:9400"}``); matching series are summed.
        boundary: What the sensor sees, when the preset or the series' ``boundary`` label does not say.
        step_s: Resolution of ``query_range`` for a PromQL ``query``, seconds.
        max_gap_s: Longest gap a gauge may have in the window, and the longest interval a counter
            reset is bridged across, seconds (default: 3 scrape intervals, at least 5 s).
        wait_s: How long to wait for the server to scrape past the window's end, seconds.
        timeout_s: Timeout of one HTTP request, seconds.
        bearer_token_env: Environment variable holding a bearer token, if the server needs one.

    Raises:
        PowerSourceUnavailable: The server does not answer, or holds no matching series in the last
            10 minutes (the message says what it searched).
        ParameterError: Bad options (the message lists the valid ones).
    """

    name = "prometheus"
    kind = KIND_MEASURED
    quantity = "log"

    def __init__(
        self,
        url: str,
        *,
        preset: str = "benchlib",
        metric: str | None = None,
        query: str | None = None,
        unit: str | None = None,
        labels: dict[str, str] | None = None,
        boundary: str | None = None,
        step_s: float = 1.0,
        max_gap_s: float | None = None,
        wait_s: float = 30.0,
        timeout_s: float = 10.0,
        bearer_token_env: str | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.labels = {str(k): str(v) for k, v in (labels or {}).items()}
        self.step_s, self.max_gap_s, self.wait_s = float(step_s), max_gap_s, float(wait_s)
        chosen = get_preset(preset)
        custom = metric is not None or query is not None
        self.preset = None if custom else preset
        self._boundary = boundary or chosen.boundary
        self._http = PrometheusHttp(timeout_s, auth_headers(bearer_token_env))
        self._frame = pd.DataFrame(columns=list(SAMPLE_COLUMNS))
        try:
            self.clock = self._clock_offset()
            if query is not None:
                self.choice = custom_choice(None, query, unit)
                self.series: list[dict[str, str]] = []
                self.guard = None
            else:
                choices = (custom_choice(metric, None, unit),) if metric is not None else chosen.choices
                self.choice, self.series = self._find_series(choices)
                self.guard = chosen.guard if self.preset is not None and self.choice.quantity == "energy" else None
                labelled = sorted({s["boundary"] for s in self.series if "boundary" in s})
                self._boundary = self._boundary or (" + ".join(labelled) if labelled else None)
        except PowerError:
            self._http.close()
            raise

    # ------------------------------------------------------------------ HTTP API

    def _api(self, path: str, **params: Any) -> Any:
        answer = self._http.get(f"{self.url}/api/v1/{path}", params)
        try:
            body = json.loads(answer.text)
        except ValueError as exc:
            raise PowerReadError(f"{redact_url(self.url)} answered {path} with something that is not JSON") from exc
        if body.get("status") != "success":
            raise PowerReadError(f"Prometheus at {redact_url(self.url)} refused {path}: {body.get('error', body)}")
        return body["data"]

    def _clock_offset(self) -> ClockOffset:
        try:
            answer = self._http.get(f"{self.url}/api/v1/query", {"query": "time()"})
            server_now_s = float(json.loads(answer.text)["data"]["result"][0])
        except PowerReadError as exc:
            raise PowerSourceUnavailable(f"the Prometheus server does not answer: {exc}") from exc
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise PowerSourceUnavailable(f"{redact_url(self.url)} is not a Prometheus server (time() failed: {exc})") from exc
        return offset_from_remote_time(server_now_s, answer.sent_unix_s, answer.received_unix_s, "Prometheus time()")

    def _find_series(self, choices: tuple[MetricChoice, ...]) -> tuple[MetricChoice, list[dict[str, str]]]:
        now = time.time() + self.clock.offset_s
        for choice in choices:
            found = self._api("series", **{"match[]": choice.selector(self.labels), "start": now - SERIES_LOOKBACK_S, "end": now})
            if found:
                return choice, found
        raise PowerSourceUnavailable(
            f"Prometheus at {redact_url(self.url)} has no series {' or '.join(c.selector(self.labels) for c in choices)} "
            f"in the last {SERIES_LOOKBACK_S / 60:g} minutes: is it scraping the exporter? "
            "Pick another preset (benchlib, dcgm, node-rapl), or give power_options.metric/query and unit."
        )

    def _fetch(self, start_s: float, end_s: float, gap_s: float) -> list[SeriesSamples]:
        """The series around ``[start_s, end_s]`` (server clock), values in joules or watts."""
        if self.choice.query is not None:
            data = self._api("query_range", query=self.choice.query, start=start_s - self.step_s,
                             end=end_s + self.step_s, step=self.step_s)  # fmt: skip
        else:
            matched = self.choice.selector(self.labels)
            data = self._api("query", query=f"{matched}[{_duration(end_s - start_s + 2 * gap_s)}]", time=end_s + gap_s)
        if data.get("resultType") != "matrix":
            raise PowerReadError(f"the query returned a {data.get('resultType')}, not a range of samples")
        series = []
        for result in data["result"]:
            points = np.asarray(result["values"], dtype=float).reshape(-1, 2)
            series.append(SeriesSamples(result["metric"], points[:, 0], points[:, 1] * self.choice.scale))
        return series

    # ------------------------------------------------------------------ measuring

    def _gap_s(self, series: list[SeriesSamples]) -> float:
        if self.max_gap_s is not None:
            return float(self.max_gap_s)
        intervals = np.concatenate([np.diff(s.times_s) for s in series if len(s.times_s) > 1] or [np.array([1.0])])
        return max(5.0, 3.0 * float(np.median(intervals)))

    def _wait_for_coverage(self, start_s: float, end_s: float) -> list[SeriesSamples]:
        deadline = time.monotonic() + self.wait_s
        gap_s = self.max_gap_s if self.max_gap_s is not None else 5.0
        while True:
            if self.choice.query is not None:  # a held value says nothing of coverage: wait past the end
                while time.time() + self.clock.offset_s < end_s + self.step_s + 1.0 and time.monotonic() < deadline:
                    time.sleep(0.2)
            series = self._fetch(start_s, end_s, gap_s)
            covered = series and all(len(s.times_s) and s.times_s[-1] >= end_s for s in series)
            if covered or time.monotonic() >= deadline:
                return series
            time.sleep(0.25)

    def measure(self, start_unix_s: float, end_unix_s: float, name: str = "measured") -> Measurement:
        """Energy over a window of this machine's wall clock, from the server's samples.

        Returns:
            The measurement; invalid, with the reason, when the server cannot be reached,
            the query returns nothing or the series do not cover the window.
        """
        start_s, end_s = start_unix_s + self.clock.offset_s, end_unix_s + self.clock.offset_s
        method = METHOD_QUERY_RANGE if self.choice.query is not None else METHOD_RAW_SAMPLES
        common = dict(name=name, duration_s=end_unix_s - start_unix_s, source=self.name, kind=KIND_MEASURED,
                      start_unix_s=start_unix_s, end_unix_s=end_unix_s, method=method)  # fmt: skip
        boundary = self.boundary
        try:
            series = self._wait_for_coverage(start_s, end_s)
            if not series:
                raise PowerError(
                    f"the query {self.describe_query()} returned no samples from {start_s:.3f} to {end_s:.3f} "
                    "(server clock, Unix s): the series does not cover the window"
                )
            self._frame = self._samples_frame(series)
            boundary = self._boundary_of(series)
            energy = series_window_energy(series, self.choice.quantity, start_s, end_s, self._gap_s(series))
            self._check_guard(start_s, end_s)
        except PowerError as exc:  # PowerReadError (unreachable, refused) included
            return Measurement.invalid(problem=f"Prometheus at {redact_url(self.url)}: {exc}", samples=0, boundary=boundary, **common)
        self.last_window = {"counter_resets": energy.counter_resets, "bridged_s": energy.bridged_s, "series": list(energy.series)}
        duration_s = end_unix_s - start_unix_s
        return Measurement(energy_j=energy.energy_j, mean_power_w=energy.energy_j / duration_s if duration_s > 0 else math.nan,
                           samples=energy.samples, boundary=boundary, **common)  # fmt: skip

    def _check_guard(self, start_s: float, end_s: float) -> None:
        """Refuse the window when the exporter says its energy counter lacks some of it."""
        if self.guard is None:
            return
        guard = selector(self.guard, self.labels)
        data = self._api("query", query=f"{guard}[{_duration(end_s - start_s)}]", time=end_s)
        for result in data.get("result", []):
            values = np.asarray(result["values"], dtype=float).reshape(-1, 2)[:, 1]
            grown = np.diff(values)
            if (grown > 1e-9).any():
                raise PowerError(
                    f"the exporter's energy counter lacks {grown[grown > 0].sum():.2f} s of the window "
                    f"({self.guard} rose): its sensor failed or reset, so that energy is unknown"
                )

    # ------------------------------------------------------------------ records

    @property
    def boundary(self) -> str:
        """What the sensor sees (the preset's, the user's, or the series' ``boundary`` label once read)."""
        return self._boundary or "remote exporter (boundary from its labels)"

    def _boundary_of(self, series: list[SeriesSamples]) -> str:
        if self._boundary:
            return self._boundary
        labelled = sorted({s.labels["boundary"] for s in series if "boundary" in s.labels})
        return " + ".join(labelled) if labelled else "remote exporter (no boundary label; say power_options.boundary)"

    def describe_query(self) -> str:
        """The PromQL this source evaluates."""
        return self.choice.query or self.choice.selector(self.labels)

    def _samples_frame(self, series: list[SeriesSamples]) -> pd.DataFrame:
        frames = []
        for one in series:
            unix_s = one.times_s - self.clock.offset_s
            if self.choice.quantity == "energy":
                energy_j, _ = unreset_counter(one.times_s, one.values)
                with np.errstate(divide="ignore", invalid="ignore"):
                    power_w = np.concatenate(([np.nan], np.diff(energy_j) / np.diff(one.times_s)))
            else:
                energy_j, power_w = np.full(len(unix_s), np.nan), one.values
            frames.append(pd.DataFrame({"unix_s": unix_s, "perf_s": np.nan, "power_w": power_w, "energy_j": energy_j,
                                        "source": f"prometheus:{one.key}", "boundary": self._boundary_of([one]),
                                        "kind": KIND_MEASURED}))  # fmt: skip
        return pd.concat(frames, ignore_index=True)[list(SAMPLE_COLUMNS)] if frames else self._frame

    def samples_frame(self) -> pd.DataFrame:
        """The samples fetched for the last window (this machine's clock), for ``power.parquet``."""
        return self._frame

    def describe(self) -> dict[str, Any]:
        """For run.json: server (no credentials), query, series, boundary, clock offset."""
        return {
            "name": self.name,
            "mode": "query",
            "url": redact_url(self.url),
            "preset": self.preset,
            "query": self.describe_query(),
            "unit": self.choice.unit,
            "series": self.series,
            "boundary": self.boundary,
            "kind": self.kind,
            "quantity": self.choice.quantity,
            "clock_offset": self.clock.to_dict(),
            "last_window": getattr(self, "last_window", None),
            "guard": self.guard,
        }

    def close(self) -> None:
        """Close the HTTP client; safe to call twice."""
        self._http.close()
