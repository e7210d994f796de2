"""The sweep engine."""

from benchlib.runner import SweepResult, run_sweep

__all__ = ["SweepResult", "run_sweep"]
