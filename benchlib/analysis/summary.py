"""The summary of the analysis notebook: ``summary.csv`` (every statistic) and ``summary.md`` (medians with CIs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchlib.analysis.basis import BASIS_PUBLISHED, POWER_ESTIMATED, cost_basis
from benchlib.analysis.claims import claim_status, claim_statuses
from benchlib.analysis.comparisons_report import NO_COMPARABLE_PAIRS
from benchlib.metrics.summary import SCOPE_ONE_RUN

__all__ = ["SUMMARY_COLUMNS", "write_summary"]


def _interval(median: float, low: float, high: float, digits: int = 3) -> str:
    if not np.isfinite(median):
        return "n/a"
    return f"{median:.{digits}g} [{low:.{digits}g}, {high:.{digits}g}]"


SUMMARY_COLUMNS = {
    "ttft_ms": "TTFT ms",
    "tpot_ms": "per-token ms",
    "e2e_s": "end-to-end s",
    "decode_tps": "decode tok/s",
}


def _price_note(profile: object, basis: object) -> str:
    """`` (price profile NAME)``, with the cost's basis when it is not the column's (imported, or power estimated)."""
    if not isinstance(profile, str) or not profile:
        return ""
    other = f"; {basis}" if isinstance(basis, str) and basis and basis != cost_basis() else ""
    return f" (price profile {profile}{other})"


def _tail(value: float, low: float, high: float, note: object) -> str:
    """``p95 [low, high]``, or the value with why it has no interval (``n too small ...``)."""
    if not np.isfinite(value):
        return ""
    if np.isfinite(low) and np.isfinite(high):
        return f"{value:.4g} [{low:.4g}, {high:.4g}]"
    return f"{value:.4g} (no interval: {note})" if isinstance(note, str) and note else f"{value:.4g} (no interval)"


def _statistics_section(statistics: pd.DataFrame) -> list[str]:
    """Every metric of every measured run: n, median [95% CI], p95 and p99 with theirs, basis, how each was made."""
    measured = statistics[statistics["basis"] != BASIS_PUBLISHED]
    if measured.empty:
        return []
    lines = ["", "## Every metric of every run (n, median [95% CI], p95 and p99 [95% CI])", ""]
    for source, rows in measured.groupby("source", sort=False):
        lines += [f"### {source} · {rows['platform'].iloc[0]} · {rows['model'].iloc[0]}", ""]
        table = pd.DataFrame(
            {
                "metric": rows["label"] + " (" + rows["unit"] + ")",
                "basis": rows["basis"],
                "n": rows["n"].map(lambda v: f"{v:.0f}" if np.isfinite(v) else ""),
                "median [95% CI]": [_interval(r.median, r.ci_low, r.ci_high, 4) for r in rows.itertuples()],
                "p95 [95% CI]": [_tail(r.p95, r.p95_ci_low, r.p95_ci_high, r.tail_note) for r in rows.itertuples()],
                "p99 [95% CI]": [_tail(r.p99, r.p99_ci_low, r.p99_ci_high, r.tail_note) for r in rows.itertuples()],
                "interval": rows["interval"].fillna(""),
            }
        )
        lines += [table.to_markdown(index=False), ""]
    lines.append(
        "*basis*: `measured` from this run's requests or a power sensor; `estimated` from the hardware "
        f"profile's assumed power, not a sensor; `{cost_basis()}`: the cost per million tokens is this run's "
        "measured throughput priced at its price profile's assumed prices (instance price, or hardware "
        f"amortization and electricity), not a bill; `{POWER_ESTIMATED}` when that price bills electricity at the "
        "profile's assumed power."
    )
    return lines


def _verdict_section(title: str, frame: pd.DataFrame | None, columns: dict[str, str], empty: str) -> list[str]:
    """A table of verdicts (comparisons, plausibility, thermal) under its own heading."""
    if frame is None:
        return []
    lines = ["", f"## {title}", ""]
    if frame.empty:
        return [*lines, empty]
    present = {column: label for column, label in columns.items() if column in frame.columns}
    return [*lines, frame[list(present)].rename(columns=present).to_markdown(index=False, floatfmt=".4g")]


def write_summary(
    runs: pd.DataFrame,
    reference: pd.DataFrame,
    figures_dir: str | Path,
    skipped: pd.DataFrame | None = None,
    *,
    statistics: pd.DataFrame | None = None,
    comparisons: pd.DataFrame | None = None,
    plausibility: pd.DataFrame | None = None,
    thermal: pd.DataFrame | None = None,
    conditions: pd.DataFrame | None = None,
) -> tuple[Path, Path]:
    """Write ``summary.csv`` (every statistic, long form), ``runs.csv`` (one row per run) and ``summary.md``.

    The Markdown file has the measured runs (medians with 95% CIs), every
    metric of every run (n, median, CI, p95, p99, basis), the pairwise
    comparison verdicts, the plausibility verdicts, the thermal flags, the run
    directories left out and why, then the article's published numbers, each
    under its own heading. Sections whose frame is ``None`` are left out.

    Args:
        runs: :func:`~benchlib.analysis.tables.run_table`.
        reference: The published numbers.
        figures_dir: Where the files go.
        skipped: :func:`~benchlib.analysis.tables.skipped_runs`.
        statistics: :func:`~benchlib.analysis.statistics.statistics_table`; it
            is ``summary.csv`` (without it, ``summary.csv`` is the run table).
        comparisons: :func:`~benchlib.analysis.comparisons.compare_runs`.
        plausibility: :func:`~benchlib.analysis.plausibility.plausibility_table`.
        thermal: :func:`~benchlib.analysis.thermal.thermal_table`.
        conditions: :func:`~benchlib.analysis.conditions.conditions_table`: conditions measured as repeats.

    Returns:
        ``(csv_path, markdown_path)``.
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    csv_path = figures_dir / "summary.csv"
    md_path = figures_dir / "summary.md"
    runs.to_csv(figures_dir / "runs.csv", index=False)
    (statistics if statistics is not None else runs).to_csv(csv_path, index=False)

    lines = ["# Benchmark summary", "", f"## Measured runs (median [95% CI]; {SCOPE_ONE_RUN})", ""]
    lines += _runs_section(runs)
    lines += _conditions_section(conditions)
    if statistics is not None:
        lines += _statistics_section(statistics)
    lines += _verdict_section(
        "Pairwise comparisons (same model and workload; details in comparisons.md)", comparisons,
        {"comparison_group": "group", "run_a": "A", "run_b": "B", "metric": "metric", "verdict": "verdict", "basis": "basis",
         "scope": "scope"},
        f"{NO_COMPARABLE_PAIRS}: no two runs or conditions of other parameters share a model and workload "
        "(repeats of one condition are pooled, not compared).",
    )  # fmt: skip
    lines += _verdict_section(
        "Physical plausibility (batch-1 decode ceiling from memory bandwidth; plausibility.csv)", plausibility,
        {"name": "figure", "label": "basis", "hardware": "hardware", "bandwidth_gb_s": "GB/s",
         "bandwidth_basis": "bandwidth from", "figure_tps": "tok/s", "ceiling_tps": "ceiling tok/s",
         "percent_of_ceiling": "% of ceiling", "verdict": "verdict"},
        "No run or published figure to check.",
    )  # fmt: skip
    lines += _verdict_section(
        "Thermal and clock state during the measured window", thermal,
        {"run_id": "run", "sources": "sources", "temp_max_c": "max °C", "clock_start_mhz": "clock MHz at start",
         "clock_drop_pct": "clock drop %", "throttled": "throttled", "flag": "flag"},
        "No run recorded thermal state.",
    )  # fmt: skip
    if skipped is not None and not skipped.empty:
        lines += ["", f"## Skipped run directories ({len(skipped)}): not in the tables above", ""]
        lines.append(skipped.to_markdown(index=False))
    lines += ["", "## The article's claims (benchmark article, January 2026; not measured here)", "",
              "Each claim with the plausibility check's verdict (plausibility section above); a rejected claim is "
              "never used to size or price anything.", ""]  # fmt: skip
    statuses = claim_statuses(reference)
    published = reference[["platform", "model_size", "metric", "value", "unit"]].assign(
        basis="claim (the article calls it " + reference["kind"] + ")",
        verdict=[claim_status(statuses, p, m, k) for p, m, k in
                 zip(reference["platform"], reference["model_size"], reference["metric"], strict=True)],
    )  # fmt: skip
    lines.append(published.to_markdown(index=False))
    lines.append("")
    md_path.write_text("\n".join(lines))
    return csv_path, md_path


