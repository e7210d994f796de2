"""The recommendation: the cheapest candidate meeting every target and constraint, the runners-up, and why each other loses.

A candidate qualifies when every set target is known and met at the targets'
percentile with its fleet's queue (a target that cannot be checked is ``not
known`` and disqualifies it), it satisfies the constraints (on premises or
offline: edge only) and it can be priced. Its cost is its cheapest variant
(:mod:`benchlib.decision.sizing`), with a 95% interval from re-sizing its fleet
at both ends of its throughput interval (prices are taken as given).

The headline says "not determinable" instead of naming one winner when the two
cheapest qualifying candidates' cost intervals overlap, or when the winner
qualifies only on a prediction whose interval straddles a target; it then names
the measurement that would decide. When nothing qualifies, the result says so
and what each candidate misses: that is an answer, not an error.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import pandas as pd

from benchlib.cost import PriceBook
from benchlib.decision.candidates import (
    Candidate,
    CandidateSet,
    build_candidates,
    resize,
)
from benchlib.decision.capacity import TargetCheck
from benchlib.decision.inputs import DecisionInputs
from benchlib.decision.load_capacity import LoadSizing
from benchlib.decision.sizing import Costing, cost_candidate
from benchlib.records import StoredRun

__all__ = ["DecisionResult", "Verdict", "decide", "make_decision", "money_interval"]


@dataclass(frozen=True)
class Verdict:
    """One candidate's place in the decision.

    Attributes:
        candidate: The candidate.
        costings: Its variants, cheapest first (empty when it cannot be priced or sized).
        qualifies: True when it meets every target and constraint and has a price.
        reasons: Why it does not qualify, in plain words (empty when it qualifies).
        why: Why it loses, in plain words (``recommended`` for the winner).
        cost_interval_usd: Cost per day of its cheapest variant at the slow and fast ends of its
            throughput interval (NaN, NaN when it has none).
        doubt: Why its qualifying (or failing) rests on a prediction whose interval straddles a target, or "".
    """

    candidate: Candidate
    costings: tuple[Costing, ...]
    qualifies: bool
    reasons: tuple[str, ...]
    why: str = ""
    cost_interval_usd: tuple[float, float] = (math.nan, math.nan)
    doubt: str = ""

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
        determinable: False when the evidence cannot decide between the two cheapest (see the module).
        not_comparable: Runs of other models: ``(run id, model)``.
    """

    inputs: DecisionInputs
    verdicts: tuple[Verdict, ...]
    recommended: Verdict | None
    runners_up: tuple[Verdict, ...]
    skipped: tuple[tuple[str, str], ...]
    statement: str
    determinable: bool = True
    not_comparable: tuple[tuple[str, str], ...] = ()

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
    elif not costings and not reasons:
        reasons.append("cannot be sized: no load level to size it by")
    return reasons


def _cost_interval(candidate: Candidate, inputs: DecisionInputs) -> tuple[float, float]:
    """Cheapest-variant cost per day with the fleet re-sized at the slow and fast ends of the throughput interval."""
    level = candidate.sizing.level if candidate.sizing is not None else None
    if level is None or not (math.isfinite(level.speed_low) and math.isfinite(level.speed_high)):
        return math.nan, math.nan
    ends = []
    for speed in (level.speed_low, level.speed_high):
        costs = [c.cost_per_day_usd for c in cost_candidate(resize(candidate, inputs, speed), inputs)]
        ends.append(min(costs) if costs else math.inf)
    return min(ends), max(ends)


def _doubt(candidate: Candidate) -> str:
    """Why the TPOT check of a predicted candidate could go either way, or ""."""
    if candidate.source != "predicted" or candidate.sizing is None:
        return ""
    low, high = candidate.sizing.level.tpot_interval_s
    for check in candidate.checks:
        if check.metric == "tpot_s" and math.isfinite(low) and low <= check.target_s < high:
            return (f"its predicted per-token latency {check.achieved_s * 1e3:.3g} ms [{low * 1e3:.3g}, "
                    f"{high * 1e3:.3g}] straddles the {check.target_s * 1e3:g} ms limit")  # fmt: skip
    return ""


def decide(inputs: DecisionInputs, candidates: CandidateSet) -> DecisionResult:
    """Size and price every candidate, pick the cheapest qualifying one and say why each other loses."""
    verdicts = []
    for candidate in candidates.candidates:
        costings = sorted(cost_candidate(candidate, inputs), key=lambda c: c.cost_per_day_usd)
        reasons = _reasons(candidate, costings, inputs)
        interval = _cost_interval(candidate, inputs) if costings else (math.nan, math.nan)
        verdicts.append(Verdict(candidate, tuple(costings), not reasons, tuple(reasons), "", interval,
                                _doubt(candidate)))  # fmt: skip
    qualifying = sorted((v for v in verdicts if v.qualifies), key=lambda v: v.cost_per_day_usd)
    others = sorted((v for v in verdicts if not v.qualifies), key=lambda v: v.cost_per_day_usd)
    winner = qualifying[0] if qualifying else None
    ranked = [dataclasses.replace(v, why=_why(v, winner)) for v in [*qualifying, *others]]
    recommended = ranked[0] if winner is not None else None
    runners_up = tuple(ranked[1 : len(qualifying)])
    undecided = _undecided(recommended, runners_up)
    statement = _statement(recommended, ranked, inputs, undecided)
    return DecisionResult(inputs, tuple(ranked), recommended, runners_up, candidates.skipped, statement,
                          not undecided, candidates.not_comparable)  # fmt: skip


