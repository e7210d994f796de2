"""Soak: a long http load step at concurrency 64 against the replay server (``benchlib bench --only soak``).

What users run, for long enough to show a leak: the sweep's load step
(:func:`benchlib.sweep.steps.run_step`, each finished request's row appended to
``requests.partial.jsonl`` as the http driver does), one closed-loop step of 64
streams against the replay server streaming one token every 20 ms, for
``BENCHLIB_SOAK_S`` seconds (600 by default). Meanwhile a thread samples this process's resident memory (RSS)
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

from benchlib.errors import ParameterError
from benchlib.runtimes.base import GenerationRequest
from benchlib.runtimes.http import HttpSettings
from benchlib.sweep.partial_log import PartialLog
from benchlib.sweep.rows import load_step_row
from benchlib.sweep.steps import LoadStep, run_step
from benchlib.testing.local_servers import reserve_port, replay_server
from benchlib.workload import PROMPT_SETS

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
    """One closed-loop load step against the replay server, recorded as a sweep records it; the client's memory and CPU.

    Every finished request goes through the sweep's own path: its row
    (:func:`benchlib.sweep.rows.load_step_row`) appended to a real
    ``requests.partial.jsonl`` (:class:`benchlib.sweep.partial_log.PartialLog`).
    The step's statistics are not computed here (``benchlib.metrics``).

    Args:
        duration_s: Length of the step, seconds (``None``: ``BENCHLIB_SOAK_S``, else 600).
        concurrency: Simultaneous streams.
        interval_ms: The replay server's time between tokens, milliseconds.
        output_tokens: Tokens per request.
    """
    import asyncio
    from collections import Counter

    duration_s = _duration_s(duration_s)
    step = LoadStep(f"c{concurrency}", "closed", concurrency, None, 10**9, duration_s)
    prompts = PROMPT_SETS["short"]
    counter = iter(range(10**9))
    kinds: Counter = Counter()
    tokens = [0]

    def next_request() -> GenerationRequest:
        index = next(counter)
        prompt = index % len(prompts)
        return GenerationRequest(f"{step.step_id}-a0-{index:05d}-p{prompt:02d}", prompts[prompt], output_tokens, True)

    with tempfile.TemporaryDirectory() as folder:
        server = replay_server(reserve_port(), Path(folder) / "replay.log", interval_ms=interval_ms).start()
        log = PartialLog(Path(folder))
        unix_minus_perf_s = time.time() - time.perf_counter()

        def on_trace(request: GenerationRequest, trace) -> None:
            log.append(load_step_row(trace, request, step, 0, unix_minus_perf_s))
            kinds[trace.error_kind or "ok"] += 1
            tokens[0] += trace.output_tokens if trace.error is None else 0

        sampler = ResourceSampler()
        try:
            settings = HttpSettings(url=server.url, served_model="replay", request_timeout_s=60.0)
            sampler.start()
            outcome = asyncio.run(run_step(settings, step, next_request, on_trace))
            sampler.stop()
        finally:
            server.stop()
            log.close()
        recorded = sum(1 for _ in open(log.path, encoding="utf-8"))
    start_unix_s = unix_minus_perf_s + outcome.started_perf_s
    end_unix_s = unix_minus_perf_s + outcome.ended_perf_s
    failed = {kind: n for kind, n in kinds.items() if kind != "ok"}
    return _figures(
        start_unix_s, end_unix_s, outcome.issued, recorded, failed, tokens[0], sampler,
        duration_s, concurrency, interval_ms, output_tokens,
    )  # fmt: skip


def _figures(
    start_unix_s, end_unix_s, issued, recorded, failed, tokens, sampler: ResourceSampler, duration_s, concurrency,
    interval_ms, output_tokens,
) -> dict[str, Any]:
    """The soak's figures from the step's counts and the resource samples."""
    step_s = end_unix_s - start_unix_s
    tokens_per_s = tokens / step_s
    inside = sampler.between(start_unix_s, end_unix_s)
    warm = [s for s in inside if s[0] >= start_unix_s + min(WARM_S, step_s / 2)]
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
        "requests_issued": int(issued),
        "requests_recorded": int(recorded),
        "requests_failed": int(sum(failed.values())),
        "errors_by_kind": failed,
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
        "zero_failed_goal_met": not failed,
        "goal": "zero failed requests; RSS growth after the first minute < 5%",
        "note": "client process only (the replay server is another process); a shared machine moves CPU figures",
    }
