"""Cost and energy per token carried from bootstrap samples of throughput (and power) to percentile intervals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from benchlib.cost.formulas import check_positive, energy_per_token_j
from benchlib.cost.pricing import cost_per_million_tokens_usd
from benchlib.cost.profiles import Profile
from benchlib.stats import Interval, percentile_interval

__all__ = ["CostUncertainty", "Interval", "cost_uncertainty", "percentile_interval"]


@dataclass(frozen=True)
class CostUncertainty:
    """Cost and energy per token propagated from throughput (and power) samples.

    Attributes:
        cost_per_million_usd: One cost per sample, USD per million tokens.
        energy_per_token_j: One energy per sample at full load, J/token; ``None``
            when the profile has no ``power_w`` and no power samples were given.
        cost: Median and percentile interval of ``cost_per_million_usd``.
        energy: Median and percentile interval of ``energy_per_token_j``, or ``None``.
        confidence: Coverage of the intervals.
    """

    cost_per_million_usd: np.ndarray
    energy_per_token_j: np.ndarray | None
    cost: Interval
    energy: Interval | None
    confidence: float


def cost_uncertainty(
    profile: Profile,
    throughput_tps_samples: Any,
    power_w_samples: Any = None,
    *,
    utilization: float = 1.0,
    confidence: float = 0.95,
) -> CostUncertainty:
    """Carry bootstrap samples of throughput (and power) into cost and energy per token.

    Args:
        profile: The platform's price profile.
        throughput_tps_samples: Bootstrap replicates of throughput, tokens per second.
        power_w_samples: Replicates of the draw under load, watts, paired with
            (or broadcast against) the throughput samples; default: the profile's ``power_w``.
        utilization: Busy fraction of the hour for the cost, in (0, 1].
        confidence: Coverage of the percentile intervals.

    Raises:
        ParameterError: ``profile`` is a hosted API, priced by its tokens and not by
            throughput (:func:`~benchlib.cost.runs.hosted_run_cost_summary` gives its interval).
    """
    tps = check_positive(np.atleast_1d(np.asarray(throughput_tps_samples, dtype=float)), "throughput_tps_samples")
    power = None if power_w_samples is None else np.asarray(power_w_samples, dtype=float)
    cost = np.asarray(cost_per_million_tokens_usd(profile, tps, utilization, power))
    watts = profile.power_w if power is None else power
    energy = None if watts is None else np.asarray(energy_per_token_j(watts, tps))
    return CostUncertainty(
        cost_per_million_usd=cost,
        energy_per_token_j=energy,
        cost=percentile_interval(cost, confidence),
        energy=None if energy is None else percentile_interval(energy, confidence),
        confidence=confidence,
    )
