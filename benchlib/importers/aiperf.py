"""NVIDIA AIPerf (GenAI-Perf's successor) profile exports as runs.

Two files of an AIPerf artifact directory are read:

* ``profile_export_aiperf.json`` (``aiperf/exporters/json_exporter.py``, model ``JsonExportData`` in
  ``aiperf/common/models/export_models.py``): one record per metric tag with its ``unit`` and
  ``avg``/``min``/``max``/``p1``..``p99``/``std`` in display units, plus ``input_config`` (the user's
  configuration), ``start_time``, ``end_time``, ``was_cancelled``, ``error_summary``;
* ``profile_export.jsonl`` (``aiperf/post_processors/record_export_results_processor.py``, model
  ``MetricRecordInfo``): one line per request with ``metadata`` (epoch-ns timestamps), ``metrics``
  (tag -> ``{"value", "unit"}``) and ``error``.

Either file imports as one run; when the other file sits beside it (same directory, AIPerf's names),
it is read too, so the run has the aggregates and the per-request rows. Units are taken from the file
and converted; an unknown unit is refused, naming the field.

AIPerf's ``inter_token_latency`` is per request ``(request_latency - ttft) / (OSL - 1)``: benchlib's
``tpot_s``, not its ``itl_s``; AIPerf's ``inter_chunk_latency`` is benchlib's ``itl_s`` (chunk gaps).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from benchlib.importers.base import Aggregate, ImportedRun, ImportFormatError, Importer, MetricMapping

__all__ = ["AGGREGATE_FILE", "IMPORTER", "RECORDS_FILE", "TOOL", "detect", "parse", "to_base_unit"]

TOOL = "aiperf"
AGGREGATE_FILE = "profile_export_aiperf.json"
RECORDS_FILE = "profile_export.jsonl"

SECONDS_PER: dict[str, int] = {"ns": 1_000_000_000, "us": 1_000_000, "ms": 1000, "sec": 1}
"""AIPerf's time units (``MetricTimeUnit`` tags) -> how many make one second."""
RATE_UNITS = {"tokens/sec", "requests/sec", "tokens/sec/user"}
COUNT_UNITS = {"tokens", "requests", "count", "ratio", "user"}

MAPPED: dict[str, tuple[str, str]] = {
    "time_to_first_token": ("ttft_s", "request start -> first response chunk"),
    "inter_token_latency": (
        "tpot_s", "AIPerf's ITL is per request (request_latency - TTFT) / (OSL - 1): benchlib's TPOT; "
        "OSL counts reasoning tokens too",
    ),
    "inter_chunk_latency": ("itl_s", "every gap between streamed chunks (a chunk may hold several tokens)"),
    "request_latency": ("e2e_s", "request start -> last response chunk"),
    "output_token_throughput_per_user": ("decode_tps", "1 / AIPerf ITL per request = 1 / benchlib's tpot_s"),
    "output_token_throughput": ("system_throughput_tps", "total OSL / (last response - first request)"),
    "request_throughput": ("request_throughput_rps", "valid requests / (last response - first request)"),
}
"""AIPerf metric tag -> (benchlib metric, note)."""

KNOWN_TAGS = set(MAPPED) | {
    "benchmark_duration", "credit_drop_latency", "error_request_count", "good_request_count", "goodput",
    "input_sequence_length", "total_isl", "error_isl", "total_error_isl", "max_response_timestamp",
    "min_request_timestamp", "output_sequence_length", "total_osl", "output_token_count", "total_output_tokens",
    "prefill_throughput", "reasoning_token_count", "total_reasoning_tokens", "request_count",
    "stream_setup_latency", "stream_prefill_latency", "thinking_efficiency", "overall_thinking_efficiency",
    "time_to_second_token",
}
"""Every metric tag in ``aiperf/metrics/types`` of the commit read."""
KNOWN_OTHER = {"input_config", "was_cancelled", "error_summary", "start_time", "end_time", "telemetry_stats"}
STAT_FIELDS = {"avg": "mean", "p50": "median", "p90": "p90", "p95": "p95", "p99": "p99", "std": "std",
               "min": "min", "max": "max"}
OTHER_PERCENTILES = ("p1", "p5", "p10", "p25", "p75")


