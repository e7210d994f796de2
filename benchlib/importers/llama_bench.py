"""llama.cpp's ``llama-bench``: its JSON (``-o json``) and JSONL (``-o jsonl``) results as benchlib runs.

The format is llama-bench's ``struct test`` (``get_fields``, ``get_field_type``, ``get_values``) and its
``json_printer`` / ``jsonl_printer`` in ``tools/llama-bench/llama-bench.cpp`` of ggml-org/llama.cpp, read at
commit 0c1e57098bba43ac29e6e3b677cdceebdd22334f (the copy vendored in llama-cpp-python 0.3.36, the build
``make native`` makes); the fields of older builds come from ``examples/llama-bench/llama-bench.cpp`` at
ggerganov/llama.cpp 0068da7fefbe5b3c10aa4bf05275e1baf4a5d5be. JSON is an array of test objects, JSONL one
object per line. Each object is one *test*: ``pp`` (``n_prompt > 0``, ``n_gen == 0``: prompt processing),
``tg`` (``n_gen > 0``, ``n_prompt == 0``: generation one token at a time) or ``pp+tg`` (``-pg``), run
``repetitions`` times after a warm-up; ``samples_ns`` holds each repetition's time and ``samples_ts`` its
rate, ``(n_prompt + n_gen) * 1e9 / samples_ns`` tokens/s; ``avg_ts`` and ``stddev_ts`` (sample standard
deviation, n - 1) are their mean and spread, printed with six decimals.

Tests that share a configuration (model, threads, batch sizes, flash attention, KV types, offload ...,
and depth ``n_depth``) become one :class:`~benchlib.importers.base.ImportedRun` holding its pp and tg
numbers (label ``"t=2 pp64 tg32"``); a ``pp+tg`` test is a run of its own. The tool gives aggregates and
per-repetition rates, never per-request rows, and does not time a first token: no ``ttft_s``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchlib.importers.base import Aggregate, ImportedRun, Importer, ImportFormatError, MetricMapping

__all__ = ["IMPORTER", "KNOWN_FIELDS", "REQUIRED_FIELDS", "TOOL", "detect", "parse"]

TOOL = "llama-bench"

REQUIRED_FIELDS: tuple[str, ...] = ("build_commit", "model_filename", "n_prompt", "n_gen", "avg_ts", "stddev_ts")
"""Fields every llama-bench build writes and without which a test cannot be imported."""

_RESULT_FIELDS = frozenset(
    {"n_prompt", "n_gen", "test_time", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts", "samples_ns", "samples_ts"}
)
KNOWN_FIELDS: frozenset[str] = _RESULT_FIELDS | frozenset(
    # llama.cpp 0c1e570 (tools/llama-bench/llama-bench.cpp, test::get_fields)
    "build_commit build_number cpu_info gpu_info backends model_filename model_type model_size model_n_params "
    "n_batch n_ubatch n_threads cpu_mask cpu_strict poll type_k type_v n_gpu_layers n_cpu_moe split_mode main_gpu "
    "no_kv_offload flash_attn devices tensor_split tensor_buft_overrides load_mode lazy_mode embeddings "
    "no_op_offload no_host repack fit_target fit_min_ctx n_depth "
    # older builds (per-backend flags before ``backends``; mul_mat_q, f16_kv, use_mmap)
    "cuda opencl vulkan kompute metal sycl rpc gpu_blas blas mul_mat_q f16_kv use_mmap".split()
)
"""Fields this importer knows; others (a newer llama-bench) import with a warning and are kept in ``extra``."""

_BACKEND_FLAGS = ("cuda", "opencl", "vulkan", "kompute", "metal", "sycl", "rpc", "gpu_blas", "blas")
_MACHINE_FIELDS = {
    "cpu_info": "cpu", "gpu_info": "gpu", "backends": "backend", "n_threads": "threads",
    "build_commit": "build_commit", "build_number": "build_number", "flash_attn": "flash_attn",
    "n_gpu_layers": "n_gpu_layers", "n_batch": "n_batch", "n_ubatch": "n_ubatch", "type_k": "type_k",
    "type_v": "type_v", "use_mmap": "use_mmap", "load_mode": "load_mode",
}  # fmt: skip
_SHORT = {
    "n_threads": "t", "n_batch": "b", "n_ubatch": "ub", "flash_attn": "fa", "n_gpu_layers": "ngl",
    "type_k": "ctk", "type_v": "ctv", "model_filename": "model",
}  # fmt: skip

_TIME_NOTE = (
    "llama-bench does not time a first token (no ttft_s): a warm-up runs before the timed repetitions, "
    "and a tg test times n_gen single-token decode steps after n_depth untimed cached tokens, so every "
    "timed token is a decode step, benchlib's tpot_s"
)


@dataclass(frozen=True)
class _Test:
    """One llama-bench test object, checked."""

    where: str
    fields: dict[str, Any]
    n_prompt: int
    n_gen: int
    n_depth: int
    avg_ts: float
    stddev_ts: float
    samples_ts: tuple[float, ...] | None
    samples_ns: tuple[int, ...] | None

    @property
    def kind(self) -> str:
        """``pp``, ``tg`` or ``pp+tg``."""
        return "pp" if self.n_gen == 0 else "tg" if self.n_prompt == 0 else "pp+tg"

    @property
    def name(self) -> str:
        """llama-bench's own test name: ``pp64``, ``tg32``, ``pp64+tg32``, with `` @ d512`` at a depth."""
        base = {"pp": f"pp{self.n_prompt}", "tg": f"tg{self.n_gen}"}.get(self.kind, f"pp{self.n_prompt}+tg{self.n_gen}")
        return base + (f" @ d{self.n_depth}" if self.n_depth else "")

    @property
    def repetitions(self) -> int | None:
        """Timed repetitions, when the file lists them."""
        found = self.samples_ts if self.samples_ts is not None else self.samples_ns
        return None if found is None else len(found)

    def config(self) -> tuple[tuple[str, str], ...]:
        """Everything but the results: the tests of one configuration share it."""
        return tuple(sorted((k, json.dumps(v)) for k, v in self.fields.items() if k not in _RESULT_FIELDS))


