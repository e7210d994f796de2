"""Recorded LLM traffic traces: when each request arrived, its prompt length and its output length.

A sweep's ``trace: FILE`` replays these. :func:`read_trace` reads CSV (``.csv``) and JSON Lines
(``.jsonl``, ``.ndjson``) files and recognises three public layouts from their column names:

* ``azure``: Azure LLM inference traces 2023 and 2024: ``TIMESTAMP`` (date-time text such as
  ``2023-11-16 18:15:46.6805900``; 2024 adds a UTC offset), ``ContextTokens``, ``GeneratedTokens``.
  https://github.com/Azure/AzurePublicDataset/blob/master/AzureLLMInferenceDataset2023.md and
  https://github.com/Azure/AzurePublicDataset/blob/master/AzureLLMInferenceDataset2024.md
* ``burstgpt``: BurstGPT: ``Timestamp`` (seconds), ``Request tokens``, ``Response tokens`` (``Model``,
  ``Total tokens`` and ``Log Type`` are not used). https://github.com/HPMLL/BurstGPT
* ``mooncake``: Mooncake's FAST'25 traces, JSON Lines: ``timestamp`` (milliseconds), ``input_length``,
  ``output_length`` (``hash_ids`` is not used). https://github.com/kvcache-ai/Mooncake/tree/main/FAST25-release

Any other file is read with ``trace_columns`` (layout ``columns``): each of :data:`TRACE_FIELDS` mapped
to a column of the file, plus an optional ``time_unit`` (s, ms, us or datetime).
"""

from __future__ import annotations

import json
import numbers
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchlib.errors import ParameterError

__all__ = ["LAYOUTS", "TRACE_FIELDS", "Trace", "TraceRequest", "read_trace"]

TRACE_FIELDS = ("arrival_s", "prompt_tokens", "output_tokens")
"""What a trace gives for each request: the keys of every layout and of ``trace_columns``."""

LAYOUTS: dict[str, dict[str, str]] = {
    "azure": {"arrival_s": "TIMESTAMP", "prompt_tokens": "ContextTokens", "output_tokens": "GeneratedTokens"},
    "burstgpt": {"arrival_s": "Timestamp", "prompt_tokens": "Request tokens", "output_tokens": "Response tokens"},
    "mooncake": {"arrival_s": "timestamp", "prompt_tokens": "input_length", "output_tokens": "output_length"},
}
"""Public layouts: name -> {field: column name in the file}, tried in this order."""

_TIME_UNITS = ("s", "ms", "us", "datetime")  # trace_columns' time_unit: seconds, ms, µs, or date-time text
_LAYOUT_TIME_UNITS = {"azure": "datetime", "burstgpt": "s", "mooncake": "ms"}
_SECONDS_PER_UNIT = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_COLUMN_KEYS = (*TRACE_FIELDS, "time_unit")


@dataclass(frozen=True)
class TraceRequest:
    """One recorded request.

    Attributes:
        arrival_s: Seconds after the trace's first request, already divided by the speedup.
        prompt_tokens: Prompt length, tokens (>= 1).
        output_tokens: Output length, tokens (>= 1: rows with 0 are skipped).
        source_row: 1-based data row in the file (the header not counted), for error messages.
    """

    arrival_s: float
    prompt_tokens: int
    output_tokens: int
    source_row: int


