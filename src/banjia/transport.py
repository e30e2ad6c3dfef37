"""Sending upstream requests: one pooled HTTP/1.1 client per process, plus WebSockets.

Timeouts are the core's, per provider: ``connect`` (TCP + TLS), ``first_byte`` (until the first
event of a stream, or the whole answer of a non-stream call) and ``idle`` (between two events).
Client and websockets exceptions stop here, converted to :class:`UpstreamError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from banjia._http1 import HTTPClientError, Pool, Response
from banjia.adaptors.base import UpstreamRequest, UpstreamResponse
from banjia.errors import UpstreamError
from banjia.sse import SSEDecoder

__all__ = ["DONE_MARK", "Timeouts", "Transport"]

DONE_MARK = "[DONE]"


@dataclass(frozen=True, slots=True)
class Timeouts:
    connect: float = 10.0
    first_byte: float = 120.0
    idle: float = 60.0
    total: float = 600.0


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


class Transport:
    def __init__(self) -> None:
        self._pool: Pool | None = None

    def pool(self) -> Pool:
        if self._pool is None:
            self._pool = Pool(keepalive=30.0)
        return self._pool

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()

    async def _request(self, req: UpstreamRequest, t: Timeouts) -> Response:
        pool = self.pool()
        return await pool.request(req.method, req.url, req.body, req.headers, connect_timeout=t.connect)

    async def send(self, req: UpstreamRequest, t: Timeouts, provider: str) -> UpstreamResponse:
        try:
            async with asyncio.timeout(t.first_byte):
                r = await self._request(req, t)
                body = await r.read()
        except TimeoutError as e:
            raise _timeout(provider, "no answer within the time limit") from e
        except (HTTPClientError, OSError) as e:
            raise _unreachable(provider, e) from e
        return UpstreamResponse(r.status, r.headers, body)

    async def open_stream(self, req: UpstreamRequest, t: Timeouts, provider: str) -> StreamOpened:
        if req.websocket:
            return await _open_ws(req, t, provider)
        try:
            async with asyncio.timeout(t.first_byte):
                r = await self._request(req, t)
        except TimeoutError as e:
            raise _timeout(provider, "no answer within the time limit") from e
        except (HTTPClientError, OSError) as e:
            raise _unreachable(provider, e) from e
        if r.status >= 300:
            try:
                async with asyncio.timeout(t.idle):
                    body = await r.read()
            except (TimeoutError, HTTPClientError, OSError):
                body = b""
            finally:
                r.close()
            return StreamOpened(r.status, r.headers, body, None)
        if r.headers.get("content-type", "").startswith("application/json"):
            # asked for a stream, answered with one JSON body (typically an error inside a 200)
            return StreamOpened(r.status, r.headers, None, _whole_body(r, t, provider))
        return StreamOpened(r.status, r.headers, None, _sse_events(r, t, provider))


async def _sse_events(r: Response, t: Timeouts, provider: str) -> AsyncIterator[str]:
    decoder = SSEDecoder()
    first = True
    pieces = r.chunks()
    try:
        while True:
            try:
                async with asyncio.timeout(t.first_byte if first else t.idle):
                    data = await anext(pieces, b"")
            except TimeoutError as e:
                raise _timeout(
                    provider, "the stream stalled" if not first else "no first token within the time limit"
                ) from e
            except (HTTPClientError, OSError) as e:
                raise UpstreamError(
                    502,
                    f"Provider '{provider}': the stream broke off ({type(e).__name__})",
                    provider=provider,
                    retryable=True,
                    code="upstream_error",
                ) from e
            if not data:
                for ev in decoder.flush():
                    yield ev.data
                return
            for ev in decoder.feed(data):
                first = False
                yield ev.data
    finally:
        # also on cancellation (client went away): closing the connection stops the upstream
        await pieces.aclose()
        r.close()


async def _whole_body(r: Response, t: Timeouts, provider: str) -> AsyncIterator[str]:
    try:
        async with asyncio.timeout(t.first_byte):
            body = await r.read()
    except TimeoutError as e:
        raise _timeout(provider, "no answer within the time limit") from e
    except (HTTPClientError, OSError) as e:
        raise _unreachable(provider, e) from e
    finally:
        r.close()
    yield body.decode("utf-8", "replace")


async def _open_ws(req: UpstreamRequest, t: Timeouts, provider: str) -> StreamOpened:
    import websockets
    from websockets.exceptions import InvalidStatus, WebSocketException

    try:
        ws: Any = await asyncio.wait_for(
            websockets.connect(
                req.url, open_timeout=t.connect, max_size=None, additional_headers=req.headers or None
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
        raise _timeout(provider, "the WebSocket handshake timed out") from e
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
                    raise _timeout(provider, "the WebSocket stream stalled") from e
                except WebSocketException as e:
                    raise UpstreamError(
                        502,
                        f"Provider '{provider}': the WebSocket broke off",
                        provider=provider,
                        retryable=True,
                        code="upstream_error",
                    ) from e
                first = False
                yield msg if isinstance(msg, str) else msg.decode()
        finally:
            await ws.close()

    return StreamOpened(101, {}, None, frames())


def _timeout(provider: str, what: str) -> UpstreamError:
    return UpstreamError(
        504, f"Provider '{provider}': {what}", provider=provider, retryable=True, code="upstream_timeout"
    )


def _unreachable(provider: str, e: BaseException) -> UpstreamError:
    return UpstreamError(
        502,
        f"Provider '{provider}' could not be reached ({type(e).__name__})",
        provider=provider,
        retryable=True,
        code="upstream_unreachable",
    )
