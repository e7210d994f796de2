"""Sweep configuration: sections validated next to their fields, and the run id they define.

* :mod:`~benchlib.config.sections`: run, runtime, workload, load, power, pricing;
* :mod:`~benchlib.config.sweep`: :class:`SweepConfig`, built from the flat
  parameters of a YAML file or the sweep notebook;
* :mod:`~benchlib.config.schema`: JSON Schema of parameter files and of ``run.json``.
"""

from benchlib.config.sweep import SECTIONS, SweepConfig, parameter_defaults

__all__ = ["SECTIONS", "SweepConfig", "parameter_defaults"]
