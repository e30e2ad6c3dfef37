"""The Anthropic routes: ``POST /v1/messages`` and ``POST /v1/messages/count_tokens``.

The key comes from ``x-api-key`` (Anthropic's SDKs, Claude Code) or a bearer token; the
``anthropic-version`` and ``anthropic-beta`` headers are accepted (the beta header is passed on to
an upstream that speaks Anthropic). Every error, before or after the gateway, is answered in
Anthropic's envelope.

The gateway gets both the chat form of the request (for entries that speak OpenAI's dialect or a
native protocol) and the client's body (:class:`~banjia.passthrough.MessagesCall`) for entries that
speak Anthropic, which pass it through: their answer comes back as they sent it, with ``model`` the
name the client asked for (:data:`~banjia.passthrough.MESSAGE`, a stream of ``kind`` "messages").
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from banjia.context import KeyInfo, RequestContext
from banjia.errors import APIError
from banjia.messages import MessageEvents, count_tokens, fold_system_turns, from_chat, stand_in, to_chat
from banjia.passthrough import MESSAGE, MessagesCall
from banjia.protocol._base import parse_body, validate
from banjia.protocol.anthropic import CountTokensRequest, MessagesRequest, error_body, error_status
from banjia.runtime import Runtime
from banjia.server.auth import authenticate_anthropic
from banjia.server.http import json_response
from banjia.server.routes import (
    _STARTED,
    check_edge,
    get_model,
    list_models,
    refused,
    sse_response,
    until_gone,
    upstream_headers,
)
from banjia.sse import encode_event
from banjia.streaming import End, Failed, GatewayStream

__all__ = ["routes"]

_EVENT_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # what may stand on an SSE ``event:`` line


def _anthropic_errors(
    handler: Callable[[Request], Awaitable[Response]],
) -> Callable[[Request], Awaitable[Response]]:
    async def wrapped(request: Request) -> Response:
        try:
            response = await handler(request)
        except ClientDisconnect:
            raise
        except APIError as e:
            headers = {k: v for k, v in e.headers.items()}
            response = json_response(error_body(e), status=error_status(e), headers=headers)
        # where Anthropic's SDKs look for it (message._request_id, errors' request_id)
        response.headers["request-id"] = request.scope["state"]["request_id"]
        return response

    return wrapped


async def _key(request: Request, rt: Runtime) -> KeyInfo:
    return await authenticate_anthropic(request, rt.auth)


@_anthropic_errors
async def create_message(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    ctx = RequestContext(request_id=request.scope["state"]["request_id"][4:], endpoint="messages")
    ctx.key = await _key(request, rt)
    with refused(rt, ctx):
        body = parse_body(await request.body())
        check_edge(body)
        body = fold_system_turns(body)
        if isinstance(body.get("model"), str):
            ctx.model = body["model"]
        req = validate(MessagesRequest, body)
        untranslatable: APIError | None = None
        try:
            chat = to_chat(req)
        except APIError as e:  # only an entry that speaks Anthropic can serve it
            chat, untranslatable = stand_in(req), e
    call = MessagesCall(body, beta=_beta(request), untranslatable=untranslatable)
    mid = "msg_" + ctx.request_id
    if req.stream:
        stream = await until_gone(request, ctx, rt.gateway.chat_stream(ctx, chat, anthropic=call))
        frames: _Frames = _Relayed() if stream.kind == "messages" else MessageEvents(
            id=mid, model=req.model, input_tokens=ctx.prompt_tokens_estimate)
        return sse_response(rt, ctx, stream, _events(stream, frames))
    result = await until_gone(request, ctx, rt.gateway.chat(ctx, chat, anthropic=call))
    message = result.get(MESSAGE)
    answer = {**message, "model": req.model} if isinstance(message, dict) else from_chat(
        result, id=mid, model=req.model)
    return json_response(answer, headers=upstream_headers(ctx))


def _beta(request: Request) -> str | None:
    """The client's ``anthropic-beta`` header (betas it opted into), if it can go into a header."""
    value = request.headers.get("anthropic-beta")
    return value if value and value.isascii() and value.isprintable() else None


class _Relayed:
    """The client's side of a passed-through stream, framed as :class:`MessageEvents` frames a
    translated one: each upstream event as ``event: <type>`` and its data, in the upstream's
    order; a failure after the first byte as Anthropic's ``error`` event."""

    def start(self) -> bytes:
        return b""

    def feed(self, ev: dict[str, Any]) -> bytes:
        kind = ev.get("type")
        if not isinstance(kind, str) or not _EVENT_NAME.fullmatch(kind):
            return b""  # no well-formed SSE event can carry it
        return encode_event(kind, orjson.dumps(ev))

    def end(self, usage: dict[str, Any] | None) -> bytes:
        return b""  # the upstream's own message_delta and message_stop were relayed

    def fail(self, error: APIError) -> bytes:
        return self.feed(error_body(error))


