"""Multi-turn conversations: each turn sends the whole history so far, then the new user message.

A conversation of ``turns`` turns is a run of requests ``convNNN-tKK``. Turn
``k`` carries every earlier user message and the reply the model really gave
to it, then a new user message of ``prompt_tokens`` tokens (a synthetic
prompt of its own, so only the history can come from a cache). Chat APIs get
the turns as messages; completions APIs and in-process runtimes get the same
transcript as text (:func:`render_transcript`), which only ever grows at its
end, so a prefix cache can serve everything but the new message.

``history_tokens`` is what the earlier turns add: their user messages'
tokens plus their replies' output tokens (a chat template's own tokens are
not counted), and a shared system prompt (``prefix_tokens``) that opened the
first message. Between two turns a virtual user thinks for ``think_time_s``
(constant, or exponential with that mean, seeded per conversation and turn).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

import numpy as np

from benchlib.runtimes.base import GenerationRequest, TokenTrace

__all__ = [
    "THINK_TIME_DISTRIBUTIONS",
    "ConversationBook",
    "conversation_request_id",
    "render_transcript",
    "think_time_s",
]

THINK_TIME_DISTRIBUTIONS = ("constant", "exponential")
"""How a user's pause between two turns is drawn around ``think_time_s``."""


def conversation_request_id(prefix: str, conversation: int, turn: int) -> str:
    """The id of a turn: ``{prefix}conv003-t01`` (conversation 3, second turn)."""
    return f"{prefix}conv{conversation:03d}-t{turn:02d}"


def render_transcript(turns: Iterable[tuple[str, str]]) -> str:
    """The conversation as one text for completions APIs and in-process runtimes.

    ``User: ...`` and ``Assistant: ...`` lines; the text ends with ``Assistant:``
    so the model writes the reply. It only grows at its end from turn to turn.
    """
    lines = [f"{'User' if role == 'user' else 'Assistant'}: {content.strip()}" for role, content in turns]
    return "\n".join(lines) + "\nAssistant:"


def think_time_s(mean_s: float, distribution: str, seed: int, conversation_key: str) -> float:
    """The pause before the next turn of one conversation, seconds (the same key and seed give the same pause)."""
    if mean_s <= 0:
        return 0.0
    if distribution == "constant":
        return float(mean_s)
    digest = hashlib.sha256(f"{seed}/think/{conversation_key}".encode()).digest()
    return float(np.random.default_rng(int.from_bytes(digest[:8], "little")).exponential(mean_s))


@dataclass
class _History:
    turns: list[tuple[str, str]] = field(default_factory=list)
    tokens: int = 0


class ConversationBook:
    """The histories of the conversations in flight, keyed by conversation id.

    Args:
        user_message_tokens: Tokens of each user message (the synthetic prompt length).
    """

    def __init__(self, user_message_tokens: int) -> None:
        self.user_message_tokens = user_message_tokens
        self._histories: dict[str, _History] = {}

    def with_history(self, request: GenerationRequest) -> GenerationRequest:
        """The turn as it is sent: the history so far, then the request's own prompt as the new user message."""
        conversation = request.row_columns["conversation_id"]
        history = self._histories.setdefault(conversation, _History())
        messages = (*history.turns, ("user", request.prompt))
        columns = {**request.row_columns, "history_tokens": history.tokens}
        return replace(request, prompt=render_transcript(messages), messages=messages, row_columns=columns)

    def record(self, request: GenerationRequest, user_message: str, reply: str, reply_tokens: int) -> None:
        """Add a finished turn (its user message and the model's reply) to its conversation's history."""
        history = self._histories.setdefault(request.row_columns["conversation_id"], _History())
        history.turns += [("user", user_message), ("assistant", reply)]
        shared = 0 if request.row_columns.get("turn") else int(request.row_columns.get("prefix_tokens") or 0)
        history.tokens += shared + self.user_message_tokens + int(reply_tokens)

    def record_trace(self, request: GenerationRequest, user_message: str, trace: TokenTrace) -> None:
        """Add a finished turn from its trace (a failed turn adds its message and an empty reply: its partial
        output is not part of the history the next turn sends)."""
        failed = trace.error is not None
        self.record(request, user_message, "" if failed else trace.text, 0 if failed else trace.output_tokens)

    def restore(self, rows: Any, user_messages: dict[str, str]) -> None:
        """Rebuild histories from rows already on disk (a resumed sweep), in turn order.

        Args:
            rows: ``requests.parquet`` rows with ``request_id``, ``conversation_id``,
                ``turn``, ``output_text`` and ``output_tokens``.
            user_messages: Request id -> its user message (the same synthetic prompt it was sent with).
        """
        if rows is None or len(rows) == 0 or "conversation_id" not in rows:
            return
        for row in rows.sort_values(["conversation_id", "turn"]).itertuples():
            message = user_messages.get(row.request_id)
            if message is None:
                continue
            failed = isinstance(getattr(row, "error", None), str)  # as record_trace: a failed turn's reply is empty
            prefix = getattr(row, "prefix_tokens", 0)
            columns = {"conversation_id": row.conversation_id, "turn": int(row.turn),
                       "prefix_tokens": int(prefix) if prefix == prefix and prefix is not None else 0}  # NaN: none
            request = GenerationRequest(row.request_id, message, 1, row_columns=columns)
            self.record(request, message, "" if failed else row.output_text or "", 0 if failed else int(row.output_tokens or 0))
