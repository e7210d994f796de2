"""Imported runs as run directories beside measured ones: ``source: imported``, the original file kept.

:func:`import_file` reads a file with its tool's importer and writes one run
directory per :class:`~benchlib.importers.base.ImportedRun` under the runs
folder: ``run.json`` (``kind: imported``, the tool, its version, the metric
mapping, the machine and model facts the file carries, a summary, energy and
cost), ``requests.parquet`` when the tool gave per-request data, and the
original file under ``source/``. The run id depends on the file's content, the
run's label within it and the platform, so importing the same file twice
changes nothing; a measured run is never overwritten.
"""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from benchlib.cost import load_price_profile, profile_record
from benchlib.errors import ParameterError
from benchlib.importers.base import ImportedRun
from benchlib.importers.pricing import imported_energy, price_imported
from benchlib.importers.registry import AUTO, importer_for
from benchlib.importers.summary import complete_rows, imported_summary
from benchlib.models import sha256_file
from benchlib.records.directory import SCHEMA_VERSION, RunDirectory, atomic_write_bytes, now_iso, run_id_for
from benchlib.records.record import IMPORTED_KIND
from benchlib.records.status import RunStatus

__all__ = ["ImportSettings", "WrittenImport", "import_file", "write_runs"]

COMPANION_KEYS = ("records_file", "aggregates_file")
"""Keys of ``ImportedRun.extra`` naming a file beside the original that the importer also read (kept too)."""


@dataclass(frozen=True)
class ImportSettings:
    """How to import.

    Attributes:
        platform: The platform label the runs get (``l4-vllm``, ``pi5-llama-bench``).
        runs_dir: Where run directories go.
        price_profile: Price profile to price the runs with (``""``: none).
        price_files: Price files beside the default one.
        power_w: Mean power over the run, watts, if known (not measured by benchlib).
        energy_j: Energy over the run, joules, if known.
    """

    platform: str
    runs_dir: Path
    price_profile: str = ""
    price_files: tuple[str, ...] = ()
    power_w: float | None = None
    energy_j: float | None = None

    def profile(self):
        """The price profile, or ``None``.

        Raises:
            ParameterError: A name the price files do not define (the message lists the valid ones).
        """
        return load_price_profile(self.price_profile, *self.price_files)


@dataclass(frozen=True)
class WrittenImport:
    """One run an import produced.

    Attributes:
        run_id: Its id (its folder's name).
        path: Its folder.
        label: What it is within the file (``t=2 pp64 tg32``; empty for a one-run file).
        created: False when the same import already existed (nothing was written).
        warnings: What the importer noticed.
    """

    run_id: str
    path: Path
    label: str
    created: bool
    warnings: tuple[str, ...]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _identity(run: ImportedRun, sha256: str, settings: ImportSettings) -> dict[str, Any]:
    model = str(run.model.get("name") or "model")
    return {
        "profile": f"imported-{run.tool}", "model": model, "file_sha256": sha256, "label": run.label,
        "platform": settings.platform, "price_profile": settings.price_profile, "power_w": settings.power_w,
        "energy_j": settings.energy_j,
    }  # fmt: skip


_QUANTIZATION = re.compile(r"^(I?Q\d\w*|[BF]F?16|F32|FP8|INT[48]|AWQ|GPTQ)$", re.IGNORECASE)


def _model_record(model: dict[str, Any]) -> dict[str, Any]:
    """The model as run.json names it for every run (architecture, parameter_count, quantization, sha256)."""
    record = {"name": model.get("name"), **model}
    words = str(model.get("type") or "").split()  # llama-bench: "llama 256M Q4_1"
    record.setdefault("architecture", words[0] if words else None)
    record.setdefault("parameter_count", model.get("params") or model.get("n_params"))
    record.setdefault("quantization", words[-1] if words and _QUANTIZATION.match(words[-1]) else None)
    filename = model.get("filename")
    if filename and "sha256" not in record and Path(filename).is_file():  # the same GGUF as a local sweep's
        record["sha256"] = sha256_file(filename)
    return record


def _output_tokens_per_request(run: ImportedRun, rows) -> int | None:
    value = run.workload.get("output_tokens") or run.workload.get("n_gen")
    if value is None and rows is not None and not rows.empty:
        value = pd.to_numeric(rows["output_tokens"], errors="coerce").median()
    return int(value) if value is not None and value == value else None


