"""``figures/comparisons.csv`` and ``figures/comparisons.md``: the pairwise comparisons of :mod:`.comparisons`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from benchlib.analysis.comparisons import MARGIN_WHY, METRICS, PRACTICAL_EQUIVALENCE_MARGIN, SCOPE_RUN_PAIR
from benchlib.analysis.condition_comparisons import MIN_RUNS_PER_CONDITION

__all__ = ["NO_COMPARABLE_PAIRS", "method_note", "write_comparisons"]

NO_COMPARABLE_PAIRS = "No comparable pairs"
"""What ``comparisons.md`` and ``summary.md`` say when no comparison was tested (never "over the 0 tested")."""

_LABELS = {metric.name: metric.label for metric in METRICS}
_RUNS = {True: " runs", False: ""}


def method_note(
    tested: int, confidence: float, n_resamples: int, seed: int,
    equivalence_margin: float = PRACTICAL_EQUIVALENCE_MARGIN,
) -> str:  # fmt: skip
    """How the comparisons were made, in words, for the head of ``comparisons.md``.

    With no tested comparison the note says "no comparable pairs" instead of a
    Holm correction over none.

    Args:
        tested: Number of comparisons in the Holm family (rows with a p-value).
        confidence: Coverage of the intervals.
        n_resamples: Bootstrap resamples per run-against-run comparison.
        seed: Seed of the bootstrap.
        equivalence_margin: The practical-equivalence margin (0.10).
    """
    level = f"{confidence:.0%}"
    family = (
        f"**Holm-corrected over the {tested} tested comparisons** of this report (`statsmodels`)" if tested else
        f"**Holm-corrected** over the tested comparisons of a report (`statsmodels`; "
        f"{NO_COMPARABLE_PAIRS.lower()} were tested in this one)"
    )  # fmt: skip
    low, high = 1 / (1 + equivalence_margin), 1 + equivalence_margin
    return (
        f"Runs on the same model file and workload are compared metric by metric; A is the run (or condition) "
        f"whose id sorts first, and every ratio is A / B.\n\n"
        f"- **Run against run** (scope: {SCOPE_RUN_PAIR}): the **ratio of medians** with a {level} percentile "
        f"**bootstrap interval** (`scipy.stats.bootstrap`, the two runs' requests resampled independently, "
        f"{n_resamples} resamples, seed {seed}) and a two-sided **Mann–Whitney U** p-value "
        f"(`scipy.stats.mannwhitneyu`).\n"
        f"- **Condition against condition**, when both were measured as at least {MIN_RUNS_PER_CONDITION} runs "
        f"(`benchlib sweep --repeat N`; scope: run-level variation): one number per run (its median of the "
        f"metric; for energy and cost its table value), the ratio of the medians of those run medians, "
        f"**Welch's t-test** on their logarithms (`scipy.stats.ttest_ind`, `equal_var=False`) and the exponential "
        f"of its {level} interval of the difference of mean logs; A and B are condition ids and n A/B counts "
        f"runs. The runs of two such conditions are not also compared one by one.\n"
        f"- The repeats of one condition are never compared with each other: they measure the same thing "
        f"(`conditions.csv` pools them).\n\n"
        f"Every p-value is {family}. A difference is **significant** when the Holm p-value is below "
        f"{1 - confidence:.2g} and the interval excludes 1: the test alone. Separately, a ratio within "
        f"[{low:.3g}, {high:.3g}] is **practically equivalent** (`practically_equivalent`): the "
        f"±{equivalence_margin:.0%} practical-equivalence margin is a margin, not a test. Its default of 10% "
        f"is there because {MARGIN_WHY}, so a smaller difference between two runs can be real for those runs "
        f"and say nothing about the platforms; asv's default factor is the same 1.1. A significant "
        f"difference within the margin says so in its verdict; the verdict gives the factor (≥ 1) in the "
        f"winner's favour.\n\n"
        "Energy per token and cost per million tokens are one number per run. Run against run, their per-request "
        "samples are each request's seconds per output token (end-to-end ÷ output tokens) times the run's "
        "constant rate (its mean power in W, or its price in USD/s = $/M tokens × throughput ÷ 1e6), the rate "
        "set so that the sample's median equals the run table's value; the ratio of medians is the ratio of the "
        "table's values, and the interval and test carry the request-to-request spread of time per token. A "
        "comparison resting on estimated power (a price profile's watts × time, no sensor) is *not tested*: a "
        "ratio of two estimates is not a measurement, it restates the throughput ratio. Rows without an energy "
        "summary or a price profile are not tested either; their verdict says which run lacks what."
    )


def _cell(value: float) -> str:
    return f"{value:.3g}" if np.isfinite(value) else "n/a"


def _group_table(rows: pd.DataFrame, equivalence_margin: float) -> str:
    runs = rows["scope"] != SCOPE_RUN_PAIR  # condition against condition: n counts runs, not requests
    table = pd.DataFrame(
        {
            "A": rows["run_a"],
            "B": rows["run_b"],
            "metric": rows["metric"].map(_LABELS).fillna(rows["metric"]) + " (" + rows["unit"] + ")",
            "median A": rows["median_a"].map(_cell),
            "median B": rows["median_b"].map(_cell),
            "n A/B": rows["n_a"].astype(str) + "/" + rows["n_b"].astype(str) + runs.map(_RUNS),
            "ratio A/B [CI]": [
                f"{_cell(r.ratio)} [{_cell(r.ci_low)}, {_cell(r.ci_high)}]" for r in rows.itertuples()
            ],
            "p": rows["p_value"].map(lambda v: f"{v:.2g}" if np.isfinite(v) else "n/a"),
            "Holm p": rows["p_holm"].map(lambda v: f"{v:.2g}" if np.isfinite(v) else "n/a"),
            f"within ±{equivalence_margin:.0%}": [
                "n/a" if not np.isfinite(r.ratio) else "yes" if r.practically_equivalent else "no"
                for r in rows.itertuples()
            ],
            "basis": rows["basis"],
            "scope": rows["scope"],
            "verdict": rows["verdict"],
        }
    )
    return table.to_markdown(index=False)


def _members(run_ids: Sequence[str], conditions: Mapping[str, str], platforms: Mapping[str, str]) -> list[str]:
    """A group's runs, each with its platform and, for a repeat, its condition; then its run-level conditions."""
    repeats: dict[str, list[str]] = {}
    for run_id in run_ids:
        repeats.setdefault(conditions.get(run_id, run_id), []).append(run_id)
    lines = []
    for run_id in run_ids:
        condition = conditions.get(run_id, run_id)
        platform = platforms.get(run_id, platforms.get(condition, "platform unknown"))
        count = len(repeats[condition])
        repeat = f" (one of {count} runs of condition `{condition}`)" if count > 1 else ""
        lines.append(f"- `{run_id}`: {platform}{repeat}")
    large = [condition for condition, members in repeats.items() if len(members) >= MIN_RUNS_PER_CONDITION]
    if len(large) > 1:
        named = "; ".join(f"`{condition}` ({len(repeats[condition])} runs)" for condition in large)
        lines += ["", f"Conditions of {MIN_RUNS_PER_CONDITION} or more runs, compared with each other at run level: "
                  f"{named}."]  # fmt: skip
    return lines


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
        run_groups: Every comparison group and its run ids, to list the groups with a single run or a
            single condition (default: ``frame.attrs["run_groups"]``, set by ``compare_runs``).

    Returns:
        ``(csv_path, markdown_path)``.
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    csv_path, md_path = figures_dir / "comparisons.csv", figures_dir / "comparisons.md"
    frame.to_csv(csv_path, index=False)
    groups = dict(run_groups if run_groups is not None else frame.attrs.get("run_groups", {}))
    conditions: dict[str, str] = dict(frame.attrs.get("run_conditions", {}))
    margin = frame.attrs.get("equivalence_margin", PRACTICAL_EQUIVALENCE_MARGIN)
    for group, rows in frame.groupby("comparison_group", sort=True):
        groups.setdefault(str(group), sorted({*rows["run_a"], *rows["run_b"]}))
    tested = int(np.isfinite(frame["p_value"].to_numpy(dtype=float)).sum()) if not frame.empty else 0
    lines = [
        "# Comparisons of runs, and of conditions measured as repeats, on the same model and workload", "",
        method_note(tested, frame.attrs.get("confidence", 0.95), frame.attrs.get("n_resamples", 0),
                    frame.attrs.get("seed", 0), margin),
        "",
    ]  # fmt: skip
    compared = set(frame["comparison_group"].astype(str)) if not frame.empty else set()
    alone = sorted(group for group, members in groups.items() if group not in compared and len(members) == 1)
    one_condition = sorted(group for group, members in groups.items() if group not in compared and len(members) > 1)
    if frame.empty and one_condition:
        lines += [f"{NO_COMPARABLE_PAIRS}: the runs that share a model and workload are repeats of one condition, "
                  "which are not compared with each other.", ""]  # fmt: skip
    elif frame.empty:
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
        significant = rows["significant"].astype(bool)
        within = int((significant & rows["practically_equivalent"].astype(bool)).sum())
        lines += [
            f"## {group}", "",
            f"Model **{model}**, workload **{workload or 'unknown'}**: {len(groups.get(str(group), []))} runs, "
            f"{len(rows) // len(METRICS)} comparisons, {int(significant.sum())} significant difference(s), "
            f"{within} of them within the ±{margin:.0%} practical-equivalence margin.", "",
            *_members(groups.get(str(group), []), conditions, platforms), "",
            _group_table(rows, margin), "",
        ]  # fmt: skip
    if alone:
        lines += ["## Groups with a single run (nothing to compare)", ""]
        lines += [f"- {group}: `{groups[group][0]}`" for group in alone]
        lines.append("")
    if one_condition:
        lines += ["## Groups with a single condition (its repeats are not compared with each other; "
                  "conditions.csv pools them)", ""]  # fmt: skip
        lines += [f"- {group}: " + ", ".join(f"`{run_id}`" for run_id in groups[group]) for group in one_condition]
        lines.append("")
    md_path.write_text("\n".join(lines))
    return csv_path, md_path
