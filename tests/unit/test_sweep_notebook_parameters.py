"""The sweep notebook's parameters cell names every sweep parameter, at its default: papermill runs it as is."""

from __future__ import annotations

import json
from pathlib import Path

from benchlib.config import SweepConfig
from benchlib.config.sweep import parameter_defaults

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "sweep.ipynb"


def _parameters_cell() -> dict:
    cells = json.loads(NOTEBOOK.read_text())["cells"]
    cell = next(c for c in cells if "parameters" in c.get("metadata", {}).get("tags", []))
    values: dict = {}
    exec("".join(cell["source"]), values)  # noqa: S102 (our own notebook's assignments)
    return values


def test_every_parameter_is_in_the_cell_at_its_default():
    values = _parameters_cell()
    missing = [name for name in SweepConfig.names() if name not in values]
    assert missing == []
    defaults = parameter_defaults()
    differing = {name: (values[name], defaults[name]) for name in SweepConfig.names()
                 if values[name] != defaults[name] and defaults[name] != ""}  # fmt: skip
    assert differing == {}
    SweepConfig.from_mapping({name: values[name] for name in SweepConfig.names()})
