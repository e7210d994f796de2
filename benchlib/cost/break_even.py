"""Break-even: the edge utilization at which owned edge hardware and a cloud instance or hosted API cost the same per token.

Two comparisons, in this order of relevance:

* **equal utilization** (``cloud_utilization=None``): both sides busy the same
  fraction of the time, as when the same traffic is served by one instance or by
  enough edge boxes to match its throughput. Each side's cost per token is
  ``(a + b u) / (u * tps)``, so the cloud/edge ratio is constant (no break-even)
  when both hourly costs keep the same proportion, ``a_c / b_c = a_e / b_e``, or
  neither changes with ``u`` (``b = 0`` on both: the article's inputs);
  otherwise it moves monotonically with ``u`` and may cross 1 once.
* **a cloud at a fixed utilization** (default 1.0: an instance kept fully busy,
  which one serving the edge's traffic would not be). The cloud side then enters
  only through its cost per million output tokens ``K``, so a hosted API (a flat
  price per token at any volume, no utilization) uses the same crossing:
  ``u* = a_e / (K * edge_tps - b_e)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from benchlib.cost.formulas import (
    TOKENS_PER_MILLION,
    FloatOrArray,
    as_float_or_array,
    check_positive,
    check_utilization,
    requests_per_day,
    usd_per_million_tokens,
)
from benchlib.cost.pricing import (
    cost_per_million_tokens_usd,
    hosted_usd_per_million_output_tokens,
    refuse_hosted,
    unchecked_hourly_cost_usd,
)
from benchlib.cost.profiles import HostedApi, Profile
from benchlib.errors import ParameterError
from benchlib.units import SECONDS_PER_HOUR

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
    *,
    prompt_tokens_per_request: FloatOrArray | None = None,
    output_tokens_per_request: FloatOrArray | None = None,
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

    A hosted API (:class:`~benchlib.cost.profiles.HostedApi`) costs the same per
    token at any volume: ``K`` is its price of a million output tokens with their
    prompts (:func:`~benchlib.cost.pricing.hosted_usd_per_million_output_tokens`)
    in the same units, and the first formula gives the crossing; ``cloud_tps`` and
    ``cloud_utilization`` do not matter for it.

    Args:
        edge: The owned edge profile (an owned or rented profile; not a hosted API).
        cloud: The cloud profile to compare against (rented, owned or hosted).
        edge_tps: Edge throughput while busy, tokens per second.
        cloud_tps: Cloud throughput while busy, tokens per second (ignored for a hosted API).
        cloud_utilization: The cloud's utilization in (0, 1], or ``None`` for "same as the edge"
            (ignored for a hosted API).
        prompt_tokens_per_request: Prompt tokens per request; required when ``cloud`` is a hosted API.
        output_tokens_per_request: Output tokens per request; required when ``cloud`` is a hosted API.

    Returns:
        ``u*`` in (0, 1], or NaN where there is no crossing in (0, 1]: the edge is
        cheaper at every utilization, dearer at every one (even fully busy, or
        because its marginal cost per token exceeds the cloud's), or the two cost
        ratios never change (same-utilization case with no idle/active power
        difference). :func:`break_even` says which.

    Raises:
        ParameterError: ``edge`` is a hosted API, or ``cloud`` is one and the token
            counts per request are missing.
    """
    refuse_hosted(edge, "the edge side of a break-even (put the hosted API on the cloud side)")
    t_e = check_positive(edge_tps, "edge_tps")
    a_e, b_e = _linear_hourly_usd(edge)
    with np.errstate(divide="ignore", invalid="ignore"):
        if isinstance(cloud, HostedApi):
            cloud_usd_per_million = _hosted_usd_per_million(cloud, prompt_tokens_per_request, output_tokens_per_request)
        elif cloud_utilization is None:
            t_c = check_positive(cloud_tps, "cloud_tps")
            a_c, b_c = _linear_hourly_usd(cloud)
            cloud_usd_per_million = None
            u = (a_c * t_e - a_e * t_c) / (b_e * t_c - b_c * t_e)
        else:
            t_c = check_positive(cloud_tps, "cloud_tps")
            a_c, b_c = _linear_hourly_usd(cloud)
            uc = check_utilization(cloud_utilization, "cloud_utilization")
            cloud_usd_per_million = usd_per_million_tokens(a_c + b_c * uc, t_c, uc)
        if cloud_usd_per_million is not None:
            # K: the cloud's USD per hour per token/s, from its USD per million tokens
            cloud_usd_per_token_rate = np.asarray(cloud_usd_per_million) / TOKENS_PER_MILLION * SECONDS_PER_HOUR
            u = a_e / (cloud_usd_per_token_rate * t_e - b_e)
        u = np.asarray(u, dtype=float)
        u = np.where((u > 0) & (u <= 1.0 + 1e-12), np.minimum(u, 1.0), np.nan)
    return as_float_or_array(u)


