"""The replay server's slots: at most N streams at once, a queued request gets its headers only with a slot.

The server runs in process (aiohttp's ``TestServer`` on a loopback port the OS
hands out). Four requests are sent at once and each client logs, in the order
they happen, when it got its headers, its first token and its end: the tests
check that order, never durations.
"""

from __future__ import annotations

import asyncio

import pytest

from benchlib.testing.replay_server import ReplayConfig, make_app

pytestmark = [pytest.mark.server]

TOKENS = 8


async def _stream(session, url: str, request_id: int, events: list[tuple[str, int]]) -> None:
    """Send one completion request, logging ``headers``, ``first`` (token) and ``done`` as they happen."""
    payload = {"model": "replay", "prompt": "hi", "max_tokens": TOKENS, "stream": True}
    async with session.post(f"{url}/v1/completions", json=payload) as response:
        assert response.status == 200
        events.append(("headers", request_id))
        async for line in response.content:
            text = line.decode().strip()
            if text == "data: [DONE]":
                events.append(("done", request_id))
            elif text.startswith("data:") and '"text": " t' in text and ("first", request_id) not in events:
                events.append(("first", request_id))


async def _four_at_once(slots: int) -> list[tuple[str, int]]:
    """The events of four concurrent requests to a replay server with ``slots`` slots."""
    import aiohttp
    from aiohttp.test_utils import TestServer

    events: list[tuple[str, int]] = []
    server = TestServer(make_app(ReplayConfig(interval_s=0.02, slots=slots)), host="127.0.0.1")
    await server.start_server()
    try:
        url = str(server.make_url("")).rstrip("/")
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(_stream(session, url, i, events) for i in range(4)))
    finally:
        await server.close()
    return events


def _position(events: list[tuple[str, int]], kind: str, request_id: int) -> int:
    return events.index((kind, request_id))


def _served_at_once(events: list[tuple[str, int]]) -> set[int]:
    """Requests whose headers came before any request had finished."""
    first_done = min(i for i, (kind, _) in enumerate(events) if kind == "done")
    return {request_id for i, (kind, request_id) in enumerate(events) if kind == "headers" and i < first_done}


def test_two_slots_serve_two_requests_and_queue_the_others_until_one_ends():
    events = asyncio.run(_four_at_once(slots=2))
    assert sorted(events) == sorted((kind, i) for i in range(4) for kind in ("headers", "first", "done"))
    served = _served_at_once(events)
    queued = set(range(4)) - served
    assert len(served) == 2 and len(queued) == 2
    for waiting in queued:
        # its headers wait until the served requests are streaming, its first token until one of them has ended
        assert all(_position(events, "headers", waiting) > _position(events, "first", s) for s in served)
        assert min(_position(events, "done", s) for s in served) < _position(events, "first", waiting)


def test_without_slots_every_request_is_served_at_once():
    events = asyncio.run(_four_at_once(slots=0))
    assert _served_at_once(events) == {0, 1, 2, 3}
    first_done = min(_position(events, "done", i) for i in range(4))
    assert all(_position(events, "first", i) < first_done for i in range(4))


def test_slots_cannot_be_negative():
    with pytest.raises(ValueError, match="slots must be >= 0"):
        make_app(ReplayConfig(slots=-1))
