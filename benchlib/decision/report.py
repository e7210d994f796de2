"""``figures/decision.csv`` (one row per candidate and variant, every number) and ``figures/decision.md`` (in words)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchlib.decision.capacity import METRIC_LABELS
from benchlib.decision.recommend import DecisionResult, Verdict
from benchlib.decision.sizing import Costing

__all__ = ["CSV_NAME", "MD_NAME", "decision_table", "write_decision"]

CSV_NAME = "decision.csv"
MD_NAME = "decision.md"
_PER_HOUR = ("devices_by_hour", "utilization_by_hour", "candidate")


def _candidate_columns(verdict: Verdict, rank: int, result: DecisionResult) -> dict[str, Any]:
    candidate, capacity = verdict.candidate, verdict.candidate.capacity
    profile = candidate.price_profile
    workload = result.inputs.workload
    row: dict[str, Any] = {
        "rank": rank,
        "candidate": candidate.name,
        "platform": candidate.platform,
        "class": candidate.platform_class,
        "source": candidate.source,
        "run_id": candidate.run_id,
        "model": candidate.model,
        "price_profile": profile.name if profile is not None else None,
        "profile_kind": profile.kind if profile is not None else None,
        "qualifies": verdict.qualifies,
        "recommended": verdict is result.recommended,
        "why": verdict.why,
        "capacity_basis": capacity.basis,
        "capacity_step": capacity.step,
        "capacity_streams": capacity.streams,
        "throughput_tps": capacity.throughput_tps,
        "throughput_tps_ci_low": capacity.throughput_tps_ci_low,
        "throughput_tps_ci_high": capacity.throughput_tps_ci_high,
        "output_tokens": workload.output_tokens,
        "capacity_requests_per_s": capacity.requests_per_s,
        "capacity_note": capacity.note,
    }
    checks = {check.metric: check for check in candidate.checks}
    for metric in METRIC_LABELS:
        row[f"{metric.removesuffix('_s')}_p95_s"] = candidate.p95_s.get(metric, float("nan"))
        check = checks.get(metric)
        row[f"{metric.removesuffix('_s')}_target_p95_s"] = check.target_s if check else float("nan")
        row[f"{metric.removesuffix('_s')}_target"] = check.status if check else "not set"
    row["requests_per_day"] = workload.requests_per_day
    return row


def _costing_columns(costing: Costing | None) -> dict[str, Any]:
    if costing is None:
        return {"variant": None}
    values = asdict(costing)
    return {key: value for key, value in values.items() if key not in _PER_HOUR}


def decision_table(result: DecisionResult) -> pd.DataFrame:
    """One row per candidate and variant, in decision order, with every number of the decision.

    Candidates that cannot be priced have one row without a variant.
    """
    rows = []
    for rank, verdict in enumerate(result.verdicts, start=1):
        base = _candidate_columns(verdict, rank, result)
        for costing in verdict.costings or (None,):
            rows.append({**base, **_costing_columns(costing),
                         "cheapest_variant": costing is not None and costing is verdict.best})  # fmt: skip
    return pd.DataFrame(rows)


def _money(usd: float) -> str:
    return f"${usd:,.2f}"


def _inputs_lines(result: DecisionResult) -> list[str]:
    inputs = result.inputs
    targets = inputs.targets.set_targets()
    shown = ", ".join(f"{METRIC_LABELS[m]} ≤ {v * 1e3:g} ms" for m, v in targets.items()) or "none set"
    if "e2e_s" in targets:
        shown += f" (end-to-end for {inputs.e2e_output_tokens} output tokens)"
    workload = inputs.workload
    profile = workload.hourly_profile if isinstance(workload.hourly_profile, str) else "custom (24 shares)"
    constraints = [n for n, on in (("on premises", inputs.constraints.on_premises),
                                   ("offline", inputs.constraints.offline)) if on]  # fmt: skip
    return [
        "## Inputs",
        "",
        f"- Targets: {shown}",
        f"- Workload: {workload.requests_per_day:,.0f} requests/day, hourly profile {profile} "
        f"(peak hour {max(workload.shares):.2%} of the day), {workload.prompt_tokens} prompt and "
        f"{workload.output_tokens} output tokens per request",
        f"- Constraints: {', '.join(constraints) + ' (edge only)' if constraints else 'none'}",
        f"- Price files: data/reference/prices.yaml{''.join(', ' + f for f in inputs.selection.price_files)}",
        "",
    ]


def _interval(capacity) -> str:
    """`` [low, high]`` of a capacity's throughput (95%), or nothing when it has none."""
    low, high = capacity.throughput_tps_ci_low, capacity.throughput_tps_ci_high
    return f" [{low:.4g}, {high:.4g}]" if np.isfinite(low) and np.isfinite(high) else ""


