"""The transport against raw sockets: keep-alive reuse, no request ever sent twice on its own,
bodies however they are framed and cut, the time bounds, and the limit of requests in flight."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import orjson
import pytest

from banjia.errors import UpstreamError
from banjia.transport import Answer, Egress, Timeouts, Transport, UpstreamRequest
from tests.transport.conftest import BOUNDS
from tests.transport.servers import HoldingUpstream

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]
SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"
SHORT = Timeouts(connect=2, first_byte=0.3, idle=0.3, stream=5)


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> str:
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/x"

    yield start
    for s in servers:
        s.close()


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    t = Transport()
    yield t
    await t.aclose()


async def read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    return await reader.readexactly(length)


def answer(body: bytes, *headers: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\n%scontent-length: %d\r\n\r\n%s" % (
        b"".join(h + b"\r\n" for h in headers), len(body), body)


async def test_keep_alive_connections_are_reused(
    serve: Callable[[Handler], Awaitable[str]], transport: Transport
) -> None:
    accepted = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                writer.write(answer(await read_request(reader)))
        writer.close()

    url = await serve(handler)
    for i in range(3):
        r = await transport.send(UpstreamRequest(url, b"ping %d" % i), BOUNDS, "up")
        assert r.body == b"ping %d" % i
    assert accepted == 1


async def test_a_reused_connection_closed_after_reading_the_request_is_not_sent_again(
    serve: Callable[[Handler], Awaitable[str]], transport: Transport
) -> None:
    connections = received = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections, received
        connections += 1
        await read_request(reader)
        received += 1
        writer.write(answer(b"ok"))
        await writer.drain()
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            # the next request is read (and might be billed), then the connection closes unanswered
            await read_request(reader)
            received += 1
        writer.close()

    url = await serve(handler)
    assert (await transport.send(UpstreamRequest(url, b"{}"), BOUNDS, "up")).body == b"ok"
    with pytest.raises(UpstreamError) as e:
        await transport.send(UpstreamRequest(url, b"{}"), BOUNDS, "up")
    assert (e.value.code, "without answering" in e.value.message) == ("upstream_unreachable", True)
    assert (connections, received) == (1, 2)


async def test_a_broken_answer_on_a_reused_connection_is_not_sent_again(
    serve: Callable[[Handler], Awaitable[str]], transport: Transport
) -> None:
    received = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal received
        await read_request(reader)
        received += 1
        writer.write(answer(b"ok"))
        await read_request(reader)
        received += 1
        writer.write(b"SPDY/9 200 nonsense\r\n\r\n")
        writer.close()

    url = await serve(handler)
    assert (await transport.send(UpstreamRequest(url, b"{}"), BOUNDS, "up")).body == b"ok"
    with pytest.raises(UpstreamError) as e:
        await transport.send(UpstreamRequest(url, b"{}"), BOUNDS, "up")
    assert e.value.status == 502
    assert received == 2


async def test_a_gzip_body_is_decoded(
    serve: Callable[[Handler], Awaitable[str]], transport: Transport
) -> None:
    packed = gzip.compress(b'{"ok": true}')

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(packed, b"content-encoding: gzip"))
        await writer.drain()

    r = await transport.send(UpstreamRequest(await serve(handler), b"{}"), BOUNDS, "up")
    assert r.json() == {"ok": True}


async def test_repeated_headers_are_joined(
    serve: Callable[[Handler], Awaitable[str]], transport: Transport
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer(b"{}", b"X-Seen: a", b"x-seen: b", b"Retry-After: 3"))
        await writer.drain()

    r = await transport.send(UpstreamRequest(await serve(handler), b"{}"), BOUNDS, "up")
    assert (r.headers["x-seen"], r.headers["retry-after"]) == ("a, b", "3")


async def test_an_sse_stream_written_byte_by_byte_arrives_as_the_same_events(
    serve: Callable[[Handler], Awaitable[str]], transport: Transport
) -> None:
    events = [orjson.dumps({"n": i, "text": "ü" * i}) for i in range(4)]
    payload = b"".join(b"data: " + e + b"\n\n" for e in events) + b"data: [DONE]\n\n"

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(SSE_HEAD)
        for byte in payload:  # one chunk per byte, each flushed on its own
            writer.write(b"1\r\n%c\r\n" % byte)
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    opened = await transport.open_stream(UpstreamRequest(await serve(handler), b"{}"), BOUNDS, "up")
    got = [e async for e in opened.events()]
    assert got == [e.decode() for e in events] + ["[DONE]"]


async def test_an_upstream_that_never_answers_is_cut_at_the_first_byte_bound(
    serve: Callable[[Handler], Awaitable[str]], transport: Transport
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        await reader.read()  # until the transport gives up and closes

    url = await serve(handler)
    with pytest.raises(UpstreamError) as e:
        await transport.send(UpstreamRequest(url, b"{}"), SHORT, "up")
    assert (e.value.status, e.value.code) == (504, "upstream_timeout")


async def test_a_stream_that_stalls_is_cut_at_the_idle_bound(
    serve: Callable[[Handler], Awaitable[str]], transport: Transport
) -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(SSE_HEAD + b"b\r\ndata: one\n\n\r\n")
        await writer.drain()
        await reader.read()

    opened = await transport.open_stream(UpstreamRequest(await serve(handler), b"{}"), SHORT, "up")
    events = opened.events()
    assert await anext(events) == "one"
    with pytest.raises(UpstreamError) as e:
        await anext(events)
    assert e.value.code == "upstream_timeout" and "stalled" in e.value.message


async def test_no_more_requests_than_max_connections_are_in_flight(transport: Transport) -> None:
    upstream = HoldingUpstream()
    egress = Egress(max_connections=2)
    try:
        calls = [asyncio.ensure_future(transport.send(UpstreamRequest(upstream.url, b"{}"), BOUNDS, "up",
                                                      egress)) for _ in range(5)]
        for answered in range(5):
            # once the upstream holds what it can be sent, one request is answered
            await asyncio.to_thread(upstream.wait_for, min(2, 5 - answered), answered)
            upstream.release()
        results = await asyncio.gather(*calls)
    finally:
        upstream.stop()
    assert [r.status for r in results] == [200] * 5
    assert upstream.peak == 2


class KeepingTransport(Transport):
    """Keeps every answer it opened alive, as a traceback or a caller might: closing must not
    depend on the answer being garbage-collected."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[Answer] = []

    async def _open(
        self, req: UpstreamRequest, t: Timeouts, egress: Egress, *, stream: bool = True
    ) -> Answer:
        answer = await super()._open(req, t, egress, stream=stream)
        self.answers.append(answer)
        return answer


async def test_a_stream_closed_midway_closes_its_upstream_connection(
    serve: Callable[[Handler], Awaitable[str]]
) -> None:
    transport = KeepingTransport()
    closed = asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(SSE_HEAD + b"b\r\ndata: one\n\n\r\n")
        await writer.drain()
        await reader.read()  # returns once the transport has dropped the connection
        closed.set()

    opened = await transport.open_stream(UpstreamRequest(await serve(handler), b"{}"), BOUNDS, "up")
    events = opened.events()
    assert await anext(events) == "one"
    await events.aclose()  # type: ignore[attr-defined]  # what the gateway does when its client leaves
    await asyncio.wait_for(closed.wait(), 5)
    await transport.aclose()


async def test_a_call_cancelled_before_its_answer_closes_its_upstream_connection(
    serve: Callable[[Handler], Awaitable[str]], transport: Transport
) -> None:
    received, closed = asyncio.Event(), asyncio.Event()

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        received.set()
        await reader.read()
        closed.set()

    call = asyncio.ensure_future(transport.send(UpstreamRequest(await serve(handler), b"{}"), BOUNDS, "up"))
    await asyncio.wait_for(received.wait(), 5)
    call.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await call
    await asyncio.wait_for(closed.wait(), 5)
