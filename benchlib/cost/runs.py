"""Pricing a measured run: its profile stored in ``run.json``, and its cost per million tokens with an interval.

An owned or rented profile prices the run's throughput (an hour's cost over the
tokens of an hour); a hosted API prices the run's tokens (its measured prompt
and output tokens at the API's per-token prices).
"""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import numpy as np
import pandas as pd

from benchlib.cost.pricing import (
    cost_per_million_tokens_usd,
    hosted_cost_usd,
    hosted_usd_per_million_output_tokens,
    hourly_cost_usd,
)
from benchlib.cost.profiles import KINDS, PROFILE_TYPES, HostedApi, Profile
from benchlib.cost.uncertainty import cost_uncertainty
from benchlib.errors import ParameterError
from benchlib.metrics import throughput_replicates
from benchlib.stats import DEFAULT_CONFIDENCE, bootstrap

__all__ = [
    "HOSTED_ENERGY_NOTE",
    "HOSTED_POWER_SOURCE",
    "hosted_run_cost_summary",
    "measured_power_w",
    "price_run",
    "profile_from_record",
    "profile_record",
    "run_cost_summary",
]

HOSTED_ENERGY_NOTE = "energy unknown: a hosted API publishes no power draw"
HOSTED_POWER_SOURCE = "unknown (hosted API)"
"""``power_source`` of a cost under a hosted API: no power figure exists."""


def profile_record(profile: Profile) -> dict[str, Any]:
    """A profile as a plain dictionary (stored in ``run.json``, so a report needs no price file)."""
    record: dict[str, Any] = {"kind": profile.kind}
    for f in fields(profile):
        value = getattr(profile, f.name)
        record[f.name] = dict(value) if f.name == "sources" else value
    return record


def profile_from_record(record: dict[str, Any]) -> Profile:
    """Rebuild a profile from :func:`profile_record`'s dictionary.

    Raises:
        ParameterError: unknown kind or invalid fields.
    """
    values = dict(record)
    kind = values.pop("kind", None)
    if kind not in PROFILE_TYPES:
        raise ParameterError(f"Price profile record has kind {kind!r}; valid kinds: {', '.join(KINDS)}.")
    try:
        return PROFILE_TYPES[kind](**values)
    except TypeError as exc:
        raise ParameterError(f"Price profile record {record.get('name')!r} is invalid: {exc}") from None


def run_cost_summary(
    profile: Profile,
    throughput_tps: float,
    throughput_tps_replicates: Any,
    utilization: float = 1.0,
    confidence: float = 0.95,
    power_w: float | None = None,
) -> dict[str, Any]:
    """Cost per million tokens of a measured run under a price profile, with its interval.

    Args:
        profile: The run's price profile.
        throughput_tps: The run's system throughput, tokens per second.
        throughput_tps_replicates: Bootstrap replicates of that throughput.
        utilization: Busy fraction of the hour, in (0, 1] (the article assumes 1).
        confidence: Coverage of the interval.
        power_w: Measured power under load, watts, used instead of the profile's
            figure for the electricity of owned hardware (``None``: the profile's).

    Returns:
        ``{"price_profile", "kind", "utilization", "power_w", "hourly_cost_usd",
        "cost_per_million_usd": {"value", "ci_low", "ci_high", "confidence"}}``.

    Raises:
        ParameterError: ``profile`` is a hosted API (priced by its tokens, not its
            throughput: :func:`price_run` sends it to :func:`hosted_run_cost_summary`).
    """
    uncertainty = cost_uncertainty(
        profile, throughput_tps_replicates, power_w, utilization=utilization, confidence=confidence
    )
    return {
        "price_profile": profile.name,
        "kind": profile.kind,
        "utilization": utilization,
        "power_w": power_w if power_w is not None else profile.power_w,
        "power_source": "measured" if power_w is not None else "profile",
        "hourly_cost_usd": float(hourly_cost_usd(profile, utilization, power_w)),
        "cost_per_million_usd": {
            "value": float(cost_per_million_tokens_usd(profile, throughput_tps, utilization, power_w)),
            "ci_low": uncertainty.cost.ci_low,
            "ci_high": uncertainty.cost.ci_high,
            "confidence": confidence,
        },
    }


