"""The load-steps driver: closed-loop and open-loop steps against a streaming server (``runtime: http``).

Warm-up requests run once before the first step and are never recorded.
Every completed request is appended at once to ``requests.partial.jsonl`` and
each finished step is folded into ``requests.parquet``: a ``kill -9`` loses no
completed request. A resumed sweep skips finished steps and runs an
unfinished step again from its start (its earlier rows stay on disk, marked
with their attempt; a step's statistics use its latest attempt). A failed,
timed-out or truncated request is recorded with its error and kept out of the
latency statistics — never dropped, never averaged in. A run directory that
cannot be written stops the attempt with
:class:`~benchlib.sweep.partial_log.OutputNotWritable`; the rows already
written stay on disk for the next attempt.
"""

from __future__ import annotations

from dataclasses import asdict, replace
from typing import Any

import numpy as np
import pandas as pd

from benchlib.config import SweepConfig
from benchlib.conversation import ConversationBook, conversation_request_id, think_time_s
from benchlib.cost import run_cost_summary
from benchlib.errors import BenchlibError, ParameterError
from benchlib.metrics import step_statistics, summarize_requests
from benchlib.metrics.workload_shape import workload_statistics
from benchlib.models import resolve_model
from benchlib.records import RunDirectory, StepStatus
from benchlib.runtimes.base import GenerationRequest, TokenTrace
from benchlib.runtimes.http import HttpRuntime, ServerGone, measure_rtt, run_coroutine
from benchlib.sweep.driver import EnergyBasis, RunningAttempt, Window
from benchlib.sweep.partial_log import OutputNotWritable, PartialLog, fold_partial
from benchlib.sweep.rows import load_step_row
from benchlib.sweep.rate_sweep import planned_search_requests, search_rates
from benchlib.sweep.saturation import OverSaturationDetector
from benchlib.sweep.sessions import ConversationSession, Session, SingleRequest
from benchlib.sweep.steps import LoadStep, StepOutcome, run_step
from benchlib.synthetic_prompts import GgufTokenizer, ServerTokenizer
from benchlib.workload import Workload, trace_requests

__all__ = ["LoadStepsDriver", "expand_steps", "step_requests", "step_sessions", "step_summary"]


def step_requests(workload: Workload, step: LoadStep, attempt: int) -> list[GenerationRequest]:
    """The requests a step may issue (at most ``step.min_requests``), prompts cycling through the set.

    A trace step's are the trace's requests; a conversation step's, the turns
    of as many conversations as the step could start (each starts with at
    least one request), turn after turn; a grid step's carry its cell.
    """
    prefix = f"{step.step_id}-a{attempt}-"
    if workload.trace is not None:
        return trace_requests(workload.trace, prefix, workload.ignore_eos)
    if workload.conversation:
        return workload.with_shared_prefix([
            GenerationRequest(
                conversation_request_id(prefix, k, turn), "", workload.output_tokens, workload.ignore_eos,
                row_columns={"conversation_id": f"{prefix}conv{k:03d}", "turn": turn},
            )
            for k in range(step.min_requests)
            for turn in range(workload.turns)
        ])  # fmt: skip
    cell = step.cell or workload.grid_cells[0]
    columns = cell.columns() if step.cell is not None else {}
    requests = [
        GenerationRequest(
            f"{prefix}{index:05d}-p{index % workload.prompts_per_repetition:02d}",
            workload.prompt_text(index),
            cell.output_tokens,
            workload.ignore_eos,
            row_columns=dict(columns),
        )
        for index in range(step.min_requests)
    ]
    return workload.with_shared_prefix(requests)


def step_sessions(workload: Workload, requests: list[GenerationRequest]) -> list[Session]:
    """The sessions of a step, in the order they start: one per request, or one per conversation."""
    if not workload.conversation:
        return [SingleRequest(request) for request in requests]
    book = ConversationBook(workload.synthetic_prompt_tokens)
    by_conversation: dict[str, list[GenerationRequest]] = {}
    for request in requests:
        by_conversation.setdefault(request.row_columns["conversation_id"], []).append(request)
    return [
        ConversationSession(
            turns,
            [think_time_s(workload.think_time_s, workload.think_time_distribution, workload.seed, t.request_id)
             for t in turns[1:]],
            book,
        )
        for turns in by_conversation.values()
    ]  # fmt: skip


