"""Requests run as onnxruntime-genai generator batches: one sequence per request, one timestamp per step."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from benchlib.runtimes.base import GenerationRequest, RuntimeTimings, TokenTrace

__all__ = ["MAX_GENERATOR_BATCH", "GeneratorGroup", "split_into_groups"]

MAX_GENERATOR_BATCH = 32
"""Most sequences one onnxruntime-genai 0.18 generator takes (``batch_size (N) must be in [1, 32]``)."""


@dataclass
class GeneratorGroup:
    """One onnxruntime-genai generator and the requests (sequences) it runs.

    Attributes:
        requests: Its requests, one sequence each.
        prompts: Their prompt token ids.
        generator: The running generator (``None`` before :meth:`start` and once done).
        width: Longest prompt, tokens (shorter prompts are right-padded to it).
        max_new: Most output tokens any of its requests asks for.
        prompt_s: Time of ``append_tokens`` (the prompts), seconds.
        step_s: Time of each ``generate_next_token``, seconds.
        token_ids: Output tokens per sequence.
        token_times: ``perf_counter`` time of each output token per sequence, seconds.
        active: Whether each sequence still wants tokens.
    """

    requests: list[GenerationRequest]
    prompts: list[np.ndarray]
    generator: Any = None
    width: int = 0
    max_new: int = 0
    prompt_s: float = 0.0
    step_s: list[float] = field(default_factory=list)
    token_ids: list[list[int]] = field(default_factory=list)
    token_times: list[list[float]] = field(default_factory=list)
    active: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.width = max(ids.size for ids in self.prompts)
        self.max_new = max(r.max_output_tokens for r in self.requests)

    @property
    def running(self) -> bool:
        """The generator exists and some sequence still wants tokens."""
        return self.generator is not None and any(self.active)

    def start(self, og: Any, model: Any, pad_id: int, search: dict[str, Any]) -> None:
        """Create the generator with ``search`` options and evaluate the (right-padded) prompts, timed."""
        batch = np.full((len(self.requests), self.width), pad_id, dtype=np.int32)
        for row, ids in enumerate(self.prompts):
            batch[row, : ids.size] = ids
        params = og.GeneratorParams(model)
        params.set_search_options(**search)
        self.generator = og.Generator(model, params)
        started = time.perf_counter()
        self.generator.append_tokens(batch)
        self.prompt_s = time.perf_counter() - started
        self.token_ids = [[] for _ in self.requests]
        self.token_times = [[] for _ in self.requests]
        self.active = [True] * len(self.requests)

    def step(self, eos: frozenset[int], ignore_eos: bool) -> None:
        """One token for every sequence of the group, timestamped when ``generate_next_token`` returns."""
        generator = self.generator
        before = time.perf_counter()
        generator.generate_next_token()
        now = time.perf_counter()
        self.step_s.append(now - before)
        tokens = generator.get_next_tokens()
        for index, request in enumerate(self.requests):
            if not self.active[index]:
                continue
            token = int(tokens[index])
            self.token_ids[index].append(token)
            self.token_times[index].append(now)
            if len(self.token_ids[index]) >= request.max_output_tokens or (not ignore_eos and token in eos):
                self.active[index] = False
        if not any(self.active) or generator.is_done():
            self.active = [False] * len(self.requests)
            self.generator = None  # frees its KV cache

    def traces(self, sent_s: float, source: str, decode: Callable[[np.ndarray], str]) -> list[TokenTrace]:
        """One trace per request, with the generator's timings (prompt, then decode steps up to its last token)."""
        traces = []
        for request, ids, out, times in zip(self.requests, self.prompts, self.token_ids, self.token_times):
            count = len(out)
            timings = RuntimeTimings(
                prompt_eval_s=self.prompt_s + self.step_s[0],
                prompt_eval_tokens=int(ids.size),
                decode_s=float(sum(self.step_s[1:count])),
                decode_tokens=count - 1,
                source=source,
            )
            traces.append(
                TokenTrace(
                    request_id=request.request_id,
                    sent_s=sent_s,
                    token_times_s=tuple(times),
                    prompt_tokens=int(ids.size),
                    token_ids=tuple(out),
                    text=decode(np.asarray(out, dtype=np.int32)),
                    runtime_timings=timings,
                )
            )
        return traces


def split_into_groups(requests: list[GenerationRequest], prompts: list[np.ndarray]) -> list[GeneratorGroup]:
    """Requests in groups of at most :data:`MAX_GENERATOR_BATCH`, in order."""
    return [
        GeneratorGroup(requests[i : i + MAX_GENERATOR_BATCH], prompts[i : i + MAX_GENERATOR_BATCH])
        for i in range(0, len(requests), MAX_GENERATOR_BATCH)
    ]
