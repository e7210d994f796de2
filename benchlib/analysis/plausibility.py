"""Is a decode rate physically possible? The batch-1 ceiling of every run and published figure.

A batch-1 decode step reads every weight once plus the KV cache so far, so

    ceiling tok/s = memory bandwidth / (weight bytes + KV-cache bytes per token x mean context position)

with the mean context position = prompt tokens + output tokens / 2. A figure
above its ceiling is ``implausible: above the bandwidth ceiling``, whoever
published it. A throughput equal (within ``batching_tolerance``) to 1 / per-token
latency is a batch-1 figure: ``no batching gain: throughput equals 1 / per-token
latency``.

The bandwidth of a run is its own recorded probe (``run.json``
``machine.memory_bandwidth``, basis ``measured probe``) when the model ran on
that machine's CPU, else the datasheet of its profile's hardware
(``data/reference/hardware.yaml``, basis ``datasheet``). Published figures use
the datasheet of their platform label and the article's model size from
``reference_models``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import pandas as pd

from benchlib.analysis.figure_style import (
    IMPLAUSIBLE_LABEL,
    MEASURED_COLOR,
    MIN_FONT_PT,
    PUBLISHED_COLOR,
    REJECTED_EDGE_COLOR,
    pyplot,
    save_figure,
)
from benchlib.analysis.plausibility_evidence import VERDICT_BEYOND_EVIDENCE, add_evidence_columns
from benchlib.analysis.tables import load_reference, run_table, step_table
from benchlib.hardware.geometry import KV_CACHE_ELEMENT_BYTES, kv_cache_bytes_per_token, onnx_weight_bytes
from benchlib.hardware.reference import HardwareReference, load_hardware
from benchlib.predict.predictor import Library, load_library
from benchlib.records import scan_runs

__all__ = [
    "BATCHING_TOLERANCE",
    "PLAUSIBILITY_COLUMNS",
    "VERDICT_IMPLAUSIBLE",
    "VERDICT_NO_BATCHING_GAIN",
    "VERDICT_OK",
    "decode_ceiling_tps",
    "plausibility_findings",
    "plausibility_table",
    "plot_plausibility",
    "write_plausibility",
]

VERDICT_OK = "ok"
VERDICT_IMPLAUSIBLE = "implausible: above the bandwidth ceiling"
VERDICT_NO_BATCHING_GAIN = "no batching gain: throughput equals 1 / per-token latency"
BATCHING_TOLERANCE = 0.05
PLAUSIBILITY_COLUMNS = [
    "label", "name", "run_id", "platform", "profile", "model", "metric", "figure_tps", "figure_kind", "hardware",
    "bandwidth_gb_s", "bandwidth_basis", "weight_bytes", "kv_cache_bytes_per_token", "context_tokens_mean",
    "bytes_per_token", "ceiling_tps", "percent_of_ceiling", "batch1_tps", "verdict",
]  # fmt: skip


def decode_ceiling_tps(bandwidth_gb_s: float, weight_bytes: float, kv_bytes_per_token: float,
                       context_tokens_mean: float) -> float:  # fmt: skip
    """Batch-1 decode ceiling, tokens/s: bandwidth / (weights + KV cache at the mean context position).

    Args:
        bandwidth_gb_s: Memory bandwidth, GB/s (1e9 B/s).
        weight_bytes: Weight bytes read per output token.
        kv_bytes_per_token: KV-cache bytes per cached token.
        context_tokens_mean: Mean context position, tokens (prompt + output / 2).
    """
    return bandwidth_gb_s * 1e9 / (weight_bytes + kv_bytes_per_token * context_tokens_mean)


def _verdict(figure: float, ceiling: float, batch_gain: bool | None, ceiling_applies: bool, missing: str | None) -> str:
    verdicts = []
    if missing:
        verdicts.append(f"unknown: {missing}")
    elif ceiling_applies and figure > ceiling:
        verdicts.append(VERDICT_IMPLAUSIBLE)
    if batch_gain is False:
        verdicts.append(VERDICT_NO_BATCHING_GAIN)
    return "; ".join(verdicts) or VERDICT_OK


def _row(base: dict[str, Any], figure: float, bandwidth: float | None, weight: float | None, kv: float | None,
         context: float, batch_gain: bool | None = None, ceiling_applies: bool = True) -> dict[str, Any]:  # fmt: skip
    missing = None
    if bandwidth is None or not np.isfinite(bandwidth):
        missing = f"no memory bandwidth for {base.get('hardware') or base.get('profile') or base.get('platform')}"
    elif weight is None or kv is None:
        missing = "no model geometry recorded (weight bytes, KV cache per token)"
    ceiling = decode_ceiling_tps(bandwidth, weight, kv, context) if missing is None else float("nan")
    return {
        **base,
        "figure_tps": figure,
        "bandwidth_gb_s": bandwidth if bandwidth is not None else float("nan"),
        "weight_bytes": weight if weight is not None else float("nan"),
        "kv_cache_bytes_per_token": kv if kv is not None else float("nan"),
        "context_tokens_mean": context,
        "bytes_per_token": weight + kv * context if missing is None else float("nan"),
        "ceiling_tps": ceiling,
        "percent_of_ceiling": 100.0 * figure / ceiling if missing is None else float("nan"),
        "verdict": _verdict(figure, ceiling, batch_gain, ceiling_applies, missing),
    }


def _no_gain(throughput_tps: float, batch1_tps: float, tolerance: float) -> bool:
    """True when a throughput is no more than ``1 / per-token latency`` (within ``tolerance``)."""
    return bool(np.isfinite(throughput_tps) and np.isfinite(batch1_tps) and throughput_tps <= batch1_tps * (1 + tolerance))


def _published_rows(reference: pd.DataFrame, hardware: HardwareReference, prompt_tokens: int, output_tokens: int,
                    tolerance: float) -> list[dict[str, Any]]:  # fmt: skip
    rows = []
    context = prompt_tokens + output_tokens / 2
    for (platform, size), group in reference.groupby(["platform", "model_size"], sort=False):
        values = dict(zip(group["metric"], group["value"].astype(float), strict=False))
        kinds = dict(zip(group["metric"], group["kind"], strict=False))
        key, entry = hardware.platform_hardware(platform)
        model = hardware.reference_models.get(size)
        bandwidth = entry.memory_bandwidth_gb_s.number if entry is not None else None
        weight = model.weight_bytes.number if model is not None else None
        kv = model.kv_cache_bytes_per_token() if model is not None else None
        batch1 = 1000.0 / values["per_token_latency"] if values.get("per_token_latency") else float("nan")
        base = {"label": "published", "run_id": None, "platform": platform, "profile": None, "model": size,
                "hardware": key, "bandwidth_basis": "datasheet", "batch1_tps": batch1}  # fmt: skip
        if "per_token_latency" in values:
            rows.append(_row({**base, "name": f"{platform} {size}: 1 / per-token latency (published)",
                              "metric": "per_token_latency", "figure_kind": kinds["per_token_latency"]},
                             batch1, bandwidth, weight, kv, context))  # fmt: skip
        if "throughput" in values:
            gain = not _no_gain(values["throughput"], batch1, tolerance) if np.isfinite(batch1) else None
            rows.append(_row({**base, "name": f"{platform} {size}: throughput (published)", "metric": "throughput",
                              "figure_kind": kinds["throughput"]}, values["throughput"], bandwidth, weight, kv,
                             context, batch_gain=gain, ceiling_applies=gain is not True))  # fmt: skip
    return rows


def _run_bandwidth(meta: dict[str, Any], profile: str | None, platform: str | None,
                   hardware: HardwareReference) -> tuple[str | None, float | None, str]:  # fmt: skip
    """(hardware key, GB/s, basis) of a run: its own probe when the model ran on its CPU, else the datasheet."""
    runtime = meta.get("runtime") or {}
    params = meta.get("parameters") or {}
    probe = ((meta.get("machine") or {}).get("memory_bandwidth") or {}).get("gb_s")
    name = params.get("runtime") or runtime.get("runtime")
    on_cpu = (name == "llama.cpp" and not runtime.get("gpu_layers")) or (name == "onnx" and runtime.get("provider") == "cpu")
    key, entry = hardware.platform_hardware(profile)
    if key is None and entry is None:
        key, entry = hardware.platform_hardware(platform)
    local_server = name == "http" and urlparse(str(params.get("url", ""))).hostname in ("127.0.0.1", "localhost", "::1")
    if probe and (on_cpu or (local_server and entry is None)):
        return "this machine", float(probe), "measured probe"
    if entry is not None:
        return key, entry.memory_bandwidth_gb_s.number, "datasheet"
    return key, None, "none"


def _run_geometry(meta: dict[str, Any]) -> tuple[float | None, float | None]:
    """(weight bytes read per token, KV-cache bytes per token) recorded for a run, with its runtime's KV cache type."""
    geometry = (meta.get("model") or {}).get("geometry") or {}
    runtime = meta.get("runtime") or {}
    weight = geometry.get("weight_bytes_read_per_token") or geometry.get("weight_bytes")
    model_dir = runtime.get("model_dir")
    if runtime.get("runtime") == "onnx" and model_dir and Path(model_dir).is_dir():
        weight = onnx_weight_bytes(model_dir)
    kv_type = (runtime.get("effective") or {}).get("kv_cache_type_k") or geometry.get("kv_cache_type")
    dims = [geometry.get(k) for k in ("block_count", "head_count_kv", "head_dim_k", "head_dim_v")]
    element = KV_CACHE_ELEMENT_BYTES.get(kv_type or "", geometry.get("kv_cache_element_bytes"))
    kv = kv_cache_bytes_per_token(*dims, element_bytes=element) if None not in (*dims, element) else None
    return (float(weight) if weight else None), kv


