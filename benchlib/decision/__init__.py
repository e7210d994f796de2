"""The decision: which candidate meets your service targets at your volume for the least money.

Modules, one job each:

* :mod:`~benchlib.decision.hourly`: the 24 hourly shares of a day's traffic (flat, diurnal, your own).
* :mod:`~benchlib.decision.inputs`: targets, workload, constraints and candidates, validated;
  loaded from ``params/decision/decision.yaml`` or from the notebook's flat parameters.
* :mod:`~benchlib.decision.capacity`: capacity under the targets (load steps, single stream,
  published figures) and each target checked.
* :mod:`~benchlib.decision.candidates`: every measured run and published platform, with its price profile.
* :mod:`~benchlib.decision.sizing`: devices for the peak hour, cost and energy per day and month.
* :mod:`~benchlib.decision.recommend`: the cheapest qualifying candidate, runners-up, why each other loses.
* :mod:`~benchlib.decision.report`: ``figures/decision.csv`` and ``figures/decision.md``.
* :mod:`~benchlib.decision.hybrid` (with :mod:`~benchlib.decision.hybrid_admission`): N edge devices
  with cloud overflow, a seeded one-day simulation; :mod:`~benchlib.decision.hybrid_plot`:
  ``figures/hybrid.csv`` and ``figures/hybrid.png``; :mod:`~benchlib.decision.hybrid_wiring`:
  the two sides and their daily costs from the decision's candidates.

Typical use (the decision notebook)::

    inputs = load_decision_inputs("params/decision/decision.yaml")   # or decision_inputs(**flat parameters)
    result = make_decision(inputs)
    csv_path, md_path = write_decision(result, "figures")
"""

from benchlib.decision.candidates import Candidate, CandidateSet, build_candidates
from benchlib.decision.capacity import Capacity, LatencySamples, TargetCheck
from benchlib.decision.hourly import diurnal_shares, flat_shares, hourly_shares
from benchlib.decision.inputs import (
    DIURNAL_PARAMS,
    FLAT_DEFAULTS,
    FLAT_PARAMS,
    CandidateSelection,
    Constraints,
    DecisionInputs,
    Targets,
    Workload,
    decision_inputs,
    load_decision_inputs,
)
from benchlib.decision.recommend import DecisionResult, Verdict, decide, make_decision
from benchlib.decision.report import decision_table, write_decision
from benchlib.decision.sizing import (
    DAYS_PER_MONTH,
    VARIANTS,
    Costing,
    cost_candidate,
    hourly_requests_per_s,
)

__all__ = [
    "DAYS_PER_MONTH",
    "DIURNAL_PARAMS",
    "FLAT_DEFAULTS",
    "FLAT_PARAMS",
    "VARIANTS",
    "Candidate",
    "CandidateSelection",
    "CandidateSet",
    "Capacity",
    "Constraints",
    "Costing",
    "DecisionInputs",
    "DecisionResult",
    "LatencySamples",
    "TargetCheck",
    "Targets",
    "Verdict",
    "Workload",
    "build_candidates",
    "cost_candidate",
    "decide",
    "decision_inputs",
    "decision_table",
    "diurnal_shares",
    "flat_shares",
    "hourly_requests_per_s",
    "hourly_shares",
    "load_decision_inputs",
    "make_decision",
    "write_decision",
]
