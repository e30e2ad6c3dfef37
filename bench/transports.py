"""Other HTTP clients behind banjia's transport seam (:meth:`banjia.transport.Transport._open`), so
that one bench run can measure them beside the one banjia ships (``--transports``). Everything
else (timeouts, SSE decoding, errors, the limit of requests in flight) is banjia's own code in
all of them; only sending and reading bytes differ.

- ``aiohttp``: aiohttp's ``ClientSession`` (HTTP/1.1 only);
- ``httpcore``: httpcore2 (httpx2's core, the OpenAI SDK's client), HTTP/2 when ``h2`` is installed;
- ``pyreqwest``: pyreqwest (reqwest in Rust), when it is installed;
- ``http1``: banjia's former HTTP/1.1 client, from the ``--baseline`` tree;
- ``wreq-mt``: banjia's own (wreq) with wreq's default runtime, a worker thread per CPU.
"""

from __future__ import annotations

import ssl
from typing import Any
from urllib.parse import urlsplit

from banjia.transport import (
    Answer,
    Egress,
    Timeouts,
    Transport,
    UpstreamRequest,
    WireError,
    read_ca_file,
)

__all__ = ["TRANSPORTS", "transport_class"]


def _ssl(egress: Egress) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if egress.ca_file:
        for pem in read_ca_file(egress.ca_file):
            ctx.load_verify_locations(cadata=pem.decode("ascii"))
    return ctx


class _AiohttpAnswer:
    def __init__(self, resp: Any) -> None:
        self._resp = resp
        self.status: int = resp.status
        headers: dict[str, str] = {}
        for k, v in resp.headers.items():
            k = k.lower()
            headers[k] = f"{headers[k]}, {v}" if k in headers else v
        self.headers = headers

    async def chunk(self) -> bytes | None:
        import aiohttp

        try:
            data: bytes = await self._resp.content.readany()
        except (aiohttp.ClientError, OSError) as e:
            raise WireError(type(e).__name__) from e
        return data or None

    async def read(self) -> bytes:
        import aiohttp

        try:
            data: bytes = await self._resp.read()
        except (aiohttp.ClientError, OSError) as e:
            raise WireError(type(e).__name__) from e
        return data

    async def aclose(self) -> None:
        self._resp.release()


class AiohttpTransport(Transport):
    def __init__(self) -> None:
        super().__init__()
        self._sessions: dict[tuple[Egress, float], Any] = {}

    async def _open(
        self, req: UpstreamRequest, t: Timeouts, egress: Egress, *, stream: bool = True
    ) -> Answer:
        import aiohttp

        key = (egress, t.connect)
        session = self._sessions.get(key)
        if session is None:
            connector = aiohttp.TCPConnector(limit=0, keepalive_timeout=egress.keepalive, ssl=_ssl(egress))
            session = self._sessions[key] = aiohttp.ClientSession(
                connector=connector, trust_env=egress.proxy is None, auto_decompress=True,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=t.connect))
        try:
            resp = await session.request(req.method, req.url, data=req.body or None, headers=req.headers,
                                         proxy=egress.proxy, allow_redirects=False)
        except aiohttp.ServerDisconnectedError as e:
            raise WireError("ServerDisconnectedError", unanswered=True) from e
        except (aiohttp.ClientError, OSError) as e:
            raise WireError(type(e).__name__) from e
        return _AiohttpAnswer(resp)

    async def aclose(self) -> None:
        sessions, self._sessions = self._sessions, {}
        for s in sessions.values():
            await s.close()


class _HttpcoreAnswer:
    def __init__(self, resp: Any) -> None:
        self._resp = resp
        self._chunks = resp.aiter_stream()
        self.status: int = resp.status
        headers: dict[str, str] = {}
        for k, v in resp.headers:
            name, value = k.decode("latin-1").lower(), v.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        self.headers = headers

    async def chunk(self) -> bytes | None:
        import httpcore2

        try:
            data: bytes | None = await anext(self._chunks, None)
        except httpcore2.NetworkError as e:
            raise WireError(type(e).__name__) from e
        except httpcore2.ProtocolError as e:
            raise WireError(type(e).__name__) from e
        return data

    async def read(self) -> bytes:
        parts = []
        while (piece := await self.chunk()) is not None:
            parts.append(piece)
        return b"".join(parts)

    async def aclose(self) -> None:
        await self._resp.aclose()