def _hosted_usd_per_million(api: HostedApi, prompt_tokens: Any, output_tokens: Any) -> FloatOrArray:
    """A hosted API's USD per million output tokens for the break-even; both counts are required."""
    if prompt_tokens is None or output_tokens is None:
        raise ParameterError(
            f"Break-even against hosted API '{api.name}': its cost per million output tokens depends on the prompt "
            "sent with them; pass prompt_tokens_per_request and output_tokens_per_request."
        )
    return hosted_usd_per_million_output_tokens(api, prompt_tokens, output_tokens)


@dataclass(frozen=True)
class BreakEven:
    """Where owned edge hardware and a cloud class cost the same per million tokens.

    Attributes:
        utilization: Edge utilization of the crossing, or NaN without one in (0, 1].
        requests_per_day: The same as requests a day to one edge box of ``tokens_per_request``
            output tokens, or NaN (never a figure for a crossing that does not exist).
        tokens_per_request: Output tokens per request used for ``requests_per_day``.
        cloud_utilization: The cloud's utilization, or ``None`` for "same as the edge"
            (as passed; a hosted API has none and ignores it).
        edge_usd_per_million_full: Edge cost per million tokens at utilization 1, USD.
        cloud_usd_per_million: Cloud cost per million tokens at its utilization
            (at 1 when it follows the edge), USD; a hosted API's price of a million
            output tokens with their prompts.
        edge_cheaper_above: True when the edge is cheaper above the crossing,
            False when below it, ``None`` without a crossing.
        explanation: One sentence saying what the numbers mean.
        cost_ratio_full: Cloud over edge cost per million tokens with the edge fully busy
            (``cloud_usd_per_million / edge_usd_per_million_full``; above 1 the edge is cheaper).
        cost_ratio_constant: True when that ratio is the same at every edge utilization
            of the comparison (then ``cost_ratio_full`` is the ratio everywhere).
    """

    utilization: float
    requests_per_day: float
    tokens_per_request: float
    cloud_utilization: float | None
    edge_usd_per_million_full: float
    cloud_usd_per_million: float
    edge_cheaper_above: bool | None
    explanation: str
    cost_ratio_full: float
    cost_ratio_constant: bool


