"""Everything a sweep can check before a kernel starts and before its run directory exists.

``benchlib sweep`` calls :func:`preflight` after the parameters validated:
the model (it exists, is a whole GGUF file, or is a catalogue name), the
server of an ``http`` sweep (it answers and serves the model), and the power
source (a named one this machine lacks is refused). A refused sweep has
written nothing under ``data/runs/``.
"""

from __future__ import annotations

from benchlib.config import SweepConfig
from benchlib.paths import check_output_folder
from benchlib.power.session import PowerSession
from benchlib.records import RunDirectory
from benchlib.sweep.engine import create_driver

__all__ = ["preflight"]


def preflight(config: SweepConfig, fresh: bool = False) -> None:
    """Check the model or server and the power source of a validated configuration; create nothing.

    Args:
        config: The validated configuration.
        fresh: The sweep will delete earlier results first (so they are not compared with this model).

    Raises:
        BenchlibError: what would make the sweep fail at its start, with how to fix it
            (a missing or damaged model file, a server that does not answer or does not
            serve the model, a power source this machine lacks).
    """
    check_output_folder(config.run_dir())
    store = RunDirectory(config.run_dir())
    driver = create_driver(config)
    driver.check(store, None if fresh else store.read_meta())
    driver.open()
    driver.close()
    power = PowerSession(config.power_settings())
    power.open()
    power.close()

