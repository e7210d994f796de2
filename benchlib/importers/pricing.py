"""Cost and energy of an imported run: priced like any run, without intervals benchlib did not compute.

With timed per-request rows the run is priced by :func:`benchlib.cost.price_run`
(its bootstrap interval included). With aggregates only, the cost is the
point value from the tool's throughput (or, for a hosted API, its token
totals) and the interval is left empty.

Energy comes from the import's ``--power-w`` (mean power over the run) or
``--energy-j`` (energy over the run): benchlib did not measure it, so it is
recorded as ``estimated``, with the figure's origin as its source.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchlib.cost import TOKENS_PER_MILLION, HostedApi, cost_per_million_tokens_usd, hosted_cost_usd, hourly_cost_usd, price_run

from benchlib.errors import ParameterError
from benchlib.metrics.run import successful_requests

__all__ = ["STATED_ENERGY_KIND", "imported_energy", "price_imported"]

STATED_ENERGY_KIND = "estimated"
"""How energy given with an import is recorded: not measured by benchlib."""


def _timed(requests: pd.DataFrame | None) -> bool:
    return requests is not None and not requests.empty and bool(pd.to_numeric(requests["sent_unix_s"], errors="coerce").notna().all())


def price_imported(profile, summary: dict[str, Any], requests: pd.DataFrame | None, workload: dict[str, Any]) -> dict[str, Any] | None:
    """The run's cost under ``profile``, or ``None`` when nothing to price it from is known.

    Args:
        profile: A price profile (:mod:`benchlib.cost`).
        summary: The run's summary (``system_throughput_tps``, ``energy``).
        requests: Its per-request rows, or ``None``.
        workload: What the tool ran (``total_input_tokens``/``total_output_tokens`` for a hosted API).
    """
    ok = successful_requests(requests) if requests is not None else None
    if isinstance(profile, HostedApi):
        if ok is not None and not ok.empty and ok["prompt_tokens"].notna().all():
            return price_run(profile, summary, ok)
        prompt, output = workload.get("total_input_tokens"), workload.get("total_output_tokens")
        if not prompt or not output:
            return None
        per_million = float(hosted_cost_usd(profile, prompt, output)) / output * TOKENS_PER_MILLION
        return _point(profile, per_million, hourly=None)
    if _timed(ok):
        return price_run(profile, summary, ok)
    throughput = (summary.get("system_throughput_tps") or {}).get("value")
    if not throughput:
        return None
    per_million = float(cost_per_million_tokens_usd(profile, throughput, 1.0, None))
    return _point(profile, per_million, hourly=float(hourly_cost_usd(profile, 1.0, None)))


def _point(profile, per_million_usd: float, hourly: float | None) -> dict[str, Any]:
    return {
        "price_profile": profile.name, "kind": profile.kind, "utilization": 1.0 if hourly is not None else None,
        "power_w": getattr(profile, "power_w", None), "power_source": "profile", "hourly_cost_usd": hourly,
        "cost_per_million_usd": {"value": per_million_usd, "ci_low": None, "ci_high": None, "confidence": None},
        "basis": "the tool's aggregates: a point value, no interval",
    }  # fmt: skip


def imported_energy(summary: dict[str, Any], power_w: float | None, energy_j: float | None) -> dict[str, Any]:
    """The energy summary of an imported run from a stated mean power or total energy.

    Raises:
        ParameterError: Both given, a figure that is not positive, or nothing to divide by.
    """
    if power_w is None and energy_j is None:
        return {"valid": False, "problem": "imported without a power figure: give --power-w or --energy-j"}
    if power_w is not None and energy_j is not None:
        raise ParameterError("give --power-w (mean power over the run) or --energy-j (energy over the run), not both")
    figure = power_w if power_w is not None else energy_j
    if not figure > 0:
        raise ParameterError(f"{'--power-w' if power_w is not None else '--energy-j'} must be positive, got {figure}")
    throughput = (summary.get("system_throughput_tps") or {}).get("value")
    window_s, tokens = summary.get("measured_window_s"), summary.get("output_tokens")
    if power_w is not None:
        if not throughput:
            raise ParameterError("--power-w needs the run's throughput, which this file does not give; use --energy-j")
        per_token, mean_power_w, source = power_w / throughput, power_w, f"stated on import: --power-w {power_w:g} W"
    else:
        if not tokens:
            raise ParameterError("--energy-j needs the run's output-token count, which this file does not give; use --power-w")
        per_token, source = energy_j / tokens, f"stated on import: --energy-j {energy_j:g} J"
        mean_power_w = energy_j / window_s if window_s else None
    return {
        "valid": True, "kind": STATED_ENERGY_KIND, "source": source, "boundary": "as stated by the user",
        "method": "stated figure / the tool's throughput or token count", "mean_power_w": mean_power_w,
        "energy_per_token_j": {"value": per_token, "ci_low": None, "ci_high": None},
        "idle_power_w": None, "idle_subtracted_energy_per_token_j": None,
        "note": "given with the import, not measured by benchlib",
    }  # fmt: skip
