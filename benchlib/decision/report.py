"""``figures/decision.csv`` (one row per candidate and variant, every number) and ``figures/decision.md`` (in words)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchlib.decision.capacity import METRIC_LABELS
from benchlib.decision.queueing import erlang_c
from benchlib.decision.recommend import DecisionResult, Verdict, money_interval
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
        "peak_requests_per_s": result.inputs.workload.peak_rate_per_s,
        "peak_devices": candidate.sizing.devices if candidate.sizing is not None else None,
        "peak_utilization": candidate.sizing.utilization if candidate.sizing is not None else float("nan"),
        "peak_wait_p50_s": candidate.sizing.wait_p50_s if candidate.sizing is not None else float("nan"),
        "peak_wait_p95_s": candidate.sizing.wait_p95_s if candidate.sizing is not None else float("nan"),
        "slo_attainment": candidate.sizing.attainment if candidate.sizing is not None else float("nan"),
        **_queue_check(candidate.sizing),
        "tpot_interval_low_s": candidate.sizing.level.tpot_interval_s[0] if candidate.sizing else float("nan"),
        "tpot_interval_high_s": candidate.sizing.level.tpot_interval_s[1] if candidate.sizing else float("nan"),
        "throughput_tps": capacity.throughput_tps,
        "throughput_tps_ci_low": capacity.throughput_tps_ci_low,
        "throughput_tps_ci_high": capacity.throughput_tps_ci_high,
        "output_tokens": workload.output_tokens,
        "capacity_requests_per_s": capacity.requests_per_s,
        "capacity_note": capacity.note,
    }
    checks = {check.metric: check for check in candidate.checks}
    row["percentile"] = result.inputs.targets.check_words
    for metric in METRIC_LABELS:
        name = metric.removesuffix("_s")
        row[f"{name}_at_percentile_s"] = candidate.p95_s.get(metric, float("nan"))
        check = checks.get(metric)
        row[f"{name}_target_s"] = check.target_s if check else float("nan")
        row[f"{name}_target"] = check.status if check else "not set"
    row["requests_per_day"] = workload.requests_per_day
    row["cost_per_day_usd_ci_low"], row["cost_per_day_usd_ci_high"] = verdict.cost_interval_usd
    row["evidence_doubt"] = verdict.doubt
    row["to_narrow"] = candidate.to_narrow
    return row


def _queue_check(sizing) -> dict[str, float]:
    """The simulated P(wait) at the peak, and Erlang C's for the same servers and load (M/M/c), as a check."""
    stats = sizing.stats if sizing is not None else None
    if stats is None or not np.isfinite(stats.utilization) or stats.utilization >= 1:
        return {"simulated_p_wait": float("nan"), "erlang_c_p_wait": float("nan")}
    load = stats.arrival_rate_per_s * stats.mean_service_s
    return {"simulated_p_wait": stats.p_wait, "erlang_c_p_wait": erlang_c(stats.servers, load)}


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
    shown += f", checked at {inputs.targets.check_words} (TTFT and end-to-end include the queue wait)"
    if "e2e_s" in targets:
        shown += f" (end-to-end for {inputs.e2e_output_tokens} output tokens)"
    level = inputs.targets.level()
    cited = ""
    if level is not None:
        source = level.sources[0]
        cited = (f"- Service level: {inputs.targets.service_level}: {level.description} (MLPerf checks its limits at "
                 f"p{level.percentile:g}; source: {source.url}, read {source.retrieved})")  # fmt: skip
    workload = inputs.workload
    profile = workload.hourly_profile if isinstance(workload.hourly_profile, str) else "custom (24 shares)"
    constraints = [n for n, on in (("on premises", inputs.constraints.on_premises),
                                   ("offline", inputs.constraints.offline)) if on]  # fmt: skip
    return [
        "## Inputs",
        "",
        f"- Model served: {inputs.service.label} (data/reference/models.yaml)",
        f"- Targets: {shown}",
        *([cited] if cited else []),
        (f"- Workload: {workload.requests_per_day:,.0f} requests/day, hourly profile {profile} "
        f"(peak hour {max(workload.shares):.2%} of the day: {workload.peak_rate_per_s:.3g} requests/s), "
        f"{workload.prompt_tokens} prompt and {workload.output_tokens} output tokens per request"),
        f"- Constraints: {', '.join(constraints) + ' (edge only)' if constraints else 'none'}",
        (f"- Price files: data/reference/prices.yaml{''.join(', ' + f for f in inputs.selection.price_files)} "
        "(prices are assumptions, taken as exact; cost intervals come from the throughput intervals)"),
        f"- Queueing: M/G/c simulation per fleet, seed {workload.seed} (benchlib.decision.queueing)",
        "",
    ]


def _interval(capacity) -> str:
    """`` [low, high]`` of a capacity's throughput (95%), or nothing when it has none."""
    low, high = capacity.throughput_tps_ci_low, capacity.throughput_tps_ci_high
    return f" [{low:.4g}, {high:.4g}]" if np.isfinite(low) and np.isfinite(high) else ""


