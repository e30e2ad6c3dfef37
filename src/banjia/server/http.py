"""Response helpers and the ASGI middleware every response passes through (request id, errors)."""

from __future__ import annotations

import asyncio
import functools
import logging
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import orjson
import uvicorn
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn._types import ASGI3Application
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from banjia.config import ServerConfig
from banjia.errors import APIError
from banjia.server.limits import MIN_BODY_PROGRESS, ConnectionGuard, HttpLimits

__all__ = [
    "CoalescingHttpProtocol",
    "Exchange",
    "OriginCORSMiddleware",
    "RedactQueryFilter",
    "RequestIdMiddleware",
    "error_response",
    "http_options",
    "json_response",
]

log = logging.getLogger("banjia.server")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, headers=headers, media_type="application/json")


def error_response(e: APIError) -> Response:
    headers = dict(e.headers)
    if e.status in (400, 401, 403, 404, 422):
        headers["x-should-retry"] = "false"
    return Response(e.body_bytes(), status_code=e.status, headers=headers, media_type="application/json")


_VARY_ORIGIN = (b"vary", b"Origin")

Endpoint = Callable[[Request], Awaitable[Response]]


class OriginCORSMiddleware(CORSMiddleware):
    """Starlette's CORS handling, only for requests that carry an ``Origin`` header: API clients
    send none, and their requests then skip a wrapper around every message sent (every chunk of a
    stream). :class:`RequestIdMiddleware` adds the ``Vary: Origin`` those responses got."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(k == b"origin" for k, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class RequestIdMiddleware:
    """Gives every request an id (``x-request-id`` on every response, also on errors and 404s)
    and turns any exception that escapes a route into an OpenAI error envelope."""

    def __init__(self, app: ASGIApp, hot: Mapping[str, Endpoint] | None = None) -> None:
        self.app = app
        # POST routes that carry the traffic: served from here, without Starlette's router and
        # exception middleware (whose work this middleware repeats for them: errors, ids)
        self.hot = dict(hot or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from banjia.gateway import new_id

        rid = "req_" + new_id()
        scope.setdefault("state", {})["request_id"] = rid
        added = [(b"x-request-id", rid.encode())]
        cors = any(k == b"origin" for k, _ in scope["headers"])
        if not cors:
            added.append(_VARY_ORIGIN)  # what CORSMiddleware adds to a response without CORS headers
        endpoint = self.hot.get(scope["path"]) if scope["method"] == "POST" and not cors else None
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *added]
                if 300 <= message["status"] < 400:
                    _relative_location(message["headers"], scope)
            await send(message)

        try:
            if endpoint is None:
                await self.app(scope, receive, send_with_id)
            else:
                response = await endpoint(Request(scope, receive, send_with_id))
                await response(scope, receive, send_with_id)
        except APIError as e:
            if started:
                raise
            await error_response(e)(scope, receive, send_with_id)
        except ClientDisconnect:
            return  # gone while its body was read (or cut for a limit): nobody to answer
        except Exception:
            log.exception(
                "unhandled error in %s %s (request %s)", scope.get("method"), scope.get("path"), rid
            )
            if started:
                raise
            err = APIError(
                500,
                "The server had an error while processing your request. "
                f"Quote the request id {rid} when reporting it.",
                type="server_error",
                code="internal_error",
            )
            await error_response(err)(scope, receive, send_with_id)


def _relative_location(headers: list[tuple[bytes, bytes]], scope: Scope) -> None:
    """A redirect to the host the client named, sent as a path: Starlette's trailing-slash
    redirect builds its URL from the ``Host`` header, which anyone can set (``Host: evil.example``
    would send the client there)."""
    host = next((v for k, v in scope["headers"] if k == b"host"), None)
    for i, (name, value) in enumerate(headers):
        if name.lower() != b"location" or not value.startswith((b"http://", b"https://")):
            continue
        url = urlsplit(value)
        if host is None or url.netloc == host:
            # one leading slash: "//host/…" would name another host again
            path = b"/" + url.path.lstrip(b"/")
            headers[i] = (name, path + (b"?" + url.query if url.query else b""))


class _CoalescingTransport:
    """Sends everything written during one turn of the event loop as one ``write``.

    uvicorn writes a response's head and body separately, and a stream's chunks one by one; on a
    busy gateway each is a syscall and a TCP segment. Writes made in the same turn (the head and
    body of a JSON answer; the chunks of a stream whose upstream delivered several events in one
    read) go out together at the end of the turn, so nothing waits longer than that.
    """

    __slots__ = ("_buf", "_loop", "_scheduled", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._buf: list[bytes] = []
        self._scheduled = False

    def write(self, data: bytes) -> None:
        self._buf.append(data)
        if not self._scheduled:
            self._scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        buf = self._buf
        if not buf:
            return
        data = buf[0] if len(buf) == 1 else b"".join(buf)
        buf.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class Exchange:
    """What :class:`CoalescingHttpProtocol` offers a request beyond ASGI, at
    ``scope["extensions"]["banjia.exchange"]`` (absent under another server: callers fall back
    to plain ASGI, a task that waits for ``http.disconnect`` and a ``send`` per piece).

    - :meth:`watch`: a callback run once if the connection is lost before the answer is complete,
      instead of a task per request that waits for ``http.disconnect``;
    - :meth:`write`: after the response's start went through ``send`` (so the middleware saw it),
      the pieces of a chunked body are framed and written here directly, skipping the chain of
      ``send`` wrappers per piece; writes made in one event-loop turn leave in one ``write``
      (:class:`_CoalescingTransport`). The response ends with an ordinary ``send``.
    """

    __slots__ = ("_cycle", "_on_gone", "_proto")

    def __init__(self, proto: CoalescingHttpProtocol) -> None:
        self._proto = proto
        self._on_gone: Callable[[], object] | None = None
        # uvicorn's RequestResponseCycle, once the headers are in: weakly, since the cycle holds
        # the scope that holds this object, and a reference cycle per request would wait for
        # the garbage collector
        self._cycle: weakref.ref[Any] | None = None

    @property
    def cycle(self) -> Any:
        return self._cycle() if self._cycle is not None else None

    @cycle.setter
    def cycle(self, cycle: Any) -> None:
        self._cycle = weakref.ref(cycle)

    @property
    def gone(self) -> bool:
        cycle = self.cycle
        return cycle is not None and bool(cycle.disconnected)

    def watch(self, on_gone: Callable[[], object] | None) -> None:
        """Run ``on_gone`` (once) when the client goes; None stops watching. Runs at once if it has
        gone already."""
        self._on_gone = on_gone
        watched = self._proto._watched
        if on_gone is None:
            watched.discard(self)
        elif self.gone:
            self._fire()
        else:
            watched.add(self)

    def _fire(self) -> None:
        callback, self._on_gone = self._on_gone, None
        self._proto._watched.discard(self)
        if callback is not None:
            callback()

    def writable(self) -> bool:
        """Whether :meth:`write` may be used: the response was started with chunked framing and
        is not complete."""
        cycle = self.cycle
        return (
            cycle is not None
            and cycle.response_started
            and cycle.chunked_encoding is True
            and not cycle.response_complete
            and cycle.scope["method"] != "HEAD"
        )

    def write(self, data: bytes) -> bool:
        """One piece of the chunked body; False when the client is gone (nothing was written)."""
        cycle = self.cycle
        if cycle is None or cycle.disconnected:
            return False
        if data:
            cycle.transport.write(b"%x\r\n%b\r\n" % (len(data), data))
        return True

    @property
    def paused(self) -> bool:
        """The client reads slower than the body is written: wait with :meth:`drain`."""
        cycle = self.cycle
        return cycle is not None and bool(cycle.flow.write_paused) and not cycle.disconnected

    async def drain(self) -> None:
        cycle = self.cycle
        if cycle is not None:
            await cycle.flow.drain()


class CoalescingHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with writes coalesced per event-loop turn and the limits of
    :mod:`banjia.server.limits` applied while a request is parsed, before any app code runs.

    Every refusal is an OpenAI error envelope with ``x-request-id``: malformed HTTP (400), a body
    over ``server.max_body_mb`` / ``max_upload_mb`` (413), headers over ``max_header_kb`` or
    ``max_headers`` (431). Late headers, a stalled body and connections over
    ``max_connections_per_ip`` are closed (:class:`~banjia.server.limits.ConnectionGuard`).
    After a refusal, what the client still sends is read and dropped for at most
    ``body_timeout`` (as nginx's lingering close), so that a client that writes its whole request
    before reading sees the error instead of a reset connection.
    A request pays attribute updates and one pass over its headers, a body chunk one addition.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        limits: HttpLimits | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits = limits = limits or _DEFAULT_LIMITS
        self._guard = ConnectionGuard.of(server_state, limits, self.loop)
        self._ip: str | None = None
        # the phase a connection is in, and since when (0.0: the guard's next sweep sets it, so
        # that no request reads the clock); between a request's body and the next request's first
        # byte the app and uvicorn's keep-alive timeout are in charge
        self._in_head = True
        self._head_since = 0.0
        self._head_bytes = 0
        self._in_body = False
        self._body_limit = limits.max_body
        self._body_bytes = 0
        self._mark_bytes = 0
        self._mark_time = 0.0
        # a refusal was answered: the rest of that request is dropped until ``_refused_since``
        # + body_timeout; ``_drop_input``: unparsed (the answer said ``connection: close``)
        self._refused = False
        self._refused_since = 0.0
        self._drop_input = False
        self._watched: set[Exchange] = set()  # requests whose app waits to hear of a disconnect

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if not _frozen:
            _freeze_startup()
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
        ip = self.client[0] if self.client else None
        if self._guard.admit(self, ip):
            self._ip = ip
        else:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard.release(self, self._ip)
        super().connection_lost(exc)
        for exchange in list(self._watched):
            cycle = exchange.cycle
            if cycle is not None and not cycle.response_complete:
                cycle.disconnected = True  # also a pipelined request's, which uvicorn leaves
                exchange._fire()
        self._watched.clear()

    def handle_websocket_upgrade(self) -> None:
        self._guard.release(self, self._ip)  # the connection now belongs to the WebSocket protocol
        super().handle_websocket_upgrade()

    def data_received(self, data: bytes) -> None:
        if self._drop_input:
            return
        counted = self._in_head  # a read that starts a new request is not counted (one read at most)
        super().data_received(data)
        if counted and self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > self.limits.max_head and not self.transport.is_closing():
                self._refuse_raw(
                    431,
                    f"The request line and headers are larger than {self.limits.max_head // 1024} KB "
                    "(server.max_header_kb).",
                    "request_header_fields_too_large",
                )

    def send_400_response(self, msg: str) -> None:
        if not self._drop_input:
            self._refuse_raw(400, "The request is not valid HTTP/1.1 and could not be read.", "invalid_http")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self.scope["extensions"] = {"banjia.exchange": Exchange(self)}  # type: ignore[dict-item]
        if not self._in_head:
            self._in_head = True
            self._head_since = 0.0
            self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._drop_input:  # a request pipelined behind a refused one, in the same read
            return
        limits = self.limits
        headers = self.headers
        limit = limits.max_body
        length = b""
        for name, value in headers:
            if name == b"content-length":
                length = value
            elif name == b"content-type" and value[:19].lower() == b"multipart/form-data":
                limit = limits.max_upload
        self._in_body = True
        self._body_limit = limit
        self._body_bytes = self._mark_bytes = 0
        self._mark_time = 0.0
        if len(headers) > limits.max_headers:
            reject = _rejection(
                431,
                f"The request has {len(headers)} headers, more than {limits.max_headers} "
                "(server.max_headers).",
                "request_header_fields_too_large",
                close=True,
            )
        elif length and int(length) > limit:
            setting = "max_upload_mb" if limit == limits.max_upload else "max_body_mb"
            # the body is dropped as it comes (uvicorn reads past an answered request), and the
            # connection stays usable; unless the client waits for "100 Continue" before sending it
            self._body_limit = _NO_LIMIT
            reject = _rejection(
                413,
                f"The request body is {int(length)} bytes, more than the {limit} bytes this server "
                f"accepts (server.{setting}).",
                "request_too_large",
                close=self.expect_100_continue,
            )
        else:
            super().on_headers_complete()
            cycle = self.cycle
            if cycle is not None and cycle.scope is self.scope:  # (an upgrade makes no cycle)
                exchange: Exchange = self.scope["extensions"]["banjia.exchange"]  # type: ignore[assignment]
                exchange.cycle = cycle
            return
        self._refused = True
        self._refused_since = 0.0
        app = self.app
        self.app = reject
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def on_body(self, body: bytes) -> None:
        n = self._body_bytes + len(body)
        self._body_bytes = n
        if n > self._body_limit:
            self._body_over_limit()
            return
        super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_body = False
        self._refused = self._drop_input  # a refused body read to its end: the connection is usable
        super().on_message_complete()

    def _body_over_limit(self) -> None:
        """A body without Content-Length (chunked) went over the limit while it was read."""
        if self._drop_input or self.transport.is_closing():
            return
        cycle = self.cycle
        if cycle is None or cycle.response_started:
            self.transport.close()  # the app has answered already: nothing to say
            return
        limit = self._body_limit
        setting = "max_upload_mb" if limit == self.limits.max_upload else "max_body_mb"
        message = f"The request body is more than the {limit} bytes this server accepts"
        rid = cycle.scope.get("state", {}).get("request_id")
        self._refuse_raw(413, f"{message} (server.{setting}).", "request_too_large", rid,
                         anthropic=_anthropic_route(cycle.scope))
        # the app's next read sees a disconnect, and whatever it sends goes nowhere
        cycle.disconnected = True
        cycle.body = bytearray()
        cycle.message_event.set()

    def late(self, now: float) -> str | None:
        """Called by the guard's sweep: ``"header"`` or ``"body"`` when this connection has been
        waiting for its client too long, else None."""
        if self._refused:
            if not self._refused_since:
                self._refused_since = now
            elif now - self._refused_since > self.limits.body_timeout:
                return "body"
            return None
        if self.flow.read_paused:  # not reading (pipelining, a busy app): not the client's fault
            self._head_since = self._mark_time = 0.0
            self._mark_bytes = self._body_bytes
            return None
        if self._in_head:
            if not self._head_since:
                self._head_since = now
            elif now - self._head_since > self.limits.header_timeout:
                return "header"
        elif self._in_body:
            if not self._mark_time:
                self._mark_time, self._mark_bytes = now, self._body_bytes
            elif now - self._mark_time >= self.limits.body_timeout:
                if self._body_bytes - self._mark_bytes < MIN_BODY_PROGRESS:
                    return "body"
                self._mark_time, self._mark_bytes = now, self._body_bytes
        return None

    def expire(self) -> None:
        self._in_head = self._in_body = self._refused = False
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse_raw(self, status: int, message: str, code: str, rid: str | None = None, *,
                    anthropic: bool = False) -> None:
        """Answer without the app (no request could be parsed, or its body is refused midway),
        then drop the input until the client closes or ``body_timeout`` passes. ``anthropic``:
        in Anthropic's envelope (the request was for one of its routes)."""
        from banjia.gateway import new_id
        from banjia.protocol.anthropic import error_bytes

        err = APIError(status, message, code=code)
        body = error_bytes(err) if anthropic else err.body_bytes()
        out = [STATUS_LINE[status]]
        for name, value in self.server_state.default_headers:
            out.extend((name, b": ", value, b"\r\n"))
        out.append(
            b"content-type: application/json\r\ncontent-length: %d\r\nx-request-id: %s\r\n"
            b"x-should-retry: false\r\nconnection: close\r\n\r\n"
            % (len(body), (rid or "req_" + new_id()).encode())
        )
        out.append(body)
        transport = self.transport
        transport.write(b"".join(out))
        self._in_head = self._in_body = False
        self._drop_input = self._refused = True
        self._refused_since = 0.0
        self.flow.resume_reading()
        if transport.can_write_eof():
            transport.write_eof()  # the answer, then FIN; the client's close ends the connection
        else:
            transport.close()


