"""What a profile costs: per hour and per million tokens at a utilization, or per token at a hosted API.

Owned and rented profiles cost money per hour (:func:`hourly_cost_usd`), so their
cost per token depends on throughput and utilization
(:func:`cost_per_million_tokens_usd`). A hosted API (:class:`~benchlib.cost.profiles.HostedApi`)
costs money per token (:func:`hosted_cost_usd`, :func:`hosted_usd_per_million_output_tokens`)
and has no hourly cost: the hourly functions refuse it with a message that names
the per-token ones, rather than invent an hour.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from benchlib.cost.formulas import (
    TOKENS_PER_MILLION,
    FloatOrArray,
    as_float_or_array,
    check_positive,
    check_utilization,
    owned_hourly_cost_usd,
    rented_hourly_cost_usd,
    token_cost_usd,
    usd_per_million_tokens,
)
from benchlib.cost.profiles import HostedApi, OwnedHardware, Profile
from benchlib.errors import ParameterError

__all__ = [
    "cost_per_million_tokens_usd",
    "hosted_cost_usd",
    "hosted_usd_per_million_output_tokens",
    "hourly_cost_usd",
    "refuse_hosted",
    "unchecked_hourly_cost_usd",
]


def refuse_hosted(profile: Profile, what: str) -> None:
    """Raise when ``profile`` is a hosted API, for a computation ``what`` that needs an hourly cost.

    Raises:
        ParameterError: ``profile`` is a :class:`HostedApi`; the message names it and the
            per-token functions to use instead.
    """
    if isinstance(profile, HostedApi):
        raise ParameterError(
            f"Price profile '{profile.name}' is a hosted API (kind: hosted), billed per token: it has no hourly "
            f"cost and no utilization, so {what} does not apply. Use benchlib.cost.hosted_cost_usd(profile, "
            "input_tokens, output_tokens) for USD, or benchlib.cost.hosted_usd_per_million_output_tokens(profile, "
            "prompt_tokens_per_request, output_tokens_per_request) for USD per million output tokens."
        )


def unchecked_hourly_cost_usd(profile: Profile, u: Any, power_w: Any = None) -> Any:
    """Hourly cost of ``profile`` at utilization ``u`` without checks (``u`` may be 0, for the break-even terms).

    Raises:
        ParameterError: ``profile`` is a hosted API (no hourly cost).
    """
    refuse_hosted(profile, "an hourly cost")
    active = profile.power_w if power_w is None else np.asarray(power_w, dtype=float)
    idle = active if profile.idle_power_w is None else profile.idle_power_w
    if isinstance(profile, OwnedHardware):
        watts = u * active + (1.0 - u) * idle
        return owned_hourly_cost_usd(
            profile.hardware_usd, profile.amortization_h, watts, profile.electricity_usd_per_kwh, profile.pue
        )
    if not profile.include_electricity:
        return rented_hourly_cost_usd(profile.price_per_hour_usd, profile.discount) + 0.0 * np.asarray(u)
    watts = u * active + (1.0 - u) * idle
    return rented_hourly_cost_usd(
        profile.price_per_hour_usd, profile.discount, watts, profile.electricity_usd_per_kwh, profile.pue
    )


def hourly_cost_usd(
    profile: Profile, utilization: FloatOrArray = 1.0, power_w: FloatOrArray | None = None
) -> FloatOrArray:
    """Hourly cost of a profile at a utilization, USD per hour.

    Owned: amortization + electricity at ``u * power_w + (1 - u) * idle_power_w``.
    Rented: the discounted price (the full hour, whatever ``u``), plus electricity
    only when the profile sets ``include_electricity``.

    Args:
        profile: An :class:`OwnedHardware` or :class:`RentedInstance`.
        utilization: Busy fraction of the hour, in (0, 1].
        power_w: Draw under load to use instead of the profile's (e.g. measured), watts.

    Raises:
        ParameterError: ``utilization`` outside (0, 1], or ``profile`` is a hosted API,
            which has no hourly cost (the message names :func:`hosted_cost_usd`).
    """
    refuse_hosted(profile, "hourly_cost_usd")
    return as_float_or_array(unchecked_hourly_cost_usd(profile, check_utilization(utilization), power_w))


def cost_per_million_tokens_usd(
    profile: Profile,
    throughput_tps: FloatOrArray,
    utilization: FloatOrArray = 1.0,
    power_w: FloatOrArray | None = None,
) -> FloatOrArray:
    """Cost per million tokens of an owned or rented profile from its throughput, USD.

    Args:
        profile: An :class:`OwnedHardware` or :class:`RentedInstance`.
        throughput_tps: Throughput while busy, tokens per second.
        utilization: Busy fraction of the hour, in (0, 1].
        power_w: Draw under load to use instead of the profile's, watts.

    Raises:
        ParameterError: ``profile`` is a hosted API: its cost per million output tokens
            depends on the prompt tokens sent with them, not on a throughput; use
            :func:`hosted_usd_per_million_output_tokens`.
    """
    refuse_hosted(profile, "cost_per_million_tokens_usd (a cost from throughput and utilization)")
    return usd_per_million_tokens(hourly_cost_usd(profile, utilization, power_w), throughput_tps, utilization)


def _hosted(profile: Profile, function: str) -> HostedApi:
    if not isinstance(profile, HostedApi):
        raise ParameterError(
            f"{function} prices a hosted API (kind: hosted); profile '{profile.name}' is kind {profile.kind}: "
            "use cost_per_million_tokens_usd(profile, throughput_tps, utilization) or hourly_cost_usd."
        )
    return profile


def hosted_cost_usd(profile: HostedApi, input_tokens: FloatOrArray, output_tokens: FloatOrArray) -> FloatOrArray:
    """What a hosted API charges for tokens, USD (broadcasts, e.g. over the 24 hours of a day).

    ``input_tokens * usd_per_million_input_tokens / 1e6 + output_tokens *
    usd_per_million_output_tokens / 1e6`` (:func:`~benchlib.cost.formulas.token_cost_usd`).
    A day of ``n`` requests of ``p`` prompt and ``o`` output tokens costs
    ``hosted_cost_usd(profile, n * p, n * o)``.

    Args:
        profile: A :class:`HostedApi`.
        input_tokens: Prompt tokens sent, tokens.
        output_tokens: Output tokens generated, tokens.

    Raises:
        ParameterError: ``profile`` is not a hosted API, or a token count is negative.
    """
    api = _hosted(profile, "hosted_cost_usd")
    return token_cost_usd(
        input_tokens, output_tokens, api.usd_per_million_input_tokens, api.usd_per_million_output_tokens
    )


def hosted_usd_per_million_output_tokens(
    profile: HostedApi, prompt_tokens_per_request: FloatOrArray, output_tokens_per_request: FloatOrArray
) -> FloatOrArray:
    """What a million output tokens cost at a hosted API, their prompts included, USD.

    ``hosted_cost_usd(profile, prompt, output) / output * 1e6`` — comparable with
    the cost per million (output) tokens of owned and rented platforms, and the
    same at any volume or utilization. Only the ratio of the two counts matters,
    so totals over many requests work as well as per-request figures.

    Args:
        profile: A :class:`HostedApi`.
        prompt_tokens_per_request: Prompt (input) tokens per request.
        output_tokens_per_request: Output tokens per request, > 0.

    Raises:
        ParameterError: ``profile`` is not a hosted API, or a count is out of range.
    """
    output = check_positive(output_tokens_per_request, "output_tokens_per_request")
    cost = np.asarray(hosted_cost_usd(profile, prompt_tokens_per_request, output), dtype=float)
    return as_float_or_array(cost / output * TOKENS_PER_MILLION)
