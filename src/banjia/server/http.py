"""Response helpers and the ASGI middleware every response passes through (request id, errors)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import orjson
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from banjia.errors import APIError

__all__ = [
    "CoalescingHttpProtocol",
    "OriginCORSMiddleware",
    "RequestIdMiddleware",
    "error_response",
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

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class CoalescingHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with writes coalesced per event-loop turn."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]
