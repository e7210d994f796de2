"""System throughput: output tokens over the measured window, and its bootstrap interval.

The window runs from the first request sent to the last token received. A
one-request-at-a-time run is bootstrapped by resampling requests in blocks of
consecutive requests, in the order they were sent (a moving-block bootstrap,
:func:`benchlib.resampling.moving_block_indices`), each request carrying its
tokens and the time it held the window: per-token latency drifts within a run
(issue 24 measured Spearman rho = 0.5 against time), and blocks keep neighbours
together. Cost and energy intervals are computed from those replicates.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from benchlib.resampling import moving_block_indices
from benchlib.stats import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, Bootstrap, percentile_interval

__all__ = [
    "STEP_THROUGHPUT_METHOD",
    "STEP_WINDOWS",
    "THROUGHPUT_METHOD",
    "step_throughput_bootstrap",
    "system_throughput_bootstrap",
    "system_throughput_replicates",
    "system_throughput_summary",
    "system_throughput_tps",
    "throughput_bootstrap",
    "throughput_replicates",
]


THROUGHPUT_METHOD = "moving-block bootstrap of requests in send order"
STEP_WINDOWS = 10
"""Equal time windows a load step's window is cut into for its throughput interval."""
STEP_THROUGHPUT_METHOD = f"moving-block bootstrap of {STEP_WINDOWS} equal time windows"


def system_throughput_tps(sent_s: Any, last_token_s: Any, output_tokens: Any) -> float:
    """Output tokens over the measured window, tokens per second.

    The window runs from the first request sent to the last token received.

    Args:
        sent_s: When each request was sent, seconds (one clock for all).
        last_token_s: When each request's last token arrived, seconds.
        output_tokens: Output tokens of each request.
    """
    sent = np.asarray(sent_s, dtype=float)
    last = np.asarray(last_token_s, dtype=float)
    tokens = np.asarray(output_tokens, dtype=float)
    if sent.size == 0:
        return float("nan")
    window_s = float(last.max() - sent.min())
    return float(tokens.sum() / window_s) if window_s > 0 else float("nan")


def _sequential_occupancy_s(sent_s: np.ndarray, last_token_s: np.ndarray) -> np.ndarray:
    """Time each request of a one-at-a-time run holds the window.

    A request holds the window from its send until the next request's send (its
    own e2e plus the harness's gap after it); the last one until its last token.
    The occupancies add up to the window exactly.
    """
    order = np.argsort(sent_s)
    sent = sent_s[order]
    occupancy = np.empty_like(sent)
    occupancy[:-1] = np.diff(sent)
    occupancy[-1] = last_token_s[order][-1] - sent[-1]
    result = np.empty_like(occupancy)
    result[order] = occupancy
    return result


def _tokens_per_second(tokens: np.ndarray, occupancy_s: np.ndarray, axis: int = -1) -> np.ndarray:
    return tokens.sum(axis=axis) / occupancy_s.sum(axis=axis)


