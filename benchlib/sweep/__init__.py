"""The sweep engine and its workload drivers.

* :mod:`~benchlib.sweep.engine`: :func:`run_sweep`, one lifecycle (run
  directory, reuse and repricing, power session, attempts, stop and resume, finish);
* :mod:`~benchlib.sweep.driver`: what the engine asks of a driver;
* :mod:`~benchlib.sweep.sequential`: requests one at a time to an in-process runtime;
* :mod:`~benchlib.sweep.load_steps`: closed-loop and Poisson steps against a server,
  built on :mod:`~benchlib.sweep.steps` (one step) and
  :mod:`~benchlib.sweep.partial_log` (rows a kill cannot lose);
* :mod:`~benchlib.sweep.rows`: the rows of ``requests.parquet``;
* :mod:`~benchlib.sweep.run_record`: the parts of ``run.json`` the engine writes;
* :mod:`~benchlib.sweep.command`: ``benchlib sweep``, every repeat through the sweep notebook.
"""

from benchlib.sweep.engine import SweepResult, create_driver, prepare_run_directory, run_sweep

__all__ = ["SweepResult", "create_driver", "prepare_run_directory", "run_sweep"]