def _run_rows(runs_dir: str | Path, hardware: HardwareReference, tolerance: float) -> list[dict[str, Any]]:
    table = run_table(runs_dir)
    if table.empty:
        return []
    metas = {run.run_id: run.meta for run in scan_runs(runs_dir).runs}
    steps = step_table(runs_dir)
    rows = []
    for run in table.to_dict("records"):
        meta = metas.get(run["run_id"], {})
        key, bandwidth, basis = _run_bandwidth(meta, run.get("profile"), run.get("platform"), hardware)
        weight, kv = _run_geometry(meta)
        prompt = run.get("prompt_tokens_median")
        output = run.get("output_tokens_per_request") or 0
        context = (prompt if prompt is not None and np.isfinite(prompt) else 0.0) + output / 2
        gain = None
        if not steps.empty and run["run_id"] in set(steps["run_id"]):
            batched = steps[(steps["run_id"] == run["run_id"]) & (pd.to_numeric(steps["concurrency"]) > 1)]
            checks = [not _no_gain(s["throughput_tps"], 1.0 / s["tpot_s_median"], tolerance)
                      for s in batched.to_dict("records") if s["tpot_s_median"] and s["tpot_s_median"] > 0]  # fmt: skip
            gain = all(checks) if checks else None
        base = {"label": "measured", "name": f"{run['run_id']} (measured)", "run_id": run["run_id"],
                "platform": run.get("platform"), "profile": run.get("profile"), "model": run.get("model"),
                "metric": "decode_tps_median", "figure_kind": "measured", "hardware": key, "bandwidth_basis": basis,
                "batch1_tps": run.get("decode_tps_median")}  # fmt: skip
        rows.append(_row(base, run.get("decode_tps_median", float("nan")), bandwidth, weight, kv, context, gain))
    return rows