@dataclass(frozen=True)
class Trace:
    """A trace read by :func:`read_trace`: sorted by arrival time, the first request at 0 s.

    Attributes:
        path: The file, as given.
        layout: ``azure``, ``burstgpt``, ``mooncake``, or ``columns`` (``trace_columns``).
        requests: The requests to replay, in arrival order.
        speedup: The arrival times were divided by this.
        notes: Plain sentences on what reading changed: rows sorted, skipped and why, cut by max_requests.
    """

    path: str
    layout: str
    requests: tuple[TraceRequest, ...]
    speedup: float
    notes: tuple[str, ...]

    @property
    def duration_s(self) -> float:
        """Seconds from the first request to the last (after the speedup)."""
        return self.requests[-1].arrival_s - self.requests[0].arrival_s if self.requests else 0.0

    @property
    def mean_rate_rps(self) -> float:
        """Requests per second from the first to the last, (requests - 1) / duration_s; 0.0 without a duration."""
        return (len(self.requests) - 1) / self.duration_s if self.duration_s > 0 else 0.0

    def to_record(self) -> dict[str, Any]:
        """A JSON-able summary for a run's record (``requests`` is their number)."""
        return {"path": self.path, "layout": self.layout, "requests": len(self.requests),
                "duration_s": self.duration_s, "mean_rate_rps": self.mean_rate_rps, "speedup": self.speedup,
                "notes": list(self.notes)}  # fmt: skip


def read_trace(path: str | Path, columns: dict[str, str] | None = None, speedup: float = 1.0,
               max_requests: int = 0) -> Trace:  # fmt: skip
    """Read a recorded trace to replay.

    Args:
        path: A ``.csv``, ``.jsonl`` or ``.ndjson`` file.
        columns: ``trace_columns``: each of :data:`TRACE_FIELDS` -> a column of the file, plus an optional
            ``time_unit`` (one of s, ms, us or datetime, default ``s``). None detects a public layout
            (:data:`LAYOUTS`) from the column names.
        speedup: Arrival times are divided by this (2 replays the trace twice as fast); > 0.
        max_requests: Keep the first this many requests after sorting; 0 keeps all.

    Returns:
        The trace, sorted by arrival time (stable), shifted so that its first request is at 0 s.

    Raises:
        ParameterError: an invalid parameter, or a file missing, empty or unreadable; the message says what to fix.
    """
    _check_options(speedup, max_requests)
    mapping, time_unit = _check_columns(columns)
    path = Path(path)
    frame = _load(path)
    layout, mapping, time_unit = _resolve_layout(path, frame, mapping, time_unit)
    arrival_s = _arrival_seconds(path, frame[mapping["arrival_s"]], time_unit)
    prompt = _token_counts(path, frame[mapping["prompt_tokens"]], "prompt_tokens", 1)
    output = _token_counts(path, frame[mapping["output_tokens"]], "output_tokens", 0)
    kept, notes = _kept_rows(path, arrival_s, output, max_requests)
    times_s = np.round((arrival_s[kept] - arrival_s[kept[0]]) / speedup, 9)
    rows = zip(times_s, prompt[kept], output[kept], kept + 1)
    requests = tuple(TraceRequest(float(t), int(p), int(o), int(row)) for t, p, o, row in rows)
    return Trace(path=str(path), layout=layout, requests=requests, speedup=float(speedup), notes=tuple(notes))


def _check_options(speedup: float, max_requests: int) -> None:
    """Refuse a speedup that is not a positive number and a max_requests that is not a count."""
    if isinstance(speedup, bool) or not isinstance(speedup, numbers.Real) or not 0 < speedup < float("inf"):
        raise ParameterError(f"Trace speedup must be a number > 0 (2 replays twice as fast), got {speedup!r}.")
    if isinstance(max_requests, bool) or not isinstance(max_requests, numbers.Integral) or max_requests < 0:
        raise ParameterError(f"Trace max_requests must be a whole number >= 0 (0 keeps all), got {max_requests!r}.")