def _meta(run: ImportedRun, run_id: str, path: Path, sha256: str, settings: ImportSettings, rows) -> dict[str, Any]:
    summary = imported_summary(run, rows)
    summary["energy"] = imported_energy(summary, settings.power_w, settings.energy_j)
    profile = settings.profile()
    price_record = None
    if profile is not None:
        price_record = profile_record(profile)
        cost = price_imported(profile, summary, rows, run.workload)
        if cost is not None:
            summary["cost"] = cost
    completed = 0 if rows is None else int(len(rows))
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "kind": IMPORTED_KIND,
        "status": RunStatus.COMPLETE,
        "parameters": {
            "profile": f"imported-{run.tool}", "platform": settings.platform, "runtime": run.tool,
            "output_tokens": _output_tokens_per_request(run, rows), "prompts": run.workload.get("prompts", "imported"),
            "price_profile": settings.price_profile, "price_files": list(settings.price_files),
        },  # fmt: skip
        "model": _model_record(run.model),
        "machine": dict(run.machine),
        "started_at": run.started_at,
        "ended_at": None,
        "attempts": [],
        "progress": {"completed": completed, "total": completed},
        "source": {
            "kind": IMPORTED_KIND, "tool": run.tool, "tool_version": run.tool_version, "label": run.label,
            "file": path.name, "file_sha256": sha256, "stored_as": f"source/{path.name}", "imported_at": now_iso(),
            "per_request": rows is not None, "mapping": [asdict(m) for m in run.mapping],
            "warnings": list(run.warnings), "extra": run.extra,
        },  # fmt: skip
        "workload": dict(run.workload),
        "price_profile": price_record,
        "summary": summary,
    }


def _write(store: RunDirectory, meta: dict[str, Any], rows, original: Path) -> None:
    store.path.mkdir(parents=True, exist_ok=True)
    (store.path / "source").mkdir(exist_ok=True)
    companions = [meta["source"]["extra"].get(key) for key in COMPANION_KEYS]  # e.g. AIPerf's records beside its JSON
    for name in dict.fromkeys([original.name, *(c for c in companions if c)]):
        shutil.copyfile(original.parent / name, store.path / "source" / name)
    if rows is not None:
        buffer = io.BytesIO()
        rows.to_parquet(buffer, index=False)
        atomic_write_bytes(store.requests_file, buffer.getvalue())
    store.write_record(meta)  # last: a folder without run.json is not a run


def import_file(path: str | Path, tool: str, settings: ImportSettings) -> list[WrittenImport]:
    """Import ``path`` (output of ``tool``, or ``auto``) as runs under ``settings.runs_dir``.

    Raises:
        ImportFormatError: The file cannot be read as that tool's output (names file, tool, field).
        ParameterError: A bad option, or a run id that belongs to a measured run (never overwritten).
    """
    path = Path(path)
    if not path.is_file():
        raise ParameterError(f"{path} is not a file")
    importer = importer_for(path, tool or AUTO)
    settings.profile()  # an unknown price profile is refused before anything is read or written
    return write_runs(importer.parse(path), path, settings)


def write_runs(runs: list[ImportedRun], original: str | Path, settings: ImportSettings) -> list[WrittenImport]:
    """Write the runs read from ``original`` as run directories (the same import twice changes nothing).

    Raises:
        ParameterError: No platform, or a run id that belongs to a measured run (never overwritten).
    """
    original = Path(original)
    if not settings.platform.strip():
        raise ParameterError("--platform must name the platform the numbers were measured on (e.g. l4-vllm)")
    sha256 = _sha256(original)
    written = []
    for run in runs:
        run_id = run_id_for(_identity(run, sha256, settings))
        store = RunDirectory(Path(settings.runs_dir) / run_id)
        existing = store.read_meta()
        if existing is not None and existing.get("kind") != IMPORTED_KIND:
            raise ParameterError(f"{store.path} holds a measured run; an import never overwrites one. Use another --platform.")
        if existing is not None:
            written.append(WrittenImport(run_id, store.path, run.label, False, tuple(run.warnings)))
            continue
        rows = complete_rows(run.requests) if run.requests is not None else None
        _write(store, _meta(run, run_id, original, sha256, settings, rows), rows, original)
        written.append(WrittenImport(run_id, store.path, run.label, True, tuple(run.warnings)))
    return written
