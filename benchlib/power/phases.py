"""Each request's energy split into its prefill and decode phases: joules per prompt token and per output token.

A request has two phases on the requests' wall clock (``requests.parquet``):

* prefill, ``[sent_unix_s, first_token_unix_s)``: it evaluates the prompt
  tokens not served from the server's prefix cache (``prompt_tokens -
  cached_prompt_tokens``, the cached count taken as 0 when unknown) and yields
  the first output token, which therefore belongs to prefill;
* decode, ``[first_token_unix_s, last_token_unix_s]``: it yields the other
  ``output_tokens - 1`` tokens, the count ``tpot_s`` divides by (DESIGN.md).

The energy between two consecutive power samples is the difference of the
samples' cumulative ``energy_j`` (what the sampler records: trapezoids over
power readings, or unwrapped counter differences), so a sum over intervals is
the same energy a window measurement gives. That energy is shared among the
phases active in the interval in proportion to the tokens each processes in
it: its token rate (tokens / phase duration) times its overlap with the
interval. Energy of intervals in which no phase processes tokens is not
attributed (``unattributed_j``). Sample times are ``unix_s``, the time base of
the request rows.

Separating the phases needs a measured power sampled at least
:data:`MIN_PHASE_RATE_HZ` and a median prefill of at least two sample periods;
otherwise :func:`phase_energy` says why and what measurement would separate them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from benchlib.power.base import KIND_ESTIMATED
from benchlib.power.integrate import trapezoid_window_j
from benchlib.stats import bootstrap, percentile_interval

__all__ = ["MIN_PHASE_RATE_HZ", "PhaseEnergy", "phase_energy"]

MIN_PHASE_RATE_HZ = 5.0
"""Slowest power sampling, Hz, that can separate prefill from decode."""

SPLIT_METHOD = (
    "Energy between consecutive power samples (differences of the sampler's cumulative energy_j) is shared among "
    "the prefill phases [sent, first token) and decode phases [first token, last token] active in that interval in "
    "proportion to the tokens each processes in it (its tokens / its duration x its overlap); prefill processes the "
    "prompt tokens not served from cache and yields the first output token, decode yields output_tokens - 1 tokens "
    "(the count tpot_s divides by)."
)
_TIMES = ("sent_unix_s", "first_token_unix_s", "last_token_unix_s")


@dataclass(frozen=True)
class PhaseEnergy:
    """Energy per token of the prefill and decode phases of a set of requests.

    Attributes:
        separable: The phases could be separated; when False the energies are ``None``.
        reason: Why not, and what measurement would separate them (``None`` when separable).
        sample_rate_hz: Power sampling rate, Hz (1 / median sample spacing); ``None`` without two samples.
        j_per_prompt_token: Prefill energy / evaluated prompt tokens, joules per token.
        j_per_prompt_token_interval: Its 95% percentile bootstrap interval over requests, joules per token.
        j_per_output_token: Decode energy / decoded tokens (``output_tokens - 1`` per request), joules per token.
        j_per_output_token_interval: Its 95% percentile bootstrap interval over requests, joules per token.
        prefill_j: Energy attributed to prefill phases, joules.
        decode_j: Energy attributed to decode phases, joules.
        prompt_tokens: Evaluated prompt tokens (cached ones excluded) of the requests counted.
        output_tokens: Decoded tokens (the first of each request excluded) of the requests counted.
        requests: Requests counted (completed, timestamped, inside the sampled span).
        method: One sentence saying how the energy was split.
        unattributed_j: Energy of sample intervals within the requests' span in which no
            request processed tokens, joules.
        excluded_requests: Requests left out: failed, missing timestamps or token counts,
            or not inside the sampled span.
    """

    separable: bool
    reason: str | None
    sample_rate_hz: float | None
    j_per_prompt_token: float | None
    j_per_prompt_token_interval: tuple[float, float] | None
    j_per_output_token: float | None
    j_per_output_token_interval: tuple[float, float] | None
    prefill_j: float | None
    decode_j: float | None
    prompt_tokens: int
    output_tokens: int
    requests: int
    method: str = SPLIT_METHOD
    unattributed_j: float | None = None
    excluded_requests: int = 0

    def to_record(self) -> dict[str, Any]:
        """A JSON-serializable dictionary: intervals as ``[low, high]`` lists, ``None`` for unknown (never NaN)."""
        record = asdict(self)
        for key, value in record.items():
            if isinstance(value, tuple):
                value = [_finite(v) for v in value]
                record[key] = None if None in value else value
            elif isinstance(value, float):
                record[key] = _finite(value)
        return record


def _finite(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _completed(requests: pd.DataFrame) -> pd.DataFrame:
    """The requests that completed with timestamps in order and known token counts, with their phases' tokens."""
    frame = requests.copy()
    ok = pd.Series(True, index=frame.index)
    if "error" in frame:
        ok &= frame["error"].isna()
    for column in (*_TIMES, "prompt_tokens", "output_tokens"):
        ok &= pd.to_numeric(frame[column], errors="coerce").notna() if column in frame else False
    frame = frame[ok]
    times = frame[list(_TIMES)].astype(float)
    frame = frame[(times["sent_unix_s"] < times["first_token_unix_s"]) & (times["first_token_unix_s"] <= times["last_token_unix_s"])]
    cached = pd.to_numeric(frame.get("cached_prompt_tokens", pd.Series(0, index=frame.index)), errors="coerce").fillna(0)
    frame = frame.assign(
        evaluated_tokens=(frame["prompt_tokens"].astype(float) - cached).clip(lower=0),
        decoded_tokens=(frame["output_tokens"].astype(float) - 1).clip(lower=0),
    )
    return frame