def _check_columns(columns: dict[str, str] | None) -> tuple[dict[str, str] | None, str]:
    """``trace_columns`` split into its field -> column mapping and its time unit; (None, "") without it."""
    if columns is None:
        return None, ""
    if not isinstance(columns, dict):
        raise ParameterError(f"trace_columns must be a mapping with keys {', '.join(_COLUMN_KEYS)}, got {columns!r}.")
    unknown = [repr(key) for key in columns if key not in _COLUMN_KEYS]
    missing = [field for field in TRACE_FIELDS if not isinstance(columns.get(field), str) or not columns[field].strip()]
    if unknown or missing:
        problem = f"unknown keys {', '.join(unknown)}" if unknown else f"no column name for {', '.join(missing)}"
        raise ParameterError(f"trace_columns: {problem}. Valid keys: {', '.join(_COLUMN_KEYS)}; each of "
                             f"{', '.join(TRACE_FIELDS)} must name a column of the file (text).")  # fmt: skip
    time_unit = columns.get("time_unit", "s")
    if time_unit not in _TIME_UNITS:
        raise ParameterError(f"trace_columns: time_unit must be one of {', '.join(_TIME_UNITS)}, "
                             f"got {time_unit!r}.")  # fmt: skip
    return {field: columns[field].strip() for field in TRACE_FIELDS}, time_unit


def _load(path: Path) -> pd.DataFrame:
    """The file's rows (CSV values as text, JSON values as they are), column names stripped of spaces."""
    kind = _FORMATS.get(path.suffix.lower())
    if kind is None:
        raise ParameterError(f"Trace {path}: unsupported file type '{path.suffix or '(none)'}'; "
                             f"use one of {', '.join(_FORMATS)} (CSV or JSON Lines).")  # fmt: skip
    if not path.is_file():
        raise ParameterError(f"Trace file {path} does not exist; check the trace path (relative paths are "
                             f"read from {Path.cwd()}).")  # fmt: skip
    try:
        frame = _load_jsonl(path) if kind == "jsonl" else pd.read_csv(path, dtype=str, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        reason = str(exc).strip()
        raise ParameterError(f"Trace {path} is not a readable {kind.upper()} file ({reason}); fix the file.") from None
    if frame.empty:
        raise ParameterError(f"Trace {path} is empty: it has no requests. Use a file with a header and data rows.")
    frame.columns = [str(name).strip() for name in frame.columns]
    return frame.reset_index(drop=True)


def _load_jsonl(path: Path) -> pd.DataFrame:
    """A JSON Lines file: one object per non-blank line."""
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8-sig").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ParameterError(f"Trace {path}: line {number} is not valid JSON ({exc}); fix the line.") from None
        if not isinstance(record, dict):
            raise ParameterError(f"Trace {path}: line {number} is not a JSON object; write one request per line, "
                                 'like {"timestamp": 0, "input_length": 100, "output_length": 20}.')  # fmt: skip
        records.append(record)
    return pd.DataFrame.from_records(records)


def _resolve_layout(path: Path, frame: pd.DataFrame, mapping: dict[str, str] | None,
                    time_unit: str) -> tuple[str, dict[str, str], str]:  # fmt: skip
    """The layout's name, its field -> column mapping and its time unit."""
    found = list(frame.columns)
    layouts = {"columns": mapping} if mapping is not None else LAYOUTS
    for name, layout in layouts.items():
        if all(column in found for column in layout.values()):
            return name, layout, time_unit if mapping is not None else _LAYOUT_TIME_UNITS[name]
    closest = max(layouts, key=lambda name: sum(column in found for column in layouts[name].values()))
    missing = ", ".join(repr(column) for column in layouts[closest].values() if column not in found)
    found_text = f"columns found: {', '.join(map(repr, found))}"
    if mapping is not None:
        raise ParameterError(f"Trace {path} has no column {missing} named in trace_columns; {found_text}. "
                             "Set trace_columns to columns of the file.")  # fmt: skip
    known = "; ".join(f"{name} ({', '.join(layout.values())})" for name, layout in LAYOUTS.items())
    raise ParameterError(
        f"Trace {path} matches no known layout: missing columns {missing} (closest layout: {closest}); {found_text}. "
        f"Known layouts: {known}. Set trace_columns to map {', '.join(TRACE_FIELDS)} to columns of the file, "
        "e.g. trace_columns: {arrival_s: t, prompt_tokens: in, output_tokens: out, time_unit: s} "
        f"(time_unit: {', '.join(_TIME_UNITS)})."
    )


def _value_error(path: Path, raw: pd.Series, index: int, field: str, problem: str) -> ParameterError:
    """The error for the value at ``index``: file, data row, field, column, the value, what is wrong and the fix."""
    value = raw.iloc[index]
    blank = (isinstance(value, str) and not value.strip()) or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))
    what = "missing; fill it in or remove the row." if blank else f"{value!r}{problem}"
    return ParameterError(f"Trace {path}: data row {index + 1}: {field} (column '{raw.name}') is {what}")