SIGNATURE_FIELDS = ("build_commit", "build_number", "cpu_info", "model_type", "n_prompt", "n_gen", "avg_ts", "samples_ts", "test_time")
"""Fields of every llama-bench test that other tools' files do not have; three of them identify the tool."""


def detect(text: str) -> bool:
    """True when ``text`` (a file's first 64 KiB) looks like llama-bench JSON or JSONL output.

    Three of :data:`SIGNATURE_FIELDS` are enough, so that a file lacking a
    required field is still recognised, and :func:`parse` names the field.
    """
    head = text.lstrip()
    return head.startswith(("[", "{")) and sum(f'"{k}"' in text for k in SIGNATURE_FIELDS) >= 3


def parse(path: Path) -> list[ImportedRun]:
    """Read a llama-bench ``-o json`` or ``-o jsonl`` file.

    Args:
        path: The file.

    Returns:
        One run per configuration (its pp and tg tests together), plus one per ``pp+tg`` test, in file order.

    Raises:
        ImportFormatError: The file is unreadable, malformed or truncated, holds no test, or a test lacks
            a required field (:data:`REQUIRED_FIELDS`) or has one of the wrong type.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ImportFormatError(path, TOOL, f"cannot read the file ({err})") from err
    objects, fmt = _objects(path, text)
    tests = [_check(path, where, obj) for where, obj in objects]
    unknown = sorted({k for _, obj in objects for k in obj} - KNOWN_FIELDS)
    warnings = (
        [f"fields this importer does not know (a newer llama-bench?), kept in extra['unknown_fields']: "
         f"{', '.join(unknown)}"] if unknown else []
    )  # fmt: skip
    groups: dict[tuple, list[_Test]] = {}
    for test in tests:
        groups.setdefault(test.config(), []).append(test)
    keys = sorted({k for config in groups for k, _ in config} - {"n_threads", "n_depth"})
    varying = [k for k in keys if len({dict(config).get(k) for config in groups}) > 1]
    runs: list[ImportedRun] = []
    for group in groups.values():
        pp_tg = [t for t in group if t.kind != "pp+tg"]
        if sum(t.kind == "pp" for t in pp_tg) <= 1 and sum(t.kind == "tg" for t in pp_tg) <= 1:
            units, note = ([pp_tg] if pp_tg else []), []
        else:
            units = [[t] for t in pp_tg]
            note = ["this configuration has several pp or tg sizes, so each test is a run of its own"]
        units += [[t] for t in group if t.kind == "pp+tg"]
        runs += [_run(unit, varying, warnings + note, fmt, unknown) for unit in units]
    seen: dict[str, int] = {}
    for run in runs:  # a repeated test (-p 64,64) would repeat a label
        seen[run.label] = seen.get(run.label, 0) + 1
        run.label += f" #{seen[run.label]}" if seen[run.label] > 1 else ""
    return runs


def _objects(path: Path, text: str) -> tuple[list[tuple[str, dict[str, Any]]], str]:
    """The file's test objects, each with where it is (``test 2``, ``line 3``), and its format."""
    body = text.strip()
    if not body:
        raise ImportFormatError(path, TOOL, "the file is empty; expected llama-bench -o json or -o jsonl output")
    if body[0] == "[":
        try:
            items = json.loads(body)
        except json.JSONDecodeError as err:
            raise ImportFormatError(
                path, TOOL, f"malformed or truncated JSON ({err}); expected the whole array llama-bench -o json "
                "writes, closed by ']'"
            ) from err
        found = [(f"test {i + 1}", item) for i, item in enumerate(items)]
        fmt = "json"
    elif body[0] == "{":
        found = []
        for number, line in enumerate(text.splitlines(), start=1):
            if line.strip():
                try:
                    found.append((f"line {number}", json.loads(line)))
                except json.JSONDecodeError as err:
                    raise ImportFormatError(
                        path, TOOL, f"line {number} is malformed or truncated JSON ({err}); "
                        "expected one complete test object per line (llama-bench -o jsonl)"
                    ) from err
        fmt = "jsonl"
    else:
        raise ImportFormatError(
            path, TOOL, f"starts with {body[:20]!r}; expected a JSON array (-o json) or JSON lines (-o jsonl) "
            "(markdown, csv and sql output cannot be imported)"
        )
    if not found:
        raise ImportFormatError(path, TOOL, "holds no test")
    for where, obj in found:
        if not isinstance(obj, dict):
            raise ImportFormatError(path, TOOL, f"{where} is a {type(obj).__name__}, expected a test object")
    return found, fmt


