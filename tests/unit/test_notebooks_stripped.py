"""The committed notebooks carry no outputs: results live in run directories and figures/, never in git."""

import json

import pytest

from benchlib.paths import repo_root

NOTEBOOKS = sorted((repo_root() / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks_to_check():
    assert {path.name for path in NOTEBOOKS} >= {"sweep.ipynb", "analysis.ipynb", "decision.ipynb"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_a_committed_notebook_has_no_outputs_or_execution_counts(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert code, f"{path.name} has no code cells"
    dirty = [index for index, cell in enumerate(cells) if cell.get("outputs") or cell.get("execution_count")]
    assert not dirty, f"{path.name}: cells {dirty} keep outputs; strip them (jupyter nbconvert --clear-output)"
