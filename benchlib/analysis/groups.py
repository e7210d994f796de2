"""What makes runs comparable: the same model file, the same workload, and (for like-for-like) the same runtime.

A 135M model on this CPU and a 7B model on a GPU answer different questions,
so figures facet or colour by :data:`MODEL_LABEL` and pairwise comparisons
(:mod:`benchlib.analysis.comparisons`) only pair runs of one
:data:`COMPARISON_GROUP`: same model (architecture, parameter count,
quantization, file sha256) and same workload (prompts, output tokens per
request). :data:`LIKE_FOR_LIKE_GROUP` adds the runtime.

Published numbers carry only a model size (``7B q4``); their label is that
size, marked published, and they never join a measured group.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "COMPARISON_GROUP",
    "LIKE_FOR_LIKE_GROUP",
    "MODEL_LABEL",
    "WORKLOAD_LABEL",
    "add_group_columns",
    "model_label",
    "published_model_label",
    "workload_label",
]

MODEL_LABEL = "model_label"
"""Column: the model as a reader names it, ``llama 134.5M Q4_1 · b179c952``."""
WORKLOAD_LABEL = "workload_label"
"""Column: the workload, ``prompts short (~11 tok) → 128 tok``."""
COMPARISON_GROUP = "comparison_group"
"""Column: model and workload; runs that share it are compared pairwise."""
LIKE_FOR_LIKE_GROUP = "like_for_like_group"
"""Column: model, workload and runtime."""


def _size(params_m: Any) -> str:
    if params_m is None or not np.isfinite(float(params_m)) or float(params_m) <= 0:
        return "size unknown"
    params_m = float(params_m)
    return f"{params_m / 1e3:.3g}B" if params_m >= 1e3 else f"{params_m:.4g}M"


def model_label(row: pd.Series | dict[str, Any]) -> str:
    """``architecture size quantization · sha256[:8]`` of one run-table row (unknown parts say so)."""
    def text(column: str, unknown: str) -> str:  # a missing value is None, or NaN beside rows that have one
        value = row.get(column)
        return value if isinstance(value, str) and value else unknown

    sha = text("model_sha256", "")
    parts = [text("architecture", "unknown architecture"), _size(row.get("model_params_m")),
             text("quantization", "unknown quantization")]  # fmt: skip
    return " ".join(parts) + (f" · {sha[:8]}" if sha else " · no sha256")


def published_model_label(model_size: str) -> str:
    """The label of a published number's model (``7B q4 (published)``): the article gives only a size."""
    return f"{model_size} (published)"


def workload_label(row: pd.Series | dict[str, Any]) -> str:
    """``prompts NAME (~N tok) → M tok`` of one run-table row."""
    prompt_tokens = row.get("prompt_tokens_median")
    tokens = f" (~{float(prompt_tokens):.0f} tok)" if prompt_tokens is not None and np.isfinite(float(prompt_tokens)) else ""
    return f"prompts {row.get('prompts')}{tokens} → {row.get('output_tokens_per_request')} tok"


def add_group_columns(runs: pd.DataFrame) -> pd.DataFrame:
    """A copy of a run table with :data:`MODEL_LABEL`, :data:`WORKLOAD_LABEL`, :data:`COMPARISON_GROUP`
    and :data:`LIKE_FOR_LIKE_GROUP` added.

    Args:
        runs: :func:`~benchlib.analysis.tables.run_table` (needs ``architecture``,
            ``model_params_m``, ``quantization``, ``model_sha256``, ``prompts``,
            ``prompt_tokens_median``, ``output_tokens_per_request``, ``runtime``).
    """
    runs = runs.copy()
    if runs.empty:
        for column in (MODEL_LABEL, WORKLOAD_LABEL, COMPARISON_GROUP, LIKE_FOR_LIKE_GROUP):
            runs[column] = pd.Series(dtype=str)
        return runs
    runs[MODEL_LABEL] = [model_label(row) for _, row in runs.iterrows()]
    runs[WORKLOAD_LABEL] = [workload_label(row) for _, row in runs.iterrows()]
    # The key leaves the median prompt length out: two runtimes may tokenize one prompt set a token apart.
    # map(str), not astype(str): pandas' string dtype keeps a missing value (an imported run's unknown length) missing
    workload_key = "prompts " + runs["prompts"].map(str) + " → " + runs["output_tokens_per_request"].map(str) + " tok"
    runs[COMPARISON_GROUP] = runs[MODEL_LABEL] + " | " + workload_key
    runs[LIKE_FOR_LIKE_GROUP] = runs[COMPARISON_GROUP] + " | " + runs["runtime"].map(str)
    return runs