def _check(path: Path, where: str, obj: dict[str, Any]) -> _Test:
    """One test object with its required fields present and typed."""
    for name in REQUIRED_FIELDS:
        if name not in obj:
            raise ImportFormatError(path, TOOL, f"{where} has no {name!r}, which every llama-bench test has; "
                                    "was the file edited or cut?", name)  # fmt: skip

    def number(name: str, integer: bool) -> Any:
        value = obj.get(name, 0)
        ok = isinstance(value, int) if integer else isinstance(value, (int, float)) and math.isfinite(value)
        if isinstance(value, bool) or not ok or value < 0:
            kind = "an integer" if integer else "a number"
            raise ImportFormatError(path, TOOL, f"{where}: {name} is {value!r}, expected {kind} >= 0", name)
        return value

    def samples(name: str, integer: bool) -> tuple | None:
        values = obj.get(name)
        if values is None:
            return None
        if not isinstance(values, list) or not values:
            raise ImportFormatError(path, TOOL, f"{where}: {name} is {values!r}, expected a list of numbers", name)
        for value in values:
            ok = isinstance(value, int) if integer else isinstance(value, (int, float)) and math.isfinite(value)
            if isinstance(value, bool) or not ok or value <= 0:
                raise ImportFormatError(path, TOOL, f"{where}: {name} holds {value!r}, expected numbers > 0", name)
        return tuple(values)

    test = _Test(
        where=where, fields=obj, n_prompt=number("n_prompt", True), n_gen=number("n_gen", True),
        n_depth=number("n_depth", True), avg_ts=float(number("avg_ts", False)),
        stddev_ts=float(number("stddev_ts", False)), samples_ts=samples("samples_ts", False),
        samples_ns=samples("samples_ns", True),
    )  # fmt: skip
    if test.n_prompt == 0 and test.n_gen == 0:
        raise ImportFormatError(path, TOOL, f"{where}: n_prompt and n_gen are both 0, not a test", "n_gen")
    if test.samples_ts and test.samples_ns and len(test.samples_ts) != len(test.samples_ns):
        problem = f"{where}: samples_ts has {len(test.samples_ts)} values, samples_ns {len(test.samples_ns)}"
        raise ImportFormatError(path, TOOL, problem + "; expected one per repetition in each", "samples_ts")
    return test


