"""Synthetic prompts: a given length in the model's tokens, different for every request.

llama.cpp's server, vLLM and Ollama keep the prompts they have seen and reuse
the longest cached prefix of a new one. A benchmark that sends the same few
prompts over and over therefore measures cache lookups, not prefill: on
llama.cpp's server the time to first token of a repeated prompt is a fraction
of a fresh one's. ``prompts: synthetic`` gives every request (warm-up included)
its own prompt of exactly ``prompt_tokens`` tokens, like vLLM's random
dataset: random words drawn with a seed derived from the sweep's ``seed`` and
the request id (so a resumed sweep sends the same prompt for the same request),
cut to length with the model's own tokenizer and checked by encoding again.
Two prompts share a first word with probability 1/len(WORDS), so no prefix
beyond the template a server adds is common to two requests.

Tokenizers: the GGUF file's (in process, or when the server runs a file benchlib
can open), or the server's own endpoint: ``/tokenize`` + ``/detokenize``
(llama.cpp's ``llama-server``, vLLM) or ``/extras/tokenize`` +
``/extras/detokenize`` (llama-cpp-python's server).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Protocol, Sequence

import numpy as np

from benchlib.errors import ParameterError

__all__ = ["GgufTokenizer", "ServerTokenizer", "SyntheticPrompts", "Tokenizer", "WORDS"]

WORDS = tuple(
    dict.fromkeys(
    """
    time year people way day man thing woman life child world school state family student group country problem
    hand part place case week company system program question work government number night point home water room
    mother area money story fact month lot right study book eye job word business issue side kind head house
    service friend father power hour game line end member law car city community name president team minute idea
    kid body information back parent face others level office door health person art war history party result
    change morning reason research girl guy moment air teacher force education foot boy age policy music market
    sense nation plan college interest death experience effect use class control care field development role
    effort rate heart drug show leader light voice wife police mind price report decision son view relationship
    town road arm difference value building action model season society tax director position player record paper
    space ground form event official matter center couple site project activity star table need court oil
    situation cost industry figure street image phone data picture practice piece land product doctor wall patient
    worker news test movie north love support technology step baby computer type attention film tree source
    organization hair window evidence population site truth river garden energy bridge island mountain forest
    valley ocean desert village harbor engine signal battery cable sensor memory network server kernel compiler
    """.split()
    )
)
"""Common English nouns the prompts are drawn from, each once."""

MAX_ADJUSTMENTS = 24


class Tokenizer(Protocol):
    """Text to token ids and back, without special tokens (no beginning-of-sequence)."""

    name: str

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``."""

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``."""


class GgufTokenizer:
    """The tokenizer stored in a GGUF file, through llama.cpp (vocabulary only: no weights are loaded).

    Args:
        model_path: Path of the GGUF file.
    """

    def __init__(self, model_path: str) -> None:
        import llama_cpp

        self.name = f"gguf:{model_path}"
        self._llm = llama_cpp.Llama(model_path=str(model_path), vocab_only=True, verbose=False)

    def encode(self, text: str) -> list[int]:
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def decode(self, ids: Sequence[int]) -> str:
        return self._llm.detokenize(list(ids)).decode("utf-8", errors="replace")

    def close(self) -> None:
        """Free the vocabulary."""
        self._llm.close()


@dataclass(frozen=True)
class _Dialect:
    """One server's tokenize/detokenize endpoints and field names."""

    name: str
    tokenize_path: str
    detokenize_path: str
    text_field: str
    text_reply_field: str
    extra: dict[str, Any]


_DIALECTS = (
    _Dialect("llama.cpp server", "/tokenize", "/detokenize", "content", "content", {"add_special": False}),
    _Dialect("vLLM", "/tokenize", "/detokenize", "prompt", "prompt", {"add_special_tokens": False}),
    _Dialect("llama-cpp-python server", "/extras/tokenize", "/extras/detokenize", "input", "text", {}),
)


