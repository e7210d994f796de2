"""The summary of the analysis notebook: ``summary.csv`` (every statistic) and ``summary.md`` (medians with CIs)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

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


def write_summary(
    runs: pd.DataFrame, reference: pd.DataFrame, figures_dir: str | Path, skipped: pd.DataFrame | None = None
) -> tuple[Path, Path]:
    """Write ``summary.csv`` (every statistic) and ``summary.md`` (medians with 95% CIs).

    The Markdown file has the measured runs, the run directories left out and
    why (when there are any), then the article's published numbers, each under
    its own heading.

    Args:
        runs: :func:`~benchlib.analysis.tables.run_table`.
        reference: The published numbers.
        figures_dir: Where the files go.
        skipped: :func:`~benchlib.analysis.tables.skipped_runs`.

    Returns:
        ``(csv_path, markdown_path)``.
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    csv_path = figures_dir / "summary.csv"
    md_path = figures_dir / "summary.md"
    runs.to_csv(csv_path, index=False)

    lines = ["# Benchmark summary", "", "## Measured runs (median [95% bootstrap CI])", ""]
    if runs.empty:
        lines.append("No runs found.")
    else:
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
                "cost $/M tokens": [
                    _interval(r["cost_per_million_usd"], r["cost_per_million_usd_ci_low"],
                              r["cost_per_million_usd_ci_high"]) + (f" ({r['price_profile']})" if r["price_profile"] else "")
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
    if skipped is not None and not skipped.empty:
        lines += ["", f"## Skipped run directories ({len(skipped)}): not in the tables above", ""]
        lines.append(skipped.to_markdown(index=False))
    lines += ["", "## Published (benchmark article, January 2026; not measured here)", ""]
    published = reference[["platform", "model_size", "metric", "value", "unit", "kind"]]
    lines.append(published.to_markdown(index=False))
    lines.append("")
    md_path.write_text("\n".join(lines))
    return csv_path, md_path
