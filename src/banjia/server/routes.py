"""The OpenAI routes: parse, authenticate, dispatch to the gateway, wrap the answer."""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar
from urllib.parse import quote

import anyio
import orjson
from pydantic import BaseModel
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from banjia.context import RequestContext
from banjia.errors import bad_request, not_found
from banjia.protocol._base import parse_body, validate
from banjia.protocol.chat import ChatRequest
from banjia.protocol.completions import CompletionRequest, completion_choice, completion_chunk
from banjia.protocol.embeddings import EmbeddingRequest
from banjia.routing.logs import request_id as _rid
from banjia.runtime import Runtime
from banjia.server.auth import authenticate
from banjia.server.http import Exchange, json_response
from banjia.sse import DONE, encode_data
from banjia.store._text import has_control
from banjia.streaming import End, Failed, GatewayStream

__all__ = [
    "MAX_DEPTH",
    "begin",
    "chat_sse",
    "check_edge",
    "checked",
    "header_value",
    "json_body",
    "refused",
    "routes",
    "sse_response",
    "until_gone",
    "upstream_headers",
]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

log = logging.getLogger("banjia.server")

_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
_STARTED = int(time.time())

# The deepest nesting accepted in a request body: far beyond any real request (tools' JSON schemas
# included) and far short of the depth at which the JSON encoder gives up (255) when banjia
# builds the upstream request from it.
MAX_DEPTH = 64
# Fields banjia forwards or records as names: a control character there stops PostgreSQL (NUL)
# or breaks a header line (CR, LF), and no legitimate name has one.
_IDENTIFIERS = ("model", "user", "safety_identifier", "prompt_cache_key", "previous_response_id",
                "service_tier")
# visible ASCII but '%', which introduces an escape (RFC 3986 section 2.1)
_HEADER_SAFE = "".join(chr(c) for c in range(0x21, 0x7F) if chr(c) != "%")


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def begin(request: Request, endpoint: str) -> tuple[Runtime, RequestContext, dict[str, Any]]:
    """Authenticate, then read the body: from here on the request gets its ledger row whatever
    becomes of it."""
    rt = _rt(request)
    ctx = RequestContext(request_id=request.scope["state"]["request_id"][4:], endpoint=endpoint)
    ctx.key = await authenticate(request, rt.auth)
    return rt, ctx, await json_body(request, rt, ctx)


async def json_body(request: Request, rt: Runtime, ctx: RequestContext) -> dict[str, Any]:
    """The request's JSON body, parsed and checked (:func:`check_edge`); a refusal is recorded."""
    with refused(rt, ctx):
        raw = await request.body()
        body = parse_body(raw)
        check_edge(body, raw)
        model = body.get("model")
        if isinstance(model, str):
            ctx.model = model  # the row of a request refused from here on says what it asked for
    return body


def checked(rt: Runtime, ctx: RequestContext, model: type[M], body: dict[str, Any]) -> M:
    """``body`` validated into ``model``; a refusal is recorded."""
    with refused(rt, ctx):
        return validate(model, body)


@contextmanager
def refused(rt: Runtime, ctx: RequestContext) -> Iterator[None]:
    """Record a request that ends in the block (before the gateway has it)."""
    try:
        yield
    except ClientDisconnect:
        rt.gateway.record(ctx, asyncio.CancelledError())  # recorded as a client gone
        raise
    except BaseException as e:
        rt.gateway.record(ctx, e)
        raise


def check_edge(body: dict[str, Any], raw: bytes | None = None) -> None:
    """What must not go further: names with control characters, nesting past :data:`MAX_DEPTH`
    (``raw``, the body as sent: when it has fewer brackets than that, nothing can nest so deep and
    the walk is skipped)."""
    for name in _IDENTIFIERS:
        value = body.get(name)
        if isinstance(value, str) and has_control(value):
            raise bad_request(
                f"Invalid value for '{name}': control characters (such as NUL or a line break) "
                "are not allowed.",
                param=name,
                code="invalid_value",
            )
    shallow = raw is not None and raw.count(b"{") + raw.count(b"[") <= MAX_DEPTH
    if not shallow and _too_deep(body):
        raise bad_request(
            f"The request body is nested more than {MAX_DEPTH} levels deep; flatten it.",
            code="invalid_value",
        )