def _variant_line(verdict: Verdict) -> str:
    best, candidate = verdict.best, verdict.candidate
    capacity, sizing = candidate.capacity, candidate.sizing
    text = f"**{candidate.name}** ({candidate.platform_class}, {candidate.source}, {candidate.model})"
    if sizing is not None:
        text += (f": one device batching {capacity.streams} stream{'s' * (capacity.streams != 1)} serves "
                 f"{capacity.throughput_tps:.4g}{_interval(capacity)} tok/s = {capacity.requests_per_s:.4g} req/s")  # fmt: skip
    if best is not None:
        text += f"; {best.variant}: {best.devices} device(s) at the peak" if best.devices else f"; {best.variant}"
        if sizing is not None and sizing.stats is not None:
            text += f", utilization {sizing.utilization:.0%}, queue wait p50 {sizing.wait_p50_s:.3g} s / p95 {sizing.wait_p95_s:.3g} s"
        text += (f", {money_interval(verdict)}/day, {_money(best.cost_per_month_usd)}/month, "
                 f"{_money(best.usd_per_million_output_tokens)}/M output tokens")  # fmt: skip
    return text


def _markdown(result: DecisionResult, table: pd.DataFrame) -> str:
    lines = ["# Decision", "", *_inputs_lines(result), "## Recommendation", "", result.statement, ""]
    if result.recommended is not None:
        lines += [_variant_line(result.recommended), ""]
    lines += ["## Runners-up", ""]
    lines += [f"- {_variant_line(v)}: {v.why}" for v in result.runners_up] or ["- none"]
    columns = ["candidate", "source", "class", "variant", "qualifies", "capacity_streams", "peak_devices",
               "peak_utilization", "peak_wait_p95_s", "ttft_at_percentile_s", "tpot_at_percentile_s",
               "cost_per_day_usd", "cost_per_day_usd_ci_low", "cost_per_day_usd_ci_high",
               "usd_per_million_output_tokens"]  # fmt: skip
    rows = table[table["cheapest_variant"] | table["variant"].isna()] if not table.empty else table
    shown = rows.reindex(columns=columns)  # no candidate priced: the cost columns are there, empty
    if not table.empty:  # a predicted per-token latency with its interval
        shown["tpot_at_percentile_s"] = [
            f"{v:.4g} [{lo:.3g}, {hi:.3g}]" if np.isfinite(lo) and np.isfinite(hi) else (f"{v:.4g}" if np.isfinite(v) else "")
            for v, lo, hi in zip(rows["tpot_at_percentile_s"], rows["tpot_interval_low_s"], rows["tpot_interval_high_s"],
                                 strict=True)
        ]  # fmt: skip
    lines += ["", "## Every candidate (its cheapest variant; all variants in decision.csv)", "", _markdown_table(shown),
              "", "## Why each other candidate loses", ""]  # fmt: skip
    losers = [v for v in result.verdicts if v is not result.recommended]
    lines += [f"- **{v.candidate.name}**: {v.why}" for v in losers] or ["- no other candidate"]
    lines += ["", "## Where each candidate's numbers come from", ""]
    for v in result.verdicts:
        c = v.candidate
        line = f"- **{c.name}** ({c.source}; power {c.power_basis}): {c.capacity.basis}. {c.basis_note}".rstrip(". ") + "."
        if v.doubt:
            line += f" **Rests on a wide prediction:** {v.doubt}."
        if c.to_narrow and (v.doubt or v is result.recommended):
            line += f" To settle it: {c.to_narrow}."
        lines.append(line)
    if result.not_comparable:
        lines += ["", "## Not comparable (another model)", ""]
        lines += [f"- {run_id}: runs {model}, not {result.inputs.service.label}" for run_id, model in result.not_comparable]
    if result.skipped:
        lines += ["", "## Left out", ""] + [f"- {name}: {reason}" for name, reason in result.skipped]
    lines += ["", "Every number, with the arithmetic's inputs, is in decision.csv (one row per candidate and variant)."]
    return "\n".join(lines) + "\n"


def _markdown_table(frame: pd.DataFrame) -> str:
    def cell(value: Any) -> str:
        if isinstance(value, float) and not np.isfinite(value):
            return "—"
        if isinstance(value, float):
            return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.4g}"
        return "" if value is None else str(value)

    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([header, rule, *body])


def write_decision(result: DecisionResult, figures_dir: str | Path, stem: str = "decision") -> tuple[Path, Path]:
    """Write ``STEM.csv`` and ``STEM.md`` (``decision.csv``, ``decision.md``) into ``figures_dir`` (created if needed).

    Returns:
        ``(csv_path, md_path)``.
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    table = decision_table(result)
    csv_path, md_path = figures_dir / f"{stem}.csv", figures_dir / f"{stem}.md"
    table.to_csv(csv_path, index=False)
    md_path.write_text(_markdown(result, table), encoding="utf-8")
    return csv_path, md_path
