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

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

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
from banjia.server.auth import authenticate, bearer
from banjia.server.http import json_response
from banjia.server.routes import check_edge, refused, sse_response, until_gone, upstream_headers
from banjia.sse import encode_event
from banjia.streaming import End, Failed, GatewayStream

__all__ = ["routes"]

_NO_KEY = "You didn't provide an API key. Send it in the x-api-key header (or as a bearer token)."
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
    raw: list[tuple[bytes, bytes]] = request.scope["headers"]
    token = next((v.decode("latin-1").strip() for k, v in raw if k == b"x-api-key"), None)
    if not token:
        if bearer(request) is None:
            raise APIError(401, _NO_KEY, type="authentication_error", code="invalid_api_key")
        return await authenticate(request, rt.auth)
    key = await rt.auth.authenticate(token)
    if key is None:
        raise APIError(401, "Invalid x-api-key.", type="authentication_error", code="invalid_api_key")
    return key


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
        if stream.kind == "messages":
            return sse_response(rt, ctx, stream, _relayed(stream))
        events = MessageEvents(id=mid, model=req.model, input_tokens=ctx.prompt_tokens_estimate)
        return sse_response(rt, ctx, stream, _events(stream, events))
    result = await until_gone(request, ctx, rt.gateway.chat(ctx, chat, anthropic=call))
    message = result.get(MESSAGE)
    answer = {**message, "model": req.model} if isinstance(message, dict) else from_chat(
        result, id=mid, model=req.model)
    return json_response(answer, headers=upstream_headers(ctx))


def _beta(request: Request) -> str | None:
    """The client's ``anthropic-beta`` header (betas it opted into), if it can go into a header."""
    value = request.headers.get("anthropic-beta")
    return value if value and value.isascii() and value.isprintable() else None


async def _relayed(stream: GatewayStream) -> AsyncIterator[bytes]:
    """A passed-through stream: each upstream event as ``event: <type>`` and its data, in the
    upstream's order; a failure after the first byte as Anthropic's ``error`` event."""
    dumps = orjson.dumps
    try:
        async for ev in stream:
            if isinstance(ev, Failed):
                yield _event(error_body(ev.error))
                return
            data = b"".join(_event(e, dumps) for e in ev.chunks)
            if data:
                yield data
            if isinstance(ev, End):
                return
    finally:
        await stream.aclose()


def _event(ev: dict[str, Any], dumps: Callable[[Any], bytes] = orjson.dumps) -> bytes:
    kind = ev.get("type")
    if not isinstance(kind, str) or not _EVENT_NAME.fullmatch(kind):
        return b""  # no well-formed SSE event can carry it
    return encode_event(kind, dumps(ev))


async def _events(stream: GatewayStream, events: MessageEvents) -> AsyncIterator[bytes]:
    try:
        yield events.start()
        async for ev in stream:
            if isinstance(ev, Failed):
                yield events.fail(ev.error, error_body(ev.error))
                return
            data = b"".join(events.feed(c) for c in ev.chunks)
            if isinstance(ev, End):
                yield data + events.end(stream.usage)
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


routes = [
    Route("/v1/messages", create_message, methods=["POST"]),
    Route("/v1/messages/count_tokens", count_message_tokens, methods=["POST"]),
]