def detect(text: str) -> bool:
    """True when ``text`` (a file's first 64 KiB) looks like an AIPerf profile export."""
    head = text.lstrip()[:65536]
    if not head.startswith("{"):
        return False
    records = '"metadata"' in head and '"request_start_ns"' in head and '"metrics"' in head
    aggregate = '"time_to_first_token"' in head and '"unit"' in head and (
        '"input_config"' in head or '"request_throughput"' in head
    )
    return records or aggregate


def to_base_unit(value: Any, unit: Any, tag: str, path: Path) -> tuple[Any, str]:
    """A value in the stated unit -> seconds (times), as is (rates, counts); with the conversion said.

    Raises:
        ImportFormatError: The unit is not one AIPerf writes (naming the field).
    """
    if unit in SECONDS_PER:
        divisor = SECONDS_PER[unit]
        if isinstance(value, list):
            return [v / divisor for v in value], f"{unit} -> s (/ {divisor})"
        return (None if value is None else value / divisor), f"{unit} -> s (/ {divisor})"
    if unit in RATE_UNITS or unit in COUNT_UNITS:
        return value, f"as is ({unit})"
    valid = ", ".join([*SECONDS_PER, *sorted(RATE_UNITS), *sorted(COUNT_UNITS)])
    raise ImportFormatError(path, TOOL, f"unknown unit {unit!r}; the units AIPerf writes are {valid}", tag)


def parse(path: Path) -> list[ImportedRun]:
    """Read ``profile_export_aiperf.json`` or ``profile_export.jsonl`` (and its sibling when present).

    Args:
        path: Either export file.

    Returns:
        One :class:`ImportedRun`.

    Raises:
        ImportFormatError: Malformed or truncated JSON, a missing required field (``request_count``,
            ``time_to_first_token``, a record's ``metadata``) or an unknown unit.
    """
    path = Path(path)
    text = _read(path)
    whole = _load_json(path, text)
    if isinstance(whole, dict) and not _is_record(whole):
        return [_run(path, whole, path.with_name(_records_name(whole)))]
    sibling = path.with_name(AGGREGATE_FILE)
    if sibling.is_file() and sibling != path:
        aggregate = _load_json(sibling, _read(sibling))
        if not isinstance(aggregate, dict) or _is_record(aggregate):
            raise ImportFormatError(sibling, TOOL, "expected the aggregate export object")
        run = _run(sibling, aggregate, path)
        run.extra["aggregates_file"] = sibling.name
    else:
        run = ImportedRun(tool=TOOL, tool_version=None)
        _attach_records(run, path, text)
        run.warnings.append(f"{path}: no {AGGREGATE_FILE} beside it; model, workload and aggregates unknown")
    return [run]


