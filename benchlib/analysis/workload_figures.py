"""Figures of the richer workloads: TTFT by conversation turn, and prefill and decode rates against context depth.

* ``ttft_by_turn.png``: for every run with conversations, the median time to
  first token of each turn with its 95% interval (measured); the history each
  turn carried is in :func:`turn_table` and the run's ``summary.by_turn``. A
  cache that serves the history keeps the line nearly flat; one that does not
  makes it climb with the history.
* ``rates_by_depth.png``: for every run with a ``context_depth`` grid, prefill
  tokens/s (prompt tokens the runtime evaluated / its evaluation time) and
  decode tokens/s against the tokens already in context, medians with 95%
  intervals (measured), as ``llama-bench -d`` reports them.

Both read the per-turn and per-cell statistics the sweep stored
(:mod:`benchlib.metrics.workload_shape`): the run's summary, and for load
sweeps each step's summary.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from benchlib.analysis.figure_style import MIN_FONT_PT, layout_above_legend, pyplot
from benchlib.analysis.tables import report_runs

__all__ = ["cell_table", "plot_rates_by_depth", "plot_ttft_by_turn", "turn_table"]


def _label(run) -> str:
    """``platform · model (run id tail, measured)``."""
    return f"{run.record.parameters.get('platform')} · {run.record.model.get('name')} ({run.run_id[-10:]}, measured)"


def _summaries(run) -> list[tuple[str | None, dict]]:
    """The run's summary, or each load step's (a grid on a server has one cell per step)."""
    if run.record.steps:
        return [(step_id, step.summary) for step_id, step in run.record.steps.items()]
    return [(None, run.record.summary.model_dump())]


def turn_table(runs_dir: str | Path) -> pd.DataFrame:
    """One row per run (and step) and conversation turn: TTFT median and interval, history tokens."""
    rows = []
    for run in report_runs(runs_dir).runs:
        for step, summary in _summaries(run):
            for entry in summary.get("by_turn") or []:
                ttft = entry.get("ttft_s") or {}
                rows.append({"run_id": run.run_id, "label": _label(run), "step": step, "turn": entry["turn"],
                             "requests": entry.get("requests"), "ttft_s": ttft.get("median"),
                             "ttft_ci_low_s": ttft.get("ci_low"), "ttft_ci_high_s": ttft.get("ci_high"),
                             "history_tokens": entry.get("history_tokens_median"),
                             "cached_prompt_tokens": entry.get("cached_prompt_tokens_median")})  # fmt: skip
    return pd.DataFrame(rows)


def cell_table(runs_dir: str | Path) -> pd.DataFrame:
    """One row per run and grid cell: depth, prefill and decode rates with their intervals."""
    rows = []
    for run in report_runs(runs_dir).runs:
        for step, summary in _summaries(run):
            for entry in summary.get("by_cell") or []:
                row = {"run_id": run.run_id, "label": _label(run), "step": step, "cell": entry["cell"],
                       "context_depth": entry.get("context_depth") or 0,
                       "target_prompt_tokens": entry.get("target_prompt_tokens"),
                       "target_output_tokens": entry.get("target_output_tokens")}  # fmt: skip
                for metric in ("prefill_tps", "decode_tps"):
                    stats = entry.get(metric) or {}
                    row.update({metric: stats.get("median"), f"{metric}_ci_low": stats.get("ci_low"),
                                f"{metric}_ci_high": stats.get("ci_high")})  # fmt: skip
                rows.append(row)
    return pd.DataFrame(rows)


def _errorbars(axes, x, data: pd.DataFrame, column: str, scale: float, label: str, low: str = "", high: str = "") -> None:
    """Medians of ``column`` against ``x`` with their interval (``low``, ``high``; default ``{column}_ci_low/high``)."""
    below = (data[column] - data[low or f"{column}_ci_low"]).clip(lower=0) * scale
    above = (data[high or f"{column}_ci_high"] - data[column]).clip(lower=0) * scale
    axes.errorbar(x, data[column] * scale, yerr=[below.fillna(0), above.fillna(0)], fmt="o-", capsize=3, label=label)


def plot_ttft_by_turn(table: pd.DataFrame):
    """Median TTFT (95% interval) against the conversation turn, one line per run (and step)."""
    plt = pyplot()
    figure, axes = plt.subplots(figsize=(7, 4))
    for (_, step), data in table.groupby(["run_id", "step"], dropna=False, sort=False):
        data = data.sort_values("turn")
        label = data["label"].iloc[0] + (f" {step}" if isinstance(step, str) else "")
        _errorbars(axes, data["turn"] + 1, data, "ttft_s", 1e3, label, "ttft_ci_low_s", "ttft_ci_high_s")
    axes.set_xlabel("conversation turn (history grows with each)")
    axes.set_ylabel("time to first token, ms (median, 95% interval)")
    axes.set_title("TTFT by turn (measured)", fontsize=10)
    axes.grid(True, alpha=0.3)
    axes.set_ylim(bottom=0)
    if not table.empty:
        axes.xaxis.get_major_locator().set_params(integer=True)
        axes.legend(fontsize=MIN_FONT_PT, loc="lower right")
    return figure


def plot_rates_by_depth(table: pd.DataFrame):
    """Prefill and decode tokens/s (medians, 95% intervals) against the context depth, one line per run and shape."""
    plt = pyplot()
    figure, (prefill, decode) = plt.subplots(1, 2, figsize=(11, 4))
    for (_, prompt, output), data in table.groupby(["run_id", "target_prompt_tokens", "target_output_tokens"],
                                                   dropna=False, sort=False):  # fmt: skip
        data = data.sort_values("context_depth")
        label = f"{data['label'].iloc[0]}, pp{prompt:g} tg{output:g}"
        _errorbars(prefill, data["context_depth"], data, "prefill_tps", 1.0, label)
        _errorbars(decode, data["context_depth"], data, "decode_tps", 1.0, label)
    prefill.set_title("prefill (prompt tokens evaluated per second, measured)", fontsize=9)
    decode.set_title("decode (output tokens per second, measured)", fontsize=9)
    for axes in (prefill, decode):
        axes.set_xlabel("context depth (tokens already in context)")
        axes.set_ylabel("tokens per second (median, 95% interval)")
        axes.grid(True, alpha=0.3)
        axes.set_ylim(bottom=0)
    handles, labels = decode.get_legend_handles_labels()
    if handles:
        legend_in = 0.25 + 0.2 * len(handles)
        figure.set_figheight(4 + legend_in)
        figure.legend(handles, labels, fontsize=MIN_FONT_PT, loc="lower center", ncol=1, frameon=False)
        layout_above_legend(figure, legend_in)
    return figure