def _stats(values: list[float], mean: float | None = None, std: float | None = None) -> Aggregate:
    """Aggregate of per-repetition values; ``mean``/``std`` as the file states them when given."""
    arr = np.asarray(values, dtype=float)
    return Aggregate(
        n=len(values), mean=float(arr.mean()) if mean is None else mean, median=float(np.median(arr)),
        std=(float(arr.std(ddof=1)) if len(values) > 1 else None) if std is None else std,
        min=float(arr.min()), max=float(arr.max()),
    )  # fmt: skip


def _rate(test: _Test) -> tuple[Aggregate, list[float] | None]:
    """The test's rate in tokens/s, exactly as the file states it: avg_ts, stddev_ts, samples_ts."""
    if test.samples_ts is None:
        return Aggregate(n=test.repetitions, mean=test.avg_ts, std=test.stddev_ts), None
    return _stats(list(test.samples_ts), test.avg_ts, test.stddev_ts), [float(x) for x in test.samples_ts]


def _tpot(test: _Test) -> tuple[Aggregate, list[float] | None, str]:
    """Seconds per decoded token of a tg test, per repetition, and how it was derived."""
    if test.samples_ns is not None:
        values = [ns / 1e9 / test.n_gen for ns in test.samples_ns]
        return _stats(values), values, "samples_ns / 1e9 / n_gen per repetition (= 1 / samples_ts before rounding)"
    if test.samples_ts is not None:
        values = [1.0 / x for x in test.samples_ts]
        return _stats(values), values, "1 / samples_ts per repetition"
    avg_ns, std_ns = test.fields.get("avg_ns"), test.fields.get("stddev_ns")
    if isinstance(avg_ns, (int, float)) and avg_ns > 0:
        std = std_ns / 1e9 / test.n_gen if isinstance(std_ns, (int, float)) else None
        return Aggregate(n=test.repetitions, mean=avg_ns / 1e9 / test.n_gen, std=std), None, "avg_ns / 1e9 / n_gen"
    return Aggregate(n=test.repetitions, mean=1.0 / test.avg_ts), None, "1 / avg_ts (no samples in the file)"