def break_even(
    edge: Profile,
    cloud: Profile,
    edge_tps: float,
    cloud_tps: float,
    *,
    cloud_utilization: float | None = 1.0,
    tokens_per_request: float = 128,
    prompt_tokens_per_request: float | None = None,
) -> BreakEven:
    """Break-even of an edge profile against a cloud profile, explained in one sentence (scalars).

    See :func:`break_even_utilization` for the formulas and the array version. With
    ``cloud_utilization=None`` (both at the same utilization) and no crossing, the
    sentence gives the cost ratio at every shared utilization and why it does or does
    not change; with a fixed cloud utilization it says the cloud is kept that busy,
    which a service with the same traffic would not keep it.

    Args:
        edge: The owned edge profile.
        cloud: The cloud profile.
        edge_tps: Edge throughput, tokens per second.
        cloud_tps: Cloud throughput, tokens per second (ignored for a hosted API: NaN is fine).
        cloud_utilization: The cloud's utilization in (0, 1], or ``None`` for "same as the edge".
        tokens_per_request: Output tokens per request, for the requests-per-day figure
            and, against a hosted API, for its price per million output tokens.
        prompt_tokens_per_request: Prompt tokens per request; required against a hosted API.
    """
    hosted = isinstance(cloud, HostedApi)
    u = float(
        break_even_utilization(
            edge, cloud, edge_tps, cloud_tps, cloud_utilization,
            prompt_tokens_per_request=prompt_tokens_per_request, output_tokens_per_request=tokens_per_request,
        )
    )  # fmt: skip
    edge_full = float(cost_per_million_tokens_usd(edge, edge_tps, 1.0))
    uc = 1.0 if cloud_utilization is None else float(cloud_utilization)
    if hosted:
        cloud_cost = float(hosted_usd_per_million_output_tokens(cloud, prompt_tokens_per_request, tokens_per_request))
    else:
        cloud_cost = float(cost_per_million_tokens_usd(cloud, cloud_tps, uc))
    ratio = cloud_cost / edge_full
    a_e, b_e = _linear_hourly_usd(edge)
    rpd = float("nan") if math.isnan(u) else float(requests_per_day(u, edge_tps, tokens_per_request))
    cheaper_above = None if math.isnan(u) else bool(ratio > 1.0)
    if hosted or cloud_utilization is not None:
        constant = a_e == 0.0  # a flat cloud cost per token against an edge cost of (a_e + b_e u) / u
        explanation = _fixed_cloud_sentence(edge, cloud, u, rpd, tokens_per_request, prompt_tokens_per_request,
                                            uc, edge_full, cloud_cost)  # fmt: skip
    else:
        a_c, b_c = _linear_hourly_usd(cloud)
        constant = _proportional(a_e, b_e, a_c, b_c)
        low = _ratio_towards_idle(a_e, b_e, a_c, b_c, edge_tps, cloud_tps)
        explanation = _equal_utilization_sentence(edge.name, cloud.name, u, rpd, tokens_per_request, ratio, low,
                                                  constant, (a_e, b_e, a_c, b_c))  # fmt: skip
    return BreakEven(
        u, rpd, float(tokens_per_request), cloud_utilization, edge_full, cloud_cost, cheaper_above, explanation,
        ratio, constant,
    )  # fmt: skip


def _proportional(a_e: float, b_e: float, a_c: float, b_c: float) -> bool:
    """Whether both hourly costs ``a + b u`` keep the same proportion at every ``u`` (``a_c b_e = a_e b_c``)."""
    scale = (abs(a_e) + abs(b_e)) * (abs(a_c) + abs(b_c))
    return abs(a_c * b_e - a_e * b_c) <= 1e-12 * scale


def _ratio_towards_idle(a_e: float, b_e: float, a_c: float, b_c: float, t_e: float, t_c: float) -> float:
    """Cloud over edge cost per token, both at utilization ``u``, as ``u`` approaches 0 (inf if the edge's tends to 0)."""
    if a_e > 0:
        return t_e * a_c / (t_c * a_e)
    if a_c > 0:
        return math.inf
    return t_e * b_c / (t_c * b_e)


def _times(ratio: float) -> str:
    """A cost ratio as "3.3x" (two decimals under 2, none above 100)."""
    if math.isinf(ratio):
        return "unboundedly"
    return f"{ratio:.2f}x" if ratio < 2 else f"{ratio:.1f}x" if ratio < 100 else f"{ratio:,.0f}x"


