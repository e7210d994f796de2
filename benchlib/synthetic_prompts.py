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
Two prompts share a first word with probability 1/len(WORDS), so beyond the
template a server adds, two requests rarely share more than a word of prefix.

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

from benchlib.errors import ParameterError, RuntimeFailure
from benchlib.runtimes.http.transport import run_coroutine

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
"""Rounds of cutting or lengthening a prompt before giving up."""

TOKENIZE_CONCURRENCY = 4
"""Tokenize requests in flight at once against a server (llama-server has n_parallel + 2 HTTP threads)."""


class Tokenizer(Protocol):
    """Texts to token ids and back, without special tokens (no beginning-of-sequence), many at a time."""

    name: str

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text."""

    def decode_many(self, ids: Sequence[Sequence[int]]) -> list[str]:
        """Text of each list of ids."""


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
        """Token ids of ``text``."""
        return list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        return [self.encode(text) for text in texts]

    def decode_many(self, ids: Sequence[Sequence[int]]) -> list[str]:
        return [self._llm.detokenize(list(i)).decode("utf-8", errors="replace") for i in ids]

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

    Many texts go out together, up to :data:`TOKENIZE_CONCURRENCY` requests at
    a time, so a step's prompts cost a few rounds of calls, not a few calls each.

    Args:
        settings: The sweep's :class:`~benchlib.runtimes.http.HttpSettings`.

    Raises:
        ParameterError: the server has none of the tokenize endpoints.
    """

    def __init__(self, settings) -> None:
        self.settings = settings
        self._dialect: _Dialect = _DIALECTS[0]
        self._special_prefix: list[int] = []
        problems = []
        for dialect in _DIALECTS:
            self._dialect = dialect
            try:
                self._special_prefix, hello = self._tokenize_many(["", "hello"])
            except _Unanswered as exc:
                problems.append(f"{dialect.name} {dialect.tokenize_path}: {exc}")
                continue
            if hello:
                self.name = f"server:{dialect.name}"
                return
            problems.append(f"{dialect.name} {dialect.tokenize_path}: no tokens for 'hello'")
        raise ParameterError(
            f"prompts: synthetic needs the model's tokenizer, and the server at {settings.url} offers none "
            f"({'; '.join(problems)}). Set model to the GGUF file the server runs (a path or catalogue name): "
            "benchlib then tokenizes locally."
        )

    def _post_many(self, path: str, bodies: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST each body to ``path`` over one session; the JSON replies in order.

        Raises:
            _Unanswered: a reply that is not HTTP 200 with a JSON object, or no reply.
        """
        import asyncio

        import aiohttp

        url = self.settings.url.rstrip("/") + path
        headers = self.settings.headers()

        async def post_all() -> list[dict[str, Any]]:
            limit = asyncio.Semaphore(TOKENIZE_CONCURRENCY)
            # one connection per call: llama-server gives a kept-alive connection one of its few HTTP
            # threads until its 5 s keep-alive ends, so reused or parked connections stall the rest
            connector = aiohttp.TCPConnector(force_close=True, limit=TOKENIZE_CONCURRENCY)
            async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:

                async def post(body: dict[str, Any]) -> dict[str, Any]:
                    async with limit, session.post(url, json=body, headers=headers) as reply:
                        payload = await reply.json(content_type=None) if reply.status == 200 else None
                        if not isinstance(payload, dict):
                            raise _Unanswered(f"HTTP {reply.status}")
                        return payload

                return await asyncio.gather(*(post(body) for body in bodies))

        try:
            return run_coroutine(post_all())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise _Unanswered(f"{type(exc).__name__}: {exc}") from None

    def _tokenize_many(self, texts: Sequence[str]) -> list[list[int]]:
        dialect = self._dialect
        bodies = [{dialect.text_field: text, "model": self.settings.served_model, **dialect.extra} for text in texts]
        replies = self._post_many(dialect.tokenize_path, bodies)
        token_lists = []
        for reply in replies:
            tokens = reply.get("tokens")
            if not isinstance(tokens, list):
                raise _Unanswered("no token list in the reply")
            token_lists.append([int(t["id"]) if isinstance(t, dict) else int(t) for t in tokens])
        return token_lists

    def encode_many(self, texts: Sequence[str]) -> list[list[int]]:
        """Token ids of each text, the special tokens the server adds (its BOS) taken off.

        Raises:
            RuntimeFailure: the server's tokenizer stopped answering.
        """
        try:
            token_lists = self._tokenize_many(texts)
        except _Unanswered as exc:
            raise RuntimeFailure(f"The server's {self._dialect.tokenize_path} stopped answering: {exc}") from None
        prefix = self._special_prefix
        return [ids[len(prefix):] if prefix and ids[: len(prefix)] == prefix else ids for ids in token_lists]

    def decode_many(self, ids: Sequence[Sequence[int]]) -> list[str]:
        """Text of each list of ids.

        Raises:
            RuntimeFailure: the server's detokenizer did not answer with text.
        """
        dialect = self._dialect
        bodies = [{"tokens": list(i), "model": self.settings.served_model} for i in ids]
        try:
            texts = [reply.get(dialect.text_reply_field) for reply in self._post_many(dialect.detokenize_path, bodies)]
        except _Unanswered as exc:
            raise RuntimeFailure(f"The server's {dialect.detokenize_path} stopped answering: {exc}") from None
        if not all(isinstance(text, str) for text in texts):
            raise RuntimeFailure(f"The server's {dialect.detokenize_path} returned no text for some token lists.")
        return texts


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
        """The prompt of one request (see :meth:`prompts`)."""
        return self.prompts([request_id])[0]

    def prompts(self, request_ids: Sequence[str], lengths: Sequence[int] | None = None) -> list[str]:
        """The prompts of these requests; the same id, length and seed always give the same prompt.

        All prompts advance together, so each round is one batch of tokenizer
        calls: draw words until the text is long enough, cut its ids to the
        target length and decode them, or add a word when the cut text encodes
        to fewer tokens, until it encodes to exactly the target.

        Args:
            request_ids: The requests.
            lengths: Each request's own length in tokens (a replayed trace's);
                ``None``: ``prompt_tokens`` for all.

        Raises:
            ParameterError: the tokenizer never yields exactly the target length.
        """
        targets = [self.prompt_tokens] * len(request_ids) if lengths is None else [int(n) for n in lengths]
        if any(target < 1 for target in targets):
            raise ParameterError(f"Every synthetic prompt needs at least 1 token, got lengths {sorted(set(targets))[:5]}.")
        generators = [self._generator(request_id) for request_id in request_ids]
        texts = [" ".join(rng.choice(WORDS, size=target + 4)) for rng, target in zip(generators, targets)]
        ids = self.tokenizer.encode_many(texts)
        while short := [i for i, token_ids in enumerate(ids) if len(token_ids) < targets[i]]:
            for i in short:
                texts[i] += " " + " ".join(generators[i].choice(WORDS, size=targets[i]))
            self._encode_into(ids, texts, short)
        pending = [i for i, token_ids in enumerate(ids) if len(token_ids) != targets[i]]
        for _ in range(MAX_ADJUSTMENTS):
            if not pending:
                return texts
            long = [i for i in pending if len(ids[i]) > targets[i]]
            for i, text in zip(long, self.tokenizer.decode_many([ids[i][: targets[i]] for i in long])):
                texts[i] = text
            for i in pending:
                if len(ids[i]) < targets[i]:
                    texts[i] = f"{texts[i]} {generators[i].choice(WORDS)}"
            self._encode_into(ids, texts, pending)
            pending = [i for i in pending if len(ids[i]) != targets[i]]
        if not pending:
            return texts
        raise ParameterError(
            f"Could not make a prompt of exactly {targets[pending[0]]} tokens with {self.tokenizer.name} "
            f"(request {request_ids[pending[0]]}); try another prompt_tokens."
        )

    def _generator(self, request_id: str) -> np.random.Generator:
        digest = hashlib.sha256(f"{self.seed}/{request_id}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:8], "little"))

    def _encode_into(self, ids: list[list[int]], texts: list[str], indices: list[int]) -> None:
        for i, token_ids in zip(indices, self.tokenizer.encode_many([texts[i] for i in indices])):
            ids[i] = token_ids
