"""guidellm's benchmark report (``guidellm run --output kind=json,path=report.json``) as benchlib runs.

One :class:`~benchlib.importers.base.ImportedRun` per benchmark of the report
(one per strategy of a sweep: ``synchronous``, ``throughput``, ``constant@2.036``,
``concurrent@4``). The report is guidellm's ``GenerativeBenchmarksReport``,
schema version 2 (guidellm 0.7 and later; written against 0.8.1): ``metadata``
(guidellm version), ``config`` (the command's arguments) and ``benchmarks``,
each with ``metrics`` (distribution summaries split by status: ``successful``,
``incomplete``, ``errored``, ``total``) and ``requests`` (per-request records
with their timestamps; see :mod:`~benchlib.importers.guidellm_requests`).

Definitions (guidellm ``src/guidellm/schemas/base/request_stats.py`` in 0.8.1,
``src/guidellm/schemas/request_stats.py`` at commit ee7a774 of its repository):

* ``time_to_first_token_ms``: first stream chunk with text - ``request_start``,
  benchlib's ``ttft_s`` in ms;
* ``time_per_output_token_ms``: ``(last_token_iteration - request_start) /
  output_tokens``, the first token (so the TTFT) *included*; benchlib's
  ``tpot_s = (e2e - ttft) / (output_tokens - 1)`` is guidellm's per-request
  ``inter_token_latency_ms``;
* ``request_latency`` (s): ``request_start`` -> ``request_end``, after the
  stream's end, a little after the last token (benchlib's ``e2e_s``).

Aggregates are the report's own ``successful`` summaries converted to seconds.
guidellm weights its TPOT and ITL distributions by tokens (and takes
percentiles as the lower inverse of that weighted distribution), so neither is
a statistic over requests and benchlib's TPOT cannot be derived from them
exactly: ``tpot_s`` comes from the per-request rows only, and guidellm's TPOT is
kept, marked, as ``extra["guidellm_tpot_incl_first_s"]``.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from benchlib.importers.base import Aggregate, ImportedRun, Importer, ImportFormatError, MetricMapping
from benchlib.importers.guidellm_requests import KNOWN_REQUEST_FIELDS, STATUSES, chunked_requests, request_rows

__all__ = ["IMPORTER", "SCHEMA_VERSION", "TOOL", "detect", "parse"]

TOOL = "guidellm"
SCHEMA_VERSION = 2
"""The report schema version (``metadata.version``) this importer was written against."""

_MS = "ms -> s (/ 1000)"


class _Reader:
    """Walks the report and names the missing or mistyped field in its error."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, problem: str, field_name: str | None = None) -> ImportFormatError:
        return ImportFormatError(self.path, TOOL, problem, field_name)

    def get(self, obj: Any, dotted: str, where: str = "", kind: type | tuple[type, ...] | None = None) -> Any:
        """``obj[a][b]...`` for ``dotted = "a.b"``; a missing or mistyped field raises naming ``where.dotted``."""
        name = f"{where}.{dotted}" if where else dotted
        value = obj
        for key in dotted.split("."):
            if not isinstance(value, dict) or key not in value:
                raise self.fail("required field missing; is this a guidellm report (guidellm run --output kind=json,...)?", name)
            value = value[key]
        if kind is not None and (isinstance(value, bool) or not isinstance(value, kind)):
            expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(f"expected {expected}, found {type(value).__name__} {value!r:.60}", name)
        return value


def detect(text: str) -> bool:
    """True when ``text`` (a file's first 64 KiB) looks like a guidellm report (JSON or YAML, not gzipped).

    JSON reports open with ``metadata.guidellm_version``; guidellm writes YAML with sorted keys, so a
    YAML report opens with ``benchmarks:`` and its metric names instead.
    """
    if "guidellm_version" in text and "benchmarks" in text:
        return True
    return text.lstrip().startswith("benchmarks:") and all(
        name in text for name in ("request_totals", "time_to_first_token_ms", "inter_token_latency_ms")
    )