def plausibility_table(runs_dir: str | Path | None = None, reference: str | Path | pd.DataFrame | None = None,
                       hardware: str | Path | HardwareReference | None = None, *, published_prompt_tokens: int = 0,
                       published_output_tokens: int = 128, batching_tolerance: float = BATCHING_TOLERANCE,
                       library: Library | None | bool = True) -> pd.DataFrame:  # fmt: skip
    """The batch-1 decode ceiling, percent of it and verdict of every run and published figure.

    Args:
        runs_dir: Folder of run directories (no runs when ``None``).
        reference: The published numbers (a CSV path or :func:`load_reference`'s frame); none when ``None``.
        hardware: ``hardware.yaml`` (path or loaded); the checkout's when ``None``.
        published_prompt_tokens: Prompt length assumed for published figures (the
            article gives none; 0 is the most lenient: the highest ceiling).
        published_output_tokens: Output length of published figures (the article's 128).
        batching_tolerance: Relative margin within which a throughput counts as 1 / per-token latency.
        library: The evidence library for the second line and the evidence-based values
            (:mod:`~benchlib.analysis.plausibility_evidence`); ``True``: the checkout's; ``False``: none.

    Returns:
        One row per run (label ``measured``; figure: median per-request decode rate)
        and per published per-token latency or throughput (label ``published``),
        with :data:`PLAUSIBILITY_COLUMNS` (and ``EVIDENCE_COLUMNS`` with a library).
    """
    limits = hardware if isinstance(hardware, HardwareReference) else load_hardware(hardware)
    rows: list[dict[str, Any]] = []
    if runs_dir is not None:
        rows += _run_rows(runs_dir, limits, batching_tolerance)
    if reference is not None:
        frame = reference if isinstance(reference, pd.DataFrame) else load_reference(reference)
        rows += _published_rows(frame, limits, published_prompt_tokens, published_output_tokens, batching_tolerance)
    table = pd.DataFrame(rows, columns=PLAUSIBILITY_COLUMNS)
    if library is False or library is None:
        return table
    evidence = load_library(hardware_path=hardware if isinstance(hardware, (str, Path)) else None) if library is True else library
    return add_evidence_columns(table, evidence, output_tokens=published_output_tokens)


