"""Tables and figures of the cost-model notebook: cost against utilization, break-even.

Platforms come from three places, never mixed up: the article's platforms at
their predicted serving points (:mod:`benchlib.predict.platforms`: the
performance model calibrated on published measurements, for the article's
7B Q4 class, at the highest concurrency meeting a 100 ms per-token latency),
priced by the profiles of ``data/reference/prices.yaml`` that name an
``article_platform`` and billed at the predicted power; hosted APIs of the
price book (``kind: hosted``) at their list price for the notebook's request
shape (a flat, labelled line: their cost per million output tokens does not
depend on utilization); and measured or imported runs priced as their
``run.json`` prices them (:func:`~benchlib.cost.runs.price_run`).

The article's own throughputs are claims the plausibility check rejects: they
are priced only in a separate table (``claims=True``), which reproduces the
article's arithmetic, and never feed a fleet size or a break-even.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from benchlib.analysis.figure_style import save_figure
from benchlib.analysis.tables import summary_requests
from benchlib.cost.break_even import break_even
from benchlib.cost.formulas import edge_devices_to_match
from benchlib.cost.price_files import PriceBook
from benchlib.cost.pricing import cost_per_million_tokens_usd
from benchlib.cost.profiles import HostedApi, OwnedHardware, Profile
from benchlib.cost.report_figures import plot_break_even, plot_cost_curves
from benchlib.cost.report_rows import (
    HOSTED_LABEL,
    SOURCE_CLAIM,
    hosted_row,
    imported_row,
    platform_row,
    predicted_row,
    priced_profile,
)
from benchlib.cost.runs import price_run, profile_from_record, run_cost_summary
from benchlib.metrics import successful_requests, summarize_requests
from benchlib.paths import repo_root
from benchlib.predict.platforms import (
    PUBLISHED_MODEL_SIZE,
    SOURCE_PREDICTED,
    PlatformEstimate,
    article_platform_estimates,
)
from benchlib.predict.predictor import load_library
from benchlib.predict.roofline import Scenario
from benchlib.records import IMPORTED_KIND, RunStatus, scan_runs

__all__ = [
    "break_even_table",
    "cost_curves",
    "platform_table",
    "utilization_grid",
    "write_cost_report",
]

DEFAULT_PROMPT_TOKENS_PER_REQUEST = 128
"""Prompt tokens per request at which a hosted API's list price is shown when none is given.

