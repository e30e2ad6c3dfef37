"""The Responses API routes: ``POST /v1/responses``, ``GET`` and ``DELETE /v1/responses/{id}``."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from banjia.errors import bad_request
from banjia.protocol.responses import ResponsesRequest, reject_unsupported
from banjia.responses import ResponsesService, open_response_store
from banjia.runtime import Runtime
from banjia.server.auth import authenticate
from banjia.server.http import json_response
from banjia.server.routes import begin, checked, refused, sse_response, until_gone, upstream_headers

__all__ = ["routes"]

_LOCK = asyncio.Lock()


async def _service(request: Request) -> ResponsesService:
    """One service per app, made on first use (the store needs the running runtime)."""
    state = request.app.state
    svc: ResponsesService | None = getattr(state, "responses", None)
    if svc is None:
        async with _LOCK:
            svc = getattr(state, "responses", None)
            if svc is None:
                rt: Runtime = state.runtime
                svc = state.responses = ResponsesService(rt.gateway, open_response_store(rt))
    return svc


async def create_response(request: Request) -> Response:
    rt, ctx, body = await begin(request, "responses")
    with refused(rt, ctx):
        reject_unsupported(body)
    req = checked(rt, ctx, ResponsesRequest, body)
    result = await until_gone(request, ctx, (await _service(request)).create(ctx, req))
    if isinstance(result, dict):
        return json_response(result, headers=upstream_headers(ctx))
    stream, events = result
    return sse_response(rt, ctx, stream, events)


async def get_response(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    key = await authenticate(request, rt.auth)
    if request.query_params.get("stream") in ("true", "1"):
        raise bad_request("Replaying a response as a stream is not supported; omit 'stream'.", param="stream")
    svc = await _service(request)
    return json_response(await svc.get(key, request.path_params["response_id"]))


async def delete_response(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    key = await authenticate(request, rt.auth)
    svc = await _service(request)
    return json_response(await svc.delete(key, request.path_params["response_id"]))


routes = [
    Route("/v1/responses", create_response, methods=["POST"]),
    Route("/v1/responses/{response_id}", get_response, methods=["GET"]),
    Route("/v1/responses/{response_id}", delete_response, methods=["DELETE"]),
]