def _too_deep(body: dict[str, Any]) -> bool:
    """Whether objects and arrays nest more than :data:`MAX_DEPTH` levels (level by level, so a
    deep body costs no recursion)."""
    level: list[Any] = [body]
    for _ in range(MAX_DEPTH):
        level = [v for c in level for v in (c.values() if isinstance(c, dict) else c)
                 if isinstance(v, dict | list)]
        if not level:
            return False
    return True


async def until_gone(request: Request, ctx: RequestContext, work: Awaitable[T]) -> T:
    """``work``, cancelled as soon as the client hangs up. Nothing else reads the connection while
    an answer is awaited: without this an upstream, or the local model, would work on for nobody.
    Under banjia's protocol the connection itself says so (:class:`~banjia.server.http.Exchange`);
    elsewhere a task waits for ``http.disconnect``."""
    task = asyncio.current_task()
    assert task is not None
    gone = False

    def hang_up() -> None:
        nonlocal gone
        gone = True
        task.cancel()

    unwatch = _watch(_exchange(request.scope), request.receive, hang_up)
    try:
        return await work
    except asyncio.CancelledError:
        if not gone or task.uncancel() > 0:
            raise
        raise ClientDisconnect from None  # nobody to answer (the middleware sends nothing)
    finally:
        unwatch()


def _exchange(scope: Scope) -> Exchange | None:
    ext = scope.get("extensions")
    return ext.get("banjia.exchange") if ext else None


def _watch(
    exchange: Exchange | None, receive: Receive, on_gone: Callable[[], object]
) -> Callable[[], object]:
    """Run ``on_gone`` once if the client hangs up; returns what stops watching. The connection
    says so under banjia's protocol (``exchange``); under another ASGI server a task waits for
    ``http.disconnect``."""
    if exchange is not None:
        exchange.watch(on_gone)
        return functools.partial(exchange.watch, None)
    return asyncio.ensure_future(_on_disconnect(receive, on_gone)).cancel


async def _on_disconnect(receive: Receive, then: Callable[[], object]) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
    then()


def header_value(value: str) -> str:
    """``value`` fit for a response header: UTF-8 bytes outside visible ASCII, and '%', become
    ``%XX`` (as in RFC 3986 and RFC 8187), so a provider or model name such as ``z/模型`` or one
    with a control character still gives a well-formed answer (``z/%E6%A8%A1%E5%9E%8B``)."""
    if value.isascii() and value.isprintable() and " " not in value and "%" not in value:
        return value
    return quote(value, safe=_HEADER_SAFE, errors="surrogatepass")


def upstream_headers(ctx: RequestContext) -> dict[str, str]:
    up = ctx.upstream
    if not up:
        return {}
    headers = {"x-banjia-upstream": header_value(up)}
    old = ctx.retired.get(up) if ctx.retired else None
    if old is not None:
        # "old -> new" in ASCII (each id percent-encoded like the upstream's): the client named a
        # model its vendor retired, and the catalog's successor served it
        headers["x-banjia-retired"] = f"{header_value(old)} -> {header_value(ctx.upstream_model or '')}"
    return headers


