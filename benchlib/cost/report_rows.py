"""The rows of the cost model's platform table: one builder per kind of platform.

Every row has the same columns (:func:`platform_row`): throughput with its interval,
power and its source, energy per token, hourly cost and cost per million tokens at
full utilization, and a hosted API's request shape.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from benchlib.analysis.basis import BASIS_IMPORTED
from benchlib.cost.formulas import energy_per_token_j
from benchlib.cost.pricing import hosted_usd_per_million_output_tokens
from benchlib.cost.profiles import HostedApi, Profile
from benchlib.cost.runs import HOSTED_POWER_SOURCE, profile_from_record, run_cost_summary
from benchlib.importers.pricing import price_imported
from benchlib.metrics import successful_requests
from benchlib.predict.platforms import SOURCE_PREDICTED, PlatformEstimate

__all__ = [
    "HOSTED_LABEL",
    "SOURCE_CLAIM",
    "hosted_row",
    "imported_row",
    "platform_row",
    "predicted_row",
    "priced_profile",
]

HOSTED_LABEL = "hosted API, list price"
SOURCE_CLAIM = "the article's claim"


def platform_row(
    label: str, source: str, tps: float, low: float, high: float, cost: dict[str, Any], tokens: tuple[float, float]
) -> dict[str, Any]:
    """One platform's row from its priced run or throughput (:func:`~benchlib.cost.runs.price_run`).

    ``tokens`` is ``(prompt, output)`` tokens per request of a hosted API's price, NaN otherwise.
    """
    power = cost["power_w"]
    hourly = cost["hourly_cost_usd"]
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
        "hourly_cost_usd": hourly if hourly is not None else np.nan,
        "cost_per_million_usd": cost["cost_per_million_usd"]["value"],
        "prompt_tokens_per_request": tokens[0],
        "output_tokens_per_request": tokens[1],
    }


def hosted_row(profile: HostedApi, prompt_tokens_per_request: float, tokens_per_request: float) -> dict[str, Any]:
    """A hosted API of the price book at its list price, for requests of the given shape."""
    cost = {
        "price_profile": profile.name,
        "kind": profile.kind,
        "power_w": None,
        "power_source": HOSTED_POWER_SOURCE,
        "hourly_cost_usd": None,
        "cost_per_million_usd": {
            "value": float(hosted_usd_per_million_output_tokens(profile, prompt_tokens_per_request, tokens_per_request))
        },
    }
    label = f"{profile.name} ({HOSTED_LABEL})"
    tokens = (float(prompt_tokens_per_request), float(tokens_per_request))
    return platform_row(label, "list price", np.nan, np.nan, np.nan, cost, tokens)


def priced_profile(profile: Profile, cost: dict[str, Any]) -> Profile:
    """``profile`` with the power the run was priced at (measured by a sensor, or its own)."""
    if cost["power_source"] != "measured":
        return profile
    return dataclasses.replace(profile, power_w=cost["power_w"])


def imported_row(run) -> tuple[dict[str, Any], Profile] | None:
    """The row of a run imported from another tool, priced as at import (``None`` when it cannot be)."""
    record = run.record
    energy = record.summary.energy.model_dump() if record.summary.energy is not None else None
    summary = {**record.summary.model_dump(), "energy": energy}
    requests = successful_requests(run.requests) if not run.requests.empty else None
    profile = profile_from_record(record.price_profile)
    cost = price_imported(profile, summary, requests, run.meta.get("workload") or {})
    if cost is None:
        return None
    throughput = summary.get("system_throughput_tps") or {}
    source = run.meta.get("source") or {}
    label = f"{record.parameters['platform']} · {record.model.get('name')} (imported from {source.get('tool')}, {run.run_id[-10:]})"
    nan = float("nan")
    low, high = (throughput.get(k) for k in ("ci_low", "ci_high"))
    row = platform_row(label, BASIS_IMPORTED, throughput.get("value") or nan, low if low is not None else nan,
               high if high is not None else nan, cost, (nan, nan))  # fmt: skip
    return row, priced_profile(profile, cost)


def predicted_row(profile: Profile, estimate: PlatformEstimate) -> tuple[dict[str, Any], Profile]:
    """An article platform at its predicted serving point, billed at its predicted power."""
    point, intervals = estimate.point.point, estimate.point.intervals
    priced = dataclasses.replace(profile, power_w=float(point.power_w))
    tps = float(point.output_tps)
    low, high = intervals["output_tps"]
    cost = run_cost_summary(priced, tps, np.array([low, tps, high]))
    cost["power_source"] = SOURCE_PREDICTED
    label = (f"{profile.article_platform} · {estimate.model} (predicted, {point.concurrency} "
             f"stream{'s' * (point.concurrency != 1)})")
    row = platform_row(label, SOURCE_PREDICTED, tps, low, high, cost, (np.nan, np.nan))
    row["basis"] = estimate.basis
    return row, priced