def plot_plausibility(frame: pd.DataFrame):
    """Horizontal bars of each row's percent of its batch-1 ceiling, a line at 100%; published bars hatched and grey.

    The axis is linear (a percentage), so bar lengths compare. A published claim
    the check rejects (above the ceiling, or beyond any published measurement)
    has a red outline, named implausible in the legend.

    An orange tick on a bar marks the best share of the ceiling any published measurement of its hardware class
    reaches (the second line), when the table carries it.

    Rows without a ceiling are listed with the reason instead of a bar.
    """
    from matplotlib.patches import Patch

    plt = pyplot()
    shown = frame.reset_index(drop=True)
    figure, axis = plt.subplots(figsize=(9, 0.45 * max(len(shown), 2) + 1.8))
    drawn_best = drawn_implausible = False
    for position, row in shown.iterrows():
        published = row["label"] == "published"
        percent = row["percent_of_ceiling"]
        if not np.isfinite(percent):
            axis.text(1, position, f"no ceiling ({row['verdict']})", va="center", fontsize=MIN_FONT_PT)
            continue
        implausible = published and (VERDICT_IMPLAUSIBLE in row["verdict"] or VERDICT_BEYOND_EVIDENCE in row["verdict"])
        drawn_implausible |= implausible
        axis.barh(position, percent, color=PUBLISHED_COLOR if published else MEASURED_COLOR,
                  hatch="//" if published else None, edgecolor=REJECTED_EDGE_COLOR if implausible else "black",
                  linewidth=1.5 if implausible else 0.5)  # fmt: skip
        flag = "  implausible" if VERDICT_IMPLAUSIBLE in row["verdict"] else ""
        if VERDICT_BEYOND_EVIDENCE in row["verdict"]:
            flag = "  beyond any published measurement"
        axis.text(percent, position, f" {percent:.0f}% of {row['ceiling_tps']:.1f} tok/s{flag}", va="center",
                  fontsize=MIN_FONT_PT)  # fmt: skip
        best = row.get("best_published_efficiency", np.nan)
        if np.isfinite(best):  # the second line: the best share any published measurement of the class reaches
            axis.plot([100 * best] * 2, [position - 0.4, position + 0.4], color="darkorange", linewidth=2,
                      label="best published measurement of the hardware class" if not drawn_best else None)  # fmt: skip
            drawn_best = True
    axis.axvline(100, color="red", linestyle="--", linewidth=1, label="batch-1 bandwidth ceiling (100%)")
    axis.set_yticks(range(len(shown)), list(shown["name"]), fontsize=MIN_FONT_PT)
    axis.invert_yaxis()
    limit = np.nanmax(shown["percent_of_ceiling"].to_numpy(dtype=float), initial=100.0)
    axis.set_xlim(0, max(limit, 100.0) * 1.35)
    axis.set_xlabel("decode rate, % of the batch-1 ceiling (memory bandwidth / bytes read per token)")
    axis.set_title("Physical plausibility: measured runs and published figures (hatched: published)")
    handles, _ = axis.get_legend_handles_labels()
    if drawn_implausible:
        handles.append(Patch(facecolor=PUBLISHED_COLOR, hatch="//", edgecolor=REJECTED_EDGE_COLOR, linewidth=1.5,
                             label=IMPLAUSIBLE_LABEL))  # fmt: skip
    axis.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=1 if drawn_implausible else 2,
                fontsize=MIN_FONT_PT)  # fmt: skip
    return figure


