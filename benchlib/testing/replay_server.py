"""A local server that streams the documented OpenAI (SSE) and Ollama (NDJSON) formats.

It generates no text: it replays the response format token by token at a
fixed, known interval, so the load generator's own accuracy can be measured
(``make bench``) and the Ollama protocol of ``hailo-ollama`` can be tested on a
machine where no Ollama server installs. The behaviour is chosen by the model
name a request asks for:

* ``replay``: well-formed stream, one token per chunk;
* ``replay-multi``: two tokens per chunk (OpenAI: listed in ``logprobs.tokens``);
* ``replay-usage``: two tokens per chunk with no per-chunk token list, and a
  final ``usage`` chunk giving the true count;
* ``replay-malformed``: a line of invalid JSON in the middle of the stream;
* ``replay-truncated``: the stream stops before its end marker;
* ``replay-slow``: waits ``slow_s`` before answering at all;
* ``replay-error``: an error object inside the stream;
* ``replay-500``: HTTP 500 with a JSON error body, no stream;
* ``replay-flaky``: every third request (counted over this mode) answers
  HTTP 500, the others stream well;
* ``replay-echo-auth``: every third request (counted over this mode) answers
  HTTP 401 with a body that echoes the ``Authorization`` header it received,
  as careless servers do; the others stream well;
* ``replay-cut``: two tokens, then half of the third event's line, then the
  connection is closed (a stream cut mid-token);
* ``replay-endless``: tokens forever, whatever ``max_tokens`` says (only the
  client's timeout ends it);
* ``replay-stall``: one token, then only keep-alive comments (``: keep-alive``)
  forever.

With ``--slots N`` (:attr:`ReplayConfig.slots`) the server has a known
capacity, as a llama-server started with N slots: at most N requests are
served at once, and a request that finds every slot busy waits in a queue
(first come, first served) and gets its response headers only once it holds a
slot, so its time to first token includes the wait. A slot is held from then
until its stream ends (or its client goes away); ``replay-slow``'s delay is
spent holding it, like prompt processing. Each request of ``output_tokens``
tokens then holds a slot ``output_tokens × interval_s`` seconds, and the
server's capacity is ``slots / (output_tokens × interval_s)`` requests per
second (2 slots, 16 tokens at 20 ms: 6.25 requests/s). ``--slots 0``, the
default, serves every request at once.

Run it with ``python -m benchlib.testing.replay_server --port 8123 --interval-ms 20``
(``--slots 4`` for a server of known capacity).
Formats follow the OpenAI streaming API (``data: {...}`` events, ``data:
[DONE]``) and the Ollama API (``/api/generate`` and ``/api/chat`` lines with
``response`` or ``message.content`` and a final ``done: true`` line carrying
``eval_count``, ``eval_duration``, ``prompt_eval_count`` and
``prompt_eval_duration`` in nanoseconds), as ``hailo-ollama`` serves them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from dataclasses import dataclass

__all__ = ["MODES", "ReplayConfig", "make_app", "main"]

MODES = (
    "replay", "replay-multi", "replay-usage", "replay-malformed", "replay-truncated", "replay-slow", "replay-error",
    "replay-500", "replay-flaky", "replay-cut", "replay-endless", "replay-stall", "replay-echo-auth",
)  # fmt: skip

ENDLESS_MODES = ("replay-endless", "replay-stall")
"""Modes whose stream only ends when the client goes away."""


@dataclass(frozen=True)
class ReplayConfig:
    """How the replay server behaves.

    Attributes:
        interval_s: Time between chunks, seconds.
        slow_s: Delay of the ``replay-slow`` model before its headers, seconds.
        api_key: Required bearer token, or ``None`` for no check.
        prompt_tokens: Prompt token count reported in usage.
        slots: Requests served at once (the others queue for a slot), or 0 for no limit.
    """

    interval_s: float = 0.02
    slow_s: float = 5.0
    api_key: str | None = None
    prompt_tokens: int = 8
    slots: int = 0


def make_app(config: ReplayConfig):
    """The aiohttp application."""
    from aiohttp import web

    flaky_count = [0]  # requests of replay-flaky (or replay-echo-auth) so far
    slots = _Slots(config.slots)

    def authorized(request) -> bool:
        return config.api_key is None or request.headers.get("Authorization") == f"Bearer {config.api_key}"

    async def models(request):
        if not authorized(request):
            return web.json_response({"error": "invalid api key"}, status=401)
        return web.json_response({"object": "list", "data": [{"id": m, "object": "model"} for m in MODES]})

    async def tags(request):
        return web.json_response({"models": [{"name": m, "model": m} for m in MODES]})

    async def version(request):
        return web.json_response({"version": "0.0.0-replay"})

    async def stream(request, ollama: bool, chat: bool):
        if not authorized(request):
            return web.json_response({"error": "invalid api key"}, status=401)
        body = await request.json()
        mode = body.get("model")
        if mode not in MODES:
            return web.json_response({"error": f"model '{mode}' not found"}, status=404)
        tokens = int((body.get("options") or {}).get("num_predict", 16) if ollama else body.get("max_tokens", 16))
        async with slots.held():
            if slots.limited and (request.transport is None or request.transport.is_closing()):
                return web.Response(status=499)  # the client gave up while queued: nothing to send it
            return await respond(request, ollama, chat, mode, tokens)

    async def respond(request, ollama: bool, chat: bool, mode: str, tokens: int):
        if mode == "replay-slow":
            await asyncio.sleep(config.slow_s)
        if mode in ("replay-flaky", "replay-echo-auth"):
            flaky_count[0] += 1
        if mode == "replay-echo-auth" and flaky_count[0] % 3 == 0:
            sent = request.headers.get("Authorization", "none")
            return web.Response(text=f"unauthorized: you sent Authorization: {sent}", status=401)
        if mode == "replay-500" or (mode == "replay-flaky" and flaky_count[0] % 3 == 0):
            return web.json_response({"error": {"message": "replayed internal error", "code": 500}}, status=500)
        response = web.StreamResponse(
            headers={"Content-Type": "application/x-ndjson" if ollama else "text/event-stream"}
        )
        await response.prepare(request)
        try:
            per_chunk = 2 if mode in ("replay-multi", "replay-usage") else 1
            started = time.perf_counter()
            sent = 0
            index = 0
            while sent < tokens or mode in ENDLESS_MODES:
                if request.transport is None or request.transport.is_closing():
                    return response  # the client went away (an endless stream ends only like this)
                # absolute deadlines: the k-th chunk leaves at start + k * interval, so gaps average exactly interval_s
                await asyncio.sleep(max(0.0, started + (index + 1) * config.interval_s - time.perf_counter()))
                count = per_chunk if mode in ENDLESS_MODES else min(per_chunk, tokens - sent)
                text = "".join(f" t{sent + i}" for i in range(count))
                if mode == "replay-malformed" and index == 2:
                    await response.write(b"data: {this is not json\n\n" if not ollama else b"{this is not json\n")
                if mode == "replay-error" and index == 2:
                    payload = {"error": "replayed server error"}
                    await response.write((json.dumps(payload) + "\n").encode() if ollama else f"data: {json.dumps(payload)}\n\n".encode())
                if mode == "replay-truncated" and index == 2:
                    return response
                if mode == "replay-cut" and index == 2:
                    line = f"data: {json.dumps({'choices': [{'index': 0, 'text': ' t2'}]})}\n\n".encode()
                    await response.write(line[: len(line) // 2])
                    request.transport.close()  # mid-chunk: no end of the chunked body, no end marker
                    return response
                if mode == "replay-stall" and index >= 1:
                    await response.write(b": keep-alive\n\n" if not ollama else b"\n")
                    index += 1
                    continue
                if ollama:
                    key = {"message": {"role": "assistant", "content": text}} if chat else {"response": text}
                    await response.write((json.dumps({"model": mode, "done": False, **key}) + "\n").encode())
                else:
                    choice = {"index": 0, "finish_reason": None}
                    choice.update({"delta": {"content": text}} if chat else {"text": text})
                    if mode == "replay-multi":
                        choice["logprobs"] = {"tokens": [f" t{sent + i}" for i in range(count)]}
                    await response.write(f"data: {json.dumps({'choices': [choice]})}\n\n".encode())
                sent += count
                index += 1
            elapsed_ns = int((time.perf_counter() - started) * 1e9)
            if ollama:
                final = {
                    "model": mode, "done": True, "eval_count": tokens, "eval_duration": elapsed_ns,
                    "prompt_eval_count": config.prompt_tokens, "prompt_eval_duration": int(config.interval_s * 1e9),
                }  # fmt: skip
                await response.write((json.dumps(final) + "\n").encode())
            else:
                end = {"choices": [{"index": 0, "finish_reason": "length", **({"delta": {}} if chat else {"text": ""})}]}
                await response.write(f"data: {json.dumps(end)}\n\n".encode())
                if mode == "replay-usage":
                    usage = {"prompt_tokens": config.prompt_tokens, "completion_tokens": tokens}
                    await response.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
                await response.write(b"data: [DONE]\n\n")
            return response
        except ConnectionResetError:  # the client went away mid-stream (its timeout, or it was stopped)
            return response

    app = web.Application()
    app.router.add_get("/v1/models", models)
    app.router.add_post("/v1/completions", lambda r: stream(r, ollama=False, chat=False))
    app.router.add_post("/v1/chat/completions", lambda r: stream(r, ollama=False, chat=True))
    app.router.add_get("/api/tags", tags)
    app.router.add_get("/api/version", version)
    app.router.add_post("/api/generate", lambda r: stream(r, ollama=True, chat=False))
    app.router.add_post("/api/chat", lambda r: stream(r, ollama=True, chat=True))
    return app


class _Slots:
    """At most ``count`` requests served at once, the others waiting first come, first served (0: no limit)."""

    def __init__(self, count: int) -> None:
        if count < 0:
            raise ValueError(f"slots must be >= 0 (0: no limit), got {count}")
        self._semaphore = asyncio.Semaphore(count) if count else None

    @property
    def limited(self) -> bool:
        """Whether requests can queue."""
        return self._semaphore is not None

    def held(self):
        """A context that holds a slot (waits for one first)."""
        return self._semaphore if self._semaphore is not None else contextlib.nullcontext()


def main(argv: list[str] | None = None) -> None:
    """Serve on loopback until interrupted."""
    from aiohttp import web

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--interval-ms", type=float, default=20.0)
    parser.add_argument("--slow-s", type=float, default=5.0)
    parser.add_argument("--api-key-env", default="", help="require the key in this environment variable")
    parser.add_argument("--slots", type=int, default=0, help="requests served at once, the others queue (0: no limit)")
    args = parser.parse_args(argv)
    import os

    key = os.environ.get(args.api_key_env) if args.api_key_env else None
    config = ReplayConfig(interval_s=args.interval_ms / 1000, slow_s=args.slow_s, api_key=key, slots=args.slots)
    web.run_app(make_app(config), host="127.0.0.1", port=args.port, print=None)


if __name__ == "__main__":
    main()
