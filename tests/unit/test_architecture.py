"""The package's shape: no import cycle, no module over about 400 lines, no import of a private name."""

from __future__ import annotations

from architecture import MAX_MODULE_LINES, import_cycles, import_edges, long_modules, private_imports


def test_the_import_graph_is_read():
    edges = {(e.importer, e.imported) for e in import_edges()}
    assert ("benchlib.sweep.engine", "benchlib.config") in edges  # a module-level import
    assert ("benchlib.sweep.engine", "benchlib.sweep.sequential") in edges  # a function-level one counts too


def test_no_import_cycle():
    assert import_cycles() == []


def test_no_module_over_the_limit():
    assert long_modules() == {}, f"split modules over {MAX_MODULE_LINES} lines"


def test_no_import_of_another_modules_private_name():
    assert private_imports() == []
