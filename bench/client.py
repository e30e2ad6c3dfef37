"""A small HTTP/1.1 client of our own, the same for every target: keep-alive, chunked bodies, and
the moment the first SSE ``data:`` line arrives.

It measures what wrk does not: time to first byte of a stream, per-token times of the local
model, and readiness. It is also the load generator of last resort when wrk cannot be installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Connection", "HTTPError", "Reply", "closed_loop", "request_once"]

OnData = Callable[[bytes, float], None]


class HTTPError(Exception):
    """The server closed the connection or sent something that is not HTTP/1.1."""


@dataclass(slots=True)
class Reply:
    status: int
    body: bytes
    sent: float  # perf_counter when the request was written
    first_data: float | None = None  # perf_counter when the first ``data:`` line had arrived
    done: float = 0.0  # perf_counter when the whole answer had arrived
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ttfb_ms(self) -> float | None:
        return None if self.first_data is None else (self.first_data - self.sent) * 1000

    @property
    def latency_ms(self) -> float:
        return (self.done - self.sent) * 1000


class Connection:
    """One keep-alive connection; requests are sent one after another."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        sock = self._writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._writer = self._reader = None

    def _head(self, method: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body or method == "POST":
            lines.append(f"content-length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    async def request(
        self,
        method: str,
        path: str,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        on_data: OnData | None = None,
    ) -> Reply:
        """Send one request and read the whole answer; ``on_data`` sees each body piece as it comes."""
        if self._writer is None:
            await self.open()
        reader, writer = self._reader, self._writer
        assert reader is not None and writer is not None
        writer.write(self._head(method, path, body, headers or {}) + body)
        reply = Reply(0, b"", time.perf_counter())
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError) as e:
            await self.close()
            raise HTTPError(f"no answer from {self.host}:{self.port}") from e
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            await self.close()
            raise HTTPError(f"not an HTTP answer: {lines[0]!r}")
        reply.status = int(parts[1])
        for line in lines[1:]:
            k, sep, v = line.partition(":")
            if sep:
                reply.headers[k.strip().lower()] = v.strip()
        pieces: list[bytes] = []

        def got(piece: bytes) -> None:
            now = time.perf_counter()
            if reply.first_data is None and b"data:" in piece:
                reply.first_data = now
            if on_data is not None:
                on_data(piece, now)
            pieces.append(piece)

        try:
            if reply.headers.get("transfer-encoding", "").lower() == "chunked":
                while True:
                    size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
                    if size == 0:
                        await reader.readuntil(b"\r\n")  # no trailers are sent by any target here
                        break
                    got((await reader.readexactly(size + 2))[:-2])
            elif "content-length" in reply.headers:
                length = int(reply.headers["content-length"])
                if length:
                    got(await reader.readexactly(length))
            else:
                while piece := await reader.read(65536):
                    got(piece)
                await self.close()
        except (asyncio.IncompleteReadError, ConnectionError) as e:
            await self.close()
            raise HTTPError(f"{self.host}:{self.port} closed the connection mid-answer") from e
        reply.done = time.perf_counter()
        reply.body = b"".join(pieces)
        if reply.headers.get("connection", "").lower() == "close":
            await self.close()
        return reply


async def request_once(
    host: str, port: int, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> Reply:
    conn = Connection(host, port)
    try:
        return await conn.request(method, path, body, headers)
    finally:
        await conn.close()


@dataclass(slots=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]


async def closed_loop(
    host: str, port: int, path: str, body: bytes, headers: dict[str, str], connections: int, seconds: float
) -> LoadResult:
    """Every connection sends its next request as soon as the last answer is complete, for
    ``seconds``: the fallback when wrk is missing (a Python client saturates well below wrk)."""
    deadline = time.perf_counter() + seconds
    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        conn = Connection(host, port)
        try:
            while time.perf_counter() < deadline:
                try:
                    r = await conn.request("POST", path, body, headers)
                except (HTTPError, OSError):
                    errors += 1
                    continue
                if r.status >= 400:
                    errors += 1
                latencies.append(r.latency_ms)
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(connections)))
    return LoadResult(len(latencies), errors, time.perf_counter() - started, latencies)