def _run(unit: list[_Test], varying: list[str], warnings: list[str], fmt: str, unknown: list[str]) -> ImportedRun:
    """One run from the tests of one configuration (a pp and a tg test, or one test)."""
    first = unit[0].fields
    aggregates: dict[str, Aggregate] = {}
    samples: dict[str, list[float]] = {}
    mapping: list[MetricMapping] = []
    for test in unit:
        if test.kind == "pp+tg":
            _map_pg(test, aggregates, samples, mapping)
            continue
        metric = "prefill_tps" if test.kind == "pp" else "decode_tps"
        aggregates[metric], values = _rate(test)
        if values is not None:
            samples[metric] = values
        what = (
            "n_prompt / time to process the prompt in batches of n_batch" if test.kind == "pp"
            else "n_gen / time of n_gen single-token decode steps"
        )  # fmt: skip
        mapping.append(MetricMapping(metric, f"avg_ts, stddev_ts, samples_ts of the {test.name} test", "as is",
                                     f"{what}, tokens/s; mean and sample std (n - 1) over the repetitions as "
                                     "llama-bench computed them, median/min/max of samples_ts"))  # fmt: skip
        if test.kind == "tg":
            aggregates["tpot_s"], values, how = _tpot(test)
            if values is not None:
                samples["tpot_s"] = values
            mapping.append(MetricMapping("tpot_s", f"samples_ns of the {test.name} test", how, _TIME_NOTE))
    reps = [t.repetitions for t in unit]
    generating = [t for t in unit if t.n_gen]
    times = [sum(t.samples_ns) / 1e9 if t.samples_ns else None for t in unit]
    stamps = [str(t.fields["test_time"]) for t in unit if "test_time" in t.fields]
    model = {
        "name": str(first["model_filename"]).replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".gguf"),
        "filename": first["model_filename"], "type": first.get("model_type"),
        "size_bytes": first.get("model_size"), "params": first.get("model_n_params"),
    }  # fmt: skip
    machine = {ours: first[theirs] for theirs, ours in _MACHINE_FIELDS.items() if theirs in first}
    if "backend" not in machine:
        machine["backend"] = ",".join(f for f in _BACKEND_FLAGS if first.get(f) is True) or "CPU"
    pp = next((t for t in unit if t.n_prompt), None)
    parts = [f"t={first.get('n_threads', '?')}"] + [f"{_SHORT.get(k, k)}={_short(k, first.get(k))}" for k in varying]
    return ImportedRun(
        tool=TOOL,
        tool_version=f"build {first.get('build_number', '?')} ({first['build_commit']})",
        label=" ".join(parts + [" ".join(t.name.split(" @ ")[0] for t in unit)])
        + (f" @ d{unit[0].n_depth}" if unit[0].n_depth else ""),
        model={k: v for k, v in model.items() if v is not None},
        machine=machine,
        workload={
            "n_prompt": pp.n_prompt if pp else 0, "n_gen": generating[0].n_gen if generating else 0,
            "n_depth": unit[0].n_depth, "repetitions": max(reps) if None not in reps else None, "tests": len(unit),
            "concurrency": 1,  # llama-bench runs one sequence at a time
        },  # fmt: skip
        aggregates=aggregates,
        samples=samples,
        mapping=mapping,
        started_at=min(stamps) if len(stamps) == len(unit) else None,
        duration_s=sum(t for t in times if t is not None) if None not in times else None,
        output_tokens=sum(t.n_gen * (r or 0) for t, r in zip(unit, reps)) if None not in reps else None,
        warnings=list(warnings),
        extra={
            "format": fmt,
            "config": {k: v for k, v in first.items() if k not in _RESULT_FIELDS},
            "tests": [{"test": t.name} | {k: t.fields[k] for k in sorted(_RESULT_FIELDS) if k in t.fields}
                      for t in unit],
            "duration_s_is": "sum of the timed repetitions (samples_ns), warm-up and model loading excluded",
            **({"unknown_fields": {k: first[k] for k in unknown if k in first}} if unknown else {}),
        },  # fmt: skip
    )


def _map_pg(test: _Test, aggregates: dict, samples: dict, mapping: list) -> None:
    """A pp+tg test: output tokens per second of the whole test (benchlib's system throughput)."""
    share = test.n_gen / (test.n_prompt + test.n_gen)
    if test.samples_ns is not None:
        values = [test.n_gen * 1e9 / ns for ns in test.samples_ns]
    else:
        values = [x * share for x in test.samples_ts] if test.samples_ts is not None else None
    if values is None:
        aggregates["system_throughput_tps"] = Aggregate(mean=test.avg_ts * share, std=test.stddev_ts * share)
    else:
        aggregates["system_throughput_tps"] = _stats(values, test.avg_ts * share, test.stddev_ts * share)
        samples["system_throughput_tps"] = values
    mapping.append(MetricMapping(
        "system_throughput_tps", f"avg_ts, stddev_ts, samples_ns of the {test.name} test",
        "avg_ts x n_gen / (n_prompt + n_gen); per repetition n_gen / (samples_ns / 1e9)",
        "llama-bench's pp+tg rate counts prompt and generated tokens over prompt processing plus generation; "
        "converted to generated tokens per second of the whole test, benchlib's definition (the tool's own "
        "numbers stay in extra['tests']); no ttft_s: the prompt's end is not timed apart",
    ))  # fmt: skip


def _short(key: str, value: Any) -> str:
    """A config value as a label shows it (a model by its file name)."""
    if key == "model_filename":
        return str(value).replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".gguf")
    return str(value).lower() if isinstance(value, bool) else str(value)


IMPORTER = Importer(TOOL, parse, detect, "JSON (-o json) or JSONL (-o jsonl) of llama-bench")
"""llama-bench's entry in the importer registry."""
