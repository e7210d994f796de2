"""Predicted against measured for the calibration benchmark: the comparison, its JSON, its figure and its table.

Measured figures are observations of :mod:`benchlib.predict.local`; those of
one condition (device, metric, concurrency) over bracketing runs are combined
by their median. Each is compared with :func:`benchlib.predict.predictor.predict`
at the same scenario: ``error = predicted / measured - 1``, and whether the
measured value falls inside the prediction's 95% interval.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from pathlib import Path
from typing import Any

from benchlib.analysis.figure_style import pyplot, save_figure
from benchlib.predict.calibrate import Calibration, Observation
from benchlib.predict.local import LOCAL_RUNTIME_CLASS
from benchlib.predict.predictor import predict
from benchlib.predict.roofline import Efficiencies

__all__ = ["METRIC_LABELS", "calibration_summary", "compare", "format_table", "plot_comparison", "write_figure"]

METRIC_LABELS = {"decode_tps": "decode tok/s", "ttft_s": "TTFT s", "tpot_s": "TPOT s", "output_tps": "output tok/s"}
"""How each compared metric is named in the table and the figure."""


def _groups(observations: list[Observation], kinds: dict[str, str]) -> dict[tuple, list[Observation]]:
    groups: dict[tuple, list[Observation]] = defaultdict(list)
    for obs in observations:
        groups[(kinds[obs.source], obs.hardware_id, obs.metric, obs.scenario.concurrency)].append(obs)
    return dict(sorted(groups.items(), key=lambda item: (item[0][0], item[0][1], item[0][3], item[0][2])))


def compare(calibration: Calibration, observations: list[Observation], kinds: dict[str, str]) -> list[dict[str, Any]]:
    """One row per condition: the median measured value over runs against the prediction and its interval.

    Args:
        calibration: What predicts (fitted on other observations, or on these for an in-sample check).
        observations: The measured figures.
        kinds: Run id -> ``in-process`` or ``llama-server`` (how the run measured).
    """
    rows = []
    for (kind, hardware_id, metric, concurrency), members in _groups(observations, kinds).items():
        first = members[0]
        prediction = predict(calibration, first.hardware, hardware_id, first.model, LOCAL_RUNTIME_CLASS,
                             first.scenario, [concurrency])  # fmt: skip
        point = prediction.points[0]
        value = float(getattr(point.point, metric))
        low, high = point.intervals[metric]
        measured = statistics.median(obs.value for obs in members)
        rows.append({
            "model": first.model.name, "kind": kind, "hardware_id": hardware_id, "metric": metric,
            "concurrency": concurrency, "prompt_tokens": first.scenario.prompt_tokens,
            "output_tokens": first.scenario.output_tokens, "measured": measured,
            "measured_runs": [obs.value for obs in members], "runs": [obs.source for obs in members],
            "predicted": value, "interval": [float(low), float(high)], "error": value / measured - 1,
            "within_interval": bool(low <= measured <= high), "bound": point.point.bound, "batch": point.point.batch,
            "lockstep": first.scenario.lockstep,
            "calibration_level": prediction.calibration_level, "interval_basis": prediction.interval_basis,
        })  # fmt: skip
    return rows


def calibration_summary(calibration: Calibration, observations: list[Observation]) -> list[dict[str, Any]]:
    """The fitted efficiencies of every pool the calibration observations reach (family, class, each device)."""
    devices = {obs.hardware_id: obs for obs in observations}
    seen: dict[tuple[str, ...], dict[str, Any]] = {}
    for hardware_id, obs in sorted(devices.items()):
        for fit in calibration.chain(obs.hardware, hardware_id, LOCAL_RUNTIME_CLASS)[1:]:
            seen[fit.key] = {
                "pool": " x ".join(fit.key[1:]) + f" ({fit.key[0]})", "observations": len(fit.observations),
                **dict(zip(Efficiencies.NAMES, fit.efficiencies.as_tuple(), strict=True)),
                "decode_rms_log_residual": fit.spread("decode"), "prefill_rms_log_residual": fit.spread("prefill"),
            }  # fmt: skip
    return list(seen.values())


def _shown(value: float, metric: str) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value * 1e3:.1f} ms" if metric.endswith("_s") else f"{value:.1f}"


def format_table(rows: list[dict[str, Any]]) -> str:
    """Predicted against measured, one line per condition (TPOT and TTFT in ms)."""
    header = (f"{'where':<13}{'device':<18}{'c':>3}{'':<3}{'metric':<13}{'measured':>11}{'predicted':>11}  "
              f"{'95% interval':<23}{'error':>8}")  # fmt: skip
    lines = [header, "-" * len(header)]
    for row in rows:
        low, high = row["interval"]
        interval = f"[{_shown(low, row['metric'])}, {_shown(high, row['metric'])}]"
        mark = "" if row["within_interval"] else " *"
        step = " L " if row.get("lockstep") else "   "
        lines.append(f"{row['kind']:<13}{row['hardware_id']:<18}{row['concurrency']:>3}{step}{METRIC_LABELS[row['metric']]:<13}"
                     f"{_shown(row['measured'], row['metric']):>11}{_shown(row['predicted'], row['metric']):>11}  "
                     f"{interval:<23}{row['error']:>+8.0%}{mark}")  # fmt: skip
    lines.append("* measured value outside the 95% interval; L: clients in lockstep (each round sent together)")
    return "\n".join(lines)


def _threads(hardware_id: str) -> int:
    """``this-machine-2t`` -> 2."""
    return int(hardware_id.rsplit("-", 1)[1].removesuffix("t"))


def plot_comparison(predicted: list[dict[str, Any]], fitted: list[dict[str, Any]], title: str):
    """Single-stream decode and TTFT by threads; output tok/s, TPOT and TTFT by concurrency on llama-server.

    Args:
        predicted: :func:`compare` rows of the predicted model (drawn with intervals).
        fitted: :func:`compare` rows of the calibration model, in sample (drawn grey).
        title: The figure's title.
    """
    from matplotlib.ticker import ScalarFormatter

    plt = pyplot()
    panels = [("in-process", "decode_tps"), ("in-process", "ttft_s"), ("llama-server", "output_tps"),
              ("llama-server", "tpot_s"), ("llama-server", "ttft_s")]  # fmt: skip
    figure, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 4.2))
    for axis, (kind, metric) in zip(axes, panels, strict=True):
        for rows, color, shift in ((fitted, "#888888", 0.96), (predicted, "#1f77b4", 1.04)):
            part = [r for r in rows if r["kind"] == kind and r["metric"] == metric]
            if not part:
                continue
            x = [_threads(r["hardware_id"]) if kind == "in-process" else r["concurrency"] for r in part]
            scale = 1e3 if metric.endswith("_s") else 1.0
            name = part[0]["model"]
            axis.plot(x, [r["measured"] * scale for r in part], "o", color=color, label=f"{name} measured")
            low = [(r["predicted"] - r["interval"][0]) * scale for r in part]
            high = [(r["interval"][1] - r["predicted"]) * scale for r in part]
            axis.errorbar([v * shift for v in x], [r["predicted"] * scale for r in part], yerr=[low, high], fmt="x--",
                          color=color, capsize=3, alpha=0.8,
                          label=f"{name} {'fitted' if rows is fitted else 'predicted'} (95% interval)")  # fmt: skip
        unit = " (ms)" if metric.endswith("_s") else ""
        axis.set_title(f"{kind}: {METRIC_LABELS[metric]}{unit}".replace(" s (ms)", " (ms)"), fontsize=10)
        axis.set_xlabel("threads" if kind == "in-process" else "concurrent clients (closed loop)")
        axis.set_xscale("log", base=2)
        axis.set_xticks([1, 2] if kind == "in-process" else [1, 2, 4, 8])
        axis.get_xaxis().set_major_formatter(ScalarFormatter())
        axis.set_ylim(bottom=0)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=7, loc="best")
    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    return figure


def write_figure(figure, path: str | Path) -> Path:
    """Save ``figure`` as PNG at ``path``."""
    return Path(save_figure(figure, path))
