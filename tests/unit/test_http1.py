"""The upstream HTTP/1.1 client: chunked bodies cut anywhere, keep-alive reuse, and the one retry
it allows itself (an idle connection the upstream had closed), against real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from banjia._http1 import HTTPClientError, Pool, _Dechunker

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


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


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(int(line.split(b":")[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    return await reader.readexactly(length)


def test_a_chunked_body_decodes_the_same_wherever_the_reads_cut_it() -> None:
    wire = b"5\r\nhello\r\n1;ext=1\r\n \r\nb\r\nworld, data\r\n0\r\nx-trailer: 1\r\n\r\n"
    for cut in range(1, len(wire)):
        d = _Dechunker()
        out = d.feed(wire[:cut]) + d.feed(wire[cut:])
        assert out == b"hello world, data"
        assert d.done and d.rest == b""


async def test_keep_alive_connections_are_reused(serve: Callable[[Handler], Awaitable[str]]) -> None:
    accepted = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        while True:
            try:
                body = await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
        writer.close()

    url = await serve(handler)
    pool = Pool()
    try:
        for i in range(3):
            r = await pool.request("POST", url, b"ping %d" % i, {}, connect_timeout=5)
            assert await r.read() == b"ping %d" % i
    finally:
        await pool.aclose()
    assert accepted == 1


async def test_a_reused_connection_closed_before_answering_is_replaced_once(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        first = connections == 1
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        if first:
            # the next request on this connection meets an upstream that timed it out: no answer
            await _read_request(reader)
            writer.close()
            return
        with contextlib.suppress(asyncio.IncompleteReadError):
            await _read_request(reader)

    url = await serve(handler)
    pool = Pool()
    try:
        for _ in range(2):
            r = await pool.request("POST", url, b"{}", {}, connect_timeout=5)
            assert await r.read() == b"ok"
    finally:
        await pool.aclose()
    assert connections == 2


async def test_a_broken_answer_on_a_reused_connection_is_not_sent_again(
    serve: Callable[[Handler], Awaitable[str]],
) -> None:
    received = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal received
        await _read_request(reader)
        received += 1
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await _read_request(reader)
        received += 1
        writer.write(b"SPDY/9 200 nonsense\r\n\r\n")
        writer.close()

    url = await serve(handler)
    pool = Pool()
    try:
        assert await (await pool.request("POST", url, b"{}", {}, connect_timeout=5)).read() == b"ok"
        with pytest.raises(HTTPClientError):
            await pool.request("POST", url, b"{}", {}, connect_timeout=5)
    finally:
        await pool.aclose()
    assert received == 2


async def test_a_gzip_body_is_decoded(serve: Callable[[Handler], Awaitable[str]]) -> None:
    packed = gzip.compress(b'{"ok": true}')

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: %d\r\n\r\n%s"
                     % (len(packed), packed))
        await writer.drain()

    url = await serve(handler)
    pool = Pool()
    try:
        r = await pool.request("POST", url, b"{}", {}, connect_timeout=5)
        assert await r.read() == b'{"ok": true}'
    finally:
        await pool.aclose()
