"""Soak: a long http sweep at concurrency 64 against the replay server (``benchlib bench --only soak``).

What users run, for long enough to show a leak: :func:`benchlib.sweep.run_sweep`
with ``runtime: http``, one closed-loop step of 64 streams against the replay
server streaming one token every 20 ms, for ``BENCHLIB_SOAK_S`` seconds (600
by default). Meanwhile a thread samples this process's resident memory (RSS)
and CPU time every few seconds. Reported:

* requests issued and failed (goal: zero failed), by error kind;
* tokens/s over the step, against the ideal 64 x 50 = 3200 tok/s;
* RSS growth from one minute into the step to its end (goal: under 5%);
* client CPU seconds per 1k tok/s: process CPU time / step duration / (tok/s / 1000).

The replay server runs in its own process, so its CPU is not the client's.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["SOAK_DURATION_ENV", "ResourceSampler", "soak"]

SOAK_DURATION_ENV = "BENCHLIB_SOAK_S"
"""Environment variable with the soak's length in seconds (default 600)."""

DEFAULT_SOAK_S = 600.0
WARM_S = 60.0
"""Memory growth is measured from this far into the step: the first minute fills pools and caches."""
RSS_GROWTH_GOAL = 0.05


class ResourceSampler:
    """Samples this process's RSS and CPU time on a background thread.

    Args:
        interval_s: Time between samples, seconds.
    """

    def __init__(self, interval_s: float = 2.0) -> None:
        import psutil

        self.interval_s = interval_s
        self.samples: list[tuple[float, int, float]] = []  # (unix_s, rss_bytes, cpu_s)
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-sampler", daemon=True)

    def _sample(self) -> None:
        times = self._process.cpu_times()
        self.samples.append((time.time(), self._process.memory_info().rss, times.user + times.system))

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self._sample()

    def start(self) -> "ResourceSampler":
        """Take a first sample and start sampling."""
        self._sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        """Take a last sample and stop."""
        self._stop.set()
        self._thread.join()
        self._sample()

    def between(self, start_unix_s: float, end_unix_s: float) -> list[tuple[float, int, float]]:
        """The samples taken in ``[start_unix_s, end_unix_s]``."""
        return [s for s in self.samples if start_unix_s <= s[0] <= end_unix_s]


def _duration_s(duration_s: float | None) -> float:
    from benchlib.errors import ParameterError

    if duration_s is not None:
        return float(duration_s)
    raw = os.environ.get(SOAK_DURATION_ENV, "")
    try:
        value = float(raw) if raw else DEFAULT_SOAK_S
    except ValueError:
        raise ParameterError(f"{SOAK_DURATION_ENV} must be a number of seconds (e.g. 60), got {raw!r}.") from None
    if value <= 0:
        raise ParameterError(f"{SOAK_DURATION_ENV} must be positive, got {raw!r}.")
    return value


def soak(
    duration_s: float | None = None, concurrency: int = 64, interval_ms: float = 20.0, output_tokens: int = 64
) -> dict[str, Any]:
    """An http sweep of one closed-loop step against the replay server, with the client's memory and CPU.

    Args:
        duration_s: Length of the step, seconds (``None``: ``BENCHLIB_SOAK_S``, else 600).
        concurrency: Simultaneous streams.
        interval_ms: The replay server's time between tokens, milliseconds.
        output_tokens: Tokens per request.
    """
    from benchlib.config import SweepConfig
    from benchlib.sweep import run_sweep
    from benchlib.testing.local_servers import free_port, replay_server

    duration_s = _duration_s(duration_s)
    # enough requests that the step runs its full duration (the driver makes a step's requests up front)
    ideal_rps = concurrency / (output_tokens * interval_ms / 1000.0)
    min_requests = int(1.5 * ideal_rps * duration_s) + concurrency
    with tempfile.TemporaryDirectory() as folder:
        server = replay_server(free_port(), Path(folder) / "replay.log", interval_ms=interval_ms).start()
        sampler = ResourceSampler()
        try:
            config = SweepConfig.from_mapping(
                dict(
                    profile="soak", runtime="http", url=server.url, model="replay", served_model="replay",
                    prompts="short", output_tokens=output_tokens, concurrency=[concurrency],
                    step_min_requests=min_requests, step_max_s=duration_s, warmup=1, power="none",
                    request_timeout_s=60.0, output_dir=str(Path(folder) / "runs"),
                )
            )  # fmt: skip
            sampler.start()
            result = run_sweep(config, progress=False)
            sampler.stop()
        finally:
            server.stop()
        step = result.meta["steps"][f"c{concurrency}"]
        requests = result.requests
    return _figures(step, requests, sampler, duration_s, concurrency, interval_ms, output_tokens)


def _figures(step, requests, sampler: ResourceSampler, duration_s, concurrency, interval_ms, output_tokens) -> dict[str, Any]:
    """The soak's figures from the step's record, its rows and the resource samples."""
    start, end = step["started_unix_s"], step["ended_unix_s"]
    step_s = end - start
    failed = requests[requests["error"].notna()]
    tokens = int(requests.loc[requests["error"].isna(), "output_tokens"].sum())
    tokens_per_s = tokens / step_s
    inside = sampler.between(start, end)
    warm = [s for s in inside if s[0] >= start + min(WARM_S, step_s / 2)]
    rss_warm_mb = warm[0][1] / 2**20 if warm else float("nan")
    rss_end_mb = warm[-1][1] / 2**20 if warm else float("nan")
    growth = (rss_end_mb - rss_warm_mb) / rss_warm_mb if warm else float("nan")
    cpu_s = inside[-1][2] - inside[0][2] if len(inside) > 1 else float("nan")
    sampled_s = inside[-1][0] - inside[0][0] if len(inside) > 1 else float("nan")
    return {
        "duration_s_asked": duration_s,
        "step_duration_s": step_s,
        "concurrency": concurrency,
        "true_interval_ms": interval_ms,
        "output_tokens_per_request": output_tokens,
        "requests_issued": int(step["summary"]["issued"]),
        "requests_recorded": int(len(requests)),
        "requests_failed": int(len(failed)),
        "errors_by_kind": {str(k): int(v) for k, v in failed["error_kind"].value_counts().items()},
        "tokens_per_s": tokens_per_s,
        "ideal_tokens_per_s": concurrency * 1000.0 / interval_ms,
        "rss_mb_at_warm": rss_warm_mb,
        "rss_mb_at_end": rss_end_mb,
        "rss_mb_max": max(s[1] for s in inside) / 2**20 if inside else float("nan"),
        "rss_growth_after_first_minute": growth,
        "rss_growth_goal_met": bool(growth < RSS_GROWTH_GOAL) if warm else None,
        "rss_samples": len(inside),
        "client_cpu_s": cpu_s,
        "client_cpu_core_fraction": cpu_s / sampled_s,
        "client_cpu_s_per_1k_tps": cpu_s / sampled_s / (tokens_per_s / 1000.0),
        "zero_failed_goal_met": len(failed) == 0,
        "goal": "zero failed requests; RSS growth after the first minute < 5%",
        "note": "client process only (the replay server is another process); a shared machine moves CPU figures",
    }
