"""``vllm bench serve --save-result`` files (and the older ``benchmarks/benchmark_serving.py``) as runs.

The file is the ``result_json`` that ``vllm/benchmarks/serve.py`` ``json.dump``\\ s: one JSON object, or
one object per line when ``--append-result`` added several (one :class:`ImportedRun` each, labelled by
request rate and concurrency). Aggregates are milliseconds (``mean_ttft_ms``, ``p99_tpot_ms`` ...,
``p<q>`` for every ``--metric-percentiles`` value); with ``--save-detailed`` the file also holds one
entry per request (``input_lens``, ``output_lens``, ``ttfts`` and ``itls`` in **seconds**, ``errors``,
``generated_texts``, and in some versions ``start_times``), which become ``requests`` rows.

vLLM's TPOT is benchlib's: ``(latency - ttft) / (output_len - 1)`` per request, first token excluded,
requests of one token left out. Its ITL is every gap between streamed chunks (a chunk may carry more
than one token).
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchlib.importers.base import Aggregate, ImportedRun, ImportFormatError, Importer, MetricMapping

__all__ = ["IMPORTER", "TOOL", "detect", "parse", "parse_result"]

TOOL = "vllm"

METRIC_PREFIXES: dict[str, str] = {"ttft": "ttft_s", "tpot": "tpot_s", "itl": "itl_s", "e2el": "e2e_s"}
"""vLLM's metric attribute name -> benchlib's metric."""

NOTES: dict[str, str] = {
    "ttft_s": "request sent -> first streamed chunk, completed requests only",
    "tpot_s": "(latency - ttft) / (output_len - 1) per request, as benchlib; requests of 1 token excluded",
    "itl_s": "statistics over every chunk gap of the completed requests, not per request",
    "e2e_s": "request sent -> last chunk (E2EL), completed requests only",
}

SETUP_KEYS = {
    "date", "endpoint_type", "backend", "label", "model_id", "tokenizer_id", "num_prompts", "request_rate",
    "burstiness", "max_concurrency", "ramp_up_strategy", "ramp_up_start_rps", "ramp_up_end_rps",
}
RESULT_KEYS = {
    "duration", "completed", "failed", "total_input_tokens", "total_output_tokens", "request_throughput",
    "request_goodput", "output_throughput", "total_token_throughput", "max_output_tokens_per_s",
    "max_concurrent_requests", "rps_change_events",
}
DETAIL_KEYS = {"input_lens", "output_lens", "ttfts", "itls", "generated_texts", "errors", "start_times"}
KNOWN_KEYS = SETUP_KEYS | RESULT_KEYS | DETAIL_KEYS
"""Every key serve.py writes; anything else is a newer version's field or a ``--metadata`` pair."""

VERSION_KEYS = ("vllm_version", "version")
"""``--metadata`` keys taken as the tool's version when present."""


def detect(text: str) -> bool:
    """True when ``text`` (a file's first 64 KiB) looks like a ``vllm bench serve`` result."""
    head = text.lstrip()[:4096]
    return head.startswith("{") and all(key in head for key in ('"completed"', '"duration"')) and all(
        key in text for key in ('"request_throughput"', '"total_output_tokens"')
    ) and ('_ttft_ms"' in text or '"ttfts"' in text)  # --save-detailed puts the statistics after the lists


