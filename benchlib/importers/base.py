"""What every importer produces: an :class:`ImportedRun` in benchlib's terms, or a clear error.

An importer reads one tool's output file (llama-bench, ``vllm bench serve``,
guidellm, AIPerf) and returns one or more :class:`ImportedRun` values: the
tool's numbers mapped onto benchlib's metric definitions, each mapping written
down in :class:`MetricMapping` so the run says where every number came from.
The writer (:mod:`benchlib.importers.writer`) turns them into run directories.

Metric names are benchlib's (see docs/measured.md, "What is measured, exactly"):

* ``ttft_s``: request sent -> first token, seconds;
* ``tpot_s``: (e2e - ttft) / (output tokens - 1), seconds per token, the first
  token excluded (vLLM's TPOT is the same; guidellm's includes the first token
  and must be converted or marked);
* ``itl_s``: gaps between consecutive tokens, seconds;
* ``e2e_s``: request sent -> last token, seconds;
* ``decode_tps``: 1 / tpot_s per request, tokens per second;
* ``prefill_tps``: prompt tokens per second of prompt processing (llama-bench ``pp`` tests);
* ``system_throughput_tps``: output tokens per second of the whole run.

Where the tool gives only aggregates, :attr:`ImportedRun.aggregates` holds them
(:class:`Aggregate`: n, mean, median, percentiles, std) and
:attr:`ImportedRun.requests` is ``None``; where it gives per-request data, the
rows go to ``requests.parquet`` with benchlib's column names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from benchlib.errors import BenchlibError

__all__ = [
    "METRICS",
    "Aggregate",
    "ImportedRun",
    "ImportFormatError",
    "Importer",
    "MetricMapping",
]

METRICS: dict[str, str] = {
    "ttft_s": "time to first token, s",
    "tpot_s": "time per output token after the first, s",
    "itl_s": "inter-token latency, s",
    "e2e_s": "end-to-end request latency, s",
    "decode_tps": "decode rate, tokens/s",
    "prefill_tps": "prompt processing rate, tokens/s",
    "system_throughput_tps": "output tokens per second of the whole run",
    "request_throughput_rps": "requests per second of the whole run",
}
"""benchlib's metric names an importer may fill, with their meaning and unit."""


class ImportFormatError(BenchlibError, ValueError):
    """A file that cannot be imported: malformed, truncated, unknown, or missing a required field.

    The message names the file, the tool and the field, and says what to do.
    """

    def __init__(self, path: str | Path, tool: str, problem: str, field_name: str | None = None) -> None:
        where = f" (field {field_name!r})" if field_name else ""
        super().__init__(f"cannot import {path} as {tool} output{where}: {problem}")
        self.path, self.tool, self.field_name = str(path), tool, field_name


@dataclass(frozen=True)
class Aggregate:
    """A metric the tool reports only as statistics over its requests (benchlib's unit).

    Attributes:
        n: Requests (or repetitions) behind it, when known.
        mean: Mean.
        median: Median (p50).
        p90: 90th percentile.
        p95: 95th percentile.
        p99: 99th percentile.
        std: Standard deviation.
        min: Minimum.
        max: Maximum.
    """

    n: int | None = None
    mean: float | None = None
    median: float | None = None
    p90: float | None = None
    p95: float | None = None
    p99: float | None = None
    std: float | None = None
    min: float | None = None
    max: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The non-missing statistics."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class MetricMapping:
    """Where one of benchlib's metrics came from in the tool's file.

    Attributes:
        metric: benchlib's name (a :data:`METRICS` key).
        tool_field: The tool's field(s), as written in its file (``mean_ttft_ms``, ``samples_ts``).
        conversion: What was done to it (``ms -> s``, ``1 / x``, ``subtracts the first token``, ``as is``).
        note: Anything a reader must know (definitions that differ, aggregates only ...).
    """

    metric: str
    tool_field: str
    conversion: str = "as is"
    note: str | None = None


@dataclass
class ImportedRun:
    """One run read from another tool's output, in benchlib's terms.

    Attributes:
        tool: ``llama-bench``, ``vllm``, ``guidellm`` or ``aiperf``.
        tool_version: The tool's version (or build commit) as the file states it; ``None`` if absent.
        label: What distinguishes this run among those of the same file (``pp512``, ``tg128 t=4``,
            ``rate 2.0``); empty when the file holds one run.
        model: ``name`` and whatever the file says of the model (``type``, ``size_bytes``,
            ``params``, ``quantization``, ``backend``).
        machine: What the file says of the machine (``cpu``, ``gpu``, ``threads``, ``backend``,
            ``build_commit``, ``flash_attn`` ...).
        workload: Prompt and output lengths, concurrency or request rate, number of requests.
        aggregates: benchlib metric -> :class:`Aggregate`, for what the tool reports only in aggregate.
        requests: Per-request rows with benchlib's columns (``ttft_s``, ``e2e_s``, ``tpot_s``,
            ``decode_tps``, ``itl_s``, ``prompt_tokens``, ``output_tokens``, ``sent_unix_s``,
            ``error``), or ``None`` when the tool gives aggregates only.
        samples: For repetition-based tools (llama-bench): metric -> every repetition's value.
        mapping: How each metric was mapped.
        started_at: When the tool ran, ISO 8601, if the file says.
        duration_s: Length of the run, seconds, if known.
        output_tokens: Output tokens generated over the run, if known.
        warnings: What the importer noticed (unknown fields of a newer version ...).
        extra: Tool-specific facts worth keeping in run.json.
    """

    tool: str
    tool_version: str | None
    label: str = ""
    model: dict[str, Any] = field(default_factory=dict)
    machine: dict[str, Any] = field(default_factory=dict)
    workload: dict[str, Any] = field(default_factory=dict)
    aggregates: dict[str, Aggregate] = field(default_factory=dict)
    requests: pd.DataFrame | None = None
    samples: dict[str, list[float]] = field(default_factory=dict)
    mapping: list[MetricMapping] = field(default_factory=list)
    started_at: str | None = None
    duration_s: float | None = None
    output_tokens: int | None = None
    warnings: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def per_request(self) -> bool:
        """True when the tool gave one row per request."""
        return self.requests is not None


@dataclass(frozen=True)
class Importer:
    """One tool's importer, as the registry lists it.

    Attributes:
        name: The ``--tool`` name (``llama-bench``, ``vllm``, ``guidellm``, ``aiperf``).
        parse: Reads a file and returns its runs.
            Raises :class:`ImportFormatError` (file, tool, field) when it cannot.
        detect: True when a file's text (its first 64 KiB) looks like this tool's output
            (``--tool auto``); must not raise.
        formats: What it reads, in words (``JSON or JSONL of -o json/jsonl``).
    """

    name: str
    parse: Callable[[Path], list[ImportedRun]]
    detect: Callable[[str], bool]
    formats: str
