"""The recommendation: the cheapest candidate meeting every target and constraint, the runners-up, and why each other loses.

A candidate qualifies when every set target is known and met at p95 (a target
that cannot be checked is ``not known`` and disqualifies it, see
:mod:`benchlib.decision.capacity`), it satisfies the constraints (on premises
or offline: edge only) and it can be priced. Its cost is its cheapest variant
(:mod:`benchlib.decision.sizing`). When nothing qualifies, the result says so
and what each candidate misses: that is an answer, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from benchlib.cost import PriceBook
from benchlib.decision.candidates import Candidate, CandidateSet, build_candidates
from benchlib.decision.inputs import DecisionInputs
from benchlib.decision.sizing import Costing, cost_candidate
from benchlib.records import StoredRun

__all__ = ["DecisionResult", "Verdict", "decide", "make_decision"]


@dataclass(frozen=True)
class Verdict:
    """One candidate's place in the decision.

    Attributes:
        candidate: The candidate.
        costings: Its variants, cheapest first (empty when it cannot be priced or sized).
        qualifies: True when it meets every target and constraint and has a price.
        reasons: Why it does not qualify, in plain words (empty when it qualifies).
        why: Why it loses, in plain words (``recommended`` for the winner).
    """

    candidate: Candidate
    costings: tuple[Costing, ...]
    qualifies: bool
    reasons: tuple[str, ...]
    why: str = ""

    @property
    def best(self) -> Costing | None:
        """Its cheapest variant, or ``None``."""
        return self.costings[0] if self.costings else None

    @property
    def cost_per_day_usd(self) -> float:
        """Cost per day of its cheapest variant, USD (infinite when it cannot be priced)."""
        return self.best.cost_per_day_usd if self.best is not None else float("inf")


@dataclass(frozen=True)
class DecisionResult:
    """The decision and every number behind it.

    Attributes:
        inputs: What was asked.
        verdicts: Every candidate: the qualifying ones by cost, then the others by cost.
        recommended: The cheapest qualifying candidate, or ``None`` when none qualifies.
        runners_up: The other qualifying candidates, by cost.
        skipped: Runs and platforms left out, with why: ``(name, reason)``.
        statement: The decision in one paragraph of plain words.
    """

    inputs: DecisionInputs
    verdicts: tuple[Verdict, ...]
    recommended: Verdict | None
    runners_up: tuple[Verdict, ...]
    skipped: tuple[tuple[str, str], ...]
    statement: str

    def verdict(self, name: str) -> Verdict:
        """The verdict of the candidate called ``name`` (name, run id or platform).

        Raises:
            KeyError: no candidate matches; the message lists them.
        """
        for verdict in self.verdicts:
            if verdict.candidate.matches(name):
                return verdict
        raise KeyError(f"No candidate '{name}'; candidates: {', '.join(v.candidate.name for v in self.verdicts)}.")


def _money(usd: float) -> str:
    return f"${usd:,.2f}"


def _constraint_reason(candidate: Candidate, inputs: DecisionInputs) -> str | None:
    if not inputs.edge_only or candidate.platform_class == "edge":
        return None
    which = [name for name, on in (("on-premises", inputs.constraints.on_premises),
                                   ("offline", inputs.constraints.offline)) if on]  # fmt: skip
    return f"violates {' and '.join(which)}: {candidate.platform_class}"


def _reasons(candidate: Candidate, costings: list[Costing], inputs: DecisionInputs) -> list[str]:
    reasons = [check.words for check in candidate.checks if check.status != "meets"]
    constraint = _constraint_reason(candidate, inputs)
    if constraint:
        reasons.append(constraint)
    if candidate.price_profile is None:
        reasons.append(f"cannot be priced: no price profile (set price_profiles: {{'{candidate.name}': <profile>}})")
    elif not costings:
        reasons.append("cannot be sized: no throughput to size it by")
    return reasons


def decide(inputs: DecisionInputs, candidates: CandidateSet) -> DecisionResult:
    """Size and price every candidate, pick the cheapest qualifying one and say why each other loses."""
    verdicts = []
    for candidate in candidates.candidates:
        costings = sorted(cost_candidate(candidate, inputs.workload), key=lambda c: c.cost_per_day_usd)
        reasons = _reasons(candidate, costings, inputs)
        verdicts.append(Verdict(candidate, tuple(costings), not reasons, tuple(reasons)))
    qualifying = sorted((v for v in verdicts if v.qualifies), key=lambda v: v.cost_per_day_usd)
    others = sorted((v for v in verdicts if not v.qualifies), key=lambda v: v.cost_per_day_usd)
    winner = qualifying[0] if qualifying else None
    ranked = []
    for verdict in [*qualifying, *others]:
        ranked.append(Verdict(verdict.candidate, verdict.costings, verdict.qualifies, verdict.reasons,
                              _why(verdict, winner)))  # fmt: skip
    recommended = ranked[0] if winner is not None else None
    runners_up = tuple(ranked[1 : len(qualifying)])
    return DecisionResult(inputs, tuple(ranked), recommended, runners_up, candidates.skipped,
                          _statement(recommended, ranked, inputs))  # fmt: skip


def _why(verdict: Verdict, winner: Verdict | None) -> str:
    if verdict is winner:
        return "recommended"
    if not verdict.qualifies:
        return "; ".join(verdict.reasons)
    assert winner is not None and verdict.best is not None and winner.best is not None
    more = verdict.cost_per_day_usd - winner.cost_per_day_usd
    return (f"costs {_money(more)}/day more than {winner.candidate.name} ({verdict.best.variant} "
            f"{_money(verdict.cost_per_day_usd)}/day vs {winner.best.variant} {_money(winner.cost_per_day_usd)}/day)")  # fmt: skip


def _statement(recommended: Verdict | None, ranked: list[Verdict], inputs: DecisionInputs) -> str:
    workload = inputs.workload
    volume = f"{workload.requests_per_day:,.0f} requests/day ({workload.output_tokens} output tokens each)"
    if recommended is None:
        if not ranked:
            return f"No candidate qualifies for {volume}: there are no candidates (no measured run, no published platform)."
        misses = "; ".join(f"{v.candidate.name}: {v.why}" for v in ranked)
        return f"No candidate qualifies for {volume}. What each misses: {misses}."
    best = recommended.best
    assert best is not None
    size = f"{best.devices} × {recommended.candidate.platform}" if best.devices else recommended.candidate.platform
    return (
        f"Recommended for {volume}: {recommended.candidate.name} ({recommended.candidate.platform_class}, "
        f"{recommended.candidate.source}), {best.variant}: {size}, {_money(best.cost_per_day_usd)}/day, "
        f"{_money(best.cost_per_month_usd)}/month, {_money(best.usd_per_million_output_tokens)} per million output "
        f"tokens at {best.utilization:.0%} utilization."
    )


def make_decision(
    inputs: DecisionInputs,
    runs: list[StoredRun] | None = None,
    reference: pd.DataFrame | None = None,
    prices: PriceBook | None = None,
) -> DecisionResult:
    """Build the candidates the inputs select (:func:`~benchlib.decision.candidates.build_candidates`) and decide."""
    return decide(inputs, build_candidates(inputs, runs, reference, prices))
