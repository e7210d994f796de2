"""The sequential driver: measured requests one at a time to an in-process runtime (llama.cpp, ONNX).

Measured requests are ordered repetition by repetition, each with a stable id
(``rep002-p01``); every completed request is appended to ``requests.parquet``
at once, and a resumed attempt runs only the ids it does not have.

A conversation's turns carry their history (rebuilt from the rows on disk when
a sweep resumes), with the think time between turns. A replayed trace's
requests wait for their scheduled time and record how late they were sent:
one request at a time, a trace whose arrivals come faster than the model
answers queues, and the lateness shows it. The runtime keeps its KV cache for
workloads built on reuse (:meth:`~benchlib.runtimes.llamacpp.LlamaCppRuntime.keep_cache`).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pandas as pd

from benchlib.config import SweepConfig
from benchlib.conversation import ConversationBook, think_time_s
from benchlib.errors import ParameterError
from benchlib.metrics import summarize_requests, throughput_replicates
from benchlib.metrics.workload_shape import workload_statistics
from benchlib.models import ModelInfo, resolve_model
from benchlib.records import RunDirectory
from benchlib.runtimes.base import GenerationRequest
from benchlib.runtimes.registry import create_runtime
from benchlib.sweep.driver import EnergyBasis, RunningAttempt, Window
from benchlib.sweep.rows import sequential_row
from benchlib.synthetic_prompts import GgufTokenizer

__all__ = ["SequentialDriver"]


class SequentialDriver:
    """Runs a sweep's requests one after another on an in-process runtime.

    Args:
        config: The sweep's configuration.
    """

    in_process = True

    def __init__(self, config: SweepConfig) -> None:
        self.config = config
        self.workload = config.workload_plan()
        self.model: ModelInfo | None = None
        self.runtime = None
        self.pending: list[GenerationRequest] = []
        self.warmup_requests: list[GenerationRequest] = []
        self.user_messages: dict[str, str] = {}  # a conversation's turns: request id -> its user message
        self.book: ConversationBook | None = None

    def check(self, store: RunDirectory, previous: dict[str, Any] | None) -> None:
        """Resolve and verify the model; refuse earlier results of a model file that has changed since."""
        self.model = resolve_model(self.config.run.model)
        previous_sha = ((previous or {}).get("model") or {}).get("sha256")
        if previous_sha and previous_sha != self.model.sha256:
            raise ParameterError(
                f"{store.path} holds results of a model with sha256 {previous_sha}, but {self.config.run.model} now "
                f"has sha256 {self.model.sha256}. Run with fresh=True (benchlib sweep --fresh) or another output_dir."
            )

    def open(self) -> None:
        """Nothing to reach: the model is loaded in :meth:`load`."""

    def model_record(self) -> dict[str, Any]:
        """The model file's catalogue entry, sha256 and GGUF metadata."""
        return self.model.to_dict()

    def plan(self, store: RunDirectory, meta: dict[str, Any]) -> tuple[int, int]:
        """The measured requests this run does not have yet."""
        done = store.read_requests()
        done_ids = set(done["request_id"]) if not done.empty else set()
        measured = self.workload.measured()
        self.pending = [r for r in measured if r.request_id not in done_ids]
        if self.workload.conversation:
            self.book = ConversationBook(self.workload.synthetic_prompt_tokens)
            self._done_turns = done
            self._all_turns = measured
        return len(done_ids), len(measured)

    def load(self, meta: dict[str, Any]) -> None:
        """Load the model into the runtime."""
        self.runtime = create_runtime(self.config.run.runtime, self.model, self.config.runtime_settings())
        keep_cache = getattr(self.runtime, "keep_cache", None)
        if keep_cache is not None:
            keep_cache(self.workload.reuses_cache)
        self.runtime.load()
        meta["runtime"] = self.runtime.info()

    def prepare(self) -> None:
        """Give the warm-up and pending requests their prompts (synthetic ones made with the GGUF file's tokenizer)."""
        warmup = self.workload.warmup()
        if not self.workload.needs_tokenizer:
            self.warmup_requests = warmup
            return

        tokenizer = GgufTokenizer(self.model.path)
        try:
            self.warmup_requests = self.workload.materialize(warmup, tokenizer)
            if self.book is None:
                self.pending = self.workload.materialize(self.pending, tokenizer)
                return
            turns = self.workload.materialize(self._all_turns, tokenizer)  # every turn's message: history to rebuild
            self.user_messages = {r.request_id: r.prompt for r in turns}
            pending_ids = {r.request_id for r in self.pending}
            self.pending = [r for r in turns if r.request_id in pending_ids]
            self.book.restore(self._done_turns, self.user_messages)
        finally:
            tokenizer.close()

    def warmup(self) -> int:
        """Run the warm-up requests."""
        for request in self.warmup_requests:
            self.runtime.generate(request)
        return len(self.warmup_requests)

    def measure(self, attempt: RunningAttempt) -> Window | None:
        """Run the pending requests, appending each to ``requests.parquet`` as it completes."""
        first_sent_s = last_token_s = None
        attempt.live.set_step("sequential", "sequential", 0.0)
        # a resumed trace starts again at its first pending request's arrival
        first_offset_s = self.pending[0].row_columns.get("scheduled_offset_s") if self.pending else None
        schedule_origin_s = time.perf_counter() - (first_offset_s or 0.0)
        for request in self.pending:
            sent = self._before_sending(request, schedule_origin_s)
            trace = self.runtime.generate(sent)
            sent = self._lateness(sent, trace, schedule_origin_s)
            if self.book is not None:
                self.book.record_trace(sent, request.prompt, trace)
            row = sequential_row(trace, sent, attempt.index, attempt.unix_minus_perf_s)
            attempt.store.append_requests([row])
            first_sent_s = trace.sent_s if first_sent_s is None else first_sent_s
            last_token_s = trace.token_times_s[-1]
            attempt.advance(output_tokens=row["output_tokens"])
        if first_sent_s is None:
            return None
        return Window(first_sent_s, last_token_s, attempt.unix_minus_perf_s)

    def _before_sending(self, request: GenerationRequest, schedule_origin_s: float) -> GenerationRequest:
        """Wait for the request's turn (think time, or its time in a trace); a conversation's turn gets its history."""
        workload = self.workload
        columns = request.row_columns
        if self.book is not None:
            if columns["turn"] > 0 and workload.think_time_s > 0:
                time.sleep(think_time_s(workload.think_time_s, workload.think_time_distribution, workload.seed,
                                        request.request_id))  # fmt: skip
            return self.book.with_history(request)
        scheduled = columns.get("scheduled_offset_s")
        if scheduled is not None:
            time.sleep(max(0.0, schedule_origin_s + scheduled - time.perf_counter()))
        return request

    @staticmethod
    def _lateness(request: GenerationRequest, trace, schedule_origin_s: float) -> GenerationRequest:
        """A replayed trace's request with how long after its scheduled time it was sent."""
        scheduled = request.row_columns.get("scheduled_offset_s")
        if scheduled is None:
            return request
        lateness = max(0.0, trace.sent_s - (schedule_origin_s + scheduled))
        return replace(request, row_columns={**request.row_columns, "lateness_s": lateness})

    def stopped(self, attempt: RunningAttempt) -> None:
        """Nothing to keep: each request is already in ``requests.parquet``."""

    def close(self) -> None:
        """Release the runtime."""
        if self.runtime is not None:
            self.runtime.close()

    def summarize(
        self, requests: pd.DataFrame, meta: dict[str, Any], attempt: int, window: Window | None
    ) -> tuple[dict[str, Any], EnergyBasis]:
        """Statistics over every request of the run; energy over this attempt's requests."""
        rows = requests[requests["attempt"] == attempt]
        basis = EnergyBasis(int(rows["output_tokens"].sum()), int(len(rows)), throughput_replicates(rows))
        summary = summarize_requests(requests)
        summary.update(workload_statistics(requests, self.workload.prefix_tokens, self.workload.prefix_share))
        return summary, basis

    def priced_requests(self, meta: dict[str, Any], requests: pd.DataFrame) -> pd.DataFrame:
        """Every request of the run."""
        return requests

    def after_pricing(self, meta: dict[str, Any], price: Any) -> None:
        """No further cost figures."""