def _variant_line(verdict: Verdict) -> str:
    best = verdict.best
    capacity = verdict.candidate.capacity
    where = f" at {capacity.step}" if capacity.step else ""
    text = (f"**{verdict.candidate.name}** ({verdict.candidate.platform_class}, {verdict.candidate.source}): "
            f"capacity {capacity.throughput_tps:.4g}{_interval(capacity)} tok/s = {capacity.requests_per_s:.4g} req/s per device "
            f"({capacity.basis}{where}, {capacity.streams} stream{'s' * (capacity.streams != 1)})")  # fmt: skip
    if best is not None:
        text += (f"; {best.variant}: {best.devices} device(s) at the peak, {_money(best.cost_per_day_usd)}/day, "
                 f"{_money(best.cost_per_month_usd)}/month, {_money(best.usd_per_million_output_tokens)}/M output "
                 f"tokens at {best.utilization:.0%} utilization")  # fmt: skip
    return text


def _markdown(result: DecisionResult, table: pd.DataFrame) -> str:
    lines = ["# Decision", "", *_inputs_lines(result), "## Recommendation", "", result.statement, ""]
    models = sorted({str(v.candidate.model) for v in result.verdicts})
    if len(models) > 1:
        lines += [
            f"**The candidates run different models** ({'; '.join(models)}): a cheaper candidate on a smaller "
            "model does different work. Keep one model with `candidates:` (or measure the same model everywhere) "
            "before acting on this ranking.", "",
        ]  # fmt: skip
    if result.recommended is not None:
        lines += [_variant_line(result.recommended), ""]
    lines += ["## Runners-up", ""]
    lines += [f"- {_variant_line(v)}: {v.why}" for v in result.runners_up] or ["- none"]
    columns = ["candidate", "model", "class", "source", "variant", "qualifies", "capacity_streams", "throughput_tps",
               "capacity_requests_per_s", "tpot_p95_s", "devices", "utilization", "cost_per_day_usd",
               "cost_per_month_usd", "energy_per_day_kwh", "usd_per_million_output_tokens"]  # fmt: skip
    shown = table[columns].copy() if not table.empty else pd.DataFrame(columns=columns)
    lines += ["", "## Every candidate and variant", "", _markdown_table(shown), "", "## Why each other candidate loses", ""]
    losers = [v for v in result.verdicts if v is not result.recommended]
    lines += [f"- **{v.candidate.name}**: {v.why}" for v in losers] or ["- no other candidate"]
    lines += ["", "## Where each candidate's numbers come from", ""]
    lines += [f"- **{v.candidate.name}** ({v.candidate.source}; power {v.candidate.power_basis}): "
              f"{v.candidate.capacity.basis}. {v.candidate.capacity.note}".rstrip(". ") + "."
              for v in result.verdicts]  # fmt: skip
    if result.skipped:
        lines += ["", "## Left out", ""] + [f"- {name}: {reason}" for name, reason in result.skipped]
    lines += ["", "Every number, with the arithmetic's inputs, is in decision.csv (one row per candidate and variant)."]
    return "\n".join(lines) + "\n"


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
        return "" if value is None else str(value)

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def write_decision(result: DecisionResult, figures_dir: str | Path) -> tuple[Path, Path]:
    """Write ``decision.csv`` and ``decision.md`` into ``figures_dir`` (created if needed).

    Returns:
        ``(csv_path, md_path)``.
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    table = decision_table(result)
    csv_path, md_path = figures_dir / CSV_NAME, figures_dir / MD_NAME
    table.to_csv(csv_path, index=False)
    md_path.write_text(_markdown(result, table), encoding="utf-8")
    return csv_path, md_path
