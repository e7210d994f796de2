"""Break-even: the edge utilization at which owned edge hardware and a cloud instance cost the same per token."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from benchlib.cost.formulas import (
    FloatOrArray,
    as_float_or_array,
    check_positive,
    check_utilization,
    requests_per_day,
)
from benchlib.cost.pricing import cost_per_million_tokens_usd, unchecked_hourly_cost_usd
from benchlib.cost.profiles import Profile

__all__ = ["BreakEven", "break_even", "break_even_utilization"]


def _linear_hourly_usd(profile: Profile) -> tuple[float, float]:
    """``(a, b)`` with hourly cost ``a + b * u`` (it is linear in ``u``)."""
    a = float(unchecked_hourly_cost_usd(profile, 0.0))
    return a, float(unchecked_hourly_cost_usd(profile, 1.0)) - a


def break_even_utilization(
    edge: Profile,
    cloud: Profile,
    edge_tps: FloatOrArray,
    cloud_tps: FloatOrArray,
    cloud_utilization: FloatOrArray | None = 1.0,
) -> FloatOrArray:
    """Edge utilization at which edge and cloud cost the same per million tokens.

    Hourly costs are linear in utilization, ``a + b * u``, so the crossing has a
    closed form. With a fixed ``cloud_utilization`` ``uc`` (default 1.0: a cloud
    instance kept busy, or rented only for the hours it works) the cloud's cost
    per token is a constant ``K = (a_c + b_c * uc) / (cloud_tps * uc)`` and::

        u* = a_e / (K * edge_tps - b_e)

    above which the edge is cheaper. With ``cloud_utilization=None`` both run at
    the same utilization (an always-on instance serving the same duty cycle)::

        u* = (a_c * edge_tps - a_e * cloud_tps) / (b_e * cloud_tps - b_c * edge_tps)

    Args:
        edge: The owned edge profile (any profile works).
        cloud: The cloud profile to compare against.
        edge_tps: Edge throughput while busy, tokens per second.
        cloud_tps: Cloud throughput while busy, tokens per second.
        cloud_utilization: The cloud's utilization in (0, 1], or ``None`` for "same as the edge".

    Returns:
        ``u*`` in (0, 1], or NaN where there is no crossing in (0, 1]: the edge is
        cheaper at every utilization, dearer at every one (even fully busy, or
        because its marginal cost per token exceeds the cloud's), or the two cost
        ratios never change (same-utilization case with no idle/active power
        difference). :func:`break_even` says which.
    """
    t_e = check_positive(edge_tps, "edge_tps")
    t_c = check_positive(cloud_tps, "cloud_tps")
    a_e, b_e = _linear_hourly_usd(edge)
    a_c, b_c = _linear_hourly_usd(cloud)
    with np.errstate(divide="ignore", invalid="ignore"):
        if cloud_utilization is None:
            u = (a_c * t_e - a_e * t_c) / (b_e * t_c - b_c * t_e)
        else:
            uc = check_utilization(cloud_utilization, "cloud_utilization")
            cloud_usd_per_token_rate = (a_c + b_c * uc) / (t_c * uc)
            u = a_e / (cloud_usd_per_token_rate * t_e - b_e)
        u = np.asarray(u, dtype=float)
        u = np.where((u > 0) & (u <= 1.0 + 1e-12), np.minimum(u, 1.0), np.nan)
    return as_float_or_array(u)


@dataclass(frozen=True)
class BreakEven:
    """Where owned edge hardware and a cloud class cost the same per million tokens.

    Attributes:
        utilization: Edge utilization of the crossing, or NaN without one in (0, 1].
        requests_per_day: The same as edge requests a day of ``tokens_per_request``
            output tokens, or NaN.
        tokens_per_request: Output tokens per request used for ``requests_per_day``.
        cloud_utilization: The cloud's utilization, or ``None`` for "same as the edge".
        edge_usd_per_million_full: Edge cost per million tokens at utilization 1, USD.
        cloud_usd_per_million: Cloud cost per million tokens at its utilization
            (at 1 when it follows the edge), USD.
        edge_cheaper_above: True when the edge is cheaper above the crossing,
            False when below it, ``None`` without a crossing.
        explanation: One sentence saying what the numbers mean.
    """

    utilization: float
    requests_per_day: float
    tokens_per_request: float
    cloud_utilization: float | None
    edge_usd_per_million_full: float
    cloud_usd_per_million: float
    edge_cheaper_above: bool | None
    explanation: str


def break_even(
    edge: Profile,
    cloud: Profile,
    edge_tps: float,
    cloud_tps: float,
    *,
    cloud_utilization: float | None = 1.0,
    tokens_per_request: float = 128,
) -> BreakEven:
    """Break-even of an edge profile against a cloud profile, explained (scalars).

    See :func:`break_even_utilization` for the formulas and the array version.

    Args:
        edge: The owned edge profile.
        cloud: The cloud profile.
        edge_tps: Edge throughput, tokens per second.
        cloud_tps: Cloud throughput, tokens per second.
        cloud_utilization: The cloud's utilization in (0, 1], or ``None`` for "same as the edge".
        tokens_per_request: Output tokens per request, for the requests-per-day figure.
    """
    u = float(break_even_utilization(edge, cloud, edge_tps, cloud_tps, cloud_utilization))
    edge_full = float(cost_per_million_tokens_usd(edge, edge_tps, 1.0))
    uc = 1.0 if cloud_utilization is None else float(cloud_utilization)
    cloud_cost = float(cost_per_million_tokens_usd(cloud, cloud_tps, uc))
    at = "the same utilization" if cloud_utilization is None else f"utilization {uc:g}"
    cloud_note = f"'{cloud.name}' at {at}"
    if math.isnan(u):
        rpd, cheaper_above = float("nan"), None
        verdict = "cheaper" if edge_full < cloud_cost else "dearer"
        explanation = (
            f"No break-even in (0, 1]: '{edge.name}' is {verdict} per million tokens than {cloud_note} at every "
            f"edge utilization (both fully busy: ${edge_full:.4g} vs ${cloud_cost:.4g}, "
            f"ratio {cloud_cost / edge_full:.3g})."
        )
    else:
        rpd = float(requests_per_day(u, edge_tps, tokens_per_request))
        cheaper_above = edge_full < cloud_cost
        explanation = (
            f"'{edge.name}' at utilization {u:.3f} ({rpd:,.0f} requests/day of {tokens_per_request:g} tokens) "
            f"costs the same per million tokens as {cloud_note}; the edge is cheaper "
            f"{'above' if cheaper_above else 'below'} that utilization."
        )
    return BreakEven(
        u, rpd, float(tokens_per_request), cloud_utilization, edge_full, cloud_cost, cheaper_above, explanation
    )
