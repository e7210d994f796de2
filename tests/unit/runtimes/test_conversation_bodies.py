"""A conversation's turn reaches each API as that API carries history: chat messages, or one growing transcript."""

from __future__ import annotations

from dataclasses import dataclass

from benchlib.conversation import ConversationBook
from benchlib.runtimes.base import GenerationRequest
from benchlib.runtimes.http.apis import DIALECTS


@dataclass
class _Options:
    served_model: str = "m"
    temperature: float = 0.0
    seed: int = 0
    fixed_length: str = "auto"
    cache_prompt: str = "default"


def _third_turn() -> GenerationRequest:
    book = ConversationBook(user_message_tokens=4)
    turns = [GenerationRequest(f"conv000-t{k:02d}", f"question {k}", 8, row_columns={"conversation_id": "conv000"})
             for k in range(3)]  # fmt: skip
    for k, turn in enumerate(turns[:2]):
        book.record(book.with_history(turn), turn.prompt, f"answer {k}", 8)
    return book.with_history(turns[2])


def test_chat_apis_send_every_earlier_message_and_reply_then_the_new_message():
    request = _third_turn()
    expected = [
        {"role": "user", "content": "question 0"}, {"role": "assistant", "content": "answer 0"},
        {"role": "user", "content": "question 1"}, {"role": "assistant", "content": "answer 1"},
        {"role": "user", "content": "question 2"},
    ]  # fmt: skip
    for api in ("openai-chat", "ollama-chat"):
        assert DIALECTS[api].build_body(_Options(), request)["messages"] == expected
    assert request.row_columns["history_tokens"] == 2 * (4 + 8)


def test_completions_send_the_transcript_that_only_grows_at_its_end():
    request = _third_turn()
    prompt = DIALECTS["openai-completions"].build_body(_Options(), request)["prompt"]
    assert prompt == ("User: question 0\nAssistant: answer 0\nUser: question 1\nAssistant: answer 1\n"
                      "User: question 2\nAssistant:")  # fmt: skip


def test_a_single_request_is_one_user_message():
    request = GenerationRequest("rep000-p00", "hello", 8)
    assert DIALECTS["openai-chat"].build_body(_Options(), request)["messages"] == [{"role": "user", "content": "hello"}]


def test_only_ollama_generate_cannot_carry_a_history():
    assert {name for name, dialect in DIALECTS.items() if not dialect.carries_history} == {"ollama-generate"}
