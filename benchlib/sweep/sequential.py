"""The sequential driver: measured requests one at a time to an in-process runtime (llama.cpp, ONNX).

Measured requests are ordered repetition by repetition, each with a stable id
(``rep002-p01``); every completed request is appended to ``requests.parquet``
at once, and a resumed attempt runs only the ids it does not have.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from benchlib.config import SweepConfig
from benchlib.errors import ParameterError
from benchlib.metrics import summarize_requests, throughput_replicates
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
        return len(done_ids), len(measured)

    def load(self, meta: dict[str, Any]) -> None:
        """Load the model into the runtime."""
        self.runtime = create_runtime(self.config.run.runtime, self.model, self.config.runtime_settings())
        self.runtime.load()
        meta["runtime"] = self.runtime.info()

    def prepare(self) -> None:
        """Give the warm-up and pending requests their prompts (synthetic ones made with the GGUF file's tokenizer)."""
        warmup = self.workload.warmup()
        if not self.workload.synthetic:
            self.warmup_requests = warmup
            return

        tokenizer = GgufTokenizer(self.model.path)
        try:
            self.warmup_requests = self.workload.materialize(warmup, tokenizer)
            self.pending = self.workload.materialize(self.pending, tokenizer)
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
        for request in self.pending:
            trace = self.runtime.generate(request)
            row = sequential_row(trace, request, attempt.index, attempt.unix_minus_perf_s)
            attempt.store.append_requests([row])
            first_sent_s = trace.sent_s if first_sent_s is None else first_sent_s
            last_token_s = trace.token_times_s[-1]
            attempt.advance(output_tokens=row["output_tokens"])
        if first_sent_s is None:
            return None
        return Window(first_sent_s, last_token_s, attempt.unix_minus_perf_s)

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
        return summarize_requests(requests), basis

    def priced_requests(self, meta: dict[str, Any], requests: pd.DataFrame) -> pd.DataFrame:
        """Every request of the run."""
        return requests

    def after_pricing(self, meta: dict[str, Any], price: Any) -> None:
        """No further cost figures."""