class _SSEResponse(StreamingResponse):
    """A stream that is always recorded and always ends.

    A client that leaves before the first byte or mid-stream cancels the response at once (the
    connection says so: :class:`~banjia.server.http.Exchange`; elsewhere a task waits for
    ``http.disconnect``), and the body and the gateway's stream are closed here, so the upstream
    is released and the row written at once. A client that stops reading makes the writes wait;
    past the stream's deadline (its provider's ``timeouts.stream`` from the request's arrival) a
    waiting write is cut, and the row says the client stopped reading.

    Under banjia's protocol the pieces skip the ``send`` chain: one framed write each, coalesced
    per event-loop turn, and no task group or timeout per response or per piece (one timer per
    stream, for the deadline)."""

    def __init__(
        self, body: AsyncIterator[bytes], ctx: RequestContext, deadline: float, stream: GatewayStream
    ) -> None:
        super().__init__(
            body, media_type="text/event-stream", headers={**_SSE_HEADERS, **upstream_headers(ctx)}
        )
        self.pieces = body
        self.ctx = ctx
        self.deadline = deadline
        self.stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        waiting = late = ended = whole = False
        cut: str | None = None  # "gone" (the client left) or "stalled" (it stopped reading)

        def cancel(why: str) -> None:
            nonlocal cut
            if cut is None and not ended:
                cut = why
                task.cancel()

        def expire() -> None:
            nonlocal late
            late = True  # from now on a write that has to wait is cut at once
            if waiting and cut is None:
                self._stalled()
                cancel("stalled")

        async def bounded(pending: Awaitable[None]) -> None:
            nonlocal waiting
            waiting = True
            if late:
                loop.call_soon(expire)  # runs only if this wait really waits
            try:
                await pending
            finally:
                waiting = False

        timer = loop.call_later(max(self.deadline - time.monotonic(), 0), expire)
        exchange = _exchange(scope)
        unwatch = _watch(exchange, receive, lambda: cancel("gone"))
        try:
            await bounded(send({"type": "http.response.start", "status": self.status_code,
                                "headers": self.raw_headers}))
            direct = exchange if exchange is not None and exchange.writable() else None
            async for piece in self.pieces:
                if direct is not None:
                    if not direct.write(piece):
                        break  # gone: the cancellation is on its way
                    if direct.paused:
                        await bounded(direct.drain())
                else:
                    await bounded(send({"type": "http.response.body", "body": piece, "more_body": True}))
            await bounded(send({"type": "http.response.body", "body": b"", "more_body": False}))
            ended = whole = True
        except asyncio.CancelledError:
            if cut is None or task.uncancel() > 0:
                raise
        finally:
            ended = True
            timer.cancel()
            unwatch()
            if whole:  # nothing left to cancel: closing costs no shield (two awaits of nothing)
                await self.pieces.aclose()  # type: ignore[attr-defined]
                await self.stream.aclose()
            else:
                with anyio.CancelScope(shield=True):
                    await self.pieces.aclose()  # type: ignore[attr-defined]
                    await self.stream.aclose()  # never iterated: the client left before its start

    def _stalled(self) -> None:
        ctx = self.ctx
        log.warning("request %s: the client stopped reading its stream; cut at the stream's deadline",
                    _rid(ctx))
        if ctx.finished is None:  # not recorded yet: the row says why the answer ended
            ctx.client_disconnected = True
            ctx.error_code = "client_timeout"


def sse_response(
    rt: Runtime, ctx: RequestContext, stream: GatewayStream, body: AsyncIterator[bytes] | None = None
) -> StreamingResponse:
    """The gateway's ``stream`` as Server-Sent Events: ``body`` (its events in the client's
    protocol), by default OpenAI's chat chunks (:func:`chat_sse`)."""
    return _SSEResponse(body or chat_sse(stream), ctx, rt.gateway.stream_deadline(ctx), stream)


async def chat_sse(
    stream: GatewayStream, frame: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None
) -> AsyncIterator[bytes]:
    """The stream in OpenAI's framing: each chunk (re-framed by ``frame``; None: left out) as a
    ``data:`` line, then ``[DONE]`` after a complete answer, or the error object after a failure."""
    dumps = orjson.dumps
    try:
        async for ev in stream:
            if isinstance(ev, Failed):
                yield encode_data(ev.error.body_bytes())
                return
            chunks = ev.chunks if frame is None else [c for c in map(frame, ev.chunks) if c is not None]
            if len(chunks) == 1:
                data = b"data: " + dumps(chunks[0]) + b"\n\n"
            else:
                data = b"".join([b"data: " + dumps(c) + b"\n\n" for c in chunks])
            if isinstance(ev, End):
                yield data + DONE
                return
            if data:
                yield data
    finally:
        await stream.aclose()