def _undecided(recommended: Verdict | None, runners_up: tuple[Verdict, ...]) -> str:
    """Why the evidence cannot name one winner, or ""."""
    if recommended is None:
        return ""
    reasons = []
    if recommended.doubt:
        reasons.append(f"{recommended.candidate.name} qualifies on a prediction alone: {recommended.doubt}")
    if runners_up:
        second = runners_up[0]
        low_2 = second.cost_interval_usd[0] if math.isfinite(second.cost_interval_usd[0]) else second.cost_per_day_usd
        high_1 = recommended.cost_interval_usd[1]
        high_1 = high_1 if math.isfinite(high_1) else recommended.cost_per_day_usd
        if low_2 < high_1:
            reasons.append(f"the cost intervals of {recommended.candidate.name} and {second.candidate.name} overlap "
                           f"({money_interval(recommended)} vs {money_interval(second)} a day)")  # fmt: skip
    return "; ".join(reasons)


def money_interval(verdict: Verdict) -> str:
    """``$24.00 [$24.00, $36.00]``; an end where no fleet meets the targets says so."""
    low, high = verdict.cost_interval_usd
    shown = _money(verdict.cost_per_day_usd)
    if math.isnan(low) or math.isnan(high):
        return shown
    ends = [_money(v) if math.isfinite(v) else "no fleet meets the targets" for v in (low, high)]
    return f"{shown} [{ends[0]}, {ends[1]}]"


def _why(verdict: Verdict, winner: Verdict | None) -> str:
    if verdict is winner:
        return "recommended"
    if not verdict.qualifies:
        return "; ".join(verdict.reasons)
    assert winner is not None and verdict.best is not None and winner.best is not None
    more = verdict.cost_per_day_usd - winner.cost_per_day_usd
    return (f"costs {_money(more)}/day more than {winner.candidate.name} ({verdict.best.variant} "
            f"{_money(verdict.cost_per_day_usd)}/day vs {winner.best.variant} {_money(winner.cost_per_day_usd)}/day)")  # fmt: skip


def _check_words(check: TargetCheck, sizing: LoadSizing) -> str:
    """``p95 TTFT 0.119 s [0.0151, 0.971]``: what a sized candidate achieves, with the prediction's interval if it has one.

    A TTFT includes the queue wait: its interval is the predicted one plus the fleet's p95 wait.
    """
    low, high = sizing.level.interval_s(check.metric)
    wait_s = sizing.wait_p95_s if check.metric == "ttft_s" else 0.0
    interval = f" [{low + wait_s:.3g}, {high + wait_s:.3g}]" if math.isfinite(low) and math.isfinite(high) else ""
    return f"{check.at} {check.metric.removesuffix('_s').upper()} {check.achieved_s:.3g} s{interval}"


def _fleet_words(verdict: Verdict) -> str:
    best, candidate = verdict.best, verdict.candidate
    assert best is not None
    if not best.devices:
        return f"{candidate.platform} ({candidate.source}), {best.variant}: {money_interval(verdict)}/day"
    sizing = candidate.sizing
    assert sizing is not None and sizing.stats is not None
    checks = ", ".join(_check_words(c, sizing) for c in candidate.checks)
    return (f"{best.devices} × {candidate.platform} ({candidate.source}), batching {sizing.level.slots} "
            f"stream{'s' * (sizing.level.slots != 1)} each, {best.variant}; at the peak hour utilization "
            f"{sizing.utilization:.0%}, p95 queue wait {sizing.wait_p95_s:.3g} s{'; ' + checks if checks else ''}; "
            f"{money_interval(verdict)}/day, {_money(best.usd_per_million_output_tokens)} per million output tokens")  # fmt: skip


def _statement(recommended: Verdict | None, ranked: list[Verdict], inputs: DecisionInputs, undecided: str) -> str:
    workload = inputs.workload
    volume = (f"{inputs.service.label} at {workload.requests_per_day:,.0f} requests/day "
              f"({workload.output_tokens} output tokens each)")  # fmt: skip
    if recommended is None:
        if not ranked:
            return f"No candidate qualifies for {volume}: there are no candidates."
        misses = "; ".join(f"{v.candidate.name}: {v.why}" for v in ranked)
        return f"No candidate qualifies for {volume}. What each misses: {misses}."
    if undecided:
        second = next((v for v in ranked[1:] if v.qualifies), None)
        names = f"{recommended.candidate.name} and {second.candidate.name}" if second else recommended.candidate.name
        narrow = recommended.candidate.to_narrow or "a load sweep of the model on the cheapest candidate"
        return (f"Not determinable for {volume} between {names}: {undecided}. Cheapest on central values: "
                f"{_fleet_words(recommended)}. What would decide it: {narrow}.")  # fmt: skip
    return f"Recommended for {volume}: {_fleet_words(recommended)}.{_edge_words(recommended, ranked)}"


def _edge_words(recommended: Verdict, ranked: list[Verdict]) -> str:
    """What the best edge candidate misses, when the recommendation is not at the edge."""
    if recommended.candidate.platform_class == "edge":
        return ""
    edge = next((v for v in ranked if v.candidate.platform_class == "edge"), None)
    if edge is None:
        return ""
    if edge.qualifies:
        return f" The cheapest edge candidate, {edge.candidate.name}, qualifies at {money_interval(edge)}/day."
    return f" The edge loses: {edge.candidate.name} ({edge.candidate.source}) {edge.why}."


def make_decision(
    inputs: DecisionInputs,
    runs: list[StoredRun] | None = None,
    reference: pd.DataFrame | None = None,
    prices: PriceBook | None = None,
) -> DecisionResult:
    """Build the candidates the inputs select (:func:`~benchlib.decision.candidates.build_candidates`) and decide."""
    return decide(inputs, build_candidates(inputs, runs, reference, prices))
