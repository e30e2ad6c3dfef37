"""The OpenAI routes: parse, authenticate, dispatch to the gateway, wrap the answer."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from banjia.context import RequestContext
from banjia.errors import APIError, not_found
from banjia.protocol._base import parse_body, validate
from banjia.protocol.chat import ChatRequest
from banjia.protocol.completions import CompletionRequest
from banjia.protocol.embeddings import EmbeddingRequest
from banjia.runtime import Runtime
from banjia.server.auth import authenticate
from banjia.server.http import error_response, json_response

__all__ = ["begin", "routes", "sse_response", "upstream_headers"]

_SSE_HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}
_STARTED = int(time.time())


def _rt(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


async def begin(request: Request, endpoint: str) -> tuple[Runtime, RequestContext, dict[str, Any]]:
    rt = _rt(request)
    ctx = RequestContext(request_id=request.scope["state"]["request_id"][4:], endpoint=endpoint)
    ctx.key = await authenticate(request, rt.auth)
    body = parse_body(await request.body())
    return rt, ctx, body


def upstream_headers(ctx: RequestContext) -> dict[str, str]:
    up = ctx.upstream
    return {"x-banjia-upstream": up} if up else {}


class _SSEResponse(StreamingResponse):
    """A stream that is recorded even when the client leaves before its first byte: Starlette then
    cancels the response without ever iterating the body, so its clean-up would never run."""

    def __init__(self, body: AsyncIterator[bytes], ctx: RequestContext) -> None:
        super().__init__(
            body, media_type="text/event-stream", headers={**_SSE_HEADERS, **upstream_headers(ctx)}
        )
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            abandon = self.ctx.abandon
            if abandon is not None:
                with anyio.CancelScope(shield=True):
                    await abandon()


def sse_response(ctx: RequestContext, body: AsyncIterator[bytes]) -> StreamingResponse:
    return _SSEResponse(body, ctx)


async def chat_completions(request: Request) -> Response:
    rt, ctx, body = await begin(request, "chat")
    req = validate(ChatRequest, body)
    if req.is_stream:
        return sse_response(ctx, await rt.gateway.chat_stream(ctx, req))
    result = await rt.gateway.chat(ctx, req)
    return json_response(result, headers=upstream_headers(ctx))


async def completions(request: Request) -> Response:
    rt, ctx, body = await begin(request, "completions")
    req = validate(CompletionRequest, body)
    result = await rt.gateway.completions(ctx, req)
    if isinstance(result, dict):
        return json_response(result, headers=upstream_headers(ctx))
    return sse_response(ctx, result)


async def embeddings(request: Request) -> Response:
    rt, ctx, body = await begin(request, "embeddings")
    req = validate(EmbeddingRequest, body)
    result = await rt.gateway.embeddings(ctx, req)
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
    if not key.may_use(mid):
        raise not_found(f"The model '{mid}' does not exist or you do not have access to it.")
    return json_response(_model_entry(mid, rt.router.owner(mid)))


async def healthz(request: Request) -> Response:
    return json_response({"status": "ok"})


async def readyz(request: Request) -> Response:
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


async def not_found_route(request: Request) -> Response:
    return error_response(
        APIError(404, f"Invalid URL ({request.method} {request.url.path})", code="unknown_url", param=None)
    )


routes = [
    Route("/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/v1/completions", completions, methods=["POST"]),
    Route("/v1/embeddings", embeddings, methods=["POST"]),
    Route("/v1/models", list_models, methods=["GET"]),
    Route("/v1/models/{model:path}", get_model, methods=["GET"]),
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
]
