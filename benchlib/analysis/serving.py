"""The serving curve of load-step runs: output throughput against per-token latency across concurrency.

Closed-loop steps of one ``http`` run trace how throughput grows, and
per-token latency with it, as more streams share the server. One line per run
(its platform and model name it), p50 on the left and p95 on the right, each
point annotated with its concurrency. Without a complete closed-loop step
there is no curve: :func:`serving_points` is empty and ``write_figures``
writes no ``serving_curve.png`` (and says so).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchlib.analysis.figure_labels import label_point, place_point_labels
from benchlib.analysis.figure_style import MIN_FONT_PT, layout_above_legend, pyplot
from benchlib.records import StepStatus

__all__ = ["SERVING_PERCENTILES", "plot_load_steps", "plot_serving_curve", "serving_points"]

SERVING_PERCENTILES: tuple[str, ...] = ("p50", "p95")
"""The per-token latency percentiles of the two panels, left to right."""


def serving_points(steps: pd.DataFrame) -> pd.DataFrame:
    """The points of the serving curve: complete closed-loop steps with a finite throughput.

    Args:
        steps: :func:`~benchlib.analysis.tables.step_table` (``run_id``,
            ``platform``, ``model``, ``status``, ``mode``, ``concurrency``,
            ``throughput_tps``, ``tpot_s_median``, ``tpot_s_p95``).

    Returns:
        One row per step: ``run_id``, ``line`` (``platform · model``, with the
        run id's tail when a platform and model have several runs),
        ``concurrency``, ``throughput_tps``, ``tpot_ms_p50``, ``tpot_ms_p95``;
        sorted by line and concurrency.
    """
    columns = ["run_id", "line", "concurrency", "throughput_tps", "tpot_ms_p50", "tpot_ms_p95"]
    if steps.empty:
        return pd.DataFrame(columns=columns)
    closed = steps[(steps["mode"] == "closed") & (steps["status"] == StepStatus.COMPLETE)]
    closed = closed[np.isfinite(closed["throughput_tps"].astype(float))]
    if closed.empty:
        return pd.DataFrame(columns=columns)
    line = closed["platform"].astype(str) + " · " + closed["model"].astype(str)
    repeated = line.map(closed.groupby(line)["run_id"].nunique()) > 1
    line = line.where(~repeated, line + " · " + closed["run_id"].str[-10:])
    points = pd.DataFrame({
        "run_id": closed["run_id"],
        "line": line,
        "concurrency": closed["concurrency"].astype(int),
        "throughput_tps": closed["throughput_tps"].astype(float),
        "tpot_ms_p50": closed["tpot_s_median"].astype(float) * 1e3,
        "tpot_ms_p95": closed["tpot_s_p95"].astype(float) * 1e3,
    })  # fmt: skip
    return points.sort_values(["line", "concurrency"]).reset_index(drop=True)


def plot_serving_curve(steps: pd.DataFrame):
    """Throughput against p50 (left) and p95 (right) per-token latency, one line per run, points labelled ``c=N``.

    Args:
        steps: :func:`~benchlib.analysis.tables.step_table`.

    Returns:
        The matplotlib ``Figure``; each panel holds one line per run (seaborn
        ``lineplot``, gid ``serving:LINE``). With no closed-loop step the
        panels say so.
    """
    import seaborn as sns
    from matplotlib.lines import Line2D

    plt = pyplot()
    points = serving_points(steps)
    lines = list(dict.fromkeys(points["line"]))
    colours = dict(zip(lines, sns.color_palette("tab10", max(len(lines), 1))))
    figure, panels = plt.subplots(1, len(SERVING_PERCENTILES), figsize=(12, 4.8), sharey=True)
    for axes, percentile in zip(panels, SERVING_PERCENTILES):
        x = f"tpot_ms_{percentile}"
        for name in lines:
            data = points[points["line"] == name]
            sns.lineplot(data=data, x=x, y="throughput_tps", ax=axes, color=colours[name], marker="o", sort=False,
                         estimator=None, legend=False)  # fmt: skip
            axes.lines[-1].set_gid(f"serving:{name}")
            for _, point in data.iterrows():
                label_point(axes, f"c={point['concurrency']}", (point[x], point["throughput_tps"]))
        axes.set_xlabel(f"{percentile} time per output token, ms (log scale)")
        axes.set_title(f"throughput against {percentile} per-token latency (closed loop)", fontsize=9)
        axes.grid(True, alpha=0.3)
        if points.empty:
            axes.text(0.5, 0.5, "no load-step run with closed-loop steps", transform=axes.transAxes, ha="center",
                      color="#aa0000")  # fmt: skip
        else:
            axes.set_xscale("log")
    panels[0].set_ylabel("output tokens per second (all streams)")
    handles = [Line2D([], [], color=colours[name], marker="o", label=f"{name} (measured)") for name in lines]
    if handles:
        figure.legend(handles=handles, fontsize=MIN_FONT_PT, loc="lower center", ncol=min(len(handles), 3))
    figure.suptitle("Serving curve: what more concurrent streams buy and cost (c = concurrent streams)", fontsize=10)
    layout_above_legend(figure, 0.22 * ((len(handles) + 2) // 3) + 0.2)
    place_point_labels(figure)
    return figure


def plot_load_steps(steps: pd.DataFrame):
    """Throughput and latency percentiles against concurrency (closed loop) for every http run.

    Returns:
        The matplotlib ``Figure``.
    """
    plt = pyplot()
    closed = steps[(steps["mode"] == "closed") & (steps["status"] == StepStatus.COMPLETE)]
    figure, (left, middle, right) = plt.subplots(1, 3, figsize=(13, 4))
    for run_id, data in closed.groupby("run_id"):
        data = data.sort_values("concurrency")
        label = f"{data['platform'].iloc[0]} · {data['model'].iloc[0]} ({run_id[-10:]}, measured)"
        left.plot(data["concurrency"], data["throughput_tps"], "o-", label=label)
        for axes, metric, scale in ((middle, "ttft_s", 1e3), (right, "tpot_s", 1e3)):
            line = axes.plot(data["concurrency"], data[f"{metric}_median"] * scale, "o-", label=f"{label} p50")[0]
            for field, style in (("p95", "--"), ("p99", ":")):
                axes.plot(data["concurrency"], data[f"{metric}_{field}"] * scale, style, color=line.get_color(),
                          label=f"p{field[1:]}")  # fmt: skip
    left.set_title("output throughput (measured)", fontsize=9)
    left.set_ylabel("tokens per second")
    middle.set_title("time to first token: p50 (solid), p95 (dashed), p99 (dotted)", fontsize=9)
    middle.set_ylabel("ms")
    right.set_title("time per output token: p50, p95, p99", fontsize=9)
    right.set_ylabel("ms")
    for axes in (left, middle, right):
        axes.set_xscale("log", base=2)
        axes.set_xlabel("concurrent streams (closed loop)")
        axes.grid(True, alpha=0.3)
    if closed.empty:
        middle.text(0.5, 0.5, "no http run with closed-loop steps", transform=middle.transAxes, ha="center")
    else:
        left.legend(fontsize=MIN_FONT_PT)
    figure.tight_layout()
    return figure
