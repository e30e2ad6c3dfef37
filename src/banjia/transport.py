"""Sending upstream requests: HTTP through wreq (Rust's hyper and BoringSSL), plus WebSockets.

What is sent and received are :class:`UpstreamRequest` and :class:`UpstreamResponse`: adaptors
build the one and parse the other (:mod:`banjia.adaptors.base` hands them on), and nothing here
knows a vendor, nor does anything outside this module see the HTTP library. A provider's
:class:`Timeouts` bound each call; its :class:`Egress` says how the call leaves (a proxy, else the
environment's ``HTTPS_PROXY``/``HTTP_PROXY``/``NO_PROXY``; extra trusted CAs; HTTP/2 when the
upstream offers it; how many requests may be in flight and how many idle connections are kept).
Providers with the same egress share one client and so one pool.

A request is sent once. The library only replaces a pooled connection that had closed before the
request was written to it; an upstream that closes a connection after reading a request may have
received, and billed, it, so that is an error whose action routing weighs
(:meth:`UpstreamError.unreachable`). Cancelling a call (the client went away) drops its
connection, which stops the upstream. Library and websockets exceptions stop here, converted to
:class:`UpstreamError`.

The library is behind one seam, :meth:`Transport._open` (and :meth:`Transport.aclose`): the bench
measures other HTTP clients by overriding it (``bench/transports.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import ssl
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from banjia.deadline import Deadline
from banjia.errors import UpstreamError
from banjia.sse import SSEDecoder

if TYPE_CHECKING:
    from wreq import Client, Method, Response, Streamer
    from wreq.runtime import Runtime

__all__ = [
    "DEFAULT_EGRESS",
    "DONE_MARK",
    "Answer",
    "Body",
    "Egress",
    "Timeouts",
    "Transport",
    "UpstreamRequest",
    "UpstreamResponse",
    "WireError",
    "read_ca_file",
]

DONE_MARK = "[DONE]"


@dataclass(slots=True)
class UpstreamRequest:
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "POST"
    # a WebSocket protocol: ``body`` is sent as one text frame and each frame received is an event
    websocket: bool = False


@dataclass(slots=True)
class UpstreamResponse:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """A provider's bounds in seconds; the defaults are the config's (``TimeoutsConfig``)."""

    connect: float  # TCP + TLS (+ the proxy's tunnel)
    first_byte: float  # to the first event of a stream, or the whole answer of a non-stream call
    idle: float  # between two events of a stream
    stream: float  # a whole streamed answer, from the request's arrival (the gateway keeps it)


@dataclass(frozen=True, slots=True)
class Egress:
    """How a provider's requests leave; the defaults are the config's (``ProviderConfig``)."""

    proxy: str | None = None  # every request through this proxy; None: the environment decides
    ca_file: str | None = None  # PEM certificates trusted besides the system's
    http2: bool = True  # negotiated (TLS ALPN) where the upstream offers it
    max_connections: int | None = None  # requests in flight at once; the rest wait (first_byte)
    max_idle: int = 256  # kept-alive connections per host
    keepalive: float = 30.0  # seconds an idle connection is kept


class WireError(Exception):
    """The request failed below HTTP (connecting, the proxy, TLS, a connection that broke).
    ``unanswered``: the connection closed after the request was written and before any answer,
    so the upstream may have received it."""

    def __init__(self, message: str, *, unanswered: bool = False) -> None:
        super().__init__(message)
        self.unanswered = unanswered


class Answer(Protocol):
    """An upstream answer whose status and headers are in; its body is read with :meth:`chunk`
    (or :meth:`read`). Reads raise :class:`WireError` (or ``TimeoutError``)."""

    status: int
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "

    async def chunk(self) -> bytes | None:
        """The next piece of the body as it arrives; None at its end."""

    async def read(self) -> bytes:
        """The rest of the body."""

    async def aclose(self) -> None:
        """Release the connection (dropped, unless the body was read to its end)."""


class StreamOpened:
    """A streaming upstream answer whose status is known; iterate ``events()`` for the data."""

    def __init__(
        self, status: int, headers: dict[str, str], body: bytes | None, events: AsyncIterator[str] | None
    ) -> None:
        self.status = status
        self.headers = headers
        self.body = body  # for an error status: the whole error body
        self._events = events

    def events(self) -> AsyncIterator[str]:
        assert self._events is not None
        return self._events


DEFAULT_EGRESS = Egress()


class Transport:
    """One per process: a pooled client per (egress, connect timeout), made on first use."""

    def __init__(self) -> None:
        self._clients: dict[tuple[Egress, float], Client] = {}
        self._slots: dict[Egress, asyncio.Semaphore] = {}

    # -- the library seam ---------------------------------------------------------------------
    async def _open(
        self, req: UpstreamRequest, t: Timeouts, egress: Egress, *, stream: bool = True
    ) -> Answer:
        """Send ``req`` and wait for the head of its answer (``stream``: its body is wanted as it
        arrives, not in one piece)."""
        client = self._client(egress, t.connect)
        kw: dict[str, Any] = {"headers": _sendable(req.headers)}
        if req.body or req.method not in ("GET", "HEAD"):
            kw["body"] = req.body
        try:
            resp = await client.request(_method(req.method), req.url, **kw)
        except _library_errors() as e:
            raise _wire_error(e) from e
        return _WreqAnswer(resp)

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        self._slots = {}
        for client in clients.values():
            client.close()  # calls still pending end; the idle connections close with the client

    def _client(self, egress: Egress, connect: float) -> Client:
        key = (egress, connect)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = _build_client(egress, connect)
        return client

    async def _opened(self, req: UpstreamRequest, t: Timeouts, egress: Egress, *, stream: bool) -> Answer:
        """:meth:`_open` within the egress's limit of requests in flight (``max_connections``):
        a slot is held until the answer is closed."""
        if egress.max_connections is None:
            return await self._open(req, t, egress, stream=stream)
        slots = self._slots.get(egress)
        if slots is None:
            slots = self._slots[egress] = asyncio.Semaphore(egress.max_connections)
        await slots.acquire()
        try:
            answer = await self._open(req, t, egress, stream=stream)
        except BaseException:
            slots.release()
            raise
        return _Slotted(answer, slots)

    # -- what providers call ------------------------------------------------------------------
    async def send(
        self, req: UpstreamRequest, t: Timeouts, provider: str, egress: Egress = DEFAULT_EGRESS
    ) -> UpstreamResponse:
        try:
            return await Deadline().run(t.first_byte, self._whole(req, t, egress))
        except TimeoutError as e:
            raise UpstreamError.timeout(provider, "no answer within the time limit") from e
        except WireError as e:
            raise _unreachable(provider, e) from e

    async def _whole(self, req: UpstreamRequest, t: Timeouts, egress: Egress) -> UpstreamResponse:
        answer = await self._opened(req, t, egress, stream=False)
        try:
            body = await answer.read()
        finally:
            await answer.aclose()
        return UpstreamResponse(answer.status, answer.headers, body)

    @contextlib.asynccontextmanager
    async def stream(
        self, req: UpstreamRequest, t: Timeouts, provider: str, egress: Egress = DEFAULT_EGRESS
    ) -> AsyncIterator[Body]:
        """The answer to ``req`` with its body still to be read, for a caller that bounds the body
        itself (a file an upstream links to): the head within ``first_byte``, then ``chunks()``
        unbounded in time (the caller's own timeout applies)."""
        try:
            async with asyncio.timeout(t.first_byte):
                answer = await self._opened(req, t, egress, stream=True)
        except TimeoutError as e:
            raise UpstreamError.timeout(provider, "no answer within the time limit") from e
        except WireError as e:
            raise _unreachable(provider, e) from e
        try:
            yield Body(answer, provider)
        finally:
            await answer.aclose()

    async def open_stream(
        self, req: UpstreamRequest, t: Timeouts, provider: str, egress: Egress = DEFAULT_EGRESS
    ) -> StreamOpened:
        if req.websocket:
            return await _open_ws(req, t, provider, egress)
        try:
            answer = await Deadline().run(t.first_byte, self._opened(req, t, egress, stream=True))
        except TimeoutError as e:
            raise UpstreamError.timeout(provider, "no answer within the time limit") from e
        except WireError as e:
            raise _unreachable(provider, e) from e
        if answer.status >= 300:
            try:
                async with asyncio.timeout(t.idle):
                    body = await answer.read()
            except (TimeoutError, WireError):
                body = b""
            finally:
                await answer.aclose()
            return StreamOpened(answer.status, answer.headers, body, None)
        if answer.headers.get("content-type", "").startswith("application/json"):
            # asked for a stream, answered with one JSON body (typically an error inside a 200)
            return StreamOpened(answer.status, answer.headers, None, _whole_body(answer, t, provider))
        return StreamOpened(answer.status, answer.headers, None, _sse_events(answer, t, provider))


class Body:
    """An answer's status and headers, and its body as it arrives (:meth:`Transport.stream`)."""

    def __init__(self, answer: Answer, provider: str) -> None:
        self.status = answer.status
        self.headers = answer.headers
        self._answer = answer
        self._provider = provider

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            try:
                data = await self._answer.chunk()
            except WireError as e:
                raise UpstreamError.broken(self._provider, "the answer broke off") from e
            if data is None:
                return
            yield data


class _Slotted:
    """An answer that holds one of its egress's slots until it is closed."""

    __slots__ = ("_answer", "_slots", "headers", "status")

    def __init__(self, answer: Answer, slots: asyncio.Semaphore) -> None:
        self._answer: Answer | None = answer
        self._slots = slots
        self.status = answer.status
        self.headers = answer.headers

    async def chunk(self) -> bytes | None:
        assert self._answer is not None
        return await self._answer.chunk()

    async def read(self) -> bytes:
        assert self._answer is not None
        return await self._answer.read()

    async def aclose(self) -> None:
        answer, self._answer = self._answer, None
        if answer is not None:
            try:
                await answer.aclose()
            finally:
                self._slots.release()


class _WreqAnswer:
    __slots__ = ("_body", "_done", "_resp", "headers", "status")

    def __init__(self, resp: Response) -> None:
        self._resp = resp
        self._body: Streamer | None = None
        self._done = False  # the body was read to its end: the connection is back in the pool
        self.status = resp.status.as_int()
        headers: dict[str, str] = {}
        for name, value in resp.headers:
            k, v = bytes(name).decode("latin-1"), bytes(value).decode("latin-1")
            headers[k] = f"{headers[k]}, {v}" if k in headers else v
        self.headers = headers

    async def chunk(self) -> bytes | None:
        body = self._body
        if body is None:
            body = self._body = self._resp.stream()
        while True:
            try:
                piece = await body.__anext__()
            except StopAsyncIteration:
                self._done = True
                return None
            except _library_errors() as e:
                raise _wire_error(e) from e
            if type(piece) is memoryview:  # else trailers, which nothing here reads
                return piece.tobytes()

    async def read(self) -> bytes:
        try:
            body = bytes(await self._resp.bytes())
        except _library_errors() as e:
            raise _wire_error(e) from e
        self._done = True
        return body

    async def aclose(self) -> None:
        if not self._done:  # closing drops the connection (and so stops the upstream)
            self._done = True
            if self._body is not None:
                # once streamed, the body belongs to the streamer: closing the response alone
                # would leave the connection open and the upstream generating
                await self._body.__aexit__(None, None, None)
            await self._resp.close()


def _method(name: str) -> Method:
    import wreq

    method: Method = getattr(wreq.Method, name)
    return method


@functools.cache
def _library_errors() -> tuple[type[Exception], ...]:
    import wreq.exceptions as x

    return (x.RustPanic, x.TlsError, x.ConnectionError, x.ProxyConnectionError, x.ConnectionResetError,
            x.BodyError, x.BuilderError, x.DecodingError, x.StatusError, x.RequestError, x.RedirectError,
            x.UpgradeError, x.TimeoutError)


@functools.cache
def _runtime() -> Runtime:
    """One worker thread for every client of the process (wreq's default is one per CPU): the
    event loop hands it each request and gets each answer back; more workers measured no faster
    on two CPUs (bench/README.md) and add threads that wake each other."""
    from wreq.runtime import Runtime

    return Runtime(workers=1, thread_name="banjia-upstream")


def _build_client(egress: Egress, connect: float, *, runtime: Runtime | None = None) -> Client:
    import wreq
    from wreq.redirect import Policy
    from wreq.tls import CertStore

    kw: dict[str, Any] = {
        "runtime": runtime or _runtime(),
        "connect_timeout": timedelta(seconds=connect),
        "redirect": Policy.none(),  # a redirected POST is the caller's business, not a silent resend
        "referer": False,
        "user_agent": "banjia",
        # what the OpenAI SDK accepts; brotli and zstd are not asked for
        "gzip": True, "deflate": True, "brotli": False, "zstd": False,
        "pool_idle_timeout": timedelta(seconds=egress.keepalive),
        "pool_max_idle_per_host": egress.max_idle,
        "tcp_nodelay": True,
    }
    if not egress.http2:
        kw["http1_only"] = True
    if egress.proxy:
        # the provider's own proxy takes every request; without one, the client reads
        # HTTPS_PROXY, HTTP_PROXY, ALL_PROXY and NO_PROXY from the environment when it is made
        kw["proxies"] = [wreq.Proxy.all(egress.proxy)]
    if egress.ca_file:
        pems = [pem.decode("ascii") for pem in read_ca_file(egress.ca_file)]
        kw["tls_verify"] = CertStore(pem_certs=pems, default_paths=True)
    return wreq.Client(**kw)


_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)