def hosted_run_cost_summary(
    profile: HostedApi, requests: pd.DataFrame, confidence: float = DEFAULT_CONFIDENCE
) -> dict[str, Any]:
    """A run's requests priced at a hosted API's per-token prices, with a bootstrap interval.

    The cost per million output tokens is ``hosted_cost_usd(all prompt tokens, all
    output tokens) / all output tokens * 1e6``; its interval resamples the requests
    (prompt and output tokens of a request stay together). It does not depend on the
    run's throughput or on a utilization.

    Args:
        profile: A hosted API profile.
        requests: The successful requests (columns ``prompt_tokens`` and ``output_tokens``).
        confidence: Coverage of the interval.

    Returns:
        The keys of :func:`run_cost_summary` (``hourly_cost_usd``, ``utilization``
        and ``power_w`` are ``None``: not applicable; ``power_source`` is
        :data:`HOSTED_POWER_SOURCE`), plus
        ``requests``, ``prompt_tokens``, ``output_tokens``, ``cost_usd`` (the run's
        requests at the API's prices), the two prices and ``energy_note``.

    Raises:
        ParameterError: the requests lack token counts, or produced no output token.
    """
    missing = [column for column in ("prompt_tokens", "output_tokens") if column not in requests]
    if missing:
        raise ParameterError(
            f"Pricing a run with hosted API '{profile.name}' needs the requests' {' and '.join(missing)} column(s)."
        )
    prompt = pd.to_numeric(requests["prompt_tokens"]).to_numpy(dtype=float)
    output = pd.to_numeric(requests["output_tokens"]).to_numpy(dtype=float)
    if not output.sum() > 0:
        raise ParameterError(
            f"Pricing a run with hosted API '{profile.name}': its requests produced no output token, so there is "
            "no cost per million output tokens."
        )

    def per_million(p: np.ndarray, o: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.asarray(hosted_usd_per_million_output_tokens(profile, p.sum(axis=axis), o.sum(axis=axis)))

    interval = bootstrap((prompt, output), per_million, confidence=confidence)
    return {
        "price_profile": profile.name,
        "kind": profile.kind,
        "utilization": None,
        "power_w": None,
        "power_source": HOSTED_POWER_SOURCE,
        "hourly_cost_usd": None,
        "cost_per_million_usd": {
            "value": float(hosted_usd_per_million_output_tokens(profile, prompt.sum(), output.sum())),
            "ci_low": interval.ci_low,
            "ci_high": interval.ci_high,
            "confidence": confidence,
        },
        "requests": int(len(requests)),
        "prompt_tokens": int(prompt.sum()),
        "output_tokens": int(output.sum()),
        "cost_usd": float(hosted_cost_usd(profile, prompt.sum(), output.sum())),
        "usd_per_million_input_tokens": profile.usd_per_million_input_tokens,
        "usd_per_million_output_tokens": profile.usd_per_million_output_tokens,
        "energy_note": HOSTED_ENERGY_NOTE,
    }


def measured_power_w(summary: dict[str, Any]) -> float | None:
    """Mean power under load of a run whose energy was measured by a sensor, watts, else ``None``.

    Args:
        summary: The run's ``run.json`` summary (its ``energy`` entry is read).
    """
    energy = summary.get("energy") or {}
    if energy.get("valid") and energy.get("kind") == "measured":
        return float(energy["mean_power_w"])
    return None


def price_run(profile: Profile, summary: dict[str, Any], requests: pd.DataFrame) -> dict[str, Any]:
    """A run's cost under a price profile: the one place that prices a run.

    The electricity of owned hardware is billed at the measured power when a
    sensor measured the run (:func:`measured_power_w`), else at the profile's.
    A hosted API prices the run's own prompt and output tokens instead
    (:func:`hosted_run_cost_summary`): its throughput and power do not enter.

    Args:
        profile: The price profile.
        summary: The run's summary (``run.json``'s ``summary``: ``system_throughput_tps``
            and, when measured, ``energy``).
        requests: The successful rows the summary describes (their throughput is
            bootstrapped; for a hosted API, their ``prompt_tokens`` and ``output_tokens``).

    Returns:
        :func:`run_cost_summary` at utilization 1, or :func:`hosted_run_cost_summary`.
    """
    if isinstance(profile, HostedApi):
        return hosted_run_cost_summary(profile, requests)
    return run_cost_summary(
        profile,
        summary["system_throughput_tps"]["value"],
        throughput_replicates(requests),
        power_w=measured_power_w(summary),
    )
