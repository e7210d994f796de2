"""``make docs-images``: the images the README and the docs show, drawn again from committed example runs.

The report's figures come from ``tests/fixtures/runs`` (a sequential smoke run and a load-step run of
llama.cpp's server, both measured on this project's development machine); the workload figures from
``tests/fixtures/workload_runs`` (a 4-turn conversation, a context-depth grid and a ``load: sweep``
against ``llama-server``). The report itself goes to ``build/docs-report/``; the chosen PNGs are copied to
``docs/images/``. The report's screenshot (``docs/images/report.png``) is taken by the browser test with
``BENCHLIB_UPDATE_SCREENSHOT=1`` (``make docs-images`` runs it).

Run with ``python -m benchlib.docs_images``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from benchlib.analysis.figure_style import save_figure
from benchlib.analysis.workload_figures import cell_table, plot_rates_by_depth, plot_ttft_by_turn, turn_table
from benchlib.notebook_runner import run_report_notebook
from benchlib.paths import reference_csv, repo_root

__all__ = ["DOC_FIGURES", "write_docs_images"]

DOC_FIGURES = ("per_token_latency.png", "pareto.png", "decision_sensitivity.png", "latency_ecdf.png")
"""The report figures the docs show."""


def write_docs_images(root: Path | None = None) -> list[Path]:
    """Draw the docs' images from the committed example runs and copy them to ``docs/images``.

    Returns:
        The images written.
    """
    root = root or repo_root()
    images = root / "docs" / "images"
    images.mkdir(parents=True, exist_ok=True)
    build = root / "build" / "docs-report"
    figures = build / "figures"
    run_report_notebook(root / "tests" / "fixtures" / "runs", figures, reference_csv(), build / "notebooks", [])
    written = []
    for name in DOC_FIGURES:
        shutil.copyfile(figures / name, images / name)
        written.append(images / name)
    workload_runs = root / "tests" / "fixtures" / "workload_runs"
    written.append(save_figure(plot_ttft_by_turn(turn_table(workload_runs)), images / "ttft_by_turn.png"))
    written.append(save_figure(plot_rates_by_depth(cell_table(workload_runs)), images / "rates_by_depth.png"))
    return written


def main() -> int:
    """Write the images and list them."""
    for path in write_docs_images():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