def read_ca_file(path: str) -> list[bytes]:
    """The PEM certificates in ``path``; ``ValueError`` saying why there are none."""
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        raise ValueError(f"cannot read {path!r} ({e.strerror})") from e
    certs = _PEM.findall(data)
    if not certs:
        raise ValueError(f"{path!r} holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    return certs


def _sendable(headers: Mapping[str, str]) -> dict[str, str]:
    # the library sets the length and framing of the body itself
    return {k: v for k, v in headers.items() if k.lower() not in ("content-length", "transfer-encoding")}


def _wire_error(e: Exception) -> WireError | TimeoutError:
    """The library's error as a :class:`WireError` (its connect timeout as a ``TimeoutError``).
    Its text names the URL, which may carry a credential in its query: only the kind of failure
    is kept."""
    text = str(e)
    name = type(e).__name__
    if name == "TimeoutError":
        return TimeoutError("connecting timed out")
    # hyper's "connection closed before message completed": the request had been written
    unanswered = "IncompleteMessage" in text
    kind = next((k for k in _KINDS if k in text), "")
    return WireError(f"{name}: {kind}" if kind else name, unanswered=unanswered)


# what a failure was, as the library's error text names it (the text itself is not passed on)
_KINDS = ("ConnectionRefused", "ConnectionReset", "IncompleteMessage", "UnexpectedEof", "certificate",
          "tunnel", "dns error", "HostUnreachable", "NetworkUnreachable", "TimedOut")


class _Stall:
    """The bound on each wait for a stream's next piece, with one timer per stream instead of
    one per piece (a stream is read piece by piece, and a timer each costs more than the read):
    the timer only cancels the reading task if that task has been waiting on the upstream for
    the whole bound; otherwise it is set again for the current wait's deadline."""

    __slots__ = ("_cancelling", "_handle", "_loop", "_task", "deadline", "fired", "waiting")

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        self._task = task
        self._cancelling = task.cancelling()
        self._handle: asyncio.TimerHandle | None = None
        self.deadline = 0.0
        self.waiting = False
        self.fired = False

    def wait(self, limit: float) -> None:
        """A wait of at most ``limit`` seconds starts."""
        self.deadline = self._loop.time() + limit
        self.waiting = True
        handle = self._handle
        if handle is None or handle.when() > self.deadline:
            if handle is not None:
                handle.cancel()
            self._handle = self._loop.call_at(self.deadline, self._check)

    def _check(self) -> None:
        self._handle = None
        if not self.waiting:
            return  # the next wait sets the timer again
        if self._loop.time() < self.deadline:
            self._handle = self._loop.call_at(self.deadline, self._check)
            return
        self.fired = True
        self._task.cancel()

    def timed_out(self) -> bool:
        """After a ``CancelledError``: whether this bound caused it (then the task is no longer
        being cancelled), rather than the task's owner."""
        return self.fired and self._task.uncancel() <= self._cancelling

    def close(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None


async def _sse_events(answer: Answer, t: Timeouts, provider: str) -> AsyncIterator[str]:
    decoder = SSEDecoder()
    first = True
    stall = _Stall()
    try:
        while True:
            stall.wait(t.first_byte if first else t.idle)
            try:
                data = await answer.chunk()
            except asyncio.CancelledError as e:
                if not stall.timed_out():
                    raise
                raise UpstreamError.timeout(
                    provider, "the stream stalled" if not first else "no first token within the time limit"
                ) from e
            except WireError as e:
                raise UpstreamError.broken(provider, "the stream broke off") from e
            finally:
                stall.waiting = False
            if data is None:
                for ev in decoder.flush():
                    yield ev.data
                return
            for ev in decoder.feed(data):
                first = False
                yield ev.data
    finally:
        stall.close()
        # also on cancellation (the client went away): dropping the connection stops the upstream
        await answer.aclose()


async def _whole_body(answer: Answer, t: Timeouts, provider: str) -> AsyncIterator[str]:
    try:
        async with asyncio.timeout(t.first_byte):
            body = await answer.read()
    except TimeoutError as e:
        raise UpstreamError.timeout(provider, "no answer within the time limit") from e
    except WireError as e:
        raise _unreachable(provider, e) from e
    finally:
        await answer.aclose()
    yield body.decode("utf-8", "replace")


def _ws_ssl(egress: Egress, url: str) -> ssl.SSLContext | None:
    if not (egress.ca_file and url.startswith("wss:")):
        return None
    ctx = ssl.create_default_context()
    for pem in read_ca_file(egress.ca_file):
        ctx.load_verify_locations(cadata=pem.decode("ascii"))
    return ctx


async def _open_ws(req: UpstreamRequest, t: Timeouts, provider: str, egress: Egress) -> StreamOpened:
    import websockets
    from websockets.exceptions import InvalidStatus, WebSocketException

    extra: dict[str, Any] = {}
    if (ctx := _ws_ssl(egress, req.url)) is not None:
        extra["ssl"] = ctx
    try:
        ws: Any = await asyncio.wait_for(
            websockets.connect(
                req.url, open_timeout=t.connect, max_size=None, additional_headers=req.headers or None,
                # True: the environment's proxy, as for HTTP (websockets reads the same variables)
                proxy=egress.proxy or True, **extra,
            ),
            t.connect + 1,
        )
    except InvalidStatus as e:
        resp = e.response
        return StreamOpened(
            resp.status_code,
            {k.lower(): v for k, v in resp.headers.raw_items()},
            bytes(resp.body or b""),
            None,
        )
    except TimeoutError as e:
        raise UpstreamError.timeout(provider, "the WebSocket handshake timed out") from e
    except (OSError, WebSocketException) as e:
        raise _unreachable(provider, e) from e

    async def frames() -> AsyncIterator[str]:
        from websockets.exceptions import ConnectionClosedOK

        first = True
        try:
            await ws.send(req.body.decode())
            while True:
                try:
                    msg = await asyncio.wait_for(ws.recv(), t.first_byte if first else t.idle)
                except ConnectionClosedOK:
                    return
                except TimeoutError as e:
                    raise UpstreamError.timeout(provider, "the WebSocket stream stalled") from e
                except WebSocketException as e:
                    raise UpstreamError.broken(provider, "the WebSocket broke off") from e
                first = False
                yield msg if isinstance(msg, str) else msg.decode()
        finally:
            await ws.close()

    return StreamOpened(101, {}, None, frames())


def _unreachable(provider: str, e: BaseException) -> UpstreamError:
    if isinstance(e, WireError) and e.unanswered:
        # it may have been received (and billed): sent again only if routing says so
        return UpstreamError.unreachable(provider, "closed the connection without answering")
    return UpstreamError.unreachable(provider, f"could not be reached ({_short(e)})")


def _short(e: BaseException) -> str:
    return str(e)[:200] if isinstance(e, WireError) else type(e).__name__