def _conditions_section(conditions: pd.DataFrame | None) -> list[str]:
    """Conditions measured as repeats, pooled: their intervals cover run-to-run variation."""
    if conditions is None or conditions.empty:
        return ["", "*No condition was measured as repeats*: every interval above covers one run's requests only. "
                "`benchlib sweep PARAMS --repeat 3` measures a condition three times; the report then pools them "
                "and its intervals cover the run-to-run variation (6-20% on a shared VM)."]  # fmt: skip
    table = pd.DataFrame({
        "condition": conditions["condition_id"], "metric": conditions["metric"], "runs": conditions["runs"],
        "requests": conditions["requests"],
        "median [95% CI]": [_interval(r.median, r.ci_low, r.ci_high, 4) for r in conditions.itertuples()],
        "p95 [95% CI]": [_tail(r.p95, r.p95_ci_low, r.p95_ci_high, r.tail_note) for r in conditions.itertuples()],
        "interval": conditions["method"],
    })  # fmt: skip
    return ["", "## Conditions measured as repeats (pooled over their runs; conditions.csv)", "",
            table.to_markdown(index=False)]  # fmt: skip


def _runs_section(runs: pd.DataFrame) -> list[str]:
    """The measured runs, one row each: medians with 95% CIs, cost, energy, prompts."""
    if runs.empty:
        return ["No runs found."]
    lines: list[str] = []
    table = pd.DataFrame(
        {
            "run": runs["run_id"],
            "status": runs["status"],
            "platform": runs["platform"],
            "model": runs["model"] + " " + runs["quantization"].fillna(""),
            "requests": runs["requests"],
            "out tokens": runs["output_tokens_per_request"],
            **{
                label: [
                    _interval(r[f"{key}_median"], r[f"{key}_ci_low"], r[f"{key}_ci_high"])
                    for _, r in runs.iterrows()
                ]
                for key, label in SUMMARY_COLUMNS.items()
            },
            "throughput tok/s": [
                _interval(r["throughput_tps"], r["throughput_tps_ci_low"], r["throughput_tps_ci_high"])
                for _, r in runs.iterrows()
            ],
            f"cost $/M tokens ({cost_basis()})": [
                _interval(r["cost_per_million_usd"], r["cost_per_million_usd_ci_low"],
                          r["cost_per_million_usd_ci_high"])
                + _price_note(r.get("price_profile"), r.get("cost_basis"))
                for _, r in runs.iterrows()
            ],  # fmt: skip
            "energy J/token": [
                (_interval(r["energy_per_token_j"], r["energy_per_token_j_ci_low"], r["energy_per_token_j_ci_high"])
                 + f" ({r['energy_kind']}, {r['energy_source']})") if r["energy_kind"] else "n/a"
                for _, r in runs.iterrows()
            ],  # fmt: skip
            "llama.cpp decode tok/s": runs["runtime_decode_tps_median"].map(lambda v: f"{v:.3g}"),
            "harness/runtime": runs["harness_vs_runtime_decode_ratio"].map(lambda v: f"{v:.3f}"),
            "prompts": runs["prompts"],
            "prompt cache": runs["prompt_cache"],
        }
    )
    hits = table["prompt cache"].str.startswith("hit")
    table.loc[hits, "TTFT ms"] = table.loc[hits, "TTFT ms"] + " (cache hit)"
    lines.append(table.to_markdown(index=False))
    if hits.any():
        lines += [
            "",
            "*cache hit*: the server served most prompt tokens from its prompt (prefix) cache, so these TTFTs "
            "are cache lookups, not prefill. Measure prefill with `prompts: synthetic` (a prompt of its own "
            "for every request) or `cache_prompt: off`.",
        ]
    return lines