An assumption: the article's workload is "128-token responses from short prompts"
and does not say how short; pass your own ``prompt_tokens_per_request``.
"""


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


def platform_table(
    book: PriceBook,
    reference: pd.DataFrame,
    runs_dir: str | Path | None = None,
    *,
    tokens_per_request: float = 128,
    prompt_tokens_per_request: float = DEFAULT_PROMPT_TOKENS_PER_REQUEST,
    estimates: dict[str, PlatformEstimate] | None = None,
    claims: bool = False,
) -> tuple[pd.DataFrame, dict[str, Profile]]:
    """Every platform to price: the article's platforms as predicted, hosted APIs at list price, then runs.

    The article's throughputs are claims: they are priced only with ``claims=True``, as
    the article's own arithmetic, and never beside the platforms a user is shown to choose from.

    Args:
        book: Price profiles (article defaults plus the user's files).
        reference: The published reference table (read only with ``claims=True``).
        runs_dir: Folder of runs; complete runs with a stored price profile are added.
        tokens_per_request: Output tokens per request at which a hosted API's list price is shown.
        prompt_tokens_per_request: Prompt tokens per request at which it is shown.
        estimates: Each article platform's predicted serving point (default:
            :func:`~benchlib.predict.platforms.article_platform_estimates` at these lengths).
        claims: Only the article's own platforms at its claimed throughputs.

    Returns:
        The table (one row per platform, cost and energy at full utilization;
        ``source`` is ``predicted``, ``list price``, ``measured`` or ``imported``, or
        ``the article's claim`` with ``claims=True``; a hosted API
        has no throughput, hourly cost or energy, and its row says at which
        ``prompt_tokens_per_request`` / ``output_tokens_per_request`` it is priced)
        and the profile of each row, keyed by its ``platform`` label.
    """
    rows, profiles = [], {}
    nan_tokens = (np.nan, np.nan)
    if estimates is None and not claims:
        estimates = article_platform_estimates(
            load_library(), model_size=PUBLISHED_MODEL_SIZE,
            scenario=Scenario(prompt_tokens=int(prompt_tokens_per_request), output_tokens=int(tokens_per_request)),
        )  # fmt: skip
    throughput = reference[(reference["metric"] == "throughput") & (reference["model_size"] == PUBLISHED_MODEL_SIZE)]
    for name in book:
        profile = book[name]
        if isinstance(profile, HostedApi):
            if not claims:
                rows.append(hosted_row(profile, prompt_tokens_per_request, tokens_per_request))
                profiles[rows[-1]["platform"]] = profile
            continue
        if claims:
            match = throughput[throughput["platform"] == profile.article_platform] if profile.article_platform else []
            if len(match) == 0:
                continue
            tps = float(match["value"].iloc[0])
            label = f"{profile.article_platform} · {PUBLISHED_MODEL_SIZE} (the article's claim)"
            label += f" [{profile.name}]" if label in profiles else ""  # a profile extending another: its own row
            cost = run_cost_summary(profile, tps, np.array([tps]))
            rows.append(platform_row(label, SOURCE_CLAIM, tps, np.nan, np.nan, cost, nan_tokens))
            profiles[label] = profile
        elif profile.article_platform in estimates:
            row, priced = predicted_row(profile, estimates[profile.article_platform])
            row["platform"] += f" [{profile.name}]" if row["platform"] in profiles else ""  # e.g. l4-spot beside l4
            rows.append(row)
            profiles[row["platform"]] = priced
    if claims:
        return pd.DataFrame(rows), profiles
    for run in scan_runs(runs_dir).runs if runs_dir else []:  # the analysis report names skipped ones
        record = run.record
        if record.kind == IMPORTED_KIND and run.status == RunStatus.COMPLETE and record.price_profile:
            imported = imported_row(run)
            if imported is not None:
                rows.append(imported[0])
                profiles[imported[0]["platform"]] = imported[1]
            continue
        if run.status != RunStatus.COMPLETE or not record.price_profile or run.requests.empty:
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
        tokens = (cost["prompt_tokens"] / cost["requests"], cost["output_tokens"] / cost["requests"]) if (
            isinstance(profile, HostedApi)) else nan_tokens  # fmt: skip
        rows.append(
            platform_row(label, "measured", throughput["value"], throughput["ci_low"], throughput["ci_high"], cost, tokens)
        )
        profiles[label] = priced_profile(profile, cost)
    return pd.DataFrame(rows), profiles


def cost_curves(platforms: pd.DataFrame, profiles: dict[str, Profile], grid: np.ndarray) -> pd.DataFrame:
    """Cost per million tokens of every platform at every utilization of ``grid`` (long format).

    A hosted API's cost per token is the same at every utilization: its row's
    ``cost_per_million_usd`` all along the grid (a flat line).
    """
    frames = []
    for _, row in platforms.iterrows():
        profile = profiles[row["platform"]]
        if isinstance(profile, HostedApi):
            cost = np.full(len(grid), row["cost_per_million_usd"])
        else:
            cost = cost_per_million_tokens_usd(profile, row["throughput_tps"], grid)
        frames.append(
            pd.DataFrame(
                {"platform": row["platform"], "source": row["source"], "utilization": grid, "cost_per_million_usd": cost}
            )
        )
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def break_even_table(
    platforms: pd.DataFrame, profiles: dict[str, Profile], tokens_per_request: float = 128
) -> pd.DataFrame:
    """Break-even of every owned (edge) platform against every rented (cloud) one and every hosted API.

    Two comparisons per pair, in this order. 1. ``equal_utilization_*``: both sides busy
    the same fraction of the time (the same traffic served by one instance or by enough
    edge boxes to match it): the shared utilization where both cost the same per million
    tokens, NaN without one (and then no requests per day); the cloud/edge cost ratio at
    utilization 1, the ratio at every utilization when ``equal_utilization_ratio_constant``
    (the article's inputs: no cost changes with utilization); one sentence. 2.
    ``fully_busy_cloud_*``: the edge utilization where it matches a cloud instance kept
    100% busy, which a service with the same traffic would not be.

    A hosted API has no utilization (its row's price per million output tokens at any
    volume): its one comparison is in the ``equal_utilization_*`` columns, its
    ``fully_busy_cloud_*`` ones are empty and say so. Its requests are taken at
    ``tokens_per_request`` output tokens with the row's prompt-to-output ratio (the ratio
    fixes the price), and no number of edge devices "matches" it.
    """
    rows = []
    edges = platforms[platforms["kind"] == OwnedHardware.kind]
    clouds = platforms[platforms["kind"] != OwnedHardware.kind]
    for _, edge in edges.iterrows():
        for _, cloud in clouds.iterrows():
            hosted = isinstance(profiles[cloud["platform"]], HostedApi)
            prompt = (
                cloud["prompt_tokens_per_request"] / cloud["output_tokens_per_request"] * tokens_per_request
                if hosted else None
            )  # fmt: skip
            args = (profiles[edge["platform"]], profiles[cloud["platform"]], edge["throughput_tps"], cloud["throughput_tps"])
            kwargs = {"tokens_per_request": tokens_per_request, "prompt_tokens_per_request": prompt}
            equal = break_even(*args, cloud_utilization=None, **kwargs)
            busy = break_even(*args, cloud_utilization=1.0, **kwargs)
            devices = (
                edge_devices_to_match(edge["throughput_tps"], cloud["throughput_tps"]).devices if not hosted else np.nan
            )
            rows.append(
                {
                    "edge": edge["platform"],
                    "cloud": cloud["platform"],
                    "equal_utilization_break_even": equal.utilization,
                    "equal_utilization_requests_per_day": equal.requests_per_day,
                    "equal_utilization_cost_ratio": equal.cost_ratio_full,
                    "equal_utilization_ratio_constant": equal.cost_ratio_constant,
                    "fully_busy_cloud_break_even": np.nan if hosted else busy.utilization,
                    "fully_busy_cloud_requests_per_day": np.nan if hosted else busy.requests_per_day,
                    "edge_usd_per_million_full": equal.edge_usd_per_million_full,
                    "cloud_usd_per_million_full": equal.cloud_usd_per_million,
                    "edge_devices_to_match_cloud": devices,
                    "equal_utilization_explanation": equal.explanation,
                    "fully_busy_cloud_explanation": _HOSTED_ONE_COMPARISON if hosted else busy.explanation,
                }
            )
    return pd.DataFrame(rows)


_HOSTED_ONE_COMPARISON = (
    "Not a second comparison: a hosted API has no utilization (it costs the same per token at any volume), so the "
    "equal-utilization break-even is the only one."
)
_EXPLANATIONS = ["equal_utilization_explanation", "fully_busy_cloud_explanation"]


def _break_even_lines(table: pd.DataFrame) -> list[str]:
    """The break-even table without its sentences, then the sentences: equal utilization first, fully busy second."""
    if table.empty:
        return ["No owned platform to compare."]
    hosted_row = table["fully_busy_cloud_explanation"] == _HOSTED_ONE_COMPARISON
    return [
        table.drop(columns=_EXPLANATIONS).to_markdown(index=False, floatfmt=".4g"),
        "",
        "At equal utilization (both sides busy the same fraction of the time, as when the same traffic is served "
        "by one instance or by enough edge boxes to match it):",
        "",
        *[f"- {text}" for text in table["equal_utilization_explanation"]],
        "",
        "Second comparison, against a cloud instance kept 100% busy (a service with the edge's traffic would not "
        f"keep it so{'; a hosted API has no utilization and is compared above only' if hosted_row.any() else ''}):",
        "",
        *[f"- {text}" for text in table.loc[~hosted_row, "fully_busy_cloud_explanation"]],
    ]


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
    prompt_tokens_per_request: float = DEFAULT_PROMPT_TOKENS_PER_REQUEST,
) -> dict[str, Path]:
    """Write the cost figures and tables.

    Args:
        book: Price profiles; its hosted APIs are shown at their list price.
        reference: The published reference table.
        runs_dir: Folder of measured runs, or ``None``.
        grid: Utilizations of the curves.
        tokens_per_request: Output tokens per request (requests per day; a hosted API's price).
        figures_dir: Where the files go.
        prompt_tokens_per_request: Prompt tokens per request at which a hosted API is priced.

    Returns:
        Paths by name: ``cost_vs_utilization``, ``break_even`` (PNG),
        ``cost_model_csv``, ``break_even_csv``, ``cost_model_md`` and
        ``article_claims_csv`` (the article's own arithmetic on its claims).
    """
    figures_dir = Path(figures_dir)
    figures_dir.mkdir(parents=True, exist_ok=True)
    platforms, profiles = platform_table(
        book, reference, runs_dir, tokens_per_request=tokens_per_request, prompt_tokens_per_request=prompt_tokens_per_request
    )
    curves = cost_curves(platforms, profiles, grid)
    table = break_even_table(platforms, profiles, tokens_per_request)
    claims, claim_profiles = platform_table(book, reference, claims=True)
    claims_break_even = break_even_table(claims, claim_profiles, tokens_per_request)
    paths = {
        "cost_vs_utilization": figures_dir / "cost_vs_utilization.png",
        "break_even": figures_dir / "break_even.png",
        "cost_model_csv": figures_dir / "cost_model.csv",
        "break_even_csv": figures_dir / "break_even.csv",
        "cost_model_md": figures_dir / "cost_model.md",
        "article_claims_csv": figures_dir / "cost_model_article_claims.csv",
    }
    claims.to_csv(paths["article_claims_csv"], index=False)
    for name, figure in (
        ("cost_vs_utilization", plot_cost_curves(curves, platforms)),
        ("break_even", plot_break_even(table, platforms, profiles, grid)),
    ):
        save_figure(figure, paths[name], tight=False)
    platforms.to_csv(paths["cost_model_csv"], index=False)
    table.to_csv(paths["break_even_csv"], index=False)
    hidden = ["throughput_tps_ci_low", "throughput_tps_ci_high"]
    hosted = platforms["kind"] == HostedApi.kind if not platforms.empty else pd.Series(dtype=bool)
    if not hosted.any():
        hidden += ["prompt_tokens_per_request", "output_tokens_per_request"]
    shown = platforms.drop(columns=[c for c in [*hidden, "basis"] if c in platforms])
    hosted_note = (
        f" A hosted API ({HOSTED_LABEL}) is billed per token: no hourly cost, the same cost per million output "
        "tokens at every utilization (its prompts included, at the prompt and output tokens per request of its "
        "row; a measured run's own), and no energy figure (a hosted API publishes no power draw)."
        if hosted.any() else ""
    )  # fmt: skip
    lines = [
        "# Cost model",
        "",
        f"Price files: {', '.join(_shown_path(p) for p in book.files)}. Cost and energy at full utilization; "
        "every cost is the row's throughput (its `source`: measured, predicted, imported) × the profile's "
        "assumed price, never a measured bill; energy per token from the power figure of `power_source`: the profile's (an estimate unless the "
        "profile says measured) or, for a run a sensor measured, the measured mean power, as in its run.json."
        + hosted_note,
        "",
        shown.to_markdown(index=False, floatfmt=".4g"),
        "",
        f"## Break-even (equal utilization first, then against a fully busy cloud; {tokens_per_request:g}-token "
        "requests)",
        "",
        *_break_even_lines(table),
        "",
        "## Basis of each predicted platform",
        "",
        *[f"- **{row.platform}**: {row.basis}" for row in platforms.itertuples() if row.source == SOURCE_PREDICTED],
        "",
        *_claims_section(claims, claims_break_even, tokens_per_request),
    ]  # fmt: skip
    paths["cost_model_md"].write_text("\n".join(lines))
    return paths


def _claims_section(claims: pd.DataFrame, break_even: pd.DataFrame, tokens_per_request: float) -> list[str]:
    """The article's own arithmetic on its own throughputs: reproduced, labelled, never used for a choice."""
    if claims.empty:
        return []
    columns = ["platform", "throughput_tps", "power_w", "energy_per_token_j", "hourly_cost_usd", "cost_per_million_usd"]
    return [
        "## The article's claims (its own arithmetic)",
        "",
        "The article's throughputs priced exactly as the article prices them. They are claims: the plausibility "
        "check rejects every one (above the bandwidth ceiling, or beyond any published measurement; "
        "plausibility.csv), so no table, fleet size or break-even above uses them.",
        "",
        claims[columns].to_markdown(index=False, floatfmt=".4g"),
        "",
        f"Break-even on the claims (equal utilization first, then against a fully busy cloud; "
        f"{tokens_per_request:g}-token requests):",
        "",
        *(_break_even_lines(break_even) if not break_even.empty else []),
        "",
    ]  # fmt: skip