def _load(path: Path) -> dict[str, Any]:
    reader = _Reader(path)
    suffixes = [suffix.lower() for suffix in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8") if compressed else path.read_text(encoding="utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as err:
        raise reader.fail(f"cannot read the file: {err}") from err
    kind = suffixes[-2] if compressed and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
    try:
        doc = yaml.safe_load(text) if kind in (".yaml", ".yml") else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise reader.fail(f"not valid JSON/YAML (truncated?): {err}") from err
    if not isinstance(doc, dict):
        raise reader.fail(f"expected a JSON object at the top, found {type(doc).__name__}")
    return doc


def _aggregate(summary: dict[str, Any], n: int, scale: float, reader: _Reader, where: str) -> Aggregate:
    """One guidellm ``DistributionSummary`` as an :class:`Aggregate`, each statistic divided by ``scale``."""
    get = reader.get
    value = lambda key: float(get(summary, key, where, (int, float))) / scale  # noqa: E731
    return Aggregate(
        n=n,
        mean=value("mean"),
        median=value("median"),
        p90=value("percentiles.p90"),
        p95=value("percentiles.p95"),
        p99=value("percentiles.p99"),
        std=value("std_dev"),
        min=value("min"),
        max=value("max"),
    )


_AGGREGATES: tuple[tuple[str, str, float, str, str], ...] = (
    ("ttft_s", "time_to_first_token_ms", 1000.0, _MS, "first chunk with text - request_start, as benchlib's"),
    ("itl_s", "inter_token_latency_ms", 1000.0, _MS,
     "per-request mean gap (last - first token) / (output_tokens - 1), weighted by output_tokens - 1: its mean "
     "is the mean of all gaps; its percentiles are those of per-request means, narrower than per-gap ones"),
    ("e2e_s", "request_latency", 1.0, "as is (s)",
     "request_start -> request_end (stream closed after the last token), a little longer than benchlib's e2e_s "
     "to the last token; the per-request rows carry benchlib's e2e_s"),
    ("system_throughput_tps", "output_tokens_per_second", 1.0,
     "as is (tokens/s); mean of guidellm's time-weighted rate distribution",
     "mean = output tokens of successful requests / the measured window (first request sent -> last "
     "response), benchlib's system throughput; median and percentiles are of guidellm's instantaneous rate"),
    ("request_throughput_rps", "requests_per_second", 1.0,
     "as is (requests/s); mean of guidellm's time-weighted rate distribution",
     "mean = successful requests / the measured window; median and percentiles are of the instantaneous rate"),
)  # fmt: skip
"""benchlib metric, guidellm metric, divisor to benchlib's unit, conversion, note."""


def _label(strategy: dict[str, Any]) -> str:
    """``synchronous``, ``constant@2.0``, ``poisson@2.0``, ``concurrent@4``, ``throughput``."""
    kind = str(strategy.get("type_", "unknown"))
    if strategy.get("rate") is not None:
        return f"{kind}@{float(strategy['rate']):.4g}"
    if strategy.get("streams") is not None:
        return f"{kind}@{int(strategy['streams'])}"
    return kind


def _mapping(has_requests: bool) -> list[MetricMapping]:
    """One :class:`MetricMapping` per benchlib metric the run carries."""
    mapping = {
        metric: MetricMapping(metric, f"metrics.{field}.successful", conversion, note)
        for metric, field, _, conversion, note in _AGGREGATES
    }
    if has_requests:
        mapping["e2e_s"] = MetricMapping(
            "e2e_s",
            "metrics.request_latency.successful (aggregate); requests.*.info.timings (rows)",
            "aggregate as is (s); rows: last_token_iteration - request_start",
            "the aggregate runs to request_end, after the stream's end; the rows run to the last token, as "
            "benchlib's e2e_s, and keep guidellm's as guidellm_request_latency_s",
        )
        mapping["tpot_s"] = MetricMapping(
            "tpot_s",
            "requests.*.info.timings.first_token_iteration, last_token_iteration; requests.*.output_tokens",
            "per request: (last_token - first_token) / (output_tokens - 1); no aggregate",
            "guidellm's time_per_output_token_ms includes the first token ((last_token - request_start) / "
            "output_tokens, token-weighted): not benchlib's TPOT; kept as extra.guidellm_tpot_incl_first_s and "
            "per request as guidellm_tpot_incl_first_s",
        )
        mapping["decode_tps"] = MetricMapping("decode_tps", "requests.* (from tpot_s)", "1 / tpot_s per request")
    return list(mapping.values())


def _run(doc: dict[str, Any], bench: dict[str, Any], index: int, reader: _Reader, warnings: list[str]) -> ImportedRun:
    where = f"benchmarks[{index}]"
    get = reader.get
    config = get(bench, "config", where, dict)
    strategy = get(config, "strategy", f"{where}.config", dict)
    metrics = get(bench, "metrics", where, dict)
    totals = get(metrics, "request_totals", f"{where}.metrics", dict)
    successful = int(get(totals, "successful", f"{where}.metrics.request_totals", (int, float)))
    aggregates: dict[str, Aggregate] = {}
    run_warnings = list(warnings)
    if successful == 0:
        run_warnings.append(f"{where}: no successful request; no aggregate imported")
    else:
        for metric, field, scale, _, _ in _AGGREGATES:
            summary = get(metrics, f"{field}.successful", f"{where}.metrics", dict)
            aggregates[metric] = _aggregate(summary, successful, scale, reader, f"{where}.metrics.{field}.successful")
    window = (bench.get("start_time"), bench.get("end_time"))
    requests = request_rows(bench.get("requests"), reader.path, where, window)
    tpot = metrics.get("time_per_output_token_ms")
    tpot_incl = tpot.get("successful") if isinstance(tpot, dict) else None
    extra: dict[str, Any] = {
        "guidellm_tpot_incl_first_s": (
            _aggregate(tpot_incl, successful, 1000.0, reader, f"{where}.metrics.time_per_output_token_ms.successful").to_dict()
            if isinstance(tpot_incl, dict) and successful
            else None
        ),
        "guidellm_tpot_note": "guidellm's time_per_output_token_ms / 1000: (last token - request start) / output tokens, "
        "first token included, weighted by output tokens; not benchlib's tpot_s",
        "request_totals": {k: totals.get(k) for k in (*STATUSES, "total")},
        "benchmark_id": config.get("id_"),
        "run_id": config.get("run_id"),
        "run_index": config.get("run_index"),
        "report_schema_version": (doc.get("metadata") or {}).get("version"),
    }
    sample_size = config.get("sample_size")
    if requests is not None and sample_size is not None:
        run_warnings.append(
            f"{where}: guidellm kept at most {sample_size} request records per status (metrics sample_size); "
            "the per-request rows are a sample, the aggregates cover all requests"
        )
    chunked = chunked_requests(requests)
    if chunked:
        run_warnings.append(
            f"{where}: {chunked} successful request(s) got several tokens per stream chunk (token_chunks < "
            "output_tokens); their tpot_s and guidellm's ITL measure chunk delivery, not decoding"
        )
    return ImportedRun(
        tool=TOOL,
        tool_version=(doc.get("metadata") or {}).get("guidellm_version"),
        label=_label(strategy),
        model=_model(doc, config),
        machine=_machine(doc, config),
        workload=_workload(doc, config, strategy, totals),
        aggregates=aggregates,
        requests=requests,
        mapping=_mapping(requests is not None),
        started_at=_iso(bench.get("start_time")),
        duration_s=bench.get("duration"),
        output_tokens=_output_tokens(metrics),
        warnings=run_warnings,
        extra=extra,
    )


def parse(path: str | Path) -> list[ImportedRun]:
    """Read a guidellm report (JSON, or YAML by extension) into one run per benchmark.

    Raises:
        ImportFormatError: the file is not valid JSON/YAML, is truncated, has no benchmark,
            or lacks a field the mapping needs (the error names it).
    """
    path = Path(path)
    reader = _Reader(path)
    doc = _load(path)
    metadata = reader.get(doc, "metadata", kind=dict)
    version = reader.get(metadata, "version", "metadata", int)
    reader.get(metadata, "guidellm_version", "metadata", str)
    warnings = _unknown(doc)
    if version < SCHEMA_VERSION:
        raise reader.fail(
            f"report schema version {version} predates version {SCHEMA_VERSION} (guidellm 0.7+); "
            "re-run the benchmark with guidellm >= 0.7",
            "metadata.version",
        )
    if version > SCHEMA_VERSION:
        warnings.append(
            f"report schema version {version} is newer than {SCHEMA_VERSION}, which this importer knows; "
            "fields were read by name"
        )
    benchmarks = reader.get(doc, "benchmarks", kind=list)
    if not benchmarks:
        raise reader.fail("the report holds no benchmark (did the run finish?)", "benchmarks")
    for i, bench in enumerate(benchmarks):
        if not isinstance(bench, dict):
            raise reader.fail(f"expected an object, found {type(bench).__name__}", f"benchmarks[{i}]")
    return [_run(doc, bench, i, reader, warnings) for i, bench in enumerate(benchmarks)]


IMPORTER = Importer(
    name=TOOL,
    parse=parse,
    detect=detect,
    formats="guidellm benchmark report, JSON or YAML (--output-path report.json), schema version 2",
)


def _iso(unix_s: Any) -> str | None:
    """A Unix time as ISO 8601 UTC, or ``None``."""
    if not isinstance(unix_s, (int, float)) or isinstance(unix_s, bool) or unix_s <= 0:
        return None
    return datetime.fromtimestamp(float(unix_s), tz=timezone.utc).isoformat()


def _model(doc: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    backend = config.get("backend") or {}
    spec = (doc.get("config") or {}).get("spec") or {}
    tokenizer = spec.get("tokenizer") or {}
    return {"name": backend.get("model"), "tokenizer": tokenizer.get("model")}


def _machine(doc: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    backend = config.get("backend") or {}
    metadata = doc.get("metadata") or {}
    return {
        "backend": backend.get("kind"),
        "target": backend.get("target"),
        "request_format": backend.get("request_format"),
        "stream": backend.get("stream"),
        "client_platform": metadata.get("platform"),
        "client_python": metadata.get("python_version"),
    }


def _workload(doc: dict[str, Any], config: dict[str, Any], strategy: dict[str, Any], totals: dict[str, Any]) -> dict[str, Any]:
    constraints = config.get("constraints") or {}
    limits = {name: (c.get("args") or {}) for name, c in constraints.items() if isinstance(c, dict)}
    data = ((doc.get("config") or {}).get("spec") or {}).get("data") or []
    synthetic = next((d for d in data if isinstance(d, dict) and d.get("kind") == "synthetic_text"), {})
    return {
        "rate_type": strategy.get("type_"),
        "rate_rps": strategy.get("rate"),
        "streams": strategy.get("streams"),
        "max_concurrency": strategy.get("max_concurrency"),
        "max_requests": (limits.get("max_requests") or {}).get("count"),
        "max_seconds": (limits.get("max_duration") or {}).get("seconds"),
        "prompt_tokens": synthetic.get("prompt_tokens"),
        "output_tokens": synthetic.get("output_tokens"),
        "data": [d.get("kind") for d in data if isinstance(d, dict)],
        "requests": totals.get("total"),
    }


def _output_tokens(metrics: dict[str, Any]) -> int | None:
    total = ((metrics.get("output_token_count") or {}).get("successful") or {}).get("total_sum")
    return round(total) if isinstance(total, (int, float)) else None


_KNOWN: dict[str, frozenset[str]] = {
    "report": frozenset({"metadata", "config", "benchmarks", "conclusions"}),
    "metadata": frozenset({"version", "guidellm_version", "python_version", "platform"}),
    "benchmark": frozenset(
        {"type_", "config", "scheduler_state", "scheduler_metrics", "metrics", "requests", "warnings",
         "start_time", "end_time", "duration", "warmup_duration", "cooldown_duration"}
    ),
    "metrics": frozenset(
        {"request_totals", "requests_per_second", "request_concurrency", "request_latency",
         "request_dispatch_delay", "request_scheduled_latency", "turn_predecessor_delay", "turn_scheduling_delay",
         "root_dispatch_delay", "request_streaming_iterations_count", "prompt_token_count", "output_token_count",
         "total_token_count", "time_to_first_token_ms", "time_to_first_output_token_ms", "time_per_output_token_ms",
         "inter_token_latency_ms", "time_to_last_round_trip_ms", "avg_round_trip_time_ms",
         "prompt_tokens_per_second", "output_tokens_per_second", "tokens_per_second", "output_tokens_per_iteration",
         "iter_tokens_per_iteration", "text", "image", "video", "audio", "tool_call", "turns", "slo_attainment",
         "slo_determined_requests", "request_goodput"}
    ),
    "request": KNOWN_REQUEST_FIELDS,
}
"""Fields of guidellm 0.8.1's report (schema version 2) at the levels the importer reads; others draw a warning."""


def _unknown(doc: dict[str, Any]) -> list[str]:
    """One warning per level that has fields guidellm 0.8.1 does not write (a newer guidellm?)."""
    found: dict[str, set[str]] = {}

    def note(level: str, where: str, obj: Any) -> None:
        if isinstance(obj, dict):
            extra = set(obj) - _KNOWN[level]
            if extra:
                found.setdefault(where, set()).update(extra)

    note("report", "report", doc)
    note("metadata", "metadata", doc.get("metadata"))
    for bench in doc.get("benchmarks") or []:
        if isinstance(bench, dict):
            note("benchmark", "benchmarks[*]", bench)
            note("metrics", "benchmarks[*].metrics", bench.get("metrics"))
            groups = bench.get("requests") if isinstance(bench.get("requests"), dict) else {}
            for status in STATUSES:
                for record in groups.get(status) or []:
                    note("request", f"benchmarks[*].requests.{status}[*]", record)
    return [
        f"unknown field(s) {', '.join(sorted(names))} in {where} (a guidellm newer than 0.8.1?); not imported"
        for where, names in found.items()
    ]