def _arrival_seconds(path: Path, raw: pd.Series, time_unit: str) -> np.ndarray:
    """Arrival times in seconds (not yet shifted), refusing missing, unreadable and negative values."""
    if time_unit == "datetime":
        return _datetime_seconds(path, raw)
    seconds = _numbers(path, raw, "arrival_s") * _SECONDS_PER_UNIT[time_unit]
    negative = np.flatnonzero(seconds < 0)
    if negative.size:
        raise _value_error(path, raw, negative[0], "arrival_s", f", a negative time ({negative.size} rows in all); "
                           "arrival times must be >= 0. Fix the rows or shift the times.")  # fmt: skip
    return seconds


def _datetime_seconds(path: Path, raw: pd.Series) -> np.ndarray:
    """Date-time text (ISO 8601, any fractional digits, naive taken as UTC) as seconds since the earliest."""
    text = raw.astype("string").str.strip()
    parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    if parsed.isna().any():  # other spellings pandas can read, e.g. 11/16/2023 18:15:46
        parsed = parsed.fillna(pd.to_datetime(text.where(parsed.isna()), format="mixed", utc=True, errors="coerce"))
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        raise _value_error(path, raw, bad[0], "arrival_s", ", not a date-time; write it like "
                           "2023-11-16 18:15:46.6805900, or remove the row.")  # fmt: skip
    return (parsed - parsed.min()).dt.total_seconds().to_numpy(dtype=float)


def _token_counts(path: Path, raw: pd.Series, field: str, minimum: int) -> np.ndarray:
    """Whole token counts >= minimum, refusing the first value that is missing, fractional or too small."""
    values = _numbers(path, raw, field)
    bad = np.flatnonzero((values != np.round(values)) | (values < minimum))
    if bad.size:
        raise _value_error(path, raw, bad[0], field, f"; it must be a whole number >= {minimum}; fix the row.")
    return values.astype(np.int64)


def _numbers(path: Path, raw: pd.Series, field: str) -> np.ndarray:
    """A column's values as finite floats, refusing the first missing or non-numeric one."""
    values = pd.to_numeric(raw.astype("string").str.strip(), errors="coerce").to_numpy(float, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise _value_error(path, raw, bad[0], field, ", not a number; fix or remove the row.")
    return values


def _kept_rows(path: Path, arrival_s: np.ndarray, output: np.ndarray,
               max_requests: int) -> tuple[np.ndarray, list[str]]:  # fmt: skip
    """Indices of the rows to replay in arrival order (stable), and notes on the rows skipped, sorted and cut."""
    kept = np.flatnonzero(output > 0)
    if not kept.size:
        raise ParameterError(f"Trace {path}: every request has 0 output tokens (failed requests); nothing to "
                             "replay. Use a trace with completed requests.")  # fmt: skip
    notes = []
    if kept.size < output.size:
        notes.append(f"Skipped {output.size - kept.size} of {output.size} rows with 0 output tokens (failed requests).")
    times_s = arrival_s[kept]
    out_of_order = int((times_s[1:] < np.maximum.accumulate(times_s)[:-1]).sum())
    if out_of_order:
        notes.append(f"Sorted by arrival time: {out_of_order} of {kept.size} rows were out of order (earlier than "
                     "a row above them); rows with equal times keep the file's order.")  # fmt: skip
        kept = kept[np.argsort(times_s, kind="stable")]
    if 0 < max_requests < kept.size:
        notes.append(f"Kept the first {max_requests} of {kept.size} requests (max_requests: {max_requests}).")
        kept = kept[:max_requests]
    return kept, notes