def write_plausibility(frame: pd.DataFrame, figures_dir: str | Path) -> list[Path]:
    """Write ``plausibility.csv`` and ``plausibility.png`` (percent of ceiling per row, a 100% line) into ``figures_dir``.

    Returns:
        The paths written.
    """
    out = Path(figures_dir)
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "plausibility.csv"
    frame.to_csv(csv_path, index=False)
    return [csv_path, save_figure(plot_plausibility(frame), out / "plausibility.png")]


def plausibility_findings(frame: pd.DataFrame) -> list[str]:
    """One sentence per row whose verdict is not ``ok``: the figure, its ceiling and what that means.

    Args:
        frame: :func:`plausibility_table`.

    Returns:
        Sentences for the report, published figures first.
    """
    sentences = []
    flagged = frame[frame["verdict"].fillna(VERDICT_OK) != VERDICT_OK]
    for row in flagged.sort_values("label", ascending=False).itertuples():
        what = f"{row.name}: {row.figure_tps:.3g} tok/s"
        parts = []
        if VERDICT_IMPLAUSIBLE in row.verdict:
            parts.append(
                f"is {row.percent_of_ceiling:.0f}% of the batch-1 ceiling of {row.ceiling_tps:.3g} tok/s "
                f"({row.bandwidth_gb_s:.4g} GB/s {row.hardware} memory ÷ {row.bytes_per_token / 1e9:.3g} GB read per "
                "token): a single stream cannot decode that fast, so the figure is implausible as stated"
            )
        if VERDICT_BEYOND_EVIDENCE in row.verdict:
            parts.append(
                f"is {row.percent_of_ceiling:.0f}% of its ceiling, beyond any published measurement: the best "
                f"published {row.hardware_class} decode reaches {100 * row.best_published_efficiency:.0f}% "
                f"({row.evidence_ceiling_tps:.3g} tok/s here; {row.best_published_entry})"
            )
        if VERDICT_NO_BATCHING_GAIN in row.verdict:
            parts.append("equals 1 / per-token latency: a batch-1 (single-stream) figure, with no batching gain")
        if not parts:  # unknown: what is missing
            parts.append(f"cannot be checked ({row.verdict})")
        sentence = f"{what} " + "; it ".join(parts)
        evidence = getattr(row, "evidence_tps", float("nan"))
        if row.label == "published" and np.isfinite(evidence):
            sentence += (f". The evidence gives {evidence:.3g} [{row.evidence_tps_low:.3g}, "
                         f"{row.evidence_tps_high:.3g}] tok/s for the same hardware and model class "
                         f"({row.evidence_basis})")  # fmt: skip
        sentences.append(sentence + ".")
    return sentences
