"""Where the answer changes: which inputs of a second decision move the recommendation, one at a time.

Two decisions that differ in several inputs (the default and
``params/decision/decision-small-model.yaml``) are compared by swapping each
differing input group of the second into the first alone and deciding again:
the model served (model and quantization), the request volume, the per-token
and first-token limits, the traffic shape. A group whose swap alone changes the
recommended class (edge, cloud, hosted) moves the answer; when none does alone,
each pair is tried, and the paragraph says which pairs move it.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

from benchlib.decision.inputs import DecisionInputs
from benchlib.decision.recommend import DecisionResult

__all__ = ["INPUT_GROUPS", "Shift", "answer_shift"]

INPUT_GROUPS: dict[str, tuple[str, ...]] = {
    "the model served": ("model", "quantization"),
    "the request volume": ("requests_per_day",),
    "the per-token limit": ("tpot_target_s",),
    "the first-token limit": ("ttft_target_s", "service_level"),
    "the traffic shape": ("hourly_profile",),
}
"""Inputs swapped together (flat parameter names of :data:`benchlib.decision.inputs.FLAT_DEFAULTS`)."""


@dataclass(frozen=True)
class Shift:
    """One decision of the comparison.

    Attributes:
        swapped: What was taken from the second decision (``none``, an input group or two, ``all of them``).
        recommended: The recommended (or cheapest-on-central-values) candidate, or ``None``.
        answer_class: Its class (``edge``, ``cloud``, ``hosted``) or ``none``.
        determinable: Whether the evidence named one winner.
        statement: The decision's headline.
    """

    swapped: str
    recommended: str | None
    answer_class: str
    determinable: bool
    statement: str


def _shift(swapped: str, result: DecisionResult) -> Shift:
    winner = result.recommended.candidate if result.recommended is not None else None
    return Shift(swapped, winner.name if winner else None, winner.platform_class if winner else "none",
                 result.determinable, result.statement)  # fmt: skip


def answer_shift(base: DecisionInputs, other: DecisionInputs,
                 decide: Callable[[DecisionInputs], DecisionResult]) -> tuple[list[Shift], str]:  # fmt: skip
    """Decide ``base``, ``other``, and ``base`` with each differing input group of ``other`` swapped in.

    Args:
        base: The first decision's inputs (the default).
        other: The second's.
        decide: ``inputs -> DecisionResult`` (:func:`benchlib.decision.make_decision`, runs fixed by the caller).

    Returns:
        The decisions, and one paragraph saying which inputs move the answer from one class to another.
    """
    flat_base, flat_other = base.flat(), other.flat()
    differing = [g for g, names in INPUT_GROUPS.items() if any(flat_base[n] != flat_other[n] for n in names)]

    def swapped(groups: tuple[str, ...]) -> Shift:
        names = [name for group in groups for name in INPUT_GROUPS[group]]
        inputs = base.model_validate({**flat_base, **{name: flat_other[name] for name in names}})
        return _shift(" and ".join(groups), decide(inputs))

    shifts = [_shift("none", decide(base))]
    singles = [swapped((group,)) for group in differing]
    moved = [s for s in singles if s.answer_class != shifts[0].answer_class]
    pairs = []
    if not moved and len(differing) > 2:  # no input alone: which two together
        pairs = [swapped(pair) for pair in itertools.combinations(differing, 2)]
        moved = [s for s in pairs if s.answer_class != shifts[0].answer_class]
    shifts += [*singles, *pairs, _shift("all of them", decide(other))]
    return shifts, _paragraph(shifts[0], singles, moved, shifts[-1], base, other)


def _described(inputs: DecisionInputs) -> str:
    limits = inputs.targets.set_targets()
    shown = ", ".join(f"{name.removesuffix('_s').upper()} ≤ {value * 1e3:g} ms" for name, value in limits.items())
    return f"{inputs.service.label}, {inputs.workload.requests_per_day:,.0f} requests/day, {shown}"


def _answer(shift: Shift) -> str:
    if shift.recommended is None:
        return "no candidate qualifies"
    sure = "" if shift.determinable else " (not determinable on the evidence)"
    return f"{shift.answer_class}: {shift.recommended}{sure}"


def _paragraph(first: Shift, singles: list[Shift], moved: list[Shift], last: Shift, base: DecisionInputs,
               other: DecisionInputs) -> str:  # fmt: skip
    text = (f"The default ({_described(base)}) goes to {_answer(first)}; the second example "
            f"({_described(other)}) goes to {_answer(last)}. ")  # fmt: skip
    if last.answer_class == first.answer_class:
        return text + ("Nothing moves the answer between classes: each input of the second example, alone or "
                       "together, leaves it " + first.answer_class + ".")  # fmt: skip
    kept = "; ".join(f"{s.swapped} alone keeps {_answer(s)}" for s in singles if s not in moved)
    if moved:
        names = "; ".join(f"{s.swapped} ({_answer(s)})" for s in moved)
        alone = "" if any(s in singles for s in moved) else "No single input moves it. "
        return text + alone + f"What moves it: {names}." + (f" By contrast, {kept}." if kept else "")
    return text + (f"No single input or pair moves it ({kept}): only all of "
                   + ", ".join(s.swapped for s in singles) + " together change the answer.")  # fmt: skip