def _read(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(path, TOOL, f"cannot read the file: {exc}") from exc
    if not text.strip():
        raise ImportFormatError(path, TOOL, f"the file is empty; pass {AGGREGATE_FILE} or {RECORDS_FILE}")
    return text


def _load_json(path: Path, text: str) -> dict[str, Any] | None:
    """The document as one JSON object; ``None`` for JSON Lines (several objects, one per line)."""
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as exc:
        first = next(line for line in text.splitlines() if line.strip())
        try:
            json.loads(first)
        except json.JSONDecodeError:
            raise ImportFormatError(path, TOOL, f"malformed or truncated JSON (line {exc.lineno}, column "
                                    f"{exc.colno}): {exc.msg}") from exc
        return None
    if not isinstance(whole, dict):
        raise ImportFormatError(path, TOOL, f"expected a JSON object, found {type(whole).__name__}")
    return whole


def _is_record(obj: dict[str, Any]) -> bool:
    return "metadata" in obj and "metrics" in obj


def _records_name(data: dict[str, Any]) -> str:
    output = (data.get("input_config") or {}).get("output") or {}
    name = output.get("profile_export_file")
    return Path(name).name if isinstance(name, str) and name else RECORDS_FILE


def _record(data: dict[str, Any], tag: str, path: Path, required: bool = False) -> dict[str, Any] | None:
    rec = data.get(tag)
    if rec is None:
        if required:
            raise ImportFormatError(path, TOOL, "required metric is missing (is this a streaming run?)", tag)
        return None
    if not isinstance(rec, dict) or "unit" not in rec:
        raise ImportFormatError(path, TOOL, "a metric record must be an object with a 'unit'", tag)
    return rec


def _value(data: dict[str, Any], tag: str, path: Path, required: bool = False) -> Any:
    rec = _record(data, tag, path, required)
    if rec is None:
        return None
    if not isinstance(rec.get("avg"), int | float):
        raise ImportFormatError(path, TOOL, "the metric has no numeric 'avg'", f"{tag}.avg")
    return to_base_unit(rec["avg"], rec["unit"], tag, path)[0]


def _run(path: Path, data: dict[str, Any], records_path: Path) -> ImportedRun:
    """An aggregate export (``JsonExportData``) -> a run; its records file attached when present."""
    completed = int(_value(data, "request_count", path, required=True))
    _record(data, "time_to_first_token", path, required=True)
    run = ImportedRun(tool=TOOL, tool_version=None)
    _metadata(run, data, path)
    run.workload["completed"] = completed
    failed = _value(data, "error_request_count", path)
    if failed is not None:
        run.workload["failed"] = int(failed)
    run.duration_s = _value(data, "benchmark_duration", path)
    total_osl = _value(data, "total_osl", path)
    run.output_tokens = None if total_osl is None else int(total_osl)
    for tag, (metric, note) in MAPPED.items():
        rec = _record(data, tag, path)
        if rec is None:
            continue
        stats, other, conversion = {}, {}, ""
        for key in (*STAT_FIELDS, *OTHER_PERCENTILES):
            if rec.get(key) is None:
                continue
            value, conversion = to_base_unit(rec[key], rec["unit"], tag, path)
            if key in STAT_FIELDS:
                stats[STAT_FIELDS[key]] = value
            else:
                other[key] = value
        run.aggregates[metric] = Aggregate(n=completed, **stats)
        if other:
            run.extra.setdefault("other_percentiles", {})[metric] = other
        single = set(stats) == {"mean"}
        run.mapping.append(MetricMapping(
            metric, f"{tag}.{'avg' if single else '{avg,p50,p90,p95,p99,std,min,max}'}", conversion,
            note + ("; one value for the run" if single else ""),
        ))
    unmapped = {tag: data[tag] for tag in KNOWN_TAGS - set(MAPPED) if tag in data}
    if unmapped:
        run.extra["other_metrics"] = unmapped
    unknown = sorted(k for k in data if k not in KNOWN_TAGS and k not in KNOWN_OTHER)
    if unknown:
        run.extra["unknown_fields"] = {k: data[k] for k in unknown}
        run.warnings.append(f"{path}: fields this importer does not know (a newer AIPerf?), kept in "
                            f"extra.unknown_fields: {', '.join(unknown)}")
    if data.get("was_cancelled"):
        run.warnings.append(f"{path}: AIPerf says the benchmark was cancelled (was_cancelled: true)")
    if records_path.is_file() and records_path != path:
        _attach_records(run, records_path, _read(records_path))
        run.extra["records_file"] = records_path.name
    else:
        run.extra["aggregates_only"] = f"no {records_path.name} beside {path.name}"
    return run


def _metadata(run: ImportedRun, data: dict[str, Any], path: Path) -> None:
    config = data.get("input_config") or {}
    endpoint = config.get("endpoint") or {}
    names = endpoint.get("model_names") or []
    if names:
        run.model["name"] = names[0]
        if len(names) > 1:
            run.model["names"] = names
    tokenizer = (config.get("tokenizer") or {}).get("name")
    if tokenizer:
        run.model["tokenizer"] = tokenizer
    run.machine = {k: endpoint[k] for k in ("type", "url", "streaming", "custom_endpoint") if k in endpoint}
    loadgen = config.get("loadgen") or {}
    run.workload = {k: loadgen[k] for k in ("concurrency", "request_rate", "request_count", "benchmark_duration",
                                            "warmup_request_count") if k in loadgen}
    prompt = (config.get("input") or {}).get("prompt") or {}
    for side in ("input_tokens", "output_tokens"):
        for stat in ("mean", "stddev"):
            if (prompt.get(side) or {}).get(stat) is not None:
                run.workload[f"{side}_{stat}"] = prompt[side][stat]
    for tag, key in (("input_sequence_length", "prompt_tokens_mean"), ("output_sequence_length",
                                                                         "output_tokens_mean_measured")):
        value = _value(data, tag, path)
        if value is not None:
            run.workload[key] = value
    run.started_at = data.get("start_time")
    run.extra.update({k: data[k] for k in ("end_time", "was_cancelled", "error_summary") if k in data})
    if config.get("cli_command"):
        run.extra["cli_command"] = config["cli_command"]


def _attach_records(run: ImportedRun, path: Path, text: str) -> None:
    """``profile_export.jsonl`` -> ``run.requests`` (profiling-phase records, failed ones with their error)."""
    rows, unknown, warmup = [], set(), 0
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(path, TOOL, f"malformed or truncated JSON on line {number} "
                                    f"(column {exc.colno}): {exc.msg}") from exc
        if not isinstance(rec, dict) or not isinstance(rec.get("metadata"), dict):
            raise ImportFormatError(path, TOOL, f"line {number} is not a record with 'metadata'", "metadata")
        if rec["metadata"].get("benchmark_phase", "profiling") != "profiling":
            warmup += 1
            continue
        rows.append(_row(rec, path, number, unknown))
    if not rows:
        raise ImportFormatError(path, TOOL, "no profiling-phase records", "metadata.benchmark_phase")
    run.requests = pd.DataFrame(rows)
    if unknown:
        run.warnings.append(f"{path}: record metrics this importer does not know: {', '.join(sorted(unknown))}")
    if warmup:
        run.extra["warmup_records_skipped"] = warmup
    run.mapping.extend([
        MetricMapping("ttft_s", "metrics.time_to_first_token.value", "stated unit -> s", "per request"),
        MetricMapping("e2e_s", "metrics.request_latency.value", "stated unit -> s", "per request"),
        MetricMapping("tpot_s", "(request_latency - time_to_first_token) / (output_sequence_length - 1)",
                      "benchlib's formula", "per request; equals AIPerf's per-record inter_token_latency"),
        MetricMapping("decode_tps", "1 / tpot_s", "1 / x", "per request"),
        MetricMapping("itl_s", "metrics.inter_chunk_latency.value", "stated unit -> s", "chunk gaps per request"),
    ])


def _row(rec: dict[str, Any], path: Path, number: int, unknown: set[str]) -> dict[str, Any]:
    meta = rec["metadata"]
    if not isinstance(meta.get("request_start_ns"), int):
        raise ImportFormatError(path, TOOL, f"line {number}: no integer request_start_ns",
                                "metadata.request_start_ns")
    metrics = rec.get("metrics") or {}
    values: dict[str, Any] = {}
    for tag, item in metrics.items():
        if tag not in KNOWN_TAGS:
            unknown.add(tag)
            continue
        if not isinstance(item, dict) or "unit" not in item:
            raise ImportFormatError(path, TOOL, f"line {number}: a record metric needs 'value' and 'unit'", tag)
        values[tag] = to_base_unit(item.get("value"), item["unit"], tag, path)[0]
    ttft, e2e = values.get("time_to_first_token", math.nan), values.get("request_latency", math.nan)
    osl = values.get("output_sequence_length")
    tpot = (e2e - ttft) / (osl - 1) if osl is not None and osl > 1 else math.nan
    error = rec.get("error")
    sent = meta["request_start_ns"] / 1e9
    end_ns = meta.get("request_end_ns")
    return {
        "request_id": meta.get("x_request_id") or meta.get("session_num"),
        "prompt_index": meta.get("session_num"),
        "prompt_tokens": values.get("input_sequence_length", values.get("error_isl")),
        "output_tokens": osl,
        "sent_unix_s": sent,
        "first_token_unix_s": sent + ttft,
        "last_token_unix_s": end_ns / 1e9 if isinstance(end_ns, int) else math.nan,
        "ttft_s": ttft, "e2e_s": e2e, "tpot_s": tpot, "decode_tps": 1 / tpot if tpot > 0 else math.nan,
        "itl_s": values.get("inter_chunk_latency", []),
        "cancelled": bool(meta.get("was_cancelled")),
        "error": (f"{error.get('type')} ({error.get('code')}): {error.get('message')}"
                  if isinstance(error, dict) else None),
    }


IMPORTER = Importer(
    name=TOOL,
    parse=parse,
    detect=detect,
    formats=f"AIPerf {AGGREGATE_FILE} (aggregates) or {RECORDS_FILE} (one record per request); "
    "the other file of the same artifact directory is read too when present",
)