class HttpcoreTransport(Transport):
    def __init__(self) -> None:
        super().__init__()
        self._pools: dict[tuple[Egress, float], Any] = {}

    async def _open(
        self, req: UpstreamRequest, t: Timeouts, egress: Egress, *, stream: bool = True
    ) -> Answer:
        import importlib.util

        import httpcore2

        key = (egress, t.connect)
        pool = self._pools.get(key)
        if pool is None:
            http2 = egress.http2 and importlib.util.find_spec("h2") is not None
            common: dict[str, Any] = {"ssl_context": _ssl(egress), "max_connections": None,
                                      "max_keepalive_connections": egress.max_idle,
                                      "keepalive_expiry": egress.keepalive, "http2": http2, "retries": 0}
            pool = self._pools[key] = (httpcore2.AsyncHTTPProxy(proxy_url=egress.proxy, **common)
                                       if egress.proxy else httpcore2.AsyncConnectionPool(**common))
        headers = list(req.headers.items())
        if not any(k.lower() == "host" for k, _ in headers):  # h11 needs it; httpx would add it
            headers.insert(0, ("Host", urlsplit(req.url).netloc))
        headers.append(("Content-Length", str(len(req.body))))
        request = httpcore2.Request(req.method, req.url, headers=headers, content=req.body,
                                    extensions={"timeout": {"connect": t.connect}})
        try:
            resp = await pool.handle_async_request(request)
        except httpcore2.RemoteProtocolError as e:
            raise WireError("RemoteProtocolError", unanswered="without sending" in str(e)) from e
        except (httpcore2.NetworkError, httpcore2.ProtocolError, httpcore2.UnsupportedProtocol) as e:
            raise WireError(type(e).__name__) from e
        except httpcore2.TimeoutException as e:
            raise TimeoutError(type(e).__name__) from e
        return _HttpcoreAnswer(resp)

    async def aclose(self) -> None:
        pools, self._pools = self._pools, {}
        for p in pools.values():
            await p.aclose()


