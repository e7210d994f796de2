"""Loading, statistics and plotting behind the analysis notebook.

Measured runs (``data/runs/``) and the article's published numbers
(``data/reference/``) are kept in separate tables and drawn in visibly
different styles; every bar says whether it is measured or published.

Modules: :mod:`~benchlib.analysis.tables` (run and step tables, the reference),
:mod:`~benchlib.analysis.figures` (comparison figures, power timeline, load
steps), :mod:`~benchlib.analysis.summary` (``summary.csv`` and ``summary.md``).
"""

from benchlib.analysis.figures import (
    E2E_OUTPUT_TOKENS,
    ESTIMATED_COLOR,
    FIGURES,
    MEASURED_COLOR,
    PUBLISHED_COLOR,
    FigureSpec,
    plot_comparison,
    plot_load_steps,
    plot_power_timeline,
    write_figures,
)
from benchlib.analysis.groups import (
    COMPARISON_GROUP,
    LIKE_FOR_LIKE_GROUP,
    MODEL_LABEL,
    WORKLOAD_LABEL,
    add_group_columns,
    published_model_label,
)
from benchlib.analysis.summary import SUMMARY_COLUMNS, write_summary
from benchlib.analysis.tables import load_reference, report_runs, run_table, skipped_runs, step_table, summary_requests

__all__ = [
    "E2E_OUTPUT_TOKENS",
    "ESTIMATED_COLOR",
    "FIGURES",
    "MEASURED_COLOR",
    "PUBLISHED_COLOR",
    "SUMMARY_COLUMNS",
    "FigureSpec",
    "load_reference",
    "plot_comparison",
    "plot_load_steps",
    "plot_power_timeline",
    "report_runs",
    "run_table",
    "skipped_runs",
    "step_table",
    "summary_requests",
    "write_figures",
    "write_summary",
]