def parse(path: Path) -> list[ImportedRun]:
    """Read a ``--save-result`` file: one run per result object (several with ``--append-result``).

    Args:
        path: The JSON file ``vllm bench serve`` wrote.

    Returns:
        One :class:`ImportedRun` per result, in file order.

    Raises:
        ImportFormatError: Malformed or truncated JSON, a missing required field (``completed``,
            ``duration``, the TTFT statistics) or per-request lists of different lengths.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(path, TOOL, f"cannot read the file: {exc}") from exc
    results = _load_results(path, text)
    runs = [parse_result(result, path) for result in results]
    if len(runs) > 1:
        for run in runs:
            run.label = _label(run.workload)
    return runs


def _load_results(path: Path, text: str) -> list[dict[str, Any]]:
    """One JSON object, or one per line (``--append-result``)."""
    if not text.strip():
        raise ImportFormatError(path, TOOL, "the file is empty; pass the JSON that --save-result wrote")
    try:
        loaded = json.loads(text)
        objects = [loaded]
    except json.JSONDecodeError as whole_error:
        objects = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                objects.append(json.loads(line))
            except json.JSONDecodeError as exc:
                problem = whole_error if number == 1 else exc
                raise ImportFormatError(
                    path, TOOL, f"malformed or truncated JSON (line {number}, column {problem.colno}): "
                    f"{problem.msg}; re-run with --save-result or restore the file"
                ) from exc
    for obj in objects:
        if not isinstance(obj, dict):
            raise ImportFormatError(path, TOOL, f"expected a JSON object per result, found {type(obj).__name__}")
    return objects


def _label(workload: dict[str, Any]) -> str:
    label = f"rate {workload.get('request_rate')}"
    if workload.get("max_concurrency") is not None:
        label += f" c={workload['max_concurrency']}"
    return label


def _required_number(result: dict[str, Any], key: str, path: Path) -> float:
    value = result.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        found = "missing" if key not in result else f"not a number ({value!r})"
        raise ImportFormatError(path, TOOL, f"required field is {found}", key)
    return value


def parse_result(result: dict[str, Any], path: Path) -> ImportedRun:
    """Map one result object onto an :class:`ImportedRun`.

    Args:
        result: One object of the file.
        path: The file, for error messages.

    Returns:
        The run, with aggregates, and ``requests`` when the object carries ``--save-detailed`` lists.
    """
    completed = int(_required_number(result, "completed", path))
    duration_s = float(_required_number(result, "duration", path))
    if not any(f"{stat}_ttft_ms" in result for stat in ("mean", "median")):
        raise ImportFormatError(
            path, TOOL, "no TTFT statistics (mean_ttft_ms/median_ttft_ms); an embedding or pooling "
            "benchmark has none, and benchlib needs them", "mean_ttft_ms",
        )
    run = ImportedRun(tool=TOOL, tool_version=_version(result), duration_s=duration_s)
    run.model = {k: v for k, v in {"name": result.get("model_id"), "tokenizer": result.get("tokenizer_id")}.items()
                 if v is not None}
    run.machine = {k: result[k] for k in ("backend", "endpoint_type") if result.get(k) is not None}
    run.workload = {
        k: result[k] for k in ("num_prompts", "request_rate", "burstiness", "max_concurrency", "ramp_up_strategy",
                               "ramp_up_start_rps", "ramp_up_end_rps", "total_input_tokens", "total_output_tokens")
        if k in result
    }
    run.workload["completed"] = completed
    if result.get("failed") is not None:
        run.workload["failed"] = result["failed"]
    if result.get("total_output_tokens") is not None:
        run.output_tokens = int(result["total_output_tokens"])
    run.started_at, written = _started_at(result.get("date"), duration_s)
    run.extra = {k: result[k] for k in ("date", "label", "request_goodput", "total_token_throughput",
                                        "max_output_tokens_per_s", "max_concurrent_requests") if k in result}
    _map_latencies(result, completed, run)
    _map_throughputs(result, completed, run)
    if written:
        run.extra["result_written_local"] = written
    unknown = sorted(k for k in result if k not in KNOWN_KEYS and not _is_statistic(k))
    if unknown:
        run.extra["unknown_fields"] = {k: result[k] for k in unknown}
        run.warnings.append(
            f"{path}: fields this importer does not know (a newer vLLM, or --metadata pairs), kept in "
            f"extra.unknown_fields: {', '.join(unknown)}"
        )
    present = [k for k in ("input_lens", "output_lens", "ttfts", "itls") if k in result]
    if len(present) == 4:
        run.requests = _request_rows(result, path, run)
    elif present:
        run.warnings.append(f"{path}: per-request lists incomplete (only {', '.join(present)}); aggregates only")
    if run.requests is None:
        run.extra["aggregates_only"] = "the file has no --save-detailed per-request lists"
    return run


def _version(result: dict[str, Any]) -> str | None:
    for key in VERSION_KEYS:
        if result.get(key) is not None:
            return str(result[key])
    return None


def _started_at(date: Any, duration_s: float) -> tuple[str | None, str | None]:
    """``date`` is local time (``%Y%m%d-%H%M%S``) taken when the run had finished; start = date - duration."""
    if not isinstance(date, str):
        return None, None
    try:
        written = datetime.strptime(date, "%Y%m%d-%H%M%S")
    except ValueError:
        return None, None
    start = written - timedelta(seconds=round(duration_s))
    return start.isoformat(), written.isoformat()


def _is_statistic(key: str) -> bool:
    stat, _, rest = key.partition("_")
    metric, _, unit = rest.rpartition("_")
    known_stat = stat in ("mean", "median", "std") or (stat.startswith("p") and _is_number(stat[1:]))
    return known_stat and unit == "ms" and metric in METRIC_PREFIXES


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _map_latencies(result: dict[str, Any], completed: int, run: ImportedRun) -> None:
    """``mean_/median_/std_/p<q>_<metric>_ms`` -> seconds, one :class:`Aggregate` per metric."""
    for attr, metric in METRIC_PREFIXES.items():
        stats: dict[str, float] = {}
        other: dict[str, float] = {}
        fields: list[str] = []
        for key, value in result.items():
            if not (key.endswith(f"_{attr}_ms") and _is_statistic(key)) or value is None:
                continue
            stat = key[: -len(f"_{attr}_ms")]
            seconds = value / 1000
            fields.append(key)
            if stat in ("mean", "median", "std"):
                stats[stat] = seconds
            elif stat in ("p90", "p95", "p99"):
                stats[stat] = seconds
            elif stat == "p50":
                stats.setdefault("median", seconds)
            else:
                other[stat] = seconds
        if not fields:
            continue
        run.aggregates[metric] = Aggregate(n=completed, **stats)
        if other:
            run.extra.setdefault("other_percentiles_s", {})[metric] = other
        run.mapping.append(MetricMapping(metric, ", ".join(fields), "ms -> s (/ 1000)", NOTES[metric]))


def _map_throughputs(result: dict[str, Any], completed: int, run: ImportedRun) -> None:
    for key, metric, note in (
        ("output_throughput", "system_throughput_tps",
         "total_output_tokens / duration; duration runs from before the first request to after the last response"),
        ("request_throughput", "request_throughput_rps", "completed / duration"),
    ):
        if isinstance(result.get(key), int | float):
            run.aggregates[metric] = Aggregate(n=completed, mean=float(result[key]))
            run.mapping.append(MetricMapping(metric, key, "as is", note + "; one value for the run"))


def _request_rows(result: dict[str, Any], path: Path, run: ImportedRun) -> pd.DataFrame:
    """One row per request of a ``--save-detailed`` file, failed ones with their error."""
    lists = {k: result[k] for k in DETAIL_KEYS if isinstance(result.get(k), list)}
    n = len(lists["ttfts"])
    for key, values in lists.items():
        if len(values) != n:
            raise ImportFormatError(path, TOOL, f"{len(values)} entries where ttfts has {n}", key)
    errors = lists.get("errors", [""] * n)
    texts = lists.get("generated_texts", [None] * n)
    starts = lists.get("start_times")
    first_start = min(starts) if starts else None
    rows = []
    for i in range(n):
        failed = bool(errors[i])
        gaps = [float(g) for g in (lists["itls"][i] or [])]
        output_tokens = int(lists["output_lens"][i] or 0)
        ttft = math.nan if failed else float(lists["ttfts"][i])
        e2e = ttft + math.fsum(gaps)
        tpot = (e2e - ttft) / (output_tokens - 1) if output_tokens > 1 and not failed else math.nan
        rows.append({
            "request_id": i, "prompt_tokens": int(lists["input_lens"][i]), "output_tokens": output_tokens,
            "sent_offset_s": (starts[i] - first_start) if starts else math.nan,
            "ttft_s": ttft, "e2e_s": e2e, "tpot_s": tpot, "decode_tps": 1 / tpot if tpot > 0 else math.nan,
            "itl_s": gaps, "error": errors[i] or None, "output_text": texts[i],
        })
    frame = pd.DataFrame(rows)
    ok = int(frame["error"].isna().sum())
    if ok != run.workload["completed"]:
        run.warnings.append(f"{path}: {ok} requests without an error but completed = {run.workload['completed']}")
    run.mapping.extend([
        MetricMapping("ttft_s", "ttfts[i]", "as is (seconds)", "per request; failed requests get NaN"),
        MetricMapping("e2e_s", "ttfts[i] + sum(itls[i])", "sum, seconds",
                      "vLLM saves no per-request latency; this is the arrival of the last content chunk"),
        MetricMapping("tpot_s", "sum(itls[i]) / (output_lens[i] - 1)", "benchlib's formula",
                      "equals vLLM's per-request TPOT when its latency is the last chunk's arrival"),
        MetricMapping("decode_tps", "1 / tpot_s", "1 / x", "per request"),
        MetricMapping("itl_s", "itls[i]", "as is (seconds)", "gaps between streamed chunks"),
    ])
    if np.isfinite(frame["sent_offset_s"]).any():
        run.extra["sent_offset_s"] = "start_times are perf_counter values: offsets from the first request"
    else:
        frame = frame.drop(columns="sent_offset_s")
    return frame


IMPORTER = Importer(
    name=TOOL,
    parse=parse,
    detect=detect,
    formats="JSON of vllm bench serve --save-result (optionally --save-detailed; one object per line "
    "with --append-result); also benchmarks/benchmark_serving.py results",
)
