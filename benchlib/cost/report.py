"""Tables and figures of the cost-model notebook: cost against utilization, break-even.

Platforms come from two places, never mixed up: the article's published
throughputs (``data/reference/article-2026-01.csv``) priced by the profiles of
``data/reference/prices.yaml`` that name an ``article_platform``, and measured
runs priced as their ``run.json`` prices them (:func:`~benchlib.cost.runs.price_run`:
the profile stored with the run, at the power a sensor measured if one did).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchlib.analysis.tables import summary_requests
from benchlib.cost.break_even import break_even
from benchlib.cost.formulas import edge_devices_to_match, energy_per_token_j
from benchlib.cost.price_files import PriceBook
from benchlib.cost.pricing import cost_per_million_tokens_usd
from benchlib.cost.profiles import OwnedHardware, Profile
from benchlib.cost.runs import price_run, profile_from_record, run_cost_summary
from benchlib.metrics import successful_requests, summarize_requests
from benchlib.paths import repo_root
from benchlib.records import STATUS_COMPLETE, scan_runs

__all__ = [
    "break_even_table",
    "cost_curves",
    "platform_table",
    "utilization_grid",
    "write_cost_report",
]

PUBLISHED_MODEL_SIZE = "7B q4"


def utilization_grid(minimum: float = 0.01, points: int = 60) -> np.ndarray:
    """Log-spaced utilizations from ``minimum`` to 1 (inclusive).

    Raises:
        ValueError: ``minimum`` outside (0, 1] or fewer than 2 points.
    """
    if not 0 < minimum <= 1:
        raise ValueError(f"utilization_min must be in (0, 1], got {minimum}.")
    if points < 2:
        raise ValueError(f"utilization_points must be at least 2, got {points}.")
    return np.geomspace(minimum, 1.0, int(points))


def _row(label: str, source: str, tps: float, low: float, high: float, cost: dict[str, Any]) -> dict[str, Any]:
    """One platform's row from its priced throughput (:func:`~benchlib.cost.runs.run_cost_summary`)."""
    power = cost["power_w"]
    return {
        "platform": label,
        "source": source,
        "profile": cost["price_profile"],
        "kind": cost["kind"],
        "throughput_tps": tps,
        "throughput_tps_ci_low": low,
        "throughput_tps_ci_high": high,
        "power_w": power,
        "power_source": cost["power_source"],
        "energy_per_token_j": float(energy_per_token_j(power, tps)) if power is not None else np.nan,
        "hourly_cost_usd": cost["hourly_cost_usd"],
        "cost_per_million_usd": cost["cost_per_million_usd"]["value"],
    }


def _priced_profile(profile: Profile, cost: dict[str, Any]) -> Profile:
    """``profile`` with the power the run was priced at (measured by a sensor, or its own)."""
    if cost["power_source"] != "measured":
        return profile
    return dataclasses.replace(profile, power_w=cost["power_w"])