def _interval_energy_j(group: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Sample times (Unix seconds, increasing) and the energy between consecutive samples, joules.

    The differences of the sampler's cumulative ``energy_j``; without it, trapezoids over ``power_w``
    (NaN where a power is unknown).
    """
    group = group.sort_values("unix_s").drop_duplicates("unix_s")
    times_s = group["unix_s"].to_numpy(dtype=float)
    if "energy_j" in group and group["energy_j"].notna().all():
        return times_s, np.diff(group["energy_j"].to_numpy(dtype=float))
    power_w = group["power_w"].to_numpy(dtype=float)
    energy_j = [trapezoid_window_j(times_s[i : i + 2], power_w[i : i + 2], times_s[i], times_s[i + 1])[0]
                for i in range(len(times_s) - 1)]  # fmt: skip
    return times_s, np.asarray(energy_j, dtype=float)


def _apportion(times_s: np.ndarray, interval_j: np.ndarray, starts_s: np.ndarray, ends_s: np.ndarray,
               tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Energy of each phase, and per interval the token weight active in it (zero: not attributed).

    Returns:
        ``(phase_j, touches_unknown, interval_weight)``: joules per phase; whether a phase overlaps an
        interval of unknown energy; the tokens processed in each interval by all phases.
    """
    n = interval_j.size
    duration_s = ends_s - starts_s
    rate = np.divide(tokens, duration_s, out=np.zeros_like(tokens), where=duration_s > 0)  # tokens / s
    lo = np.clip(np.searchsorted(times_s, starts_s, side="right") - 1, 0, n)
    hi = np.clip(np.searchsorted(times_s, ends_s, side="left"), 0, n)
    counts = np.maximum(hi - lo, 0)
    phase = np.repeat(np.arange(starts_s.size), counts)
    interval = lo[phase] + np.arange(phase.size) - np.repeat(np.cumsum(counts) - counts, counts)
    overlap_s = np.minimum(ends_s[phase], times_s[interval + 1]) - np.maximum(starts_s[phase], times_s[interval])
    weight = rate[phase] * np.clip(overlap_s, 0.0, None)
    interval_weight = np.bincount(interval, weight, minlength=n)
    share = np.divide(weight, interval_weight[interval], out=np.zeros_like(weight), where=interval_weight[interval] > 0)
    unknown = np.isnan(interval_j[interval]) & (weight > 0)
    phase_j = np.bincount(phase, np.where(unknown, 0.0, share * interval_j[interval]), minlength=starts_s.size)
    touches_unknown = np.bincount(phase, unknown, minlength=starts_s.size) > 0
    return phase_j, touches_unknown, interval_weight


def _ratio_interval(energy_j: np.ndarray, tokens: np.ndarray, seed: int) -> tuple[float, float] | None:
    """95% percentile bootstrap interval of sum(energy) / sum(tokens), resampling requests."""

    def ratio_of_sums(e: np.ndarray, t: np.ndarray, axis: int = -1) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.sum(e, axis=axis) / np.sum(t, axis=axis)

    _, low, high = percentile_interval(bootstrap((energy_j, tokens), ratio_of_sums, seed=seed).replicates)
    return (low, high) if math.isfinite(low) and math.isfinite(high) else None


def phase_energy(samples: pd.DataFrame, requests: pd.DataFrame, *, estimated: bool = False, seed: int = 0) -> PhaseEnergy:
    """Joules per evaluated prompt token (prefill) and per decoded output token (decode), with 95% intervals.

    Args:
        samples: Power samples as in ``power.parquet``: ``unix_s`` (s), ``energy_j`` (cumulative, J)
            and/or ``power_w`` (W), optionally ``kind`` and ``attempt`` (each attempt integrated on its own).
        requests: Request rows as in ``requests.parquet``: ``sent_unix_s``, ``first_token_unix_s``,
            ``last_token_unix_s`` (s), ``prompt_tokens``, ``output_tokens``, optionally
            ``cached_prompt_tokens``, ``error`` and ``attempt``. Failed requests (non-null ``error``)
            and those missing timestamps or token counts are left out.
        estimated: The power is a profile estimate, not a measurement (also inferred from ``kind``).
        seed: Seed of the bootstrap over requests.

    Returns:
        The :class:`PhaseEnergy`; ``separable=False`` with the reason (energies ``None``) when the
        samples cannot separate the phases.
    """
    completed = _completed(requests)
    n = len(completed)
    groups = [] if samples.empty else ([g for _, g in samples.groupby("attempt")] if "attempt" in samples else [samples])
    spacing_s = np.concatenate([np.diff(np.unique(g["unix_s"].to_numpy(dtype=float))) for g in groups] or [np.zeros(0)])
    rate_hz = 1.0 / float(np.median(spacing_s)) if spacing_s.size else None
    estimated = estimated or ("kind" in samples and bool((samples["kind"] == KIND_ESTIMATED).any()))
    prefill_s = (completed["first_token_unix_s"] - completed["sent_unix_s"]).astype(float)

    def refuse(reason: str, counted: pd.DataFrame = completed) -> PhaseEnergy:
        return PhaseEnergy(False, reason, rate_hz, None, None, None, None, None, None,
                           int(counted["evaluated_tokens"].sum()), int(counted["decoded_tokens"].sum()),
                           len(counted), excluded_requests=len(requests) - len(counted))  # fmt: skip

    if estimated:
        return refuse("power is an estimate, not a measurement: one figure for the whole run cannot tell prefill "
                      "from decode; measure it with a power sensor sampled at 10 Hz or more")  # fmt: skip
    if rate_hz is None:
        return refuse("no power samples in the window: record power with a sensor sampled at 10 Hz or more")
    if rate_hz < MIN_PHASE_RATE_HZ:
        return refuse(f"power sampled at {rate_hz:.1f} Hz, below {MIN_PHASE_RATE_HZ:g} Hz: each sample spans "
                      "several phases; sample at 10 Hz or more")  # fmt: skip
    period_s = 1.0 / rate_hz
    if n and float(prefill_s.median()) < 2 * period_s:
        median_s = float(prefill_s.median())
        return refuse(f"prefill lasts a median {median_s:.2g} s, shorter than two sample periods ({2 * period_s:.2g} s): "
                      f"use longer prompts or sample at {2 / median_s:.3g} Hz or more")  # fmt: skip

    prefill_j, decode_j = np.zeros(n), np.zeros(n)
    covered = np.zeros(n, dtype=bool)
    unattributed_j = 0.0
    attempts = completed["attempt"].to_numpy() if "attempt" in completed and "attempt" in samples else None
    for group in groups:
        mine = np.ones(n, dtype=bool) if attempts is None else attempts == group["attempt"].iloc[0]
        times_s, interval_j = _interval_energy_j(group)
        if interval_j.size == 0 or not mine.any():
            continue
        rows = completed[mine]
        sent, first, last = (rows[c].to_numpy(dtype=float) for c in _TIMES)
        phase_j, unknown, weight = _apportion(
            times_s, interval_j, np.concatenate([sent, first]), np.concatenate([first, last]),
            np.concatenate([rows["evaluated_tokens"].to_numpy(float), rows["decoded_tokens"].to_numpy(float)]),
        )  # fmt: skip
        k = len(rows)
        inside = (sent >= times_s[0]) & (last <= times_s[-1]) & ~unknown[:k] & ~unknown[k:]
        prefill_j[mine] += phase_j[:k]
        decode_j[mine] += phase_j[k:]
        covered[mine] |= inside
        span = (times_s[1:] > sent.min()) & (times_s[:-1] < last.max()) & (weight == 0)
        unattributed_j += float(np.nansum(interval_j[span]))

    counted = completed[covered]
    if counted.empty:
        return refuse("no completed request lies inside the sampled span of power samples: record power throughout "
                      "the measured requests", counted)  # fmt: skip
    prompt_tokens = counted["evaluated_tokens"].to_numpy(float)
    decoded_tokens = counted["decoded_tokens"].to_numpy(float)
    prefill, decode = prefill_j[covered], decode_j[covered]
    per_prompt = float(prefill.sum() / prompt_tokens.sum()) if prompt_tokens.sum() > 0 else None
    per_output = float(decode.sum() / decoded_tokens.sum()) if decoded_tokens.sum() > 0 else None
    return PhaseEnergy(
        separable=True,
        reason=None,
        sample_rate_hz=rate_hz,
        j_per_prompt_token=per_prompt,
        j_per_prompt_token_interval=_ratio_interval(prefill, prompt_tokens, seed) if per_prompt is not None else None,
        j_per_output_token=per_output,
        j_per_output_token_interval=_ratio_interval(decode, decoded_tokens, seed) if per_output is not None else None,
        prefill_j=float(prefill.sum()),
        decode_j=float(decode.sum()),
        prompt_tokens=int(prompt_tokens.sum()),
        output_tokens=int(decoded_tokens.sum()),
        requests=len(counted),
        unattributed_j=unattributed_j,
        excluded_requests=len(requests) - len(counted),
    )
