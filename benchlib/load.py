"""Load generation against streaming servers: closed-loop concurrency and open-loop Poisson steps.

A sweep with ``runtime: http`` runs a list of **steps**:

* closed loop ``cN``: N workers, each sending its next request as soon as its
  previous one ends (the article's "concurrency up to 64");
* open loop ``rX``: requests arrive as a Poisson process at X requests per
  second (fixed seed), whether or not earlier ones have finished.

Each step stops issuing requests once ``step_min_requests`` have been issued
or after ``step_max_s`` seconds, whichever comes first, then waits for the
requests in flight. Warm-up
requests run once before the first step and are never recorded. A failed,
timed-out or truncated request is recorded with its error and kept out of the
latency statistics — never dropped, never averaged in.

Every completed request is appended at once to ``requests.partial.jsonl``
(one line, no rewrite, so the event loop's timing is not disturbed) and each
finished step is folded into ``requests.parquet``: a ``kill -9`` loses no
completed request. A resumed sweep skips finished steps and runs an
unfinished step again from its start (its earlier rows stay on disk, marked
with their attempt; a step's statistics use its latest attempt).
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from benchlib.errors import ParameterError
from benchlib.metrics import prompt_cache_summary, request_metrics, retried_requests, summarize, system_throughput_tps
from benchlib.runtimes.base import GenerationRequest, TokenTrace
from benchlib.runtimes.http import HttpSettings, ServerGone, client_session, run_coroutine, stream_request

__all__ = [
    "LoadStep",
    "PartialLog",
    "ServerGone",
    "StepOutcome",
    "fold_partial",
    "plan_steps",
    "run_load_sweep",
    "run_step",
    "step_summary",
    "trace_row",
]

PARTIAL_FILE = "requests.partial.jsonl"
ABORT_AFTER_CONSECUTIVE_FAILURES = 5
"""Connection failures in a row (at least the concurrency) after which the server counts as gone."""


@dataclass(frozen=True)
class LoadStep:
    """One step of a load sweep.

    Attributes:
        step_id: ``c4`` (closed loop, 4 streams) or ``r2.5`` (open loop, 2.5 requests/s).
        mode: ``closed`` or ``open``.
        concurrency: Simultaneous streams (closed loop).
        rate_rps: Mean arrival rate, requests per second (open loop).
        min_requests: Requests to issue before stopping.
        max_duration_s: Longest the step issues requests, seconds.
    """

    step_id: str
    mode: str
    concurrency: int | None
    rate_rps: float | None
    min_requests: int
    max_duration_s: float


def plan_steps(concurrency: list[int], rates_rps: list[float], min_requests: int, max_duration_s: float) -> list[LoadStep]:
    """The steps of a sweep: closed-loop concurrencies first, then open-loop rates.

    Raises:
        ParameterError: no step, a concurrency below 1, a rate not above 0, or bad bounds.
    """
    if not concurrency and not rates_rps:
        raise ParameterError("A load sweep needs at least one step: set concurrency (e.g. [1, 2, 4]) or rates_rps.")
    if any(not isinstance(c, int) or isinstance(c, bool) or c < 1 for c in concurrency):
        raise ParameterError(f"concurrency must be a list of integers >= 1, got {concurrency!r}.")
    if any(not isinstance(r, (int, float)) or isinstance(r, bool) or r <= 0 for r in rates_rps):
        raise ParameterError(f"rates_rps must be a list of positive numbers, got {rates_rps!r}.")
    if min_requests < 1 or max_duration_s <= 0:
        raise ParameterError(
            f"step_min_requests must be >= 1 and step_max_s > 0, got {min_requests} and {max_duration_s}."
        )
    steps = [LoadStep(f"c{c}", "closed", c, None, min_requests, max_duration_s) for c in concurrency]
    steps += [LoadStep(f"r{r:g}", "open", None, float(r), min_requests, max_duration_s) for r in rates_rps]
    return steps


@dataclass
class StepOutcome:
    """What a step did.

    Attributes:
        step: The step.
        started_perf_s: When it started issuing, ``perf_counter`` seconds.
        ended_perf_s: When its last request ended.
        issued: Requests issued.
        aborted: Why the step stopped early (the server went away), else ``None``.
    """

    step: LoadStep
    started_perf_s: float
    ended_perf_s: float
    issued: int
    aborted: str | None = None

    @property
    def duration_s(self) -> float:
        """Step wall time, seconds."""
        return self.ended_perf_s - self.started_perf_s


class _Tracker:
    """Counts completions and consecutive connection failures across workers."""

    def __init__(self, step: LoadStep, on_trace: Callable[[GenerationRequest, TokenTrace], None]) -> None:
        self.step = step
        self.on_trace = on_trace
        self.completed = 0
        self.failures_in_a_row = 0
        self.aborted: str | None = None
        self.limit = max(ABORT_AFTER_CONSECUTIVE_FAILURES, step.concurrency or 1)

    def record(self, request: GenerationRequest, trace: TokenTrace) -> None:
        self.completed += 1
        self.on_trace(request, trace)
        if trace.error_kind in ("connect", "disconnected"):
            self.failures_in_a_row += 1
            if self.failures_in_a_row >= self.limit and self.aborted is None:
                self.aborted = f"{self.failures_in_a_row} requests in a row failed to reach the server: {trace.error}"
        else:
            self.failures_in_a_row = 0


async def run_step(
    settings: HttpSettings,
    step: LoadStep,
    next_request: Callable[[], GenerationRequest],
    on_trace: Callable[[GenerationRequest, TokenTrace], None],
    seed: int = 0,
) -> StepOutcome:
    """Run one step against the server.

    Args:
        settings: Server settings.
        step: The step.
        next_request: Gives the next request to send.
        on_trace: Called with every finished request (successful or not), at once.
        seed: Seed of the open loop's arrival times.
    """
    import aiohttp

    tracker = _Tracker(step, on_trace)
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    started = time.perf_counter()
    deadline = started + step.max_duration_s
    issued = 0

    async with client_session(connector=connector) as session:

        async def send(request: GenerationRequest) -> None:
            tracker.record(request, await stream_request(session, settings, request))

        if step.mode == "closed":

            async def worker() -> None:
                nonlocal issued
                while tracker.aborted is None and issued < step.min_requests and time.perf_counter() < deadline:
                    issued += 1
                    await send(next_request())

            await asyncio.gather(*(worker() for _ in range(step.concurrency or 1)))
        else:
            rng = np.random.default_rng(seed)
            tasks = []
            arrival = started
            while issued < step.min_requests and tracker.aborted is None:
                arrival += float(rng.exponential(1.0 / float(step.rate_rps)))
                if arrival > deadline:
                    break
                delay = arrival - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                issued += 1
                tasks.append(asyncio.create_task(send(next_request())))
            await asyncio.gather(*tasks)
    return StepOutcome(step, started, time.perf_counter(), issued, tracker.aborted)


def step_summary(rows: pd.DataFrame, outcome: StepOutcome, slo: dict[str, float]) -> dict[str, Any]:
    """Statistics of one step: latency distributions of successful requests, throughput, goodput, errors.

    Args:
        rows: The step's rows (as written to ``requests.parquet``).
        outcome: The step's outcome.
        slo: Targets ``{"ttft_s": ..., "tpot_s": ..., "e2e_s": ...}``; 0 or missing means none.
    """
    ok = rows[rows["error"].isna()] if not rows.empty else rows
    failed = rows[rows["error"].notna()] if not rows.empty else rows
    duration_s = outcome.duration_s
    summary: dict[str, Any] = {
        **asdict(outcome.step),
        "issued": outcome.issued,
        "requests_ok": int(len(ok)),
        "requests_failed": int(len(failed)),
        "errors_by_kind": {str(k): int(v) for k, v in failed["error_kind"].value_counts().items()} if len(failed) else {},
        "duration_s": duration_s,
        "aborted": outcome.aborted,
        "retried_requests": retried_requests(rows),
    }
    if ok.empty:
        return summary
    for column in ("ttft_s", "ttfh_s", "headers_to_first_token_s", "tpot_s", "e2e_s", "decode_tps"):
        summary[column] = summarize(pd.to_numeric(ok[column], errors="coerce")).to_dict()
    summary["itl_s"] = summarize([gap for gaps in ok["itl_s"] for gap in gaps]).to_dict()
    summary["output_tokens"] = int(ok["output_tokens"].sum())
    summary["throughput_tps"] = system_throughput_tps(ok["sent_unix_s"], ok["last_token_unix_s"], ok["output_tokens"])
    summary["request_rate_rps"] = len(ok) / duration_s if duration_s > 0 else float("nan")
    meets = pd.Series(True, index=ok.index)
    targets = {k: float(v) for k, v in slo.items() if v}
    for metric, target in targets.items():
        meets &= pd.to_numeric(ok[metric], errors="coerce") <= target
    summary["slo"] = targets
    summary["requests_meeting_slo"] = int(meets.sum())
    summary["goodput_rps"] = float(meets.sum()) / duration_s if duration_s > 0 else float("nan")
    summary["token_count_sources"] = sorted(set(ok["token_count_source"]))
    summary["prompt_cache"] = prompt_cache_summary(ok)
    return summary


def trace_row(
    trace: TokenTrace, request: GenerationRequest, step: LoadStep, attempt: int, unix_minus_perf_s: float
) -> dict[str, Any]:
    """One ``requests.parquet`` row of an HTTP request, failed or not."""
    prompt_index = int(request.request_id.rsplit("-p", 1)[1])
    base: dict[str, Any] = {
        "request_id": request.request_id,
        "step": step.step_id,
        "mode": step.mode,
        "concurrency": step.concurrency,
        "rate_rps": step.rate_rps,
        "attempt": attempt,
        "prompt_index": prompt_index,
        "prompt_tokens": trace.prompt_tokens or None,
        "output_tokens": trace.output_tokens,
        "token_count_source": trace.token_count_source,
        "sent_unix_s": unix_minus_perf_s + trace.sent_s,
        "headers_unix_s": unix_minus_perf_s + trace.headers_s if trace.headers_s is not None else None,
        "ttfh_s": trace.headers_s - trace.sent_s if trace.headers_s is not None else None,
        "error": trace.error,
        "error_kind": trace.error_kind,
        "retries": trace.retries,
        "cached_prompt_tokens": trace.cached_prompt_tokens,
        "output_text": trace.text,
    }
    timings = trace.runtime_timings
    base.update(
        {
            "runtime_prompt_eval_s": timings.prompt_eval_s if timings else None,
            "runtime_prompt_eval_tokens": timings.prompt_eval_tokens if timings else None,
            "runtime_decode_s": timings.decode_s if timings else None,
            "runtime_decode_tokens": timings.decode_tokens if timings else None,
            "runtime_decode_tps": timings.decode_tps if timings else None,
        }
    )
    if trace.error is not None or not trace.token_times_s:
        if trace.error is None:
            base["error"], base["error_kind"] = "the server sent no tokens", "truncated"
        nan = float("nan")
        base.update({k: nan for k in ("first_token_unix_s", "last_token_unix_s", "ttft_s", "e2e_s", "tpot_s",
                                      "decode_tps", "headers_to_first_token_s")})  # fmt: skip
        base["itl_s"] = []
        return base
    metrics = request_metrics(trace)
    base.update(
        {
            "first_token_unix_s": unix_minus_perf_s + trace.token_times_s[0],
            "last_token_unix_s": unix_minus_perf_s + trace.token_times_s[-1],
            "ttft_s": metrics.ttft_s,
            "headers_to_first_token_s": trace.token_times_s[0] - trace.headers_s if trace.headers_s else None,
            "e2e_s": metrics.e2e_s,
            "tpot_s": metrics.tpot_s,
            "decode_tps": metrics.decode_tps,
            "itl_s": list(metrics.itl_s),
        }
    )
    return base


class PartialLog:
    """Completed requests appended one JSON line at a time (``requests.partial.jsonl``).

    Args:
        run_dir: The run directory.
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = Path(run_dir) / PARTIAL_FILE
        self._handle = None

    def append(self, row: dict[str, Any]) -> None:
        """Write one row and flush it to the OS (survives the process being killed)."""
        if self._handle is None:
            self._handle = open(self.path, "a", encoding="utf-8")
        self._handle.write(json.dumps(row, default=_json_default) + "\n")
        self._handle.flush()

    def read(self) -> pd.DataFrame:
        """Every complete line written so far (a line cut by a crash is ignored)."""
        if not self.path.exists():
            return pd.DataFrame()
        rows = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return pd.DataFrame(rows)

    def clear(self) -> None:
        """Remove the file (its rows are in ``requests.parquet`` now)."""
        self.close()
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        """Close the file."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _json_default(value: Any) -> Any:
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating,)):
        return float(value)
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def fold_partial(store, partial: PartialLog) -> pd.DataFrame:
    """Move the rows of ``requests.partial.jsonl`` into ``requests.parquet`` (atomically); return all rows."""
    rows = partial.read()
    if not rows.empty:
        store.append_requests(rows.to_dict("records"))
    partial.clear()
    return store.read_requests()




def _peak_throughput(steps_meta: dict[str, Any]) -> dict[str, Any] | None:
    """The highest throughput over the finished steps, with the step it came from."""
    best = None
    for step_id, record in steps_meta.items():
        value = (record.get("summary") or {}).get("throughput_tps")
        if record.get("status") == "complete" and value is not None and np.isfinite(value):
            if best is None or value > best["value"]:
                best = {"value": float(value), "step": step_id}
    return best


def _step_requests(workload, step: LoadStep, attempt: int) -> list[GenerationRequest]:
    """The requests a step may issue (at most ``step.min_requests``), prompts cycling through the set."""
    requests = []
    for index in range(step.min_requests):
        prompt_index = index % workload.prompts_per_repetition
        requests.append(
            GenerationRequest(
                f"{step.step_id}-a{attempt}-{index:05d}-p{prompt_index:02d}",
                workload.prompt_text(index),
                workload.output_tokens,
                workload.ignore_eos,
            )
        )
    return requests


def _tokenizer(params, settings: HttpSettings):
    """The tokenizer for synthetic prompts: the server's own, else the GGUF file ``model`` names.

    Raises:
        ParameterError: neither the server nor a local file offers one (the
            message says how to fix it).
    """
    from benchlib.errors import BenchlibError
    from benchlib.synthetic_prompts import GgufTokenizer, ServerTokenizer

    if not settings.is_ollama:
        try:
            return ServerTokenizer(settings)
        except ParameterError as server_problem:
            problem = server_problem
    else:
        problem = ParameterError(f"The Ollama API has no tokenize endpoint ({settings.url}).")
    from benchlib.models import resolve_model

    try:
        return GgufTokenizer(resolve_model(params.model).path)
    except BenchlibError as local_problem:
        raise ParameterError(
            f"prompts: synthetic needs the served model's tokenizer. {problem} And model '{params.model}' is no "
            f"local GGUF file to tokenize with: {local_problem}"
        ) from None


def run_load_sweep(params, progress: bool = True, fresh: bool = False):
    """Run (or resume, or reuse) an ``http`` sweep: warm-up, then every load step.

    Args:
        params: Validated :class:`~benchlib.runner.SweepParams` with ``runtime: http``.
        progress: Show a progress bar over the requests.
        fresh: Delete earlier results of these parameters first.

    Returns:
        A :class:`~benchlib.runner.SweepResult`.

    Raises:
        ServerGone: the server does not answer, or stopped answering mid-sweep
            (every completed request stays on disk; run again to resume).
        ParameterError: the server does not serve the model.
    """
    import shutil

    from tqdm import tqdm

    from benchlib.cost import run_cost_summary
    from benchlib.metrics import summarize_requests, throughput_replicates
    from benchlib.power.session import PowerSession
    from benchlib.records import STATUS_COMPLETE, RunDirectory, now_iso
    from benchlib.runner import SweepResult, _price_run, _save_power_samples, _start_meta, mark_stopped
    from benchlib.runtimes.http import HttpRuntime, measure_rtt

    settings = params.http_settings()
    steps = params.load_steps()
    workload = params.workload()
    store = RunDirectory(params.run_dir())
    if fresh and store.path.exists():
        shutil.rmtree(store.path)
    previous = store.read_meta()
    if previous is not None and previous.get("status") == STATUS_COMPLETE:
        print(f"Run {store.path} is already complete; reusing it (use --fresh to measure again).")
        requests = store.read_requests()
        if _price_run(previous, params, requests[requests["step"] == previous.get("summary_step")]):
            store.write_meta(previous)
        return SweepResult(store.path, previous, requests, reused=True)

    runtime = HttpRuntime(settings)
    runtime.load()  # the server answers and serves the model, or a clear error now
    tokenizer = _tokenizer(params, settings) if workload.synthetic else None
    power = PowerSession(params.power_settings())
    power.open()
    store.path.mkdir(parents=True, exist_ok=True)
    partial = PartialLog(store.path)
    fold_partial(store, partial)  # requests completed by a killed attempt
    model = {"name": settings.served_model, "source": "server", "url": settings.url, "server": runtime.server}
    meta = _start_meta(params, model, previous)
    attempt = len(meta["attempts"]) - 1
    meta["runtime"] = runtime.info()
    meta["network"] = measure_rtt(settings.url)
    if tokenizer is not None:
        meta["prompt_tokenizer"] = tokenizer.name
    steps_meta: dict[str, Any] = meta.setdefault("steps", {})
    pending = [s for s in steps if steps_meta.get(s.step_id, {}).get("status") != "complete"]
    total = sum(s.min_requests for s in steps)
    done_before = sum(s.min_requests for s in steps if s not in pending)
    meta["progress"] = {"completed": done_before, "total": total}
    store.write_meta(meta)
    if done_before:
        print(f"Resuming {store.path}: steps {', '.join(s.step_id for s in steps if s not in pending)} already complete.")

    slo = {"ttft_s": params.slo_ttft_s, "tpot_s": params.slo_tpot_s, "e2e_s": params.slo_e2e_s}
    unix_minus_perf = time.time() - time.perf_counter()
    window: list[float] = []
    measurement = None
    bar = tqdm(total=total, initial=done_before, desc="requests", unit="req", disable=not progress)
    last_progress_write = [0.0]
    try:
        power.start()
        meta["power"] = power.describe()
        for request in workload.materialize(workload.warmup(), tokenizer):
            runtime.generate(request)
        power.measure_idle()
        for step in pending:
            # every request the step may issue, prompts made before its clock starts
            next_request = iter(workload.materialize(_step_requests(workload, step, attempt), tokenizer)).__next__

            def on_trace(request: GenerationRequest, trace: TokenTrace, step: LoadStep = step) -> None:
                partial.append(trace_row(trace, request, step, attempt, unix_minus_perf))
                meta["progress"]["completed"] += 1
                bar.update(1)
                now = time.perf_counter()
                if now - last_progress_write[0] > 0.5:
                    last_progress_write[0] = now
                    store.write_meta(meta, durable=False)

            outcome = run_coroutine(run_step(settings, step, next_request, on_trace, seed=params.seed))
            window[:] = [window[0] if window else outcome.started_perf_s, outcome.ended_perf_s]
            rows = fold_partial(store, partial)
            step_rows = rows[(rows["step"] == step.step_id) & (rows["attempt"] == attempt)]
            steps_meta[step.step_id] = {
                "status": "aborted" if outcome.aborted else "complete",
                "attempt": attempt,
                "started_unix_s": unix_minus_perf + outcome.started_perf_s,
                "ended_unix_s": unix_minus_perf + outcome.ended_perf_s,
                "summary": step_summary(step_rows, outcome, slo),
            }
            meta["progress"]["completed"] = done_before + sum(
                s.min_requests for s in steps if steps_meta.get(s.step_id, {}).get("status") == "complete"
                and steps_meta[s.step_id]["attempt"] == attempt
            )
            store.write_meta(meta)
            if outcome.aborted:
                raise ServerGone(
                    f"Step {step.step_id}: {outcome.aborted}. Every completed request is kept in {store.path}; "
                    "bring the server back and run the same command to resume."
                )
        bar.close()
        if window:
            measurement = power.measure(
                "measured", *window, unix_minus_perf + window[0], unix_minus_perf + window[1]
            )
    except BaseException as exc:
        bar.close()
        fold_partial(store, partial)
        mark_stopped(store, meta, exc)
        raise
    finally:
        partial.close()
        _save_power_samples(store, power, attempt)

    requests = store.read_requests()
    first = steps[0].step_id
    first_rows = requests[(requests["step"] == first) & (requests["attempt"] == steps_meta[first]["attempt"])]
    ok = first_rows[first_rows["error"].isna()]
    meta["summary_step"] = first
    meta["summary"] = summarize_requests(ok)
    peak = _peak_throughput(steps_meta)
    meta["summary"]["peak_throughput_tps"] = peak
    meta["power"] = power.describe()
    attempt_ok = requests[(requests["attempt"] == attempt) & requests["error"].isna()]
    # concurrent steps have no per-request occupancy to bootstrap: the window's throughput is the one value
    throughput = np.array([attempt_ok["output_tokens"].sum() / (window[1] - window[0])]) if window else np.zeros(0)
    meta["summary"]["energy"] = power.energy(measurement, int(attempt_ok["output_tokens"].sum()), throughput)
    _price_run(meta, params, ok, force=True)
    if peak is not None and params.price_profile:
        meta["summary"]["cost_at_peak"] = run_cost_summary(params.price(), peak["value"], np.array([peak["value"]]))
        meta["summary"]["cost_at_peak"]["step"] = peak["step"]
    meta["status"] = STATUS_COMPLETE
    meta["ended_at"] = now_iso()
    store.write_meta(meta)
    return SweepResult(store.path, meta, requests, reused=False)
