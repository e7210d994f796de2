"""Loading, statistics and plotting behind the analysis notebook.

Measured runs (``data/runs/``) and the article's published numbers
(``data/reference/``) are kept in separate tables and drawn in visibly
different styles; every value says whether it is measured, estimated or
published, and runs are only set side by side like for like.

Modules:

- :mod:`~benchlib.analysis.tables`: run and step tables, the reference.
- :mod:`~benchlib.analysis.groups`: what makes runs comparable (model file, workload, runtime).
- :mod:`~benchlib.analysis.statistics`: n, median, 95% CI, p95, p99 of every metric (``summary.csv``).
- :mod:`~benchlib.analysis.comparisons` and :mod:`~benchlib.analysis.comparisons_report`: pairwise
  ratios of medians with bootstrap CIs, Mann-Whitney U with Holm, verdicts, each row's scope and the
  practical-equivalence margin (``comparisons.csv``/``.md``); :mod:`~benchlib.analysis.condition_comparisons`
  compares conditions of 3 or more repeats at run level, :mod:`~benchlib.analysis.comparison_samples`
  holds the metrics and each run's sample of them.
- :mod:`~benchlib.analysis.plausibility`: the batch-1 decode ceiling from memory bandwidth (``plausibility.csv``).
- :mod:`~benchlib.analysis.thermal`: temperature, clock and throttling of each run's measured window.
- :mod:`~benchlib.analysis.basis`: what each number rests on (``measured throughput × assumed price``).
- :mod:`~benchlib.analysis.figures` (comparison points, one panel per model),
  :mod:`~benchlib.analysis.power_timeline`, :mod:`~benchlib.analysis.distributions` (ECDFs),
  :mod:`~benchlib.analysis.serving` (serving curve, load steps), :mod:`~benchlib.analysis.pareto`
  (cost and energy against p95 latency, a frontier per model); :mod:`~benchlib.analysis.figure_style`
  (shared styles, ``MIN_FONT_PT``), :mod:`~benchlib.analysis.figure_labels` (point labels that never
  collide) and :mod:`~benchlib.analysis.figure_checks` (no overlap, no small font, no bar on a log axis).
- :mod:`~benchlib.analysis.summary`: ``summary.md`` and ``summary.csv``.
- :mod:`~benchlib.analysis.conditions`: conditions measured as repeats, pooled (``conditions.csv``).
"""

from benchlib.analysis.comparisons import compare_runs
from benchlib.analysis.comparisons_report import write_comparisons
from benchlib.analysis.distributions import latency_samples, plot_latency_ecdf
from benchlib.analysis.figures import (
    E2E_OUTPUT_TOKENS,
    ESTIMATED_COLOR,
    FIGURES,
    MEASURED_COLOR,
    PUBLISHED_COLOR,
    FigureSpec,
    WrittenFigures,
    comparison_panels,
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
from benchlib.analysis.pareto import pareto_frontier, pareto_points, plot_pareto
from benchlib.analysis.plausibility import plausibility_table, plot_plausibility, write_plausibility
from benchlib.analysis.serving import plot_serving_curve, serving_points
from benchlib.analysis.conditions import conditions_table, write_conditions
from benchlib.analysis.statistics import statistics_table
from benchlib.analysis.summary import SUMMARY_COLUMNS, write_summary
from benchlib.analysis.tables import load_reference, report_runs, run_table, skipped_runs, step_table, summary_requests
from benchlib.analysis.thermal import thermal_table

__all__ = [
    "COMPARISON_GROUP",
    "E2E_OUTPUT_TOKENS",
    "ESTIMATED_COLOR",
    "FIGURES",
    "LIKE_FOR_LIKE_GROUP",
    "MEASURED_COLOR",
    "MODEL_LABEL",
    "PUBLISHED_COLOR",
    "SUMMARY_COLUMNS",
    "WORKLOAD_LABEL",
    "FigureSpec",
    "WrittenFigures",
    "add_group_columns",
    "compare_runs",
    "comparison_panels",
    "latency_samples",
    "load_reference",
    "pareto_frontier",
    "pareto_points",
    "plausibility_table",
    "plot_comparison",
    "plot_latency_ecdf",
    "plot_load_steps",
    "plot_pareto",
    "plot_plausibility",
    "plot_power_timeline",
    "plot_serving_curve",
    "published_model_label",
    "report_runs",
    "run_table",
    "serving_points",
    "skipped_runs",
    "statistics_table",
    "conditions_table",
    "write_conditions",
    "step_table",
    "summary_requests",
    "thermal_table",
    "write_comparisons",
    "write_figures",
    "write_plausibility",
    "write_summary",
]
