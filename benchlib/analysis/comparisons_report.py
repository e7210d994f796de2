"""``figures/comparisons.csv`` and ``figures/comparisons.md``: the pairwise comparisons of :mod:`.comparisons`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from benchlib.analysis.comparisons import DEFAULT_NOISE_MARGIN, METRICS

__all__ = ["NO_COMPARABLE_PAIRS", "method_note", "write_comparisons"]

NO_COMPARABLE_PAIRS = "No comparable pairs"
"""What ``comparisons.md`` and ``summary.md`` say when no comparison was tested (never "over the 0 tested")."""

_LABELS = {metric.name: metric.label for metric in METRICS}


def method_note(tested: int, confidence: float, n_resamples: int, seed: int, noise_margin: float = DEFAULT_NOISE_MARGIN) -> str:
    """How the comparisons were made, in words, for the head of ``comparisons.md``.

    With no tested comparison the note says "no comparable pairs" instead of a
    Holm correction over none.

    Args:
        tested: Number of comparisons in the Holm family (rows with a p-value).
        confidence: Coverage of the intervals.
        n_resamples: Bootstrap resamples per comparison.
        seed: Seed of the bootstrap.
        noise_margin: Relative difference a significant ratio must exceed.
    """
    level = f"{confidence:.0%}"
    family = (
        f"**Holm-corrected over the {tested} tested comparisons** of this report (`statsmodels`)" if tested else
        f"**Holm-corrected** over the tested comparisons of a report (`statsmodels`; "
        f"{NO_COMPARABLE_PAIRS.lower()} were tested in this one)"
    )  # fmt: skip
    return (
        f"Each pair of runs on the same model file and workload is compared metric by metric: the **ratio of "
        f"medians** A / B (A is the run whose id sorts first), a {level} percentile **bootstrap interval** of that "
        f"ratio (`scipy.stats.bootstrap`, the two runs' requests resampled independently, {n_resamples} resamples, "
        f"seed {seed}), and a two-sided **Mann–Whitney U** p-value (`scipy.stats.mannwhitneyu`) {family}. "
        f"A difference is significant when "
        f"the Holm p-value is below {1 - confidence:.2g}, the interval excludes 1 and the ratio is beyond the "
        f"±{noise_margin:.0%} run-to-run noise margin (two repeats of the same parameters on one machine differ "
        f"by a few percent between runs, more than the spread inside a run predicts); the verdict then gives the "
        f"factor (≥ 1) in the winner's favour.\n\n"
        "Energy per token and cost per million tokens are one number per run. Their per-request samples are each "
        "request's seconds per output token (end-to-end ÷ output tokens) times the run's constant rate (its mean "
        "power in W, or its price in USD/s = $/M tokens × throughput ÷ 1e6), the rate set so that the sample's "
        "median equals the run table's value; the ratio of medians is the ratio of the table's values, and the "
        "interval and test carry the request-to-request spread of time per token. A comparison resting on "
        "estimated power (a price profile's watts × time, no sensor) is *not tested*: a ratio of two estimates "
        "is not a measurement, it restates the throughput ratio. Rows without an energy summary or a price "
        "profile are not tested either; their verdict says which run lacks what."
    )


def _cell(value: float) -> str:
    return f"{value:.3g}" if np.isfinite(value) else "n/a"


def _group_table(rows: pd.DataFrame) -> str:
    table = pd.DataFrame(
        {
            "A": rows["run_a"],
            "B": rows["run_b"],
            "metric": rows["metric"].map(_LABELS).fillna(rows["metric"]) + " (" + rows["unit"] + ")",
            "median A": rows["median_a"].map(_cell),
            "median B": rows["median_b"].map(_cell),
            "n A/B": rows["n_a"].astype(str) + "/" + rows["n_b"].astype(str),
            "ratio A/B [CI]": [
                f"{_cell(r.ratio)} [{_cell(r.ci_low)}, {_cell(r.ci_high)}]" for r in rows.itertuples()
            ],
            "p": rows["p_value"].map(lambda v: f"{v:.2g}" if np.isfinite(v) else "n/a"),
            "Holm p": rows["p_holm"].map(lambda v: f"{v:.2g}" if np.isfinite(v) else "n/a"),
            "basis": rows["basis"],
            "verdict": rows["verdict"],
        }
    )
    return table.to_markdown(index=False)


def write_comparisons(
    frame: pd.DataFrame,
    figures_dir: str | Path,
    *,
    run_groups: Mapping[str, Sequence[str]] | None = None,
) -> tuple[Path, Path]:
    """Write ``comparisons.csv`` (every row of ``frame``) and ``comparisons.md`` (a section per comparison group).

    Args:
        frame: :func:`~benchlib.analysis.comparisons.compare_runs`.
        figures_dir: Where the files go (created if missing).
        run_groups: Every comparison group and its run ids, to list the groups with a single run
            (default: ``frame.attrs["run_groups"]``, set by ``compare_runs``).

    Returns:
        ``(csv_path, markdown_path)``.
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = figures_dir / "comparisons.csv", figures_dir / "comparisons.md"
    frame.to_csv(csv_path, index=False)
    groups = dict(run_groups if run_groups is not None else frame.attrs.get("run_groups", {}))
    for group, rows in frame.groupby("comparison_group", sort=True):
        groups.setdefault(str(group), sorted({*rows["run_a"], *rows["run_b"]}))
    tested = int(np.isfinite(frame["p_value"].to_numpy(dtype=float)).sum()) if not frame.empty else 0
    lines = [
        "# Pairwise comparisons (runs on the same model and workload)", "",
        method_note(tested, frame.attrs.get("confidence", 0.95), frame.attrs.get("n_resamples", 0),
                    frame.attrs.get("seed", 0), frame.attrs.get("noise_margin", DEFAULT_NOISE_MARGIN)),
        "",
    ]  # fmt: skip
    if frame.empty:
        lines += [f"{NO_COMPARABLE_PAIRS}: no two runs share a model and workload, so nothing is compared.", ""]
    elif not tested:
        lines += [f"{NO_COMPARABLE_PAIRS} were tested: every pair lacks a measured value on one side "
                  "(each row's verdict says which).", ""]  # fmt: skip
    platforms = {
        **dict(zip(frame.get("run_a", []), frame.get("platform_a", []))),
        **dict(zip(frame.get("run_b", []), frame.get("platform_b", []))),
    }
    for group, rows in frame.groupby("comparison_group", sort=True):
        model, _, workload = str(group).partition(" | ")
        members = groups.get(str(group), [])
        significant = int(rows["significant"].sum())
        lines += [
            f"## {group}", "",
            f"Model **{model}**, workload **{workload or 'unknown'}**: {len(members)} runs, "
            f"{len(rows) // len(METRICS)} pairs, {significant} significant difference(s).", "",
            *[f"- `{run_id}`: {platforms.get(run_id, 'platform unknown')}" for run_id in members], "",
            _group_table(rows), "",
        ]  # fmt: skip
    alone = sorted(group for group, members in groups.items() if len(members) == 1)
    if alone:
        lines += ["## Groups with a single run (nothing to compare)", ""]
        lines += [f"- {group}: `{groups[group][0]}`" for group in alone]
        lines.append("")
    md_path.write_text("\n".join(lines))
    return csv_path, md_path