class _Frames(Protocol):
    def start(self) -> bytes: ...
    def feed(self, chunk: dict[str, Any]) -> bytes: ...
    def end(self, usage: dict[str, Any] | None) -> bytes: ...
    def fail(self, error: APIError) -> bytes: ...


async def _events(stream: GatewayStream, events: _Frames) -> AsyncIterator[bytes]:
    """The stream's chunks in Anthropic's framing (translated, or passed through)."""
    try:
        head = events.start()
        if head:
            yield head
        async for ev in stream:
            if isinstance(ev, Failed):
                yield events.fail(ev.error)
                return
            data = b"".join([events.feed(c) for c in ev.chunks])
            if isinstance(ev, End):
                data += events.end(stream.usage)
                if data:
                    yield data
                return
            if data:
                yield data
    finally:
        await stream.aclose()


@_anthropic_errors
async def count_message_tokens(request: Request) -> Response:
    """Counted by banjia (no upstream is asked): a ledger row like every authenticated request's,
    with the count as its prompt tokens and no cost."""
    rt: Runtime = request.app.state.runtime
    ctx = RequestContext(request_id=request.scope["state"]["request_id"][4:], endpoint="count_tokens")
    ctx.key = key = await _key(request, rt)
    with refused(rt, ctx):
        body = parse_body(await request.body())
        check_edge(body)
        if isinstance(body.get("model"), str):
            ctx.model = body["model"]
        req = validate(CountTokensRequest, fold_system_turns(body))
        if not key.may_use(req.model):
            raise APIError(403, f"This API key is not allowed to use the model '{req.model}'.",
                           type="permission_error", code="model_not_allowed")
        rt.router.route(req.model)  # 404 for a model banjia cannot serve, as /v1/messages would
        tokens = count_tokens(req)
    ctx.usage = {"prompt_tokens": tokens, "completion_tokens": 0, "total_tokens": tokens}
    ctx.usage_estimated = True
    rt.gateway.record(ctx)
    return json_response({"input_tokens": tokens})


# -- /v1/models for Anthropic's clients ------------------------------------------------------------
def _asks_anthropic(request: Request) -> bool:
    """Anthropic's SDKs (and Claude Code) send ``anthropic-version`` on every call; OpenAI's never."""
    return "anthropic-version" in request.headers


def _model_object(mid: str) -> dict[str, Any]:
    created = _dt.datetime.fromtimestamp(_STARTED, _dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"type": "model", "id": mid, "display_name": mid, "created_at": created, "lifecycle": "active"}


@_anthropic_errors
async def _anthropic_models(request: Request) -> Response:
    """Anthropic's model list (https://docs.anthropic.com/en/api/models-list): the names this key
    may use, paged by ``limit`` (1..1000, default 20), ``after_id`` and ``before_id``."""
    rt: Runtime = request.app.state.runtime
    key = await _key(request, rt)
    ids = [m for m, _ in rt.router.public_models() if key.may_use(m)]
    q = request.query_params
    raw = q.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise APIError(400, "limit: must be an integer from 1 to 1000.", code="invalid_value", param="limit")
    limit = int(raw)
    after, before = q.get("after_id"), q.get("before_id")
    for name, cursor in (("after_id", after), ("before_id", before)):
        if cursor is not None and cursor not in ids:
            raise APIError(400, f"{name}: '{cursor[:64]}' is not a model id of this list.",
                           code="invalid_value", param=name)
    if before is not None:
        end = ids.index(before)
        page, more = ids[max(end - limit, 0):end], end - limit > 0
    else:
        start = ids.index(after) + 1 if after is not None else 0
        page, more = ids[start:start + limit], start + limit < len(ids)
    return json_response({"data": [_model_object(m) for m in page], "has_more": more,
                          "first_id": page[0] if page else None, "last_id": page[-1] if page else None})


@_anthropic_errors
async def _anthropic_model(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    key = await _key(request, rt)
    mid = request.path_params["model"]
    if not key.may_use(mid):
        raise APIError(404, f"model: {mid[:128]}", type="not_found_error", code="model_not_found")
    rt.router.route(mid)  # 404 for a name banjia cannot serve (a Claude name routes by its tier)
    return json_response(_model_object(mid))


async def models(request: Request) -> Response:
    return await (_anthropic_models(request) if _asks_anthropic(request) else list_models(request))


async def model(request: Request) -> Response:
    return await (_anthropic_model(request) if _asks_anthropic(request) else get_model(request))


routes = [
    Route("/v1/messages", create_message, methods=["POST"]),
    Route("/v1/messages/count_tokens", count_message_tokens, methods=["POST"]),
]
# ahead of the OpenAI routes of the same paths (banjia.server.app): one path, each client's shape
first_routes = [
    Route("/v1/models", models, methods=["GET"]),
    Route("/v1/models/{model:path}", model, methods=["GET"]),
]
