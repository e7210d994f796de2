"""What the plausibility check says of each published claim, in a few words for figure labels.

A platform's claims at one model size stand or fall together: when its
throughput or per-token latency is above the bandwidth ceiling or beyond any
published measurement, every figure derived from it (energy per token, cost
per million tokens, end-to-end time) rests on a rejected claim.
"""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from benchlib.analysis.plausibility import VERDICT_IMPLAUSIBLE, plausibility_table
from benchlib.analysis.plausibility_evidence import VERDICT_BEYOND_EVIDENCE

__all__ = ["CHECKED_METRICS", "REJECTED", "claim_status", "claim_statuses"]

REJECTED = "REJECTED"
CHECKED_METRICS = ("per_token_latency", "throughput")
DERIVED_METRICS = ("energy_per_token", "cost_per_million_tokens", "e2e_128_tokens")
"""The metrics computed from a throughput or per-token latency: they fall with it (a power figure does not)."""
"""The metrics the plausibility check tests directly."""


@lru_cache(maxsize=8)
def _statuses(reference_csv_text: str) -> tuple[tuple[tuple[str, str], str], ...]:
    from io import StringIO

    reference = pd.read_csv(StringIO(reference_csv_text))
    table = plausibility_table(reference=reference)
    statuses: dict[tuple[str, str], str] = {}
    for row in table.itertuples():
        key = (row.platform, row.model)
        if VERDICT_IMPLAUSIBLE in row.verdict:
            statuses[key] = f"{REJECTED}: above the bandwidth ceiling"
        elif VERDICT_BEYOND_EVIDENCE in row.verdict and REJECTED not in statuses.get(key, ""):
            statuses[key] = f"{REJECTED}: beyond any published measurement"
        else:
            statuses.setdefault(key, "within the ceiling and the evidence")
    return tuple(statuses.items())


def claim_statuses(reference: pd.DataFrame) -> dict[tuple[str, str], str]:
    """``{(platform, model_size): status}`` for every platform and size the check can test."""
    if reference.empty:
        return {}
    return dict(_statuses(reference.to_csv(index=False)))


def claim_status(statuses: dict[tuple[str, str], str], platform: str, model_size: str, metric: str) -> str:
    """The words for one claim: its own verdict, or that it rests on a rejected one."""
    status = statuses.get((platform, model_size))
    if status is None or metric not in (*CHECKED_METRICS, *DERIVED_METRICS):
        return "not checked"
    if metric in CHECKED_METRICS or REJECTED not in status:
        return status
    return f"{REJECTED}: derived from a rejected throughput"
