"""Sweep configuration: the parameters of one sweep, validated, and the run id they define."""

from benchlib.runner import SweepParams as SweepConfig

__all__ = ["SweepConfig"]
