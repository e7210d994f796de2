"""What a sweep asks of a runtime: prompts, output length, warm-up and repetitions.

Measured requests are ordered repetition by repetition (every prompt once, then
again), each with a stable id such as ``rep002-p01`` so that a resumed sweep can
tell which requests it already has.

``prompts: synthetic`` (with ``prompt_tokens``) gives every request a prompt of
its own of that many tokens (:mod:`benchlib.synthetic_prompts`), so that no
server's prompt cache can serve it: each repetition then has
:data:`SYNTHETIC_PROMPTS_PER_REPETITION` requests, and the prompts are filled in
with the model's tokenizer by :meth:`Workload.materialize`.

Richer workloads (issue 27):

* ``prompts: conversation`` with ``turns``: every repetition is a conversation
  ``convNNN`` whose turn ``tKK`` sends the history so far
  (:mod:`benchlib.conversation`);
* ``prefix_tokens`` with ``prefix_share``: that share of the requests start
  with one shared prefix, chosen evenly over the run (request ``i`` of ``n``
  gets it when ``floor((i + 1) s + 1/2) > floor(i s + 1/2)``, so exactly
  ``round(n s)`` do, not a random number);
* grids: several ``prompt_tokens``, ``output_tokens`` or ``context_depth``
  values make one :class:`Cell` each, measured in turn (ids
  ``pp128-tg32-d0-rep000-p00``). A cell's context depth is a synthetic text
  of that many tokens placed before every prompt, as ``llama-bench -d`` fills
  the context before it times prefill and decode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any, Sequence

from benchlib.conversation import conversation_request_id
from benchlib.errors import ParameterError
from benchlib.runtimes.base import GenerationRequest
from benchlib.synthetic_prompts import SyntheticPrompts
from benchlib.traces import Trace

__all__ = [
    "CONVERSATION",
    "PROMPT_SETS",
    "SYNTHETIC",
    "SYNTHETIC_PROMPTS_PER_REPETITION",
    "Cell",
    "Workload",
    "resolve_prompts",
    "trace_requests",
]

SYNTHETIC = "synthetic"
"""The ``prompts`` value for unique prompts of ``prompt_tokens`` tokens each."""

CONVERSATION = "conversation"
"""The ``prompts`` value for multi-turn conversations of synthetic user messages of ``prompt_tokens`` tokens."""

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
        if prompts in (SYNTHETIC, CONVERSATION):
            return ()
        if prompts not in PROMPT_SETS:
            raise ParameterError(
                f"Unknown prompt set '{prompts}'; valid sets: {', '.join([*PROMPT_SETS, SYNTHETIC, CONVERSATION])} "
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
class Cell:
    """One point of a length grid: prompt length, output length, context depth.

    Attributes:
        prompt_tokens: Synthetic prompt length, tokens (0 for fixed prompts).
        output_tokens: Tokens generated per request.
        context_depth: Tokens already in context before the prompt (``llama-bench -d``).
    """

    prompt_tokens: int
    output_tokens: int
    context_depth: int = 0

    @property
    def label(self) -> str:
        """``pp128-tg32-d512``: prompt, generated tokens and depth, as llama-bench names its tests."""
        return f"pp{self.prompt_tokens}-tg{self.output_tokens}-d{self.context_depth}"

    def columns(self) -> dict[str, Any]:
        """The row columns that name the cell."""
        return {"cell": self.label, "target_prompt_tokens": self.prompt_tokens or None,
                "target_output_tokens": self.output_tokens, "context_depth": self.context_depth}  # fmt: skip


def _shared(index: int, share: float) -> bool:
    """True when request ``index`` of a run gets the shared prefix (exactly ``round(n * share)`` of n, evenly spread)."""
    return math.floor((index + 1) * share + 0.5 + 1e-9) > math.floor(index * share + 0.5 + 1e-9)


@dataclass(frozen=True)
class Workload:
    """What a sweep's requests are.

    Attributes:
        prompts: The prompts, used in order (empty for synthetic prompts and conversations).
        output_tokens: Tokens to generate per request (the first cell's, with a grid).
        repetitions: Passes over the prompts that are measured (conversations, with ``turns``).
        warmup_requests: Requests run before measuring and never recorded.
        ignore_eos: Generate past end-of-sequence to get exactly ``output_tokens``.
        synthetic_prompt_tokens: With empty ``prompts``: the length of each
            request's own synthetic prompt (a conversation's user message), tokens.
        seed: Seed of the synthetic prompts and think times.
        cells: The grid's cells (empty: one cell, ``synthetic_prompt_tokens`` x ``output_tokens``, depth 0).
        turns: Turns per conversation (0: independent requests).
        think_time_s: Mean pause between two turns, seconds.
        think_time_distribution: ``constant`` or ``exponential``.
        prefix_tokens: Length of the shared prefix, tokens (0: none).
        prefix_share: Share of requests that start with it.
        trace: A recorded trace to replay (:mod:`benchlib.traces`): its
            requests, with their lengths and arrival times, are the measured ones.
    """

    prompts: tuple[str, ...]
    output_tokens: int
    repetitions: int
    warmup_requests: int
    ignore_eos: bool = True
    synthetic_prompt_tokens: int = 0
    seed: int = 0
    cells: tuple[Cell, ...] = ()
    turns: int = 0
    think_time_s: float = 0.0
    think_time_distribution: str = "exponential"
    prefix_tokens: int = 0
    prefix_share: float = 0.0
    trace: Trace | None = None

    def __post_init__(self) -> None:
        if not self.prompts and self.synthetic_prompt_tokens < 1 and not any(c.prompt_tokens for c in self.cells):
            kind = CONVERSATION if self.turns else SYNTHETIC
            raise ParameterError(
                f"prompts: {kind} needs prompt_tokens, the length of each prompt in tokens (e.g. 128); "
                f"got {self.synthetic_prompt_tokens}."
            )
        for cell in self.grid_cells:
            if cell.output_tokens < 1:
                raise ParameterError(f"output_tokens must be at least 1, got {cell.output_tokens}.")
        if self.repetitions < 1:
            raise ParameterError(f"repetitions must be at least 1, got {self.repetitions}.")
        if self.warmup_requests < 0:
            raise ParameterError(f"warmup must be 0 or more, got {self.warmup_requests}.")

    @property
    def synthetic(self) -> bool:
        """True when every request gets its own synthetic prompt (a conversation's user messages too)."""
        return not self.prompts

    @property
    def conversation(self) -> bool:
        """True for multi-turn conversations."""
        return self.turns > 0

    @property
    def reuses_cache(self) -> bool:
        """True for a workload built on a prefix cache: conversations, a shared prefix, a context depth."""
        return self.conversation or self.prefix_tokens > 0 or any(c.context_depth for c in self.grid_cells)

    @property
    def needs_tokenizer(self) -> bool:
        """True when prompts are made with the model's tokenizer (synthetic ones, a shared prefix, a depth)."""
        return self.synthetic or self.reuses_cache

    @property
    def grid_cells(self) -> tuple[Cell, ...]:
        """The cells measured: the grid's, or the one cell of ``synthetic_prompt_tokens`` x ``output_tokens``."""
        return self.cells or (Cell(self.synthetic_prompt_tokens, self.output_tokens),)

    @property
    def grid(self) -> bool:
        """True when request ids name their cell (several cells, or a context depth)."""
        return len(self.grid_cells) > 1 or any(c.context_depth for c in self.grid_cells)

    @property
    def prompts_per_repetition(self) -> int:
        """Measured requests per repetition (a conversation's turns)."""
        if self.conversation:
            return self.turns
        return SYNTHETIC_PROMPTS_PER_REPETITION if self.synthetic else len(self.prompts)

    def prompt_text(self, index: int) -> str:
        """The prompt of the ``index``-th request of a cycle ("" for synthetic ones, filled in by :meth:`materialize`)."""
        return "" if self.synthetic else self.prompts[index % len(self.prompts)]

    def measured(self) -> list[GenerationRequest]:
        """The measured requests: cell by cell, repetition-major; conversations turn by turn."""
        if self.trace is not None:
            return trace_requests(self.trace, "trace-", self.ignore_eos)
        if self.conversation:
            return self.with_shared_prefix([
                GenerationRequest(
                    conversation_request_id("", rep, turn), "", self.output_tokens, self.ignore_eos,
                    row_columns={"conversation_id": f"conv{rep:03d}", "turn": turn, "repetition": rep,
                                 "prompt_index": turn},
                )
                for rep in range(self.repetitions)
                for turn in range(self.turns)
            ])  # fmt: skip
        requests = []
        for cell in self.grid_cells:
            prefix = f"{cell.label}-" if self.grid else ""
            for rep in range(self.repetitions):
                for index in range(self.prompts_per_repetition):
                    columns = {"repetition": rep, "prompt_index": index, **(cell.columns() if self.grid else {})}
                    requests.append(GenerationRequest(f"{prefix}rep{rep:03d}-p{index:02d}", self.prompt_text(index),
                                                      cell.output_tokens, self.ignore_eos, row_columns=columns))  # fmt: skip
        return self.with_shared_prefix(requests)

    def with_shared_prefix(self, requests: Sequence[GenerationRequest]) -> list[GenerationRequest]:
        """Mark which requests start with the shared prefix (none without ``prefix_tokens``).

        Conversations are marked whole, every turn of one alike: the prefix opens its first message, a system
        prompt the conversations share, and its history carries it on.
        """
        if not self.prefix_tokens:
            return list(requests)
        order: dict[str, int] = {}
        marked = []
        for i, r in enumerate(requests):
            unit = order.setdefault(r.row_columns.get("conversation_id", f"#{i}"), len(order))
            marked.append(replace(r, row_columns={**r.row_columns, "shared_prefix": _shared(unit, self.prefix_share)}))
        return marked

    def warmup(self) -> list[GenerationRequest]:
        """The warm-up requests, cycling through the prompts (in the first cell)."""
        cell = self.grid_cells[0]
        columns = cell.columns() if self.grid else {}
        return [
            GenerationRequest(f"warmup{i:02d}", self.prompt_text(i), cell.output_tokens, self.ignore_eos,
                              row_columns=dict(columns))  # fmt: skip
            for i in range(self.warmup_requests)
        ]

    def materialize(self, requests: Sequence[GenerationRequest], tokenizer=None) -> list[GenerationRequest]:
        """The requests with their prompts: fixed ones unchanged; synthetic ones each its own.

        A request's synthetic prompt has its cell's length (``target_prompt_tokens``);
        a shared prefix and a context depth's text go before it.

        Args:
            requests: Requests from :meth:`measured`, :meth:`warmup` or a load step.
            tokenizer: The model's :class:`~benchlib.synthetic_prompts.Tokenizer`
                (needed for synthetic prompts, shared prefixes and depths only).

        Raises:
            ParameterError: synthetic prompts without a tokenizer.
        """
        depths = {r.row_columns.get("context_depth") or 0 for r in requests}
        if not self.synthetic and not self.prefix_tokens and depths <= {0}:
            return list(requests)
        if tokenizer is None:
            raise ParameterError("Synthetic prompts need the model's tokenizer; none was given.")
        builder = SyntheticPrompts(tokenizer, max(self.synthetic_prompt_tokens, 1), self.seed)
        if self.synthetic:
            lengths = [r.row_columns.get("target_prompt_tokens") or self.synthetic_prompt_tokens for r in requests]
            prompts = builder.prompts([r.request_id for r in requests], lengths)
            requests = [replace(r, prompt=prompt) for r, prompt in zip(requests, prompts)]
        texts = {f"context-depth-{d}": d for d in depths if d}
        if self.prefix_tokens:
            texts["shared-prefix"] = self.prefix_tokens
        made = dict(zip(texts, builder.prompts(list(texts), list(texts.values())))) if texts else {}
        return [self._prefixed(r, made) for r in requests]

    def _prefixed(self, request: GenerationRequest, made: dict[str, str]) -> GenerationRequest:
        """A request with its context depth's text and the shared prefix (where it gets one) before its prompt."""
        parts = []
        depth = request.row_columns.get("context_depth") or 0
        if depth:
            parts.append(made[f"context-depth-{depth}"])
        columns = dict(request.row_columns)
        if "shared_prefix" in columns:
            columns["prefix_tokens"] = self.prefix_tokens if columns["shared_prefix"] else 0
            if columns["shared_prefix"] and not columns.get("turn"):  # a conversation's later turns carry it in history
                parts.append(made["shared-prefix"])
        if not parts:
            return replace(request, row_columns=columns)
        context = made[f"context-depth-{depth}"] if depth else ""
        return replace(request, prompt=" ".join([*parts, request.prompt]), context_prefix=context, row_columns=columns)


def trace_requests(trace: Trace, id_prefix: str, ignore_eos: bool) -> list[GenerationRequest]:
    """A trace's requests in arrival order (``{id_prefix}00042``), each with its lengths and schedule."""
    return [
        GenerationRequest(
            f"{id_prefix}{index:05d}", "", item.output_tokens, ignore_eos,
            row_columns={"repetition": 0, "prompt_index": index, "scheduled_offset_s": item.arrival_s,
                         "trace_row": item.source_row,
                         "target_prompt_tokens": item.prompt_tokens, "target_output_tokens": item.output_tokens},
        )
        for index, item in enumerate(trace.requests)
    ]  # fmt: skip