def expand_steps(steps: list[LoadStep], workload: Workload, step_max_s: float) -> list[LoadStep]:
    """A sweep's steps: the given ones for every grid cell, or one step replaying the trace."""
    trace = workload.trace
    if trace is not None:
        schedule = tuple(r.arrival_s for r in trace.requests)
        return [LoadStep("trace", "trace", None, None, len(schedule), schedule[-1] + step_max_s, schedule_s=schedule)]
    if not workload.grid:
        return steps
    return [replace(s, step_id=f"{s.step_id}-{cell.label}", cell=cell) for cell in workload.grid_cells for s in steps]


def step_summary(
    rows: pd.DataFrame, outcome: StepOutcome, slo: dict[str, float], workload: Workload | None = None
) -> dict[str, Any]:
    """A step's record: the step, what it issued, and its statistics (:func:`benchlib.metrics.step_statistics`,
    and :func:`benchlib.metrics.workload_shape.workload_statistics` over its successful requests)."""
    step = {key: value for key, value in asdict(outcome.step).items() if key not in ("cell", "schedule_s")}
    if outcome.step.cell is not None:
        step["cell"] = outcome.step.cell.label
    return {
        **step,
        "saturated": outcome.saturated,
        "issued": outcome.issued,
        "duration_s": outcome.duration_s,
        "aborted": outcome.aborted,
        **step_statistics(rows, outcome.duration_s, slo),
        **_shape(rows, workload),
    }


def _shape(rows: pd.DataFrame, workload: Workload | None) -> dict[str, Any]:
    """The workload's own statistics of a step's rows (by turn, shared prefix, lateness ...)."""
    if workload is None or rows.empty:
        return {}
    return workload_statistics(rows, workload.prefix_tokens, workload.prefix_share)


def _peak_throughput(steps_meta: dict[str, Any]) -> dict[str, Any] | None:
    """The highest throughput over the finished steps, with the step it came from."""
    best = None
    for step_id, record in steps_meta.items():
        value = (record.get("summary") or {}).get("throughput_tps")
        if record.get("status") == StepStatus.COMPLETE and value is not None and np.isfinite(value):
            if best is None or value > best["value"]:
                best = {"value": float(value), "step": step_id}
    return best


def _requests_done(steps: list[LoadStep], steps_meta: dict[str, Any], attempt: int | None = None) -> int:
    """Requests of the complete steps (of one attempt, or of all): a planned step's planned count,
    a rate-search step's issued count."""
    planned = {s.step_id: s.min_requests for s in steps}
    done = 0
    for step_id, record in steps_meta.items():
        if record.get("status") != StepStatus.COMPLETE or (attempt is not None and record.get("attempt") != attempt):
            continue
        done += planned.get(step_id, int((record.get("summary") or {}).get("issued") or 0))
    return done


