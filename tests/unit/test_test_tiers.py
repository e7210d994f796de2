"""The test tiers: every integration test names the resources it needs, and the unit tier needs none.

``make test-unit`` runs ``tests/unit`` without the tests carrying a resource marker (pyproject's markers);
``make test`` runs everything.
"""

from __future__ import annotations

import ast
from pathlib import Path

import tomllib

TESTS = Path(__file__).resolve().parents[1]
RESOURCE_MARKERS = {"model", "server", "notebook", "prometheus", "ray", "browser", "gpu", "realtime", "subprocess"}


def _registered_markers() -> set[str]:
    pyproject = tomllib.loads((TESTS.parent / "pyproject.toml").read_text())
    return {line.split(":")[0] for line in pyproject["tool"]["pytest"]["ini_options"]["markers"]}


def _marks(node: ast.AST) -> set[str]:
    """Names of ``pytest.mark.NAME`` (called or not) anywhere in ``node``."""
    found = set()
    for sub in ast.walk(node):
        if isinstance(sub, ast.Attribute) and isinstance(sub.value, ast.Attribute) and sub.value.attr == "mark":
            found.add(sub.attr)
    return found


def _module_marks(tree: ast.Module) -> set[str]:
    return set().union(*(_marks(n) for n in tree.body if isinstance(n, ast.Assign)
                         and any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in n.targets)))  # fmt: skip


def test_every_resource_marker_is_registered():
    assert RESOURCE_MARKERS <= _registered_markers()


def test_every_integration_module_names_its_resources():
    unmarked = []
    for path in sorted((TESTS / "integration").glob("test_*.py")):
        if not _module_marks(ast.parse(path.read_text())) & RESOURCE_MARKERS:
            unmarked.append(path.name)
    assert unmarked == [], "add pytestmark = [pytest.mark.<resource>, ...] to these modules"


def test_unit_tests_that_sleep_or_start_a_server_are_marked():
    """A unit test whose body sleeps or starts a server carries the marker that keeps it out of the fast tier."""
    needs = {"time.sleep(": "realtime", "serve_exporter(": "server", "ServerProcess(": "server",
             "subprocess.run(": "subprocess", "resolve_model(": "model"}  # fmt: skip
    unmarked = []
    for path in sorted((TESTS / "unit").rglob("test_*.py")):
        if path.name == Path(__file__).name:
            continue  # this test names the calls, it does not make them
        source = path.read_text()
        tree = ast.parse(source)
        module = _module_marks(tree)
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                body = ast.get_source_segment(source, node) or ""
                missing = {marker for text, marker in needs.items() if text in body} - _marks(node) - module
                unmarked += [f"{path.name}::{node.name}: {sorted(missing)}"] if missing else []
    assert unmarked == []
