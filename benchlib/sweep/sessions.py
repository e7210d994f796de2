"""What a virtual user of a load step sends: one request, or the turns of a conversation.

A load step hands each worker (closed loop) or arrival (open loop) a session.
A :class:`SingleRequest` is one request. A :class:`ConversationSession` sends
turn after turn, each carrying the history so far
(:class:`~benchlib.conversation.ConversationBook`), and pauses for the
conversation's think time between two turns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from benchlib.conversation import ConversationBook
from benchlib.runtimes.base import GenerationRequest, TokenTrace

__all__ = ["ConversationSession", "Session", "SingleRequest"]


class Session(Protocol):
    """The requests of one virtual user, each decided once the previous one has finished."""

    def first(self) -> GenerationRequest:
        """The first request to send."""

    def after(self, sent: GenerationRequest, trace: TokenTrace) -> tuple[GenerationRequest | None, float]:
        """The next request once ``sent`` finished with ``trace`` (``None``: the session is over), and the pause before it, seconds."""


@dataclass
class SingleRequest:
    """A session of one request."""

    request: GenerationRequest

    def first(self) -> GenerationRequest:
        return self.request

    def after(self, sent: GenerationRequest, trace: TokenTrace) -> tuple[GenerationRequest | None, float]:
        return None, 0.0


@dataclass
class ConversationSession:
    """The turns of one conversation, sent one after another with their history.

    Attributes:
        turns: The turns in order, each with its own user message as ``prompt``.
        think_s: The pause before each turn after the first, seconds.
        book: Where the conversation's history is kept.
    """

    turns: list[GenerationRequest]
    think_s: list[float]
    book: ConversationBook
    _next: int = field(default=0, init=False)

    def _send(self, index: int) -> GenerationRequest:
        self._next = index + 1
        return self.book.with_history(self.turns[index])

    def first(self) -> GenerationRequest:
        return self._send(0)

    def after(self, sent: GenerationRequest, trace: TokenTrace) -> tuple[GenerationRequest | None, float]:
        self.book.record_trace(sent, self.turns[self._next - 1].prompt, trace)
        if self._next >= len(self.turns):
            return None, 0.0
        pause = self.think_s[self._next - 1] if self._next - 1 < len(self.think_s) else 0.0
        return self._send(self._next), pause
