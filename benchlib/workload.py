"""What a sweep asks of a runtime: prompts, output length, warm-up and repetitions.

Measured requests are ordered repetition by repetition (every prompt once, then
again), each with a stable id such as ``rep002-p01`` so that a resumed sweep can
tell which requests it already has.
"""

from __future__ import annotations

from dataclasses import dataclass

from benchlib.errors import ParameterError
from benchlib.runtimes.base import GenerationRequest

__all__ = ["PROMPT_SETS", "Workload", "resolve_prompts"]

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
        prompts: A name from :data:`PROMPT_SETS` or a list of prompt strings.

    Raises:
        ParameterError: unknown set name, empty list, or a non-string prompt.
    """
    if isinstance(prompts, str):
        if prompts not in PROMPT_SETS:
            raise ParameterError(
                f"Unknown prompt set '{prompts}'; valid sets: {', '.join(PROMPT_SETS)} (or give a list of prompts)."
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
        prompts: The prompts, used in order.
        output_tokens: Tokens to generate per request.
        repetitions: Passes over the prompts that are measured.
        warmup_requests: Requests run before measuring and never recorded.
        ignore_eos: Generate past end-of-sequence to get exactly ``output_tokens``.
    """

    prompts: tuple[str, ...]
    output_tokens: int
    repetitions: int
    warmup_requests: int
    ignore_eos: bool = True

    def __post_init__(self) -> None:
        if self.output_tokens < 1:
            raise ParameterError(f"output_tokens must be at least 1, got {self.output_tokens}.")
        if self.repetitions < 1:
            raise ParameterError(f"repetitions must be at least 1, got {self.repetitions}.")
        if self.warmup_requests < 0:
            raise ParameterError(f"warmup must be 0 or more, got {self.warmup_requests}.")

    def measured(self) -> list[GenerationRequest]:
        """The measured requests, repetition-major."""
        return [
            GenerationRequest(f"rep{rep:03d}-p{index:02d}", prompt, self.output_tokens, self.ignore_eos)
            for rep in range(self.repetitions)
            for index, prompt in enumerate(self.prompts)
        ]

    def warmup(self) -> list[GenerationRequest]:
        """The warm-up requests, cycling through the prompts."""
        return [
            GenerationRequest(
                f"warmup{i:02d}", self.prompts[i % len(self.prompts)], self.output_tokens, self.ignore_eos
            )
            for i in range(self.warmup_requests)
        ]
