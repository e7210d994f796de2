"""The decision: which candidate meets your service targets at your volume for the least money.

Modules, one job each:

* :mod:`~benchlib.decision.hourly`: the 24 hourly shares of a day's traffic (flat, diurnal, your own).
* :mod:`~benchlib.decision.inputs`: the model served, targets, workload, constraints and candidates, validated;
  loaded from ``params/decision/decision.yaml`` or from the notebook's flat parameters.
* :mod:`~benchlib.decision.service_levels`: published service levels (MLPerf's), cited.
* :mod:`~benchlib.decision.platform_catalog`: the mission's platforms (``decision-platforms.yaml``).
* :mod:`~benchlib.decision.serving`: a candidate's serving curve (load levels, per request);
  :mod:`~benchlib.decision.candidate_sources`: from runs or the performance model.
* :mod:`~benchlib.decision.queueing`: M/G/c simulation, Erlang C; :mod:`~benchlib.decision.load_capacity`:
  the fleet meeting the targets at an arrival rate, queue wait included.
* :mod:`~benchlib.decision.capacity`: target checks and the per-device capacity.
* :mod:`~benchlib.decision.candidates`: the platforms, runs of the model and hosted APIs, sized at the peak.
* :mod:`~benchlib.decision.sizing`: devices of each hour, cost and energy per day and month.
* :mod:`~benchlib.decision.recommend`: the cheapest qualifying candidate, cost intervals, "not determinable".
* :mod:`~benchlib.decision.report`: ``figures/decision.csv`` and ``figures/decision.md``.
* :mod:`~benchlib.decision.sensitivity`: the tornado ``figures/decision_sensitivity.png`` and its CSV.
* :mod:`~benchlib.decision.answer_shift`: which inputs move the answer between two decisions.
* :mod:`~benchlib.decision.hybrid` (with :mod:`~benchlib.decision.hybrid_token_bucket`): N edge devices
  with cloud overflow, a seeded one-day simulation; :mod:`~benchlib.decision.hybrid_plot`:
  ``figures/hybrid.csv`` and ``figures/hybrid.png``; :mod:`~benchlib.decision.hybrid_sides`:
  the two sides and their daily costs from the decision's candidates.

Typical use (the decision notebook)::

    inputs = load_decision_inputs("params/decision/decision.yaml")   # or decision_inputs(**flat parameters)
    result = make_decision(inputs)
    csv_path, md_path = write_decision(result, "figures")
"""

from benchlib.decision.answer_shift import answer_shift
from benchlib.decision.candidates import Candidate, CandidateSet, build_candidates
from benchlib.decision.capacity import Capacity, LatencySamples, TargetCheck
from benchlib.decision.hourly import diurnal_shares, flat_shares, hourly_shares
from benchlib.decision.inputs import (
    DIURNAL_PARAMS,
    FLAT_DEFAULTS,
    FLAT_PARAMS,
    SMALL_MODEL_PARAMS,
    CandidateSelection,
    Constraints,
    DecisionInputs,
    Targets,
    Traffic,
    decision_inputs,
    load_decision_inputs,
)
from benchlib.decision.recommend import DecisionResult, Verdict, decide, make_decision
from benchlib.decision.report import decision_table, write_decision
from benchlib.decision.sensitivity import sensitivity_table, write_sensitivity
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
    "SMALL_MODEL_PARAMS",
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
    "Traffic",
    "Verdict",
    "answer_shift",
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
    "sensitivity_table",
    "write_decision",
    "write_sensitivity",
]
