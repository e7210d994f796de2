"""The ``workload`` section: prompts, lengths (or grids of them), conversations, shared prefixes, traces."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictBool, StrictInt, StrictStr, field_validator, model_validator

from benchlib.config.section_base import Section
from benchlib.conversation import THINK_TIME_DISTRIBUTIONS
from benchlib.errors import ParameterError
from benchlib.runtimes.local_settings import Number
from benchlib.validation import one_of
from benchlib.workload import CONVERSATION, SYNTHETIC, Cell, Workload, resolve_prompts

__all__ = ["WorkloadSection"]


class WorkloadSection(Section):
    """The requests of a sweep.

    Attributes:
        prompts: Prompt-set name (``short``, ``tiny``), ``synthetic`` (a prompt
            of its own of ``prompt_tokens`` tokens for every request, so no
            prompt cache can serve it), ``conversation`` (multi-turn
            conversations of such messages) or a list of prompts.
        prompt_tokens: Length of each synthetic prompt, tokens; a list makes a grid.
        output_tokens: Tokens generated per request; a list makes a grid.
        context_depth: Tokens already in context before each prompt (``llama-bench -d``); a list makes a grid.
        repetitions: Measured passes over the prompts (conversations, with ``prompts: conversation``).
        warmup: Warm-up requests before measuring (not recorded).
        ignore_eos: Generate exactly ``output_tokens`` even past end-of-sequence.
        turns: Turns per conversation (``prompts: conversation``).
        think_time_s: Mean pause of a user between two turns, seconds.
        think_time_distribution: ``exponential`` (seeded) or ``constant``.
        prefix_tokens: Length of one shared prefix some requests start with, tokens (0: none); with
            ``prompts: conversation``, a system prompt that share of the conversations start with.
        prefix_share: Share of requests (of conversations) that start with it, 0 to 1.
        trace: A recorded trace (CSV or JSON Lines) whose arrival times and
            lengths are replayed (:mod:`benchlib.traces`); empty for none.
        trace_columns: Which columns of the trace hold ``arrival_s``,
            ``prompt_tokens`` and ``output_tokens`` (and ``time_unit``), when
            it is none of the known layouts.
        trace_speedup: Replay the trace this many times faster.
        trace_max_requests: Replay only its first N requests (0: all).
    """

    prompts: StrictStr | list[StrictStr] = "short"
    prompt_tokens: StrictInt | list[StrictInt] = 0
    output_tokens: StrictInt | list[StrictInt] = 128
    context_depth: StrictInt | list[StrictInt] = 0
    repetitions: StrictInt = 5
    warmup: StrictInt = 1
    ignore_eos: StrictBool = True
    turns: StrictInt = Field(1, ge=1)
    think_time_s: Number = Field(0.0, ge=0)
    think_time_distribution: StrictStr = "exponential"
    prefix_tokens: StrictInt = Field(0, ge=0)
    prefix_share: Number = Field(1.0, ge=0, le=1)
    trace: StrictStr = ""
    trace_columns: dict[str, StrictStr] = Field(default_factory=dict)
    trace_speedup: Number = Field(1.0, gt=0)
    trace_max_requests: StrictInt = Field(0, ge=0)

    @field_validator("prompts")
    @classmethod
    def _known_prompts(cls, prompts: str | list[str]) -> str | list[str]:
        resolve_prompts(prompts)  # its error lists the sets
        return prompts

    @field_validator("prompt_tokens", "output_tokens", "context_depth", mode="before")
    @classmethod
    def _grid_values(cls, values: Any, info) -> Any:
        """A length is an integer >= 0 (output >= 1), or a non-empty list of distinct ones (a grid)."""
        least = 1 if info.field_name == "output_tokens" else 0
        items = values if isinstance(values, list) else [values]
        whole = all(isinstance(v, int) and not isinstance(v, bool) for v in items)
        if not items or not whole or any(v < least for v in items) or len(set(items)) != len(items):
            raise ParameterError(
                f"Parameter {info.field_name} (workload.{info.field_name}) must be an integer >= {least}, or a list "
                f"of distinct ones for a grid (e.g. [128, 512]), got {values!r}."
            )
        return values

    _known_distribution = one_of("think_time_distribution", THINK_TIME_DISTRIBUTIONS)

    @model_validator(mode="after")
    def _coherent(self) -> "WorkloadSection":
        """Refuse combinations that make no workload, each with what to change."""
        conversation = self.prompts == CONVERSATION
        grid = any(isinstance(v, list) for v in (self.prompt_tokens, self.output_tokens, self.context_depth))
        problems = []
        if self.turns > 1 and not conversation:
            problems.append(f"turns: {self.turns} needs prompts: {CONVERSATION}")
        if conversation and self.turns < 2:
            problems.append(f"prompts: {CONVERSATION} needs turns of 2 or more (turns per conversation)")
        if self.think_time_s and not conversation:
            problems.append(f"think_time_s is the pause between turns: it needs prompts: {CONVERSATION}")
        if conversation and (grid or self._depths() != [0]):
            problems.append(f"prompts: {CONVERSATION} takes one prompt_tokens and output_tokens and no context_depth "
                            "(the history is the conversation's own)")  # fmt: skip
        if isinstance(self.prompt_tokens, list) and not self.synthetic:
            problems.append(f"a list of prompt_tokens needs prompts: {SYNTHETIC}")
        if self.prefix_tokens and not (self.synthetic or conversation):
            problems.append(f"prefix_tokens needs prompts: {SYNTHETIC} (the unique suffix after the prefix) or "
                            f"{CONVERSATION} (a system prompt the conversations share)")  # fmt: skip
        if self.trace and (conversation or grid or self.prefix_tokens or self._depths() != [0]):
            problems.append("a trace gives each request's lengths and arrival: drop prompts: conversation, "
                            "length lists, context_depth and prefix_tokens")  # fmt: skip
        if problems:
            raise ParameterError("Workload: " + "; ".join(problems) + ".")
        return self

    def _lengths(self, name: str) -> list[int]:
        value = getattr(self, name)
        return list(value) if isinstance(value, list) else [value]

    def _depths(self) -> list[int]:
        return self._lengths("context_depth")

    @property
    def synthetic(self) -> bool:
        """True when every request gets a synthetic prompt of its own (a shared prefix and depth may precede it)."""
        return self.prompts == SYNTHETIC

    @property
    def conversation(self) -> bool:
        """True for multi-turn conversations."""
        return self.prompts == CONVERSATION

    def cells(self) -> list[Cell]:
        """The grid's cells, prompt length outermost, then output length, then depth."""
        prompts = self._lengths("prompt_tokens") if self.synthetic or self.conversation else [0]
        return [
            Cell(p, o, d) for p in prompts for o in self._lengths("output_tokens") for d in self._depths()
        ]

    def longest_request_tokens(self) -> tuple[int, str]:
        """Context one request needs at most (a conversation's last turn), and what it is made of.

        Returns:
            The tokens, and their parts in words (``512 depth + 2000 prompt + 100 output``).
        """
        output = max(self._lengths("output_tokens"))
        if self.conversation:
            prompt = self._lengths("prompt_tokens")[0]
            shared = f"{self.prefix_tokens} shared prefix + " if self.prefix_tokens else ""
            return (self.prefix_tokens + self.turns * (prompt + output),
                    f"{shared}{self.turns} turns x ({prompt} prompt + {output} output)")  # fmt: skip
        prompt = max(self._lengths("prompt_tokens")) if self.synthetic else 1
        parts = [(max(self._depths()), "depth"), (self.prefix_tokens, "shared prefix"),
                 (prompt, "prompt" if self.synthetic else "prompt at least"), (output, "output")]  # fmt: skip
        words = " + ".join(f"{n} {what}" if what != "prompt at least" else "at least 1 prompt" for n, what in parts if n)
        return sum(n for n, _ in parts), words

    def plan(self, seed: int, trace=None) -> Workload:
        """The workload these values describe.

        Args:
            seed: The sweep's seed.
            trace: The :class:`~benchlib.traces.Trace` that ``trace`` names, read (``None`` without one).

        Raises:
            ParameterError: values that make no workload (no prompt_tokens for synthetic prompts ...).
        """
        cells = self.cells()
        first = cells[0]
        if trace is not None:  # each request has the trace's lengths: synthetic prompts of its own
            first = Cell(trace.requests[0].prompt_tokens, trace.requests[0].output_tokens)
        return Workload(
            prompts=() if trace is not None else resolve_prompts(self.prompts),
            output_tokens=first.output_tokens,
            repetitions=self.repetitions,
            warmup_requests=self.warmup,
            ignore_eos=self.ignore_eos,
            synthetic_prompt_tokens=first.prompt_tokens,
            seed=seed,
            cells=tuple(cells) if len(cells) > 1 or first.context_depth else (),
            turns=self.turns if self.conversation else 0,
            think_time_s=float(self.think_time_s),
            think_time_distribution=self.think_time_distribution,
            prefix_tokens=self.prefix_tokens,
            prefix_share=float(self.prefix_share),
            trace=trace,
        )
