"""Repeats of a sweep: independent runs of one condition, and the run id of each.

A *condition* is what a sweep's defining parameters measure; its id is the
run id those parameters have always had (:func:`~benchlib.records.directory.run_id_for`).
``repeats: N`` measures the condition N times, each repeat in its own process,
with its own model load and its own run directory:

* repeat 1 keeps the condition id as its run id, so a run measured before
  repeats existed, or with ``repeats: 1``, is repeat 1 of its condition;
* repeat k > 1 is ``CONDITION_ID-rK`` (a run id's hash is hexadecimal, so no
  condition id ends in ``-rK``).

The repeat index is part of a run's identity, the number of repeats is not:
raising ``repeats`` from 1 to 3 reuses the complete repeat 1 and measures 2
and 3; lowering it measures nothing new. Each ``run.json`` records
``condition_id`` and ``repeat_index`` (:class:`~benchlib.records.record.RunRecord`).
"""

from __future__ import annotations

from collections.abc import Iterable

from benchlib.records.stored import StoredRun

__all__ = ["REPEATS_MAX", "repeat_run_id", "runs_by_condition"]

REPEATS_MAX = 100
"""The most repeats one sweep may ask for."""


def repeat_run_id(condition_id: str, repeat_index: int) -> str:
    """The run id of one repeat of a condition.

    Args:
        condition_id: The condition's id (the run id of its parameters).
        repeat_index: Which repeat, from 1.

    Returns:
        ``condition_id`` itself for repeat 1, else ``CONDITION_ID-rK``.

    Raises:
        ValueError: a repeat index below 1.
    """
    if repeat_index < 1:
        raise ValueError(f"a repeat index starts at 1, got {repeat_index}")
    return condition_id if repeat_index == 1 else f"{condition_id}-r{repeat_index}"


def runs_by_condition(runs: Iterable[StoredRun]) -> dict[str, list[StoredRun]]:
    """Runs grouped by condition id, each group in repeat order (conditions in the order first seen).

    Runs written before repeats existed (no ``condition_id`` in ``run.json``)
    are repeat 1 of the condition named by their run id, and imported runs
    are conditions of their own.
    """
    groups: dict[str, list[StoredRun]] = {}
    for run in runs:
        groups.setdefault(run.record.condition_id, []).append(run)
    return {condition: sorted(group, key=lambda run: run.record.repeat_index) for condition, group in groups.items()}