class ServerTokenizer:
    """A server's own tokenizer over HTTP (the first dialect of :data:`_DIALECTS` that answers).

    Args:
        settings: The sweep's :class:`~benchlib.runtimes.http.HttpSettings`.

    Raises:
        ParameterError: the server has none of the tokenize endpoints.
    """

    def __init__(self, settings) -> None:
        self.settings = settings
        self._dialect: _Dialect | None = None
        self._special_prefix: list[int] = []
        problems = []
        for dialect in _DIALECTS:
            self._dialect = dialect
            try:
                self._special_prefix = self._tokenize("")
                self.encode("hello")
            except _Unanswered as exc:
                problems.append(f"{dialect.name} {dialect.tokenize_path}: {exc}")
                continue
            self.name = f"server:{dialect.name}"
            return
        raise ParameterError(
            f"prompts: synthetic needs the model's tokenizer, and the server at {settings.url} offers none "
            f"({'; '.join(problems)}). Set model to the GGUF file the server runs (a path or catalogue name): "
            "benchlib then tokenizes locally."
        )

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import aiohttp

        from benchlib.runtimes.http import run_coroutine

        async def post() -> tuple[int, Any]:
            timeout = aiohttp.ClientTimeout(total=15)
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(self.settings.url.rstrip("/") + path, json=body, headers=self.settings.headers()) as reply:
                    return reply.status, await reply.json(content_type=None) if reply.status == 200 else None

        try:
            status, payload = run_coroutine(post())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise _Unanswered(f"{type(exc).__name__}: {exc}") from None
        if status != 200 or not isinstance(payload, dict):
            raise _Unanswered(f"HTTP {status}")
        return payload

    def _tokenize(self, text: str) -> list[int]:
        dialect = self._dialect
        body = {dialect.text_field: text, "model": self.settings.served_model, **dialect.extra}
        tokens = self._post(dialect.tokenize_path, body).get("tokens")
        if not isinstance(tokens, list):
            raise _Unanswered("no token list in the reply")
        return [int(t["id"]) if isinstance(t, dict) else int(t) for t in tokens]

    def encode(self, text: str) -> list[int]:
        ids = self._tokenize(text)
        prefix = self._special_prefix
        return ids[len(prefix):] if prefix and ids[: len(prefix)] == prefix else ids

    def decode(self, ids: Sequence[int]) -> str:
        dialect = self._dialect
        body = {"tokens": list(ids), "model": self.settings.served_model}
        text = self._post(dialect.detokenize_path, body).get(dialect.text_reply_field)
        if not isinstance(text, str):
            raise ParameterError(f"The server's {dialect.detokenize_path} returned no text for {len(ids)} tokens.")
        return text


class _Unanswered(Exception):
    """A tokenize endpoint that does not exist or does not answer."""


class SyntheticPrompts:
    """Unique prompts of exactly ``prompt_tokens`` tokens, one per request id.

    Args:
        tokenizer: The model's tokenizer.
        prompt_tokens: Prompt length in tokens (without the special tokens or
            chat template a server adds).
        seed: The sweep's seed.
    """

    def __init__(self, tokenizer: Tokenizer, prompt_tokens: int, seed: int) -> None:
        if prompt_tokens < 1:
            raise ParameterError(f"prompt_tokens must be at least 1 for synthetic prompts, got {prompt_tokens}.")
        self.tokenizer = tokenizer
        self.prompt_tokens = prompt_tokens
        self.seed = seed

    def prompt(self, request_id: str) -> str:
        """The prompt of one request (the same id and seed always give the same prompt).

        Raises:
            ParameterError: the tokenizer never yields exactly ``prompt_tokens`` tokens.
        """
        digest = hashlib.sha256(f"{self.seed}/{request_id}".encode()).digest()
        rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
        target = self.prompt_tokens
        text = " ".join(rng.choice(WORDS, size=target + 4))
        ids = self.tokenizer.encode(text)
        while len(ids) < target:
            text += " " + " ".join(rng.choice(WORDS, size=target))
            ids = self.tokenizer.encode(text)
        for _ in range(MAX_ADJUSTMENTS):
            if len(ids) > target:
                text = self.tokenizer.decode(ids[:target])
            elif len(ids) < target:
                text = f"{text} {rng.choice(WORDS)}"
            ids = self.tokenizer.encode(text)
            if len(ids) == target:
                return text
        raise ParameterError(
            f"Could not make a prompt of exactly {target} tokens with {self.tokenizer.name} "
            f"(request {request_id}); try another prompt_tokens."
        )
