"""The fake upstream and the bench's own client, over a real socket (no timings asserted)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import orjson
import pytest

from bench.client import Connection
from bench.fake import STREAM_CHUNKS, serve
from bench.procs import free_port


@pytest.fixture
async def fake_port() -> AsyncIterator[int]:
    import asyncio

    port = free_port()
    task = asyncio.create_task(serve("127.0.0.1", port))
    for _ in range(200):  # poll until it accepts
        try:
            _, w = await asyncio.open_connection("127.0.0.1", port)
            w.close()
            break
        except OSError:
            await asyncio.sleep(0.01)
    yield port
    task.cancel()


async def test_a_non_stream_request_gets_a_chat_completion_with_usage(fake_port: int) -> None:
    conn = Connection("127.0.0.1", fake_port)
    try:
        reply = await conn.request("POST", "/v1/chat/completions", b'{"model": "m", "messages": []}')
    finally:
        await conn.close()
    body = orjson.loads(reply.body)
    assert reply.status == 200
    assert body["object"] == "chat.completion"
    usage = body["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


async def test_a_stream_request_gets_twenty_chunks_then_done(fake_port: int) -> None:
    conn = Connection("127.0.0.1", fake_port)
    try:
        reply = await conn.request("POST", "/v1/chat/completions", b'{"stream": true, "model": "m"}')
    finally:
        await conn.close()
    events = [e for e in reply.body.split(b"\n\n") if e]
    assert reply.headers["content-type"] == "text/event-stream"
    assert reply.first_data is not None
    assert len(events) == STREAM_CHUNKS + 1
    assert events[-1] == b"data: [DONE]"
    chunks = [orjson.loads(e[len(b"data: ") :]) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] > 0


async def test_one_connection_serves_requests_one_after_another(fake_port: int) -> None:
    conn = Connection("127.0.0.1", fake_port)
    try:
        statuses = [(await conn.request("POST", "/v1/chat/completions", b"{}")).status for _ in range(5)]
        missing = await conn.request("GET", "/nothing")
    finally:
        await conn.close()
    assert statuses == [200] * 5
    assert missing.status == 404
