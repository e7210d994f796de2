"""The second plausibility line, and the evidence-based value beside every published claim.

The bandwidth ceiling says what physics allows; published measurements show
what runtimes reach. For each hardware class x runtime class, the **best
published efficiency** is the highest ``decode rate x bytes read per token /
bandwidth`` of any single-stream evidence entry (``decode_tps``, or ``tpot_s``
at concurrency 1) of ``data/reference/evidence/``. A figure under the ceiling
but above ``best efficiency x ceiling`` is ``beyond any published
measurement``; above the ceiling it stays ``implausible``. A figure is held
to the best of any runtime of its hardware class (the article names no
runtime, and a run's own runtime may be faster than any published one).

Beside each published figure :func:`add_evidence_columns` puts what the
evidence and the performance model give for the same hardware and model class
(``evidence_tps`` with its 95% interval and basis), so a claim is always shown
next to a number that can be traced.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchlib.predict.calibrate import Calibration
from benchlib.predict.command import DEFAULT_RUNTIME_CLASS
from benchlib.predict.predictor import Library, predict
from benchlib.predict.roofline import Scenario

__all__ = [
    "EVIDENCE_COLUMNS",
    "VERDICT_BEYOND_EVIDENCE",
    "add_evidence_columns",
    "best_published_efficiency",
]

VERDICT_BEYOND_EVIDENCE = "beyond any published measurement"
EVIDENCE_COLUMNS = [
    "hardware_class", "best_published_efficiency", "best_published_entry", "evidence_ceiling_tps",
    "evidence_tps", "evidence_tps_low", "evidence_tps_high", "evidence_basis",
]  # fmt: skip


def best_published_efficiency(library: Library) -> pd.DataFrame:
    """The best single-stream share of the bandwidth ceiling each hardware class x runtime class reaches.

    Returns:
        One row per (``hardware_class``, ``runtime_class``): ``best_efficiency`` (0-1),
        ``entry`` (its key), ``n`` (single-stream entries), ``median_efficiency``.
    """
    rows = []
    for obs in library.observations():
        single = obs.metric == "decode_tps" or (obs.metric == "tpot_s" and obs.scenario.concurrency == 1)
        bandwidth = library.hardware.hardware[obs.hardware_id].memory_bandwidth_gb_s.number
        if not single or bandwidth is None:
            continue  # an unpublished bandwidth has no ceiling to be a share of
        rate = obs.value if obs.metric == "decode_tps" else 1.0 / obs.value
        read = obs.model.weight_bytes_read_per_token + obs.model.kv_bytes_per_token * obs.scenario.mean_decode_context
        rows.append({"hardware_class": obs.hardware.hardware_class, "runtime_class": obs.runtime_class,
                     "efficiency": rate * read / (bandwidth * 1e9), "entry": obs.key})  # fmt: skip
    frame = pd.DataFrame(rows, columns=["hardware_class", "runtime_class", "efficiency", "entry"])
    out = []
    for (hardware_class, runtime_class), group in frame.groupby(["hardware_class", "runtime_class"]):
        best = group.loc[group["efficiency"].idxmax()]
        out.append({"hardware_class": hardware_class, "runtime_class": runtime_class,
                    "best_efficiency": float(best["efficiency"]), "entry": best["entry"], "n": len(group),
                    "median_efficiency": float(group["efficiency"].median())})  # fmt: skip
    return pd.DataFrame(out, columns=["hardware_class", "runtime_class", "best_efficiency", "entry", "n",
                                      "median_efficiency"])  # fmt: skip


def _best(best: pd.DataFrame, hardware_class: str | None, runtime_class: str | None) -> pd.Series | None:
    if hardware_class is None or best.empty:
        return None
    rows = best[best["hardware_class"] == hardware_class]
    if runtime_class is not None:
        rows = rows[rows["runtime_class"] == runtime_class]
    return None if rows.empty else rows.loc[rows["best_efficiency"].idxmax()]


def _prediction(library: Library, calibration: Calibration, hardware_id: str, model_size: str,
                output_tokens: int) -> dict[str, Any]:  # fmt: skip
    """The evidence-calibrated single-stream decode rate of a hardware entry x the article's model class."""
    reference = library.hardware.reference_models.get(model_size)
    if reference is None or reference.model_id is None:
        return {"evidence_basis": f"no models.yaml geometry for '{model_size}'"}
    spec = library.spec(hardware_id)
    if not spec.bandwidth_gb_s:
        return {"evidence_basis": f"{hardware_id}: no bandwidth to predict from"}
    runtime_class = DEFAULT_RUNTIME_CLASS[spec.hardware_class]
    model = library.models.geometry(reference.model_id, reference.quantization)
    prediction = predict(calibration, spec, hardware_id, model, runtime_class,
                         Scenario(prompt_tokens=0, output_tokens=output_tokens), [1])  # fmt: skip
    point = prediction.points[0]
    low, high = point.intervals["decode_tps"]
    return {
        "evidence_tps": point.point.decode_tps, "evidence_tps_low": low, "evidence_tps_high": high,
        "evidence_basis": (f"predicted: {model.name} on {hardware_id} with {runtime_class}, calibrated on "
                           f"{prediction.calibration_level} ({prediction.calibration_points} published measurements); "
                           f"interval: {prediction.interval_basis}"),
    }  # fmt: skip


def add_evidence_columns(frame: pd.DataFrame, library: Library, *, output_tokens: int = 128) -> pd.DataFrame:
    """Add :data:`EVIDENCE_COLUMNS` to a plausibility table and the second verdict where it applies.

    Args:
        frame: :func:`~benchlib.analysis.plausibility.plausibility_table`'s rows.
        library: The reference files (:func:`~benchlib.predict.predictor.load_library`).
        output_tokens: Output length of the published figures (the article's 128).
    """
    if frame.empty:
        return frame.reindex(columns=[*frame.columns, *EVIDENCE_COLUMNS])
    best = best_published_efficiency(library)
    calibration = library.calibration()
    rows = []
    for row in frame.to_dict("records"):
        hardware_id = row.get("hardware")
        entry = library.hardware.hardware.get(hardware_id) if isinstance(hardware_id, str) else None
        hardware_class = entry.hardware_class if entry is not None else None
        published = row.get("label") == "published"
        top = _best(best, hardware_class, None)
        extra: dict[str, Any] = {"hardware_class": hardware_class, "best_published_efficiency": np.nan,
                                 "best_published_entry": None, "evidence_ceiling_tps": np.nan}  # fmt: skip
        if top is not None and np.isfinite(row.get("ceiling_tps", np.nan)):
            extra.update(best_published_efficiency=top["best_efficiency"], best_published_entry=top["entry"],
                         evidence_ceiling_tps=row["ceiling_tps"] * top["best_efficiency"])  # fmt: skip
            # above the ceiling a figure is implausible already, or a batched one the ceiling does not bind
            if extra["evidence_ceiling_tps"] < row["figure_tps"] <= row["ceiling_tps"]:
                beyond = (f"{VERDICT_BEYOND_EVIDENCE}: {row['percent_of_ceiling']:.0f}% of the ceiling, the best "
                          f"published {hardware_class} figure reaches {100 * top['best_efficiency']:.0f}%")  # fmt: skip
                row["verdict"] = beyond if row["verdict"] == "ok" else f"{row['verdict']}; {beyond}"
        if published and entry is not None:
            extra.update(_prediction(library, calibration, hardware_id, str(row.get("model")), output_tokens))
        rows.append({**row, **extra})
    return pd.DataFrame(rows).reindex(columns=[*frame.columns, *EVIDENCE_COLUMNS])
