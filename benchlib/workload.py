"""What a sweep asks of a runtime: prompts, output length, warm-up and repetitions.

Measured requests are ordered repetition by repetition (every prompt once, then
again), each with a stable id such as ``rep002-p01`` so that a resumed sweep can
tell which requests it already has.

``prompts: synthetic`` (with ``prompt_tokens``) gives every request a prompt of
its own of that many tokens (:mod:`benchlib.synthetic_prompts`), so that no
server's prompt cache can serve it: each repetition then has
:data:`SYNTHETIC_PROMPTS_PER_REPETITION` requests, and the prompts are filled in
with the model's tokenizer by :meth:`Workload.materialize`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

from benchlib.errors import ParameterError
from benchlib.runtimes.base import GenerationRequest
from benchlib.synthetic_prompts import SyntheticPrompts

__all__ = ["PROMPT_SETS", "SYNTHETIC", "SYNTHETIC_PROMPTS_PER_REPETITION", "Workload", "resolve_prompts"]

SYNTHETIC = "synthetic"
"""The ``prompts`` value for unique prompts of ``prompt_tokens`` tokens each."""

SYNTHETIC_PROMPTS_PER_REPETITION = 4
"""Requests per repetition with synthetic prompts (as many as the ``short`` set has)."""

# Short prompts, as in the article's plan ("128-token responses from short prompts").
PROMPT_SETS: dict[str, tuple[str, ...]] = {
    "short": (
        "Explain in a few sentences why the sky is blue.",
        "Write a short note reminding a colleague about tomorrow's meeting.",
        "List three practical uses of a Raspberry Pi at home.",
        "Summarize the benefits of running language models on edge devices.",
    ),
    "tiny": ("Hello, my name is",),
}


def resolve_prompts(prompts: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Turn a prompt-set name or an explicit list into a tuple of prompts.

    Args:
        prompts: A name from :data:`PROMPT_SETS`, :data:`SYNTHETIC` (gives an
            empty tuple: the prompts are made per request), or a list of prompt strings.

    Raises:
        ParameterError: unknown set name, empty list, or a non-string prompt.
    """
    if isinstance(prompts, str):
        if prompts == SYNTHETIC:
            return ()
        if prompts not in PROMPT_SETS:
            raise ParameterError(
                f"Unknown prompt set '{prompts}'; valid sets: {', '.join([*PROMPT_SETS, SYNTHETIC])} "
                "(or give a list of prompts)."
            )
        return PROMPT_SETS[prompts]
    items = tuple(prompts)
    if not items:
        raise ParameterError("prompts is an empty list; give at least one prompt or a set name.")
    bad = [p for p in items if not isinstance(p, str) or not p.strip()]
    if bad:
        raise ParameterError(f"Every prompt must be a non-empty string; got {bad!r}.")
    return items


@dataclass(frozen=True)
class Workload:
    """A closed-loop, one-request-at-a-time workload.

    Attributes:
        prompts: The prompts, used in order (empty for synthetic prompts).
        output_tokens: Tokens to generate per request.
        repetitions: Passes over the prompts that are measured.
        warmup_requests: Requests run before measuring and never recorded.
        ignore_eos: Generate past end-of-sequence to get exactly ``output_tokens``.
        synthetic_prompt_tokens: With empty ``prompts``: the length of each
            request's own synthetic prompt, tokens.
        seed: Seed of the synthetic prompts.
    """

    prompts: tuple[str, ...]
    output_tokens: int
    repetitions: int
    warmup_requests: int
    ignore_eos: bool = True
    synthetic_prompt_tokens: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.prompts and self.synthetic_prompt_tokens < 1:
            raise ParameterError(
                f"prompts: {SYNTHETIC} needs prompt_tokens, the length of each prompt in tokens (e.g. 128); "
                f"got {self.synthetic_prompt_tokens}."
            )
        if self.output_tokens < 1:
            raise ParameterError(f"output_tokens must be at least 1, got {self.output_tokens}.")
        if self.repetitions < 1:
            raise ParameterError(f"repetitions must be at least 1, got {self.repetitions}.")
        if self.warmup_requests < 0:
            raise ParameterError(f"warmup must be 0 or more, got {self.warmup_requests}.")

    @property
    def synthetic(self) -> bool:
        """True when every request gets its own synthetic prompt."""
        return not self.prompts

    @property
    def prompts_per_repetition(self) -> int:
        """Measured requests per repetition."""
        return SYNTHETIC_PROMPTS_PER_REPETITION if self.synthetic else len(self.prompts)

    def prompt_text(self, index: int) -> str:
        """The prompt of the ``index``-th request of a cycle ("" for synthetic ones, filled in by :meth:`materialize`)."""
        return "" if self.synthetic else self.prompts[index % len(self.prompts)]

    def measured(self) -> list[GenerationRequest]:
        """The measured requests, repetition-major."""
        return [
            GenerationRequest(f"rep{rep:03d}-p{index:02d}", self.prompt_text(index), self.output_tokens, self.ignore_eos)
            for rep in range(self.repetitions)
            for index in range(self.prompts_per_repetition)
        ]

    def warmup(self) -> list[GenerationRequest]:
        """The warm-up requests, cycling through the prompts."""
        return [
            GenerationRequest(f"warmup{i:02d}", self.prompt_text(i), self.output_tokens, self.ignore_eos)
            for i in range(self.warmup_requests)
        ]

    def materialize(self, requests: Sequence[GenerationRequest], tokenizer=None) -> list[GenerationRequest]:
        """The requests with their prompts: unchanged for fixed prompts; for synthetic ones, each request's own.

        Args:
            requests: Requests from :meth:`measured`, :meth:`warmup` or a load step.
            tokenizer: The model's :class:`~benchlib.synthetic_prompts.Tokenizer`
                (needed for synthetic prompts only).

        Raises:
            ParameterError: synthetic prompts without a tokenizer.
        """
        if not self.synthetic:
            return list(requests)
        if tokenizer is None:
            raise ParameterError("Synthetic prompts need the model's tokenizer; none was given.")

        builder = SyntheticPrompts(tokenizer, self.synthetic_prompt_tokens, self.seed)
        prompts = builder.prompts([r.request_id for r in requests])
        return [replace(r, prompt=prompt) for r, prompt in zip(requests, prompts)]