def system_throughput_bootstrap(
    sent_s: Any,
    last_token_s: Any,
    output_tokens: Any,
    groups: Any = None,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Bootstrap:
    """Bootstrap of the system throughput of a one-request-at-a-time run: replicates and interval.

    Requests are resampled in moving blocks of consecutive sends (blocks of
    ``ceil(n ** (1/3))``), each carrying its tokens and the time it held the
    window, and each replicate is ``sum(tokens) / sum(occupancy)`` (which equals
    the throughput over the windows on the original sample).

    Args:
        sent_s: When each request was sent, seconds.
        last_token_s: When its last token arrived, seconds.
        output_tokens: Its output tokens.
        groups: Optional label per request (the attempt of a resumed run): each
            group is its own window, and the time between groups is not counted.
        confidence: Coverage of the interval.
        resamples: Number of bootstrap resamples.
        seed: Seed of the resampling.
    """
    sent = np.asarray(sent_s, dtype=float)
    last = np.asarray(last_token_s, dtype=float)
    tokens = np.asarray(output_tokens, dtype=float)
    occupancy = np.empty_like(sent)
    if sent.size:
        labels = np.zeros(sent.size) if groups is None else np.asarray(groups)
        for label in np.unique(labels):
            members = labels == label
            occupancy[members] = _sequential_occupancy_s(sent[members], last[members])
    if sent.size == 0:
        return Bootstrap(np.zeros(0), float("nan"), float("nan"), confidence)
    order = np.argsort(sent, kind="stable")
    indices = order[moving_block_indices(sent.size, resamples, np.random.default_rng(seed))]
    replicates = _tokens_per_second(tokens[indices], occupancy[indices])
    interval = percentile_interval(replicates, confidence)
    return Bootstrap(replicates, interval.ci_low, interval.ci_high, confidence)


def system_throughput_replicates(
    sent_s: Any,
    last_token_s: Any,
    output_tokens: Any,
    groups: Any = None,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> np.ndarray:
    """Bootstrap replicates of the system throughput of a one-request-at-a-time run, tokens per second.

    See :func:`system_throughput_bootstrap` (its ``replicates``); empty for no requests.
    """
    return system_throughput_bootstrap(
        sent_s, last_token_s, output_tokens, groups, resamples=resamples, seed=seed
    ).replicates


def system_throughput_summary(
    sent_s: Any,
    last_token_s: Any,
    output_tokens: Any,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    """System throughput of a one-request-at-a-time run, with a bootstrap CI.

    The point value is :func:`system_throughput_tps`; the interval is the
    percentile interval of :func:`system_throughput_replicates`. Valid for
    closed-loop runs with one request in flight.

    Returns:
        ``{"value": tps, "ci_low": ..., "ci_high": ..., "confidence": ..., "n": ...}``.
    """
    result = system_throughput_bootstrap(sent_s, last_token_s, output_tokens, None, confidence, resamples, seed)
    if result.replicates.size == 0:
        nan = float("nan")
        return {"value": nan, "ci_low": nan, "ci_high": nan, "confidence": confidence, "n": 0}
    return {
        "value": system_throughput_tps(sent_s, last_token_s, output_tokens),
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "confidence": confidence,
        "n": int(np.asarray(sent_s).size),
    }


def throughput_bootstrap(
    requests: pd.DataFrame, confidence: float = DEFAULT_CONFIDENCE, resamples: int = DEFAULT_RESAMPLES, seed: int = 0
) -> Bootstrap:
    """Bootstrap of a run's system throughput from its ``requests.parquet`` rows.

    Each attempt of a resumed run is its own window (see :func:`system_throughput_bootstrap`).
    """
    return system_throughput_bootstrap(
        requests["sent_unix_s"], requests["last_token_unix_s"], requests["output_tokens"],
        groups=requests["attempt"], confidence=confidence, resamples=resamples, seed=seed,
    )  # fmt: skip


def throughput_replicates(requests: pd.DataFrame, resamples: int = DEFAULT_RESAMPLES, seed: int = 0) -> np.ndarray:
    """Bootstrap replicates of a run's system throughput from its ``requests.parquet`` rows, tokens per second.

    Each attempt of a resumed run is its own window (see :func:`system_throughput_replicates`).
    """
    return throughput_bootstrap(requests, resamples=resamples, seed=seed).replicates


def step_throughput_bootstrap(
    sent_s: Any,
    last_token_s: Any,
    output_tokens: Any,
    windows: int = STEP_WINDOWS,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Bootstrap:
    """Bootstrap of a load step's throughput (many requests in flight) that keeps time order.

    The step's window (first send to last token) is cut into ``windows`` equal
    windows; each request's tokens count in the window its last token arrived
    in. Windows are resampled in moving blocks (:func:`benchlib.resampling.moving_block_indices`)
    and each replicate is its windows' tokens over the step's window: a step
    whose rate drifts or comes in bursts gets a wider interval than one that is
    steady.
    """
    sent = np.asarray(sent_s, dtype=float)
    last = np.asarray(last_token_s, dtype=float)
    tokens = np.asarray(output_tokens, dtype=float)
    if sent.size == 0 or not np.isfinite(last).any():
        return Bootstrap(np.zeros(0), float("nan"), float("nan"), confidence)
    start, span_s = float(sent.min()), float(np.nanmax(last) - sent.min())
    if span_s <= 0:
        return Bootstrap(np.zeros(0), float("nan"), float("nan"), confidence)
    window = np.minimum(((last - start) / (span_s / windows)).astype(int), windows - 1)
    per_window = np.bincount(window, weights=tokens, minlength=windows)
    indices = moving_block_indices(windows, resamples, np.random.default_rng(seed))
    replicates = per_window[indices].sum(axis=1) / span_s
    interval = percentile_interval(replicates, confidence)
    return Bootstrap(replicates, interval.ci_low, interval.ci_high, confidence)
