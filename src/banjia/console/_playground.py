"""The Playground: a chat with any model name, through the same gateway as ``/v1/chat/completions``
(routing, fallbacks, accounting: the request is in the ledger under the master key).

With JavaScript the answer streams (``POST /console/playground/stream``: the OpenAI chunks, then one
``event: banjia`` with who served it and what it cost); without, the form posts and the page comes
back with the whole answer.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.responses import Response

from banjia.console._web import Page, page
from banjia.context import KeyInfo, RequestContext
from banjia.errors import APIError, bad_request
from banjia.protocol.chat import ChatRequest
from banjia.server.http import error_response
from banjia.server.routes import chat_sse, checked, refused, sse_response, until_gone, upstream_headers
from banjia.sse import encode_event
from banjia.store import StoreKey
from banjia.store.ledger import ledger_row
from banjia.store.schema import from_nano

__all__ = ["chat", "chat_stream", "playground"]

_MAX_MESSAGES = 100


def _models(p: Page) -> list[str]:
    names = list(p.rt.router.routes)
    for provider, models in p.rt.router.providers.items():
        names.extend(f"{provider}/{m}" for m in models)
    return names


def _context(p: Page) -> RequestContext:
    ctx = RequestContext(request_id=p.request.scope["state"]["request_id"][4:], endpoint="chat")
    # the signed-in master key, as the ledger knows it
    key_id = p.session.key_id
    ctx.key = (StoreKey(id=key_id, name="master", is_master=True) if p.rt.store is not None
               else KeyInfo(id=key_id, name="master", is_master=True))
    return ctx


def _messages(p: Page) -> list[dict[str, Any]]:
    raw = p.field("messages")
    if raw:
        try:
            messages = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise bad_request("'messages' must be a JSON list of messages.", param="messages") from None
        if not isinstance(messages, list) or len(messages) > _MAX_MESSAGES:
            raise bad_request("'messages' must be a JSON list of messages.", param="messages")
        return messages
    out: list[dict[str, Any]] = []
    if p.field("system"):
        out.append({"role": "system", "content": p.field("system")})
    out.append({"role": "user", "content": p.field("prompt")})
    return out


def _request(p: Page, ctx: RequestContext, stream: bool) -> ChatRequest:
    """The chat request, validated as ``/v1/chat/completions`` validates one (and recorded if
    refused)."""
    ctx.model = p.field("model")
    with refused(p.rt, ctx):
        body: dict[str, Any] = {"model": ctx.model, "messages": _messages(p)}
    if stream:
        body.update(stream=True, stream_options={"include_usage": True})
    return checked(p.rt, ctx, ChatRequest, body)


def _summary(ctx: RequestContext) -> dict[str, Any]:
    """Who served the request and what it cost, computed as its ledger row is."""
    row = ledger_row(ctx)
    cost = row["cost_nano_cny"]
    return {"request_id": "req_" + ctx.request_id, "upstream": ctx.upstream,
            "cost_cny": None if cost is None else from_nano(cost),
            "openai_cost_cny": from_nano(row["openai_cost_nano_cny"]),
            "prompt_tokens": row["prompt_tokens"], "completion_tokens": row["completion_tokens"]}


def _page(p: Page, status: int = 200, **context: Any) -> Response:
    models = _models(p)
    context.setdefault("model", p.field("model") or (models[0] if models else ""))
    context.setdefault("prompt", p.field("prompt"))
    context.setdefault("system", p.field("system"))
    context.setdefault("reply", None)
    context.setdefault("error", "")
    return p.render("playground.html", status, title="playground", models=models, **context)


@page
async def playground(p: Page) -> Response:
    return _page(p)


@page
async def chat(p: Page) -> Response:
    """The form posted without JavaScript: the whole answer, then the page."""
    ctx = _context(p)
    try:
        req = _request(p, ctx, stream=False)
        result = await until_gone(p.request, ctx, p.rt.gateway.chat(ctx, req))
    except APIError as e:
        return _page(p, e.status if e.status < 500 else 502, error=e.message)
    choices = result.get("choices") or [{}]
    text = str((choices[0].get("message") or {}).get("content") or "")
    reply = {"text": text, **_summary(ctx)}
    response = _page(p, reply=reply)
    response.headers.update(upstream_headers(ctx))
    return response


@page
async def chat_stream(p: Page) -> Response:
    ctx = _context(p)
    try:
        req = _request(p, ctx, stream=True)
        stream = await until_gone(p.request, ctx, p.rt.gateway.chat_stream(ctx, req))
    except APIError as e:
        return error_response(e)

    async def body() -> AsyncIterator[bytes]:
        async for data in chat_sse(stream):
            yield data
        # the stream has ended and been recorded: its usage and upstream are final
        yield encode_event("banjia", orjson.dumps(_summary(ctx)))

    return sse_response(p.rt, ctx, stream, body())