class LoadStepsDriver:
    """Runs a sweep's load steps against a server.

    Args:
        config: The sweep's configuration (``load`` section: the steps and goodput targets).
    """

    in_process = False

    def __init__(self, config: SweepConfig) -> None:
        self.config = config
        self.settings = config.runtime_settings()
        self.workload = config.workload_plan()
        self.steps = expand_steps(config.load.steps(), self.workload, float(config.load.step_max_s))
        self.runtime = HttpRuntime(self.settings)
        self.tokenizer = None
        self.partial: PartialLog | None = None
        self.pending: list[LoadStep] = []
        self.warmup_requests: list[GenerationRequest] = []

    def check(self, store: RunDirectory, previous: dict[str, Any] | None) -> None:
        """Nothing to compare: the server's model is checked when the server is reached."""

    def open(self) -> None:
        """Reach the server (it answers and serves the model, or a clear error now) and find a tokenizer if needed."""
        self.runtime.load()
        if self.workload.needs_tokenizer:
            self.tokenizer = self._tokenizer()

    def _tokenizer(self):
        """The tokenizer for synthetic prompts: the server's own, else the GGUF file ``model`` names.

        Raises:
            ParameterError: neither the server nor a local file offers one (the
                message says how to fix it).
        """
        if not self.settings.is_ollama:
            try:
                return ServerTokenizer(self.settings)
            except ParameterError as server_problem:
                problem = server_problem
        else:
            problem = ParameterError(f"The Ollama API has no tokenize endpoint ({self.settings.url}).")
        model = self.config.run.model
        try:
            return GgufTokenizer(resolve_model(model).path)
        except BenchlibError as local_problem:
            raise ParameterError(
                f"prompts: synthetic needs the served model's tokenizer. {problem} And model '{model}' is no "
                f"local GGUF file to tokenize with: {local_problem}"
            ) from None

    def model_record(self) -> dict[str, Any]:
        """The served model's name, the server's URL and what it says about itself."""
        return {"name": self.settings.served_model, "source": "server", "url": self.settings.url,
                "server": self.runtime.server}  # fmt: skip

    def plan(self, store: RunDirectory, meta: dict[str, Any]) -> tuple[int, int]:
        """Fold rows a killed attempt left behind; the steps not complete yet."""
        self.partial = PartialLog(store.path)
        fold_partial(store, self.partial)  # requests completed by a killed attempt
        steps_meta = meta.setdefault("steps", {})
        self.pending = [s for s in self.steps if steps_meta.get(s.step_id, {}).get("status") != StepStatus.COMPLETE]
        total = sum(s.min_requests for s in self.steps) + planned_search_requests(self.config.load)
        done = _requests_done(self.steps, steps_meta)
        return done, max(total, done)

    def load(self, meta: dict[str, Any]) -> None:
        """Record the server's description and the network round trip."""
        meta["runtime"] = self.runtime.info()
        meta["network"] = measure_rtt(self.settings.url)
        if self.tokenizer is not None:
            meta["prompt_tokenizer"] = self.tokenizer.name

    def prepare(self) -> None:
        """Give the warm-up requests their prompts (a step's prompts are made before its clock starts)."""
        self.warmup_requests = self.workload.materialize(self.workload.warmup(), self.tokenizer)

    def warmup(self) -> int:
        """Run the warm-up requests one at a time."""
        for request in self.warmup_requests:
            self.runtime.generate(request)
        return len(self.warmup_requests)

    def measure(self, attempt: RunningAttempt) -> Window | None:
        """Run every pending step (then, for ``load: sweep``, the rate search); record each finished step.

        Raises:
            ServerGone: the server stopped answering (every completed request is kept).
        """
        window: list[float] = []
        self._done_before = attempt.meta["progress"]["completed"]
        for step in self.pending:
            self.run_one(step, attempt, window)
        if self.config.load.load == "sweep":
            search_rates(self, attempt, window)
        return Window(window[0], window[1], attempt.unix_minus_perf_s) if window else None

    def run_one(
        self, step: LoadStep, attempt: RunningAttempt, window: list[float], detector: OverSaturationDetector | None = None
    ) -> dict[str, Any]:
        """Run one step, fold its rows, record it in ``run.json``; its summary.

        Args:
            step: The step.
            attempt: The running attempt.
            window: ``[first start, last end]`` of the steps so far, ``perf_counter`` seconds (updated).
            detector: Over-saturation detector of an open-loop step of a rate search.

        Raises:
            ServerGone: the server stopped answering during the step.
        """
        meta, store = attempt.meta, attempt.store
        steps_meta = meta["steps"]
        unix_minus_perf = attempt.unix_minus_perf_s
        requests = self.workload.materialize(step_requests(self.workload, step, attempt.index), self.tokenizer)
        next_session = iter(step_sessions(self.workload, requests)).__next__
        attempt.live.set_step(step.step_id, step.mode, step.concurrency or step.rate_rps or 0.0)

        def on_trace(request: GenerationRequest, trace: TokenTrace) -> None:
            row = load_step_row(trace, request, step, attempt.index, unix_minus_perf)
            self.partial.append(row)
            # writes run.json's progress now and then (OutputNotWritable if it cannot)
            attempt.advance(output_tokens=row["output_tokens"] or 0, failed=row["error"] is not None)

        seed = self.config.run.seed
        outcome = run_coroutine(run_step(self.settings, step, next_session, on_trace, seed=seed, detector=detector))
        window[:] = [window[0] if window else outcome.started_perf_s, outcome.ended_perf_s]
        rows = fold_partial(store, self.partial)
        step_rows = rows[(rows["step"] == step.step_id) & (rows["attempt"] == attempt.index)]
        summary = step_summary(step_rows, outcome, self.config.load.slo, self.workload)
        steps_meta[step.step_id] = {
            "status": StepStatus.ABORTED if outcome.aborted else StepStatus.COMPLETE,
            "attempt": attempt.index,
            "started_unix_s": unix_minus_perf + outcome.started_perf_s,
            "ended_unix_s": unix_minus_perf + outcome.ended_perf_s,
            "summary": summary,
        }
        meta["progress"]["completed"] = self._done_before + _requests_done(self.steps, steps_meta, attempt.index)
        store.write_record(meta)
        attempt.live.set_progress(meta["progress"]["completed"])
        if outcome.aborted:
            raise ServerGone(
                f"Step {step.step_id}: {outcome.aborted}. Every completed request is kept in {store.path}; "
                "bring the server back and run the same command to resume."
            )
        return summary

    def stopped(self, attempt: RunningAttempt) -> None:
        """Fold the rows of the interrupted step into ``requests.parquet``.

        When the run directory cannot be written the rows stay in
        ``requests.partial.jsonl`` (the next attempt folds them) and the error
        that stopped the attempt is the one raised, not this one.
        """
        if self.partial is None:
            return
        try:
            fold_partial(attempt.store, self.partial)
        except OutputNotWritable:
            pass

    def close(self) -> None:
        """Close the partial log."""
        if self.partial is not None:
            self.partial.close()

    def _first_step_rows(self, meta: dict[str, Any], requests: pd.DataFrame) -> pd.DataFrame:
        """The requests of the first step's latest attempt (what the run's summary describes)."""
        first = self.steps[0].step_id
        attempt = meta["steps"][first]["attempt"]
        return requests[(requests["step"] == first) & (requests["attempt"] == attempt)]

    def _first_step_ok(self, meta: dict[str, Any], requests: pd.DataFrame) -> pd.DataFrame:
        """The successful requests of the first step's latest attempt."""
        rows = self._first_step_rows(meta, requests)
        return rows[rows["error"].isna()]

    def summarize(
        self, requests: pd.DataFrame, meta: dict[str, Any], attempt: int, window: Window | None
    ) -> tuple[dict[str, Any], EnergyBasis]:
        """The first step's statistics and the peak throughput; energy over this attempt's successful requests."""
        meta["summary_step"] = self.steps[0].step_id
        first_ok = self._first_step_ok(meta, requests)
        summary = summarize_requests(first_ok)
        summary.update(_shape(self._first_step_rows(meta, requests), self.workload))
        if self.workload.grid:  # every cell is a step of its own: the run's table holds them all
            summary["by_cell"] = [{**cell, "step": step_id} for step_id, record in meta["steps"].items()
                                  if record.get("status") == StepStatus.COMPLETE
                                  for cell in (record.get("summary") or {}).get("by_cell") or []]  # fmt: skip
        summary["peak_throughput_tps"] = _peak_throughput(meta["steps"])
        attempt_ok = requests[(requests["attempt"] == attempt) & requests["error"].isna()]
        tokens = int(attempt_ok["output_tokens"].sum())
        # concurrent steps have no per-request occupancy to bootstrap: the window's throughput is the one value
        throughput = np.array([tokens / window.duration_s]) if window is not None else np.zeros(0)
        return summary, EnergyBasis(tokens, int(len(attempt_ok)), throughput)

    def priced_requests(self, meta: dict[str, Any], requests: pd.DataFrame) -> pd.DataFrame:
        """The successful requests of the first step (whose throughput the summary shows)."""
        return self._first_step_ok(meta, requests)

    def after_pricing(self, meta: dict[str, Any], price: Any) -> None:
        """The cost at the peak throughput over the steps."""
        peak = meta["summary"].get("peak_throughput_tps")
        if peak is not None and price is not None:
            meta["summary"]["cost_at_peak"] = run_cost_summary(price, peak["value"], np.array([peak["value"]]))
            meta["summary"]["cost_at_peak"]["step"] = peak["step"]

