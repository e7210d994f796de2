"""Tables of the analysis notebook: one row per run, one row per load step, and the published reference.

Statistics are recomputed from each run's ``requests.parquet``; its cost comes
from :func:`benchlib.cost.price_run`, as in its ``run.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchlib.analysis.basis import BASIS_IMPORTED, BASIS_MEASURED, cost_basis
from benchlib.analysis.groups import add_group_columns
from benchlib.cost.runs import price_run, profile_from_record
from benchlib.importers.pricing import price_imported
from benchlib.metrics import successful_requests, summarize_requests
from benchlib.records import IMPORTED_KIND, RunScan, SkippedRun, StoredRun, scan_runs
from benchlib.records.record import EnergySummary, RunRecord

__all__ = ["float_or_nan", "load_reference", "run_table", "step_table", "summary_requests"]


def load_reference(path: str | Path) -> pd.DataFrame:
    """The published reference numbers as a tidy frame.

    Raises:
        FileNotFoundError: the CSV does not exist.
        ValueError: a required column is missing.
    """
    frame = pd.read_csv(path)
    required = {"platform", "platform_class", "model_size", "metric", "value", "unit", "kind", "source"}
    missing = required - set(frame.columns)
    if missing:
        raise ValueError(f"{path} lacks the column(s) {', '.join(sorted(missing))}; required: {sorted(required)}.")
    return frame


def float_or_nan(value: Any) -> float:
    """``value`` as a float, NaN for ``None`` (a statistic an imported run's tool did not give)."""
    return float(value) if value is not None else float("nan")


def _stat(summary: dict[str, Any], metric: str, field: str, scale: float = 1.0) -> float:
    value = (summary.get(metric) or {}).get(field)
    return float(value) * scale if value is not None else float("nan")


def _is_imported(record: RunRecord) -> bool:
    return record.kind == IMPORTED_KIND


def _cost_columns(record: RunRecord, summary: dict[str, Any], requests: pd.DataFrame) -> dict[str, Any]:
    """Cost per million tokens under the run's stored price profile, priced as its ``run.json`` was.

    Args:
        record: The run's ``run.json``.
        summary: Its summary, recomputed from ``requests``.
        requests: The successful rows the summary describes.
    """
    throughput = (summary.get("system_throughput_tps") or {}).get("value")
    nan = float("nan")
    if not record.price_profile or throughput is None or not np.isfinite(throughput):
        return {"price_profile": None, "cost_basis": None, "cost_per_million_usd": nan, "cost_per_million_usd_ci_low": nan,
                "cost_per_million_usd_ci_high": nan}  # fmt: skip
    energy = record.summary.energy.model_dump() if record.summary.energy is not None else None
    profile = profile_from_record(record.price_profile)
    if _is_imported(record):  # priced from the tool's aggregates when it gave no timed rows
        workload = getattr(record, "workload", None) or {}
        cost = price_imported(profile, {**summary, "energy": energy}, requests if not requests.empty else None, workload)
    else:
        cost = price_run(profile, {**summary, "energy": energy}, requests)
    if cost is None:
        return {"price_profile": record.price_profile.get("name"), "cost_basis": None, "cost_per_million_usd": nan,
                "cost_per_million_usd_ci_low": nan, "cost_per_million_usd_ci_high": nan}  # fmt: skip
    interval = cost["cost_per_million_usd"]
    profile = record.price_profile
    bills_power = profile.get("kind") == "owned" or bool(profile.get("include_electricity"))
    measured_energy = energy is not None and energy.get("valid") and energy.get("kind") == "measured"
    throughput_basis = BASIS_IMPORTED if _is_imported(record) else BASIS_MEASURED
    return {
        "price_profile": cost["price_profile"],
        # its price is the profile's assumption; its electricity is priced from the power the run recorded:
        # an estimate unless a sensor measured it
        "cost_basis": cost_basis(throughput_basis, power_estimated=bills_power and not measured_energy),
        "cost_per_million_usd": interval["value"],
        "cost_per_million_usd_ci_low": float_or_nan(interval["ci_low"]),
        "cost_per_million_usd_ci_high": float_or_nan(interval["ci_high"]),
    }


def _energy_columns(energy: EnergySummary | None) -> dict[str, Any]:
    """Energy per token as the sweep recorded it (gross and idle-subtracted, with source and kind)."""
    energy = energy or EnergySummary()
    nan = float("nan")
    per_token = energy.energy_per_token_j or {}
    idle = energy.idle_subtracted_energy_per_token_j or {}
    return {
        "energy_kind": energy.kind if energy.valid else None,
        "energy_source": energy.source,
        "energy_boundary": energy.boundary,
        "energy_problem": energy.problem,
        "mean_power_w": energy.mean_power_w if energy.valid and energy.mean_power_w is not None else nan,
        "energy_per_token_j": per_token.get("value", nan),
        "energy_per_token_j_ci_low": per_token.get("ci_low", nan),
        "energy_per_token_j_ci_high": per_token.get("ci_high", nan),
        "idle_power_w": energy.idle_power_w if energy.idle_power_w is not None else nan,
        "idle_subtracted_energy_per_token_j": idle.get("value", nan),
    }


def summary_requests(run: StoredRun) -> pd.DataFrame:
    """The rows a run's summary describes, failed ones included.

    Every request of a sequential run; for an ``http`` sweep, the rows of its
    first load step (``summary_step``) from the attempt that completed it.
    """
    requests = run.requests
    record = run.record
    if record.is_load_sweep and not requests.empty:
        attempt = record.summary_step_attempt()
        requests = requests[(requests["step"] == record.summary_step) & (requests["attempt"] == attempt)]
    return requests


def _run_row(run: StoredRun) -> dict[str, Any]:
    record = run.record
    params = record.parameters
    model = record.model
    runtime = record.runtime or {}
    requests = summary_requests(run)  # an http sweep: its row describes its first load step
    if _is_imported(record):  # summarized at import: from its rows, or from the tool's aggregates only
        summary = record.summary.model_dump()
    else:
        summary = summarize_requests(requests) if not requests.empty else {"requests": 0}
    source = (run.meta.get("source") or {}) if _is_imported(record) else {}
    params_m = (model.get("parameter_count") or 0) / 1e6
    row: dict[str, Any] = {
        "run_id": run.run_id,
        "status": run.status,
        "source": IMPORTED_KIND if _is_imported(record) else "measured",
        "source_tool": source.get("tool"),
        "source_tool_version": source.get("tool_version"),
        "aggregates_only": bool(summary.get("aggregates_only", False)),
        "profile": params.get("profile"),
        "platform": params.get("platform"),
        "runtime": params.get("runtime"),
        "model": model.get("name"),
        "architecture": model.get("architecture"),
        "model_params_m": round(params_m, 1),
        "quantization": model.get("quantization"),
        "model_sha256": model.get("sha256"),
        "threads": runtime.get("threads", params.get("threads")),
        "cpu_model": record.machine.get("cpu_model"),
        "output_tokens_per_request": params.get("output_tokens"),
        "requests": summary.get("requests", 0),
        "requests_planned": record.progress.total if record.progress is not None else None,
        "load_step": record.summary_step,
        "network_rtt_ms": ((record.network or {}).get("rtt_s_median") or float("nan")) * 1e3,
    }
    for metric, name, scale in (
        ("ttft_s", "ttft_ms", 1e3),
        ("tpot_s", "tpot_ms", 1e3),
        ("e2e_s", "e2e_s", 1.0),
        ("decode_tps", "decode_tps", 1.0),
    ):
        for field in ("median", "ci_low", "ci_high", "p95", "p99"):
            row[f"{name}_{field}"] = _stat(summary, metric, field, scale)
    throughput = summary.get("system_throughput_tps") or {}
    row["throughput_tps"] = float_or_nan(throughput.get("value"))
    row["throughput_tps_ci_low"] = float_or_nan(throughput.get("ci_low"))
    row["throughput_tps_ci_high"] = float_or_nan(throughput.get("ci_high"))
    row.update(_cost_columns(record, summary, successful_requests(requests)))
    row.update(_energy_columns(record.summary.energy))
    row["runtime_decode_tps_median"] = _stat(summary, "runtime_decode_tps", "median")
    row["harness_vs_runtime_decode_ratio"] = _stat(summary, "harness_vs_runtime_decode_ratio", "median")
    row.update(_prompt_columns(params, summary, requests))
    row["flash_attn"] = (runtime.get("effective") or {}).get("flash_attn")
    return row


def _prompt_columns(params: dict[str, Any], summary: dict[str, Any], requests: pd.DataFrame) -> dict[str, Any]:
    """What the prompts were and how much of them a prompt cache served."""
    cache = summary.get("prompt_cache") or {}
    if not cache.get("reported"):
        state = "not reported"
    else:
        state = f"{'hit' if cache['hit'] else 'miss'} ({cache['cached_share']:.0%} cached)"
    prompts = params.get("prompt_set", params.get("prompts"))
    return {
        "prompts": prompts if isinstance(prompts, str) else "custom",
        "prompt_tokens_median": float(pd.to_numeric(requests["prompt_tokens"], errors="coerce").median())
        if "prompt_tokens" in requests else float("nan"),
        "prompt_cache": state,
        "prompt_cache_hit": bool(cache.get("hit", False)),
        "prompt_cache_share": cache.get("cached_share", float("nan")),
    }


def report_runs(runs_dir: str | Path) -> RunScan:
    """The runs a report is built from (those with at least one completed request), and the ones skipped, with why."""
    scan = scan_runs(runs_dir)
    runs: list[StoredRun] = []
    skipped = list(scan.skipped)
    for run in scan.runs:
        if successful_requests(run.requests).empty and run.meta.get("kind") != IMPORTED_KIND:
            skipped.append(SkippedRun(run.path, f"no completed request (status: {run.status})"))
        else:
            runs.append(run)
    return RunScan(runs, skipped)


def skipped_runs(runs_dir: str | Path) -> pd.DataFrame:
    """The run directories a report leaves out, and why (one row each; empty when none)."""
    skipped = report_runs(runs_dir).skipped
    return pd.DataFrame({"run": [s.run_id for s in skipped], "reason": [s.reason for s in skipped]})


def run_table(runs_dir: str | Path) -> pd.DataFrame:
    """One row per run under ``runs_dir`` with a completed request: identity, status, medians with 95% CIs, p95, p99.

    Statistics are recomputed from ``requests.parquet``, so an interrupted run
    shows what it completed (its status says it did not finish). Runs left
    out are listed by :func:`skipped_runs`.
    """
    rows = [_run_row(run) for run in report_runs(runs_dir).runs]
    return add_group_columns(pd.DataFrame(rows))



def step_table(runs_dir: str | Path) -> pd.DataFrame:
    """One row per load step of every ``http`` run: throughput, latency percentiles, goodput, errors."""
    rows = []
    for run in report_runs(runs_dir).runs:
        for step_id, step in run.record.steps.items():
            summary = step.summary
            row = {
                "run_id": run.run_id,
                "platform": run.record.parameters.get("platform"),
                "model": run.record.model.get("name"),
                "step": step_id,
                "status": step.status,
                "mode": summary.get("mode"),
                "concurrency": summary.get("concurrency"),
                "rate_rps": summary.get("rate_rps"),
                "requests_ok": summary.get("requests_ok"),
                "requests_failed": summary.get("requests_failed"),
                "errors_by_kind": summary.get("errors_by_kind"),
                "throughput_tps": summary.get("throughput_tps", float("nan")),
                "request_rate_rps": summary.get("request_rate_rps", float("nan")),
                "goodput_rps": summary.get("goodput_rps", float("nan")),
                "retried_requests": summary.get("retried_requests", 0),
                "prompt_cache_share": (summary.get("prompt_cache") or {}).get("cached_share", float("nan")),
            }
            for metric in ("ttft_s", "tpot_s", "e2e_s", "ttfh_s"):
                stats = summary.get(metric) or {}
                for field in ("median", "p95", "p99"):
                    row[f"{metric}_{field}"] = stats.get(field, float("nan"))
            rows.append(row)
    return pd.DataFrame(rows)