def platform_table(
    book: PriceBook, reference: pd.DataFrame, runs_dir: str | Path | None = None
) -> tuple[pd.DataFrame, dict[str, Profile]]:
    """Every platform to price: published ones, then measured runs.

    Args:
        book: Price profiles (article defaults plus the user's files).
        reference: The published reference table.
        runs_dir: Folder of runs; complete runs with a stored price profile are added.

    Returns:
        The table (one row per platform, cost and energy at full utilization)
        and the profile of each row, keyed by its ``platform`` label.
    """
    rows, profiles = [], {}
    throughput = reference[(reference["metric"] == "throughput") & (reference["model_size"] == PUBLISHED_MODEL_SIZE)]
    for name in book:
        profile = book[name]
        match = throughput[throughput["platform"] == profile.article_platform] if profile.article_platform else []
        if len(match) == 0:
            continue
        tps = float(match["value"].iloc[0])
        label = f"{profile.article_platform} · {PUBLISHED_MODEL_SIZE} (published)"
        rows.append(_row(label, "published", tps, np.nan, np.nan, run_cost_summary(profile, tps, np.array([tps]))))
        profiles[label] = profile
    for run in scan_runs(runs_dir).runs if runs_dir else []:  # the analysis report names skipped ones
        record = run.record
        if run.status != STATUS_COMPLETE or not record.price_profile or run.requests.empty:
            continue
        requests = successful_requests(summary_requests(run))
        if requests.empty:
            continue
        energy = record.summary.energy.model_dump() if record.summary.energy is not None else None
        summary = {**summarize_requests(requests), "energy": energy}
        throughput = summary["system_throughput_tps"]
        profile = profile_from_record(record.price_profile)
        cost = price_run(profile, summary, requests)  # as the run's run.json
        label = f"{record.parameters['platform']} · {record.model.get('name')} (measured, {run.run_id[-10:]})"
        rows.append(_row(label, "measured", throughput["value"], throughput["ci_low"], throughput["ci_high"], cost))
        profiles[label] = _priced_profile(profile, cost)
    return pd.DataFrame(rows), profiles


def cost_curves(platforms: pd.DataFrame, profiles: dict[str, Profile], grid: np.ndarray) -> pd.DataFrame:
    """Cost per million tokens of every platform at every utilization of ``grid`` (long format)."""
    frames = []
    for _, row in platforms.iterrows():
        cost = cost_per_million_tokens_usd(profiles[row["platform"]], row["throughput_tps"], grid)
        frames.append(
            pd.DataFrame(
                {"platform": row["platform"], "source": row["source"], "utilization": grid, "cost_per_million_usd": cost}
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def break_even_table(
    platforms: pd.DataFrame, profiles: dict[str, Profile], tokens_per_request: float = 128
) -> pd.DataFrame:
    """Break-even of every owned (edge) platform against every rented (cloud) one.

    The cloud is taken fully busy (utilization 1); the break-even is the edge
    utilization where both cost the same per million tokens.
    """
    rows = []
    edges = platforms[platforms["kind"] == OwnedHardware.kind]
    clouds = platforms[platforms["kind"] != OwnedHardware.kind]
    for _, edge in edges.iterrows():
        for _, cloud in clouds.iterrows():
            result = break_even(
                profiles[edge["platform"]],
                profiles[cloud["platform"]],
                edge["throughput_tps"],
                cloud["throughput_tps"],
                tokens_per_request=tokens_per_request,
            )
            devices = edge_devices_to_match(edge["throughput_tps"], cloud["throughput_tps"])
            rows.append(
                {
                    "edge": edge["platform"],
                    "cloud": cloud["platform"],
                    "break_even_utilization": result.utilization,
                    "break_even_requests_per_day": result.requests_per_day,
                    "edge_usd_per_million_full": result.edge_usd_per_million_full,
                    "cloud_usd_per_million": result.cloud_usd_per_million,
                    "cloud_to_edge_cost_ratio": result.cloud_usd_per_million / result.edge_usd_per_million_full,
                    "edge_devices_to_match_cloud": devices.devices,
                    "explanation": result.explanation,
                }
            )
    return pd.DataFrame(rows)


def _plot_curves(curves: pd.DataFrame, platforms: pd.DataFrame):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.5))
    for _, row in platforms.iterrows():
        data = curves[curves["platform"] == row["platform"]]
        style = "--" if row["source"] == "published" else "-"
        width = 1.5 if row["source"] == "published" else 2.5
        axes.plot(data["utilization"], data["cost_per_million_usd"], style, linewidth=width, label=row["platform"])
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("utilization (busy fraction of each hour, log scale)")
    axes.set_ylabel("USD per million output tokens (log scale)")
    axes.set_title(
        "Cost per million tokens against utilization\n"
        "dashed: published throughput (article, Jan 2026) · solid: measured here", fontsize=10,
    )  # fmt: skip
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7, loc="upper right")
    figure.tight_layout()
    return figure


