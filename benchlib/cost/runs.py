"""Pricing a measured run: its profile stored in ``run.json``, and its cost per million tokens with an interval."""

from __future__ import annotations

from dataclasses import fields
from typing import Any

import pandas as pd

from benchlib.cost.pricing import cost_per_million_tokens_usd, hourly_cost_usd
from benchlib.cost.profiles import KINDS, PROFILE_TYPES, Profile
from benchlib.cost.uncertainty import cost_uncertainty
from benchlib.errors import ParameterError
from benchlib.metrics import throughput_replicates

__all__ = ["measured_power_w", "price_run", "profile_from_record", "profile_record", "run_cost_summary"]


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

    Args:
        profile: The price profile.
        summary: The run's summary (``run.json``'s ``summary``: ``system_throughput_tps``
            and, when measured, ``energy``).
        requests: The successful rows the summary describes (their throughput is bootstrapped).

    Returns:
        :func:`run_cost_summary` at utilization 1.
    """
    return run_cost_summary(
        profile,
        summary["system_throughput_tps"]["value"],
        throughput_replicates(requests),
        power_w=measured_power_w(summary),
    )