def completion_frame(
    req: CompletionRequest, cid: str, kind: str
) -> Callable[[dict[str, Any]], dict[str, Any] | None]:
    """How a stream's chunks become legacy completion chunks: a chat chunk re-framed, a native
    one as it is; usage only where the client asked for it (the ledger has it either way)."""
    keep_usage = req.wants_usage

    def frame(c: dict[str, Any]) -> dict[str, Any] | None:
        if kind == "chat":
            choices = []
            for ch in c["choices"]:
                text = (ch.get("delta") or {}).get("content") or ""
                if text or ch.get("finish_reason"):
                    choices.append(completion_choice(ch["index"], text, ch.get("finish_reason")))
            if not choices and not c.get("usage"):
                return None
            c = completion_chunk(
                id=cid, model=c["model"], created=c["created"], choices=choices, usage=c.get("usage")
            )
        if c.get("usage") and not keep_usage:
            c = {k: v for k, v in c.items() if k != "usage"}
            if not c.get("choices"):
                return None
        return c

    return frame


async def chat_completions(request: Request) -> Response:
    rt, ctx, body = await begin(request, "chat")
    req = checked(rt, ctx, ChatRequest, body)
    if req.is_stream:
        return sse_response(rt, ctx, await until_gone(request, ctx, rt.gateway.chat_stream(ctx, req)))
    result = await until_gone(request, ctx, rt.gateway.chat(ctx, req))
    return json_response(result, headers=upstream_headers(ctx))


async def completions(request: Request) -> Response:
    rt, ctx, body = await begin(request, "completions")
    req = checked(rt, ctx, CompletionRequest, body)
    result = await until_gone(request, ctx, rt.gateway.completions(ctx, req))
    if isinstance(result, dict):
        return json_response(result, headers=upstream_headers(ctx))
    frame = completion_frame(req, "cmpl-" + ctx.request_id, result.kind)
    return sse_response(rt, ctx, result, chat_sse(result, frame))


async def embeddings(request: Request) -> Response:
    rt, ctx, body = await begin(request, "embeddings")
    req = checked(rt, ctx, EmbeddingRequest, body)
    result = await until_gone(request, ctx, rt.gateway.embeddings(ctx, req))
    return json_response(result, headers=upstream_headers(ctx))


def _model_entry(id: str, owner: str) -> dict[str, Any]:
    return {"id": id, "object": "model", "created": _STARTED, "owned_by": owner}


async def list_models(request: Request) -> Response:
    rt = _rt(request)
    key = await authenticate(request, rt.auth)
    data = [_model_entry(m, o) for m, o in rt.router.public_models() if key.may_use(m)]
    return json_response({"object": "list", "data": data})


async def get_model(request: Request) -> Response:
    rt = _rt(request)
    key = await authenticate(request, rt.auth)
    mid = request.path_params["model"]
    if has_control(mid):
        raise bad_request(
            "Invalid model id: control characters (such as NUL) are not allowed.", param="model"
        )
    if not key.may_use(mid):
        raise not_found(f"The model '{mid}' does not exist or you do not have access to it.")
    return json_response(_model_entry(mid, rt.router.owner(mid)))


async def index(request: Request) -> Response:
    """What a person (or a client's start-up probe, such as Claude Code's ``HEAD /``) finds at the
    root: where the APIs are. No key needed, nothing secret."""
    from banjia import __version__

    return json_response({"service": "banjia", "version": __version__, "openai_base_url": "/v1",
                          "anthropic_base_url": "/", "console": "/console/", "openapi": "/openapi.json"})


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
    from banjia.server.drain import DRAINING

    # draining (SIGTERM): not ready, so a load balancer on a kept-alive connection stops sending
    if request.scope.get("state", {}).get(DRAINING):
        return json_response({"status": "draining", "providers": [], "store": None}, status=503)
    rt = _rt(request)
    disabled = rt.routing.disabled if rt.routing is not None else {}
    ready = [name for name, p in rt.providers.items() if name not in disabled and await p.ready()]
    store_ok = await _store_ready(rt)
    ok = bool(ready) and store_ok
    return json_response(
        {"status": "ready" if ok else "not ready", "providers": ready, "store": store_ok},
        status=200 if ok else 503,
    )


async def _store_ready(rt: Runtime) -> bool:
    check = getattr(rt.accounting, "ready", None)
    if check is None:
        return True
    result: bool = await check()
    return result


routes = [
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/completions", completions, methods=["POST"]),
    Route("/v1/embeddings", embeddings, methods=["POST"]),
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model:path}", get_model, methods=["GET"]),
    Route("/", index, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