def _plot_break_even(table: pd.DataFrame, platforms: pd.DataFrame, profiles: dict[str, Profile], grid: np.ndarray):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(9, 5.5))
    by_label = platforms.set_index("platform")
    for _, row in table.iterrows():
        edge, cloud = by_label.loc[row["edge"]], by_label.loc[row["cloud"]]
        edge_cost = cost_per_million_tokens_usd(profiles[row["edge"]], edge["throughput_tps"], grid)
        ratio = row["cloud_usd_per_million"] / np.asarray(edge_cost)
        line = axes.plot(grid, ratio, label=f"{row['cloud']}\n  vs {row['edge']}")[0]
        if np.isfinite(row["break_even_utilization"]):
            axes.plot([row["break_even_utilization"]], [1.0], "o", color=line.get_color())
    axes.axhline(1.0, color="black", linewidth=1)
    axes.text(grid[0], 1.05, "above this line the edge is cheaper", fontsize=8, va="bottom")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("edge utilization (log scale); the cloud instance is fully busy")
    axes.set_ylabel("cloud cost / edge cost per million tokens (log scale)")
    axes.set_title("Break-even: where owned edge hardware and each cloud class cost the same (dots)", fontsize=10)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=6, loc="lower right")
    figure.tight_layout()
    return figure


def _shown_path(path: Path) -> str:
    """A path relative to the benchlib checkout when it lies inside it (no machine paths in reports)."""
    try:
        return str(Path(path).resolve().relative_to(repo_root()))
    except ValueError:
        return Path(path).name


def write_cost_report(
    book: PriceBook,
    reference: pd.DataFrame,
    runs_dir: str | Path | None,
    grid: np.ndarray,
    tokens_per_request: float,
    figures_dir: str | Path,
) -> dict[str, Path]:
    """Write the cost figures and tables.

    Returns:
        Paths by name: ``cost_vs_utilization``, ``break_even`` (PNG),
        ``cost_model_csv``, ``break_even_csv``, ``cost_model_md``.
    """
    import matplotlib.pyplot as plt

    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    platforms, profiles = platform_table(book, reference, runs_dir)
    curves = cost_curves(platforms, profiles, grid)
    table = break_even_table(platforms, profiles, tokens_per_request)
    paths = {
        "cost_vs_utilization": figures_dir / "cost_vs_utilization.png",
        "break_even": figures_dir / "break_even.png",
        "cost_model_csv": figures_dir / "cost_model.csv",
        "break_even_csv": figures_dir / "break_even.csv",
        "cost_model_md": figures_dir / "cost_model.md",
    }
    for name, figure in (
        ("cost_vs_utilization", _plot_curves(curves, platforms)),
        ("break_even", _plot_break_even(table, platforms, profiles, grid)),
    ):
        figure.savefig(paths[name], dpi=120)
        plt.close(figure)
    platforms.to_csv(paths["cost_model_csv"], index=False)
    table.to_csv(paths["break_even_csv"], index=False)
    shown = platforms.drop(columns=["throughput_tps_ci_low", "throughput_tps_ci_high"])
    lines = [
        "# Cost model",
        "",
        f"Price files: {', '.join(_shown_path(p) for p in book.files)}. Cost and energy at full utilization; "
        "energy per token from the power figure of `power_source`: the profile's (an estimate unless the "
        "profile says measured) or, for a run a sensor measured, the measured mean power, as in its run.json.",
        "",
        shown.to_markdown(index=False, floatfmt=".4g"),
        "",
        f"## Break-even (cloud fully busy, {tokens_per_request:g}-token requests)",
        "",
        table.drop(columns=["explanation"]).to_markdown(index=False, floatfmt=".4g") if not table.empty else "No owned platform to compare.",
        "",
        *[f"- {text}" for text in table.get("explanation", [])],
        "",
    ]  # fmt: skip
    paths["cost_model_md"].write_text("\n".join(lines))
    return paths
