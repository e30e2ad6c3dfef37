"""A small HTTP/1.1 client for upstream calls: a keep-alive pool per origin, ``Content-Length``
and chunked bodies, TLS through the event loop.

It does what the gateway needs and no more (no redirects, cookies, proxies or multipart), at a
fraction of a general client's cost per request: every upstream call of a gateway is on the hot
path. Its errors are :class:`HTTPClientError` (protocol) and ``OSError`` (network); the transport
converts both.
"""

from __future__ import annotations

import asyncio
import ssl
import time
import zlib
from collections.abc import AsyncGenerator, Mapping
from functools import lru_cache
from typing import NamedTuple
from urllib.parse import urlsplit

__all__ = ["HTTPClientError", "Pool", "Response"]

_MAX_HEAD = 256 * 1024
_READ = 65536


class HTTPClientError(Exception):
    """The upstream closed the connection early or sent something that is not HTTP/1.1."""


class _Origin(NamedTuple):
    tls: bool
    host: str
    port: int
    target: str  # path and query
    host_header: str


@lru_cache(maxsize=256)
def _origin(url: str) -> _Origin:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise HTTPClientError(f"not an http(s) URL: {url!r}")
    tls = parts.scheme == "https"
    port = parts.port or (443 if tls else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.hostname
    shown = f"[{host}]" if ":" in host else host
    default = port == (443 if tls else 80)
    return _Origin(tls, host, port, target, shown if default else f"{shown}:{port}")


class _Conn:
    __slots__ = ("idle_since", "key", "reader", "writer")

    def __init__(self, key: tuple[bool, str, int], reader: asyncio.StreamReader,
                 writer: asyncio.StreamWriter) -> None:
        self.key = key
        self.reader = reader
        self.writer = writer
        self.idle_since = 0.0

    def usable(self, now: float, keepalive: float) -> bool:
        return (now - self.idle_since < keepalive and not self.reader.at_eof()
                and not self.writer.is_closing())

    def close(self) -> None:
        self.writer.close()


class _Dechunker:
    """Incremental decoder of a chunked body: bytes in, payload out, ``done`` at the last chunk."""

    __slots__ = ("_buf", "_left", "done", "rest")

    def __init__(self) -> None:
        self._buf = b""
        self._left = -1  # -1: a size line is next; >0: payload bytes left; 0: CRLF after payload
        self.done = False
        self.rest = b""  # bytes after the body (a misbehaving server): the connection is not reused

    def feed(self, data: bytes) -> bytes:
        buf = self._buf + data if self._buf else data
        out: list[bytes] = []
        i = 0
        n = len(buf)
        while i < n and not self.done:
            if self._left > 0:
                take = min(self._left, n - i)
                out.append(buf[i : i + take])
                i += take
                self._left -= take
                continue
            end = buf.find(b"\r\n", i)
            if end < 0:
                break
            if self._left == 0:  # the CRLF closing a chunk's payload
                if end != i:
                    raise HTTPClientError("malformed chunked body")
                self._left = -1
                i = end + 2
                continue
            try:
                size = int(buf[i:end].split(b";", 1)[0], 16)
            except ValueError as e:
                raise HTTPClientError("malformed chunk size") from e
            i = end + 2
            if size == 0:
                # trailers: lines until an empty one
                while True:
                    end = buf.find(b"\r\n", i)
                    if end < 0:
                        self._buf = b"0\r\n" + buf[i:]
                        self._left = -1
                        return b"".join(out)
                    line_empty = end == i
                    i = end + 2
                    if line_empty:
                        self.done = True
                        self.rest = buf[i:]
                        break
                break
            self._left = size
        self._buf = buf[i:] if not self.done else b""
        return b"".join(out)


class Response:
    """Status and headers are read; the body is read with :meth:`read` or :meth:`chunks`.
    The connection goes back to the pool once the body has been read to its end."""

    def __init__(self, pool: Pool, conn: _Conn, status: int, headers: dict[str, str], reusable: bool,
                 head_only: bool) -> None:
        self.status = status
        self.headers = headers
        self._pool = pool
        self._conn: _Conn | None = conn
        self._reusable = reusable
        self._done = head_only
        te = headers.get("transfer-encoding", "").lower()
        self._chunked = "chunked" in te
        cl = headers.get("content-length")
        self._length = int(cl) if cl is not None and cl.isdigit() and not self._chunked else None
        if not self._chunked and self._length is None:
            self._reusable = False  # the body ends with the connection
        enc = headers.get("content-encoding", "").lower()
        self._inflate = zlib.decompressobj(wbits=47) if enc in ("gzip", "deflate") else None
        if head_only:
            self._release()

    def _release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            if self._reusable:
                self._pool._put(conn)
            else:
                conn.close()

    def close(self) -> None:
        """Drop the connection unless the body was read to its end (then it is pooled already)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _decoded(self, data: bytes) -> bytes:
        return self._inflate.decompress(data) if self._inflate is not None and data else data

    async def read(self) -> bytes:
        return b"".join([piece async for piece in self.chunks()])

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """The body as it arrives: each piece is everything that had arrived, decoded."""
        if self._done:
            return
        conn = self._conn
        assert conn is not None
        reader = conn.reader
        try:
            if self._length is not None:
                left = self._length
                while left > 0:
                    data = await reader.read(min(left, _READ))
                    if not data:
                        raise HTTPClientError("the upstream closed the connection mid-body")
                    left -= len(data)
                    yield self._decoded(data)
            elif self._chunked:
                dechunk = _Dechunker()
                while not dechunk.done:
                    data = await reader.read(_READ)
                    if not data:
                        raise HTTPClientError("the upstream closed the connection mid-body")
                    payload = dechunk.feed(data)
                    if payload:
                        yield self._decoded(payload)
                if dechunk.rest:
                    self._reusable = False
            else:
                while data := await reader.read(_READ):
                    yield self._decoded(data)
            if self._inflate is not None and (tail := self._inflate.flush()):
                yield tail
            self._done = True
            self._release()
        finally:
            if not self._done:
                self.close()


class Pool:
    """Keep-alive connections per origin (scheme, host, port)."""

    def __init__(self, *, keepalive: float = 30.0, max_idle: int = 256) -> None:
        self._idle: dict[tuple[bool, str, int], list[_Conn]] = {}
        self._keepalive = keepalive
        self._max_idle = max_idle
        self._ssl: ssl.SSLContext | None = None

    def _put(self, conn: _Conn) -> None:
        idle = self._idle.setdefault(conn.key, [])
        if len(idle) >= self._max_idle:
            conn.close()
            return
        conn.idle_since = time.monotonic()
        idle.append(conn)

    def _get(self, key: tuple[bool, str, int]) -> _Conn | None:
        idle = self._idle.get(key)
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.usable(now, self._keepalive):
                return conn
            conn.close()
        return None

    async def _connect(self, o: _Origin, limit_s: float) -> _Conn:
        ctx = None
        if o.tls:
            if self._ssl is None:
                self._ssl = ssl.create_default_context()
            ctx = self._ssl
        async with asyncio.timeout(limit_s):
            reader, writer = await asyncio.open_connection(
                o.host, o.port, ssl=ctx, server_hostname=o.host if ctx else None, limit=_MAX_HEAD
            )
        return _Conn((o.tls, o.host, o.port), reader, writer)

    async def request(self, method: str, url: str, body: bytes, headers: Mapping[str, str], *,
                      connect_timeout: float) -> Response:
        o = _origin(url)
        lines = [f"{method} {o.target} HTTP/1.1\r\nHost: {o.host_header}\r\n"]
        for k, v in headers.items():
            if "\n" in v or "\r" in v:
                raise HTTPClientError(f"header {k} contains a line break")
            if k.lower() not in ("host", "content-length", "transfer-encoding"):
                lines.append(f"{k}: {v}\r\n")
        lines.append(f"Content-Length: {len(body)}\r\n\r\n")
        data = "".join(lines).encode("latin-1") + body
        key = (o.tls, o.host, o.port)
        conn = self._get(key)
        reused = conn is not None
        while True:
            if conn is None:
                conn = await self._connect(o, connect_timeout)
            try:
                conn.writer.write(data)
                return await self._head(conn, method)
            except (HTTPClientError, OSError) as e:
                conn.close()
                if reused and (isinstance(e, ConnectionError) or getattr(e, "stale", False)):
                    # the upstream had closed this idle connection before reading the request:
                    # once more on a new one (an answer, even a broken one, is never retried)
                    conn, reused = None, False
                    continue
                raise
            except BaseException:
                conn.close()
                raise

    async def _head(self, conn: _Conn, method: str) -> Response:
        reader = conn.reader
        while True:
            try:
                raw = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as e:
                err = HTTPClientError("the upstream closed the connection before answering")
                err.stale = not e.partial  # type: ignore[attr-defined]
                raise err from e
            except asyncio.LimitOverrunError as e:
                raise HTTPClientError("the upstream sent a response head that is too long") from e
            text = raw.decode("latin-1")
            first, _, rest = text.partition("\r\n")
            parts = first.split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/1.") or not parts[1].isdigit():
                raise HTTPClientError(f"not an HTTP/1.1 answer: {first[:80]!r}")
            status = int(parts[1])
            if 100 <= status < 200 and status != 101:
                continue  # 100 Continue and other interim answers
            headers: dict[str, str] = {}
            for line in rest.split("\r\n"):
                name, sep, value = line.partition(":")
                if sep:
                    k = name.strip().lower()
                    v = value.strip()
                    headers[k] = f"{headers[k]}, {v}" if k in headers else v
            connection = headers.get("connection", "").lower()
            reusable = parts[0] == "HTTP/1.1" and "close" not in connection
            head_only = method == "HEAD" or status in (204, 304)
            return Response(self, conn, status, headers, reusable, head_only)

    async def aclose(self) -> None:
        idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn in conns:
                conn.close()