def _less_or_more(ratio: float) -> str:
    """How much less (``ratio`` > 1: cloud over edge) or more the edge costs, e.g. "3.3x less"."""
    return f"{_times(ratio)} less" if ratio >= 1 else f"{_times(1 / ratio)} more"


def _why_constant(a_e: float, b_e: float, a_c: float, b_c: float) -> str:
    """Why both costs per token scale the same way with a shared utilization."""
    if b_e == 0 and b_c == 0:
        return "neither side's hourly cost changes when it is busy, so both costs per token scale as 1/u"
    if a_e == 0 and a_c == 0:
        return "both sides pay only for busy time"
    return "both sides split their hourly cost between idle and busy time in the same proportion"


def _equal_utilization_sentence(
    edge: str, cloud: str, u: float, rpd: float, tokens: float, full: float, low: float, constant: bool,
    terms: tuple[float, float, float, float],
) -> str:
    """One sentence on the break-even at a utilization both sides share (``full``/``low``: cloud/edge at 1 and near 0)."""
    if not math.isnan(u):
        ends = f"{_times(low)} as u approaches 0 and {_times(full)} at u = 1"
        return (
            f"Break-even at equal utilization u = {u:.3f} ({rpd:,.0f} requests/day of {tokens:g} tokens to each edge "
            f"box): '{edge}' costs less per million tokens than '{cloud}' at the same utilization "
            f"{'above' if full > 1 else 'below'} it and more {'below' if full > 1 else 'above'} it "
            f"(cloud/edge cost ratio {ends})."
        )
    if constant and math.isclose(full, 1.0, rel_tol=1e-9):
        return (f"No break-even at equal utilization: '{edge}' and '{cloud}' cost the same per million tokens at "
                f"every utilization both share ({_why_constant(*terms)}).")  # fmt: skip
    if constant:
        return (
            f"No break-even at equal utilization: at any utilization both share, '{edge}' costs "
            f"{_less_or_more(full)} per million tokens than '{cloud}' (the ratio does not depend on utilization "
            f"because {_why_constant(*terms)})."
        )
    towards = "without bound" if math.isinf(low) else _less_or_more(low)
    return (
        f"No break-even at equal utilization: at any utilization both share, '{edge}' costs "
        f"{'less' if full > 1 else 'more'} per million tokens than '{cloud}', {_less_or_more(full)} at u = 1 and "
        f"{towards} as u approaches 0 (the ratio varies with utilization because the two sides split their "
        "hourly cost between idle and busy time differently)."
    )


def _fixed_cloud_sentence(
    edge: Profile, cloud: Profile, u: float, rpd: float, tokens: float, prompt: float | None, uc: float,
    edge_full: float, cloud_cost: float,
) -> str:
    """One sentence on the break-even against a cloud kept at utilization ``uc``, or against a hosted API."""
    if isinstance(cloud, HostedApi):
        cloud_note = f"hosted API '{cloud.name}' (per token at any volume, {prompt:g}-token prompts)"
        busy = "edge fully busy"
    else:
        cloud_note = f"'{cloud.name}' kept {uc:.0%} busy (a cloud instance serving the edge's traffic would not be)"
        busy = "both fully busy" if uc == 1.0 else "edge fully busy"
    if math.isnan(u):
        verdict = "cheaper" if edge_full < cloud_cost else "dearer"
        return (
            f"No break-even in (0, 1]: '{edge.name}' is {verdict} per million tokens than {cloud_note} at every "
            f"edge utilization ({busy}: ${edge_full:.4g} vs ${cloud_cost:.4g}, ratio {cloud_cost / edge_full:.3g})."
        )
    return (
        f"'{edge.name}' at utilization {u:.3f} ({rpd:,.0f} requests/day of {tokens:g} tokens) costs the same per "
        f"million tokens as {cloud_note}; the edge is cheaper {'above' if edge_full < cloud_cost else 'below'} that "
        "utilization."
    )