_frozen = False  # this process's startup objects are frozen (at its first connection)


def _freeze_startup() -> None:
    """Once per process, at its first connection (the app and its runtime are built by then):
    everything alive goes to the garbage collector's permanent generation (``gc.freeze``). A full
    collection otherwise walks every module, model, catalog entry and compiled query of the
    process, about 130,000 objects, every few thousand requests (measured on the bench: ~85 ms
    each before, ~12 ms after). What is frozen still goes when its last reference does; only a
    reference cycle made at startup and dropped later stays (none is known).

    (Collecting the first generation every 7,000 allocations instead of 700 halved the collector's
    CPU per request, ~29 → ~12 µs, but 1,000 slow streams at a time then left the resident set
    growing from one wave to the next instead of levelling off: not done.)"""
    import gc

    global _frozen
    _frozen = True
    gc.freeze()


def _anthropic_route(scope: Mapping[str, Any]) -> bool:
    """Whether a refused request was for one of Anthropic's routes (its errors in its envelope)."""
    return str(scope.get("path", "")).startswith("/v1/messages")


def _rejection(status: int, message: str, code: str, *, close: bool) -> ASGI3Application:
    """An ASGI app that answers every request with this error (the request is never seen by
    banjia's app)."""
    from banjia.protocol.anthropic import error_bytes

    err = APIError(status, message, code=code)
    # the caller's protocol: Anthropic's envelope on its routes, OpenAI's everywhere else
    bodies = {False: err.body_bytes(), True: error_bytes(err)}
    headers = [(b"content-type", b"application/json"), (b"x-should-retry", b"false")]
    if close:
        headers.append((b"connection", b"close"))

    async def reject(scope: Scope, receive: Receive, send: Send) -> None:
        from banjia.gateway import new_id

        body = bodies[_anthropic_route(scope)]
        extra = [(b"content-length", str(len(body)).encode()),
                 (b"x-request-id", ("req_" + new_id()).encode())]
        await send({"type": "http.response.start", "status": status, "headers": [*headers, *extra]})
        await send({"type": "http.response.body", "body": body})

    return reject  # type: ignore[return-value]


_DEFAULT_LIMITS = HttpLimits.from_config(ServerConfig())
_NO_LIMIT = 1 << 62


def http_options(
    server: ServerConfig, protocol: type[CoalescingHttpProtocol] = CoalescingHttpProtocol
) -> dict[str, Any]:
    """uvicorn options for banjia's HTTP layer: ``protocol`` with ``server``'s limits (a partial,
    so it pickles for ``--workers``) and the keep-alive timeout."""
    return {
        "http": functools.partial(protocol, limits=HttpLimits.from_config(server)),
        "timeout_keep_alive": server.keepalive_timeout,
    }


class RedactQueryFilter(logging.Filter):
    """Keeps query strings out of uvicorn's access log: banjia never takes a key from the query,
    but clients that send one (``?api_key=…``) must not find it in a log."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].partition("?")[0] + "?[redacted]", *args[3:])
        return True
