"""Fleet sweeps: a matrix of sweeps over many devices, one sweep per device at a time (``benchlib fleet``).

* :mod:`~benchlib.fleet.matrix`: the fleet file (``params/fleet/*.yaml``): base parameters, matrix axes with
  ``exclude``/``include``, targets; expanded into :class:`~benchlib.fleet.matrix.FleetSweep` values, every
  problem reported at once;
* :mod:`~benchlib.fleet.local`: the sweeps one after another on this machine (the default);
* :mod:`~benchlib.fleet.ray_runner`: each sweep a Ray task pinned to its device's custom resource
  (``benchlib-device:LABEL``), run directories packed back to the driver (``--ray``, extra ``.[fleet]``).

Import from the modules; this package re-exports nothing (Ray is imported only by the Ray runner).
"""

__all__: list[str] = []
