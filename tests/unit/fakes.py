"""A fake in-process runtime for the fast tests of the sweep engine and of what reads its runs.

It is registered like any runtime (one registry entry) and makes token
timestamps without a model, so a whole sweep takes milliseconds; the same
paths with the real model and real servers are in tests/integration.
"""

from __future__ import annotations

import time

from pydantic import BaseModel, ConfigDict

from benchlib.errors import RuntimeFailure
from benchlib.runtimes.base import GenerationRequest, TokenTrace
from benchlib.runtimes.registry import RuntimeSpec

FAIL = {"after_requests": None, "error": RuntimeFailure}
"""Make the fake runtime fail (raise ``error``) once it has generated this many measured requests."""


class FakeSettings(BaseModel):
    """Settings of the fake runtime.

    Attributes:
        threads: Ignored.
        context_tokens: Ignored.
        gpu_layers: Ignored.
        seed: Ignored.
        temperature: Ignored.
        token_gap_s: Time between two fake tokens, seconds.
    """

    model_config = ConfigDict(frozen=True)
    threads: int = 0
    context_tokens: int = 2048
    gpu_layers: int = 0
    seed: int = 0
    temperature: float = 0.0
    token_gap_s: float = 0.0005


class FakeRuntime:
    """Token timestamps without a model: ``output_tokens`` tokens ``token_gap_s`` apart."""

    def __init__(self, model, settings: FakeSettings) -> None:
        self.settings = settings
        self.measured = 0

    def load(self) -> None:
        """Nothing to load."""

    def generate(self, request: GenerationRequest) -> TokenTrace:
        if not request.request_id.startswith("warmup"):
            if FAIL["after_requests"] is not None and self.measured >= FAIL["after_requests"]:
                raise FAIL["error"]("the fake runtime stopped as the test asked")
            self.measured += 1
        sent = time.perf_counter()
        gap = self.settings.token_gap_s
        times = tuple(sent + gap * (i + 1) for i in range(request.max_output_tokens))
        return TokenTrace(request.request_id, sent, times, prompt_tokens=5, text="x" * len(times))

    def info(self) -> dict:
        return {"name": "fake"}

    def close(self) -> None:
        """Nothing to release."""


SPEC = RuntimeSpec(
    name="fake",
    settings=FakeSettings,
    factory=FakeRuntime,
    in_process=True,
    parameters={"fake_token_gap_s": "token_gap_s"},
    shared=("threads", "context_tokens", "gpu_layers", "seed", "temperature"),
)