class _PyreqwestAnswer:
    def __init__(self, pending: Any, resp: Any) -> None:
        self._pending = pending
        self._reader = resp.body_reader
        self.status: int = resp.status
        headers: dict[str, str] = {}
        for k, v in resp.headers.items():
            headers[k] = f"{headers[k]}, {v}" if k in headers else v
        self.headers = headers

    async def chunk(self) -> bytes | None:
        from pyreqwest.exceptions import PyreqwestError

        try:
            data = await self._reader.read_chunk()
        except PyreqwestError as e:
            raise WireError(type(e).__name__) from e
        return None if data is None else bytes(data.to_bytes())

    async def read(self) -> bytes:
        from pyreqwest.exceptions import PyreqwestError

        try:
            return bytes((await self._reader.bytes()).to_bytes())
        except PyreqwestError as e:
            raise WireError(type(e).__name__) from e

    async def aclose(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            await pending.__aexit__(None, None, None)


class PyreqwestTransport(Transport):
    """Measured for speed only: cancelling a call that waits for its answer does not stop the
    request in pyreqwest 0.15.1 (its Rust task goes on), which banjia needs on a client disconnect."""

    def __init__(self) -> None:
        super().__init__()
        self._rq: dict[tuple[Egress, float], Any] = {}

    async def _open(
        self, req: UpstreamRequest, t: Timeouts, egress: Egress, *, stream: bool = True
    ) -> Answer:
        from datetime import timedelta

        from pyreqwest.client import ClientBuilder
        from pyreqwest.exceptions import PyreqwestError
        from pyreqwest.proxy import ProxyBuilder

        key = (egress, t.connect)
        client = self._rq.get(key)
        if client is None:
            b = (ClientBuilder().connect_timeout(timedelta(seconds=t.connect)).follow_redirects(False)
                 .pool_max_idle_per_host(egress.max_idle).http2(egress.http2))
            if egress.proxy:
                b = b.proxy(ProxyBuilder.all(egress.proxy))
            if egress.ca_file:
                for pem in read_ca_file(egress.ca_file):
                    b = b.add_root_certificate_pem(pem)
            client = self._rq[key] = b.build()
        builder = client.request(req.method, req.url).headers(req.headers).body_bytes(req.body)
        if stream:
            builder = builder.streamed_read_buffer_limit(0)  # else the head waits for 64 KiB of body
        pending = builder.build_streamed()
        try:
            resp = await pending.__aenter__()
        except PyreqwestError as e:
            raise WireError(type(e).__name__) from e
        return _PyreqwestAnswer(pending, resp)

    async def aclose(self) -> None:
        clients, self._rq = self._rq, {}
        for c in clients.values():
            await c.close()


class _Http1Answer:
    def __init__(self, resp: Any, errors: tuple[type[BaseException], ...]) -> None:
        self._resp = resp
        self._chunks = resp.chunks()
        self._errors = errors
        self.status: int = resp.status
        self.headers: dict[str, str] = resp.headers

    async def chunk(self) -> bytes | None:
        try:
            data: bytes | None = await anext(self._chunks, None)
        except self._errors as e:
            raise WireError(type(e).__name__) from e
        return data

    async def read(self) -> bytes:
        parts = []
        while (piece := await self.chunk()) is not None:
            parts.append(piece)
        return b"".join(parts)

    async def aclose(self) -> None:
        await self._chunks.aclose()
        self._resp.close()


class Http1Transport(Transport):
    """banjia's former hand-written HTTP/1.1 client, ``src/banjia/_http1.py`` of the tree in
    ``$BENCH_BASELINE`` (the ``--baseline`` tree): the old client on this tree's code."""

    def __init__(self) -> None:
        import importlib.util
        import os
        from pathlib import Path

        super().__init__()
        path = Path(os.environ.get("BENCH_BASELINE", ".")) / "src" / "banjia" / "_http1.py"
        spec = importlib.util.spec_from_file_location("bench_http1", path)
        if spec is None or spec.loader is None or not path.exists():
            raise SystemExit(f"the http1 transport needs --baseline (no {path})")
        self._mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(self._mod)
        self._pool: Any = None

    async def _open(
        self, req: UpstreamRequest, t: Timeouts, egress: Egress, *, stream: bool = True
    ) -> Answer:
        m = self._mod
        if self._pool is None:
            self._pool = m.Pool(keepalive=egress.keepalive)
        errors = (m.HTTPClientError, OSError)
        try:
            resp = await self._pool.request(req.method, req.url, req.body, req.headers,
                                            connect_timeout=t.connect)
        except errors as e:
            raise WireError(type(e).__name__, unanswered=isinstance(e, getattr(m, "NoAnswer", ()))) from e
        return _Http1Answer(resp, errors)

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()


class WreqDefaultRuntimeTransport(Transport):
    """banjia's own transport with wreq's default runtime (a worker per CPU, work stealing)
    instead of its one worker."""

    def _client(self, egress: Egress, connect: float) -> Any:
        from wreq.runtime import Runtime

        from banjia import transport

        key = (egress, connect)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = transport._build_client(egress, connect, runtime=Runtime())
        return client


TRANSPORTS: dict[str, type[Transport]] = {
    "wreq-mt": WreqDefaultRuntimeTransport,
    "http1": Http1Transport,
    "aiohttp": AiohttpTransport,
    "httpcore": HttpcoreTransport,
    "pyreqwest": PyreqwestTransport,
}


def transport_class(name: str) -> type[Transport]:
    try:
        return TRANSPORTS[name]
    except KeyError:
        raise SystemExit(f"unknown transport {name!r}; known: {', '.join(TRANSPORTS)}") from None
