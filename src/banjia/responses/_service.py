"""Create, fetch and delete responses: the Responses API over the gateway's chat path.

A request is translated to chat and answered by :class:`~banjia.gateway.Gateway` (fallback,
quotas and the ledger included); the answer is translated back and, unless ``store`` is false,
kept with the conversation it continues, so ``previous_response_id`` works whichever provider
served the earlier turns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from banjia.context import KeyInfo, RequestContext
from banjia.errors import APIError
from banjia.gateway import Gateway, GatewayStream
from banjia.protocol.chat import ChatRequest, usage
from banjia.protocol.responses import (
    InputItem,
    ResponsesRequest,
    items_adapter,
    response_object,
    response_usage,
)
from banjia.responses._events import ResponseEvents
from banjia.responses._store import ResponseStore, StoredResponse
from banjia.responses._translate import output_items, to_chat
from banjia.streaming import End, Failed
from banjia.tokens import estimate_messages, estimate_text

__all__ = ["ResponsesService"]

log = logging.getLogger("banjia.responses")


def _not_found(id: str) -> APIError:
    return APIError(404, f"No response found with id '{id}'.", code="response_not_found", param="response_id")


class ResponsesService:
    def __init__(self, gateway: Gateway, store: ResponseStore) -> None:
        self.gateway = gateway
        self.store = store

    # -- create ---------------------------------------------------------------------------------
    async def create(
        self, ctx: RequestContext, req: ResponsesRequest
    ) -> dict[str, Any] | tuple[GatewayStream, AsyncIterator[bytes]]:
        """The response object, or (``stream``) the gateway's stream, opened, and its events."""
        try:
            history = await self._history(ctx.key, req.previous_response_id)
            chat = to_chat(req, history)
        except BaseException as e:
            self.gateway.record(ctx, e)  # refused before the gateway had it: its row all the same
            raise
        context = [_dump(i) for i in (*history, *req.input_items())]
        rid = "resp_" + ctx.request_id
        created = int(time.time())
        if not req.is_stream:
            result = await self.gateway.chat(ctx, chat)
            output, status, reason = output_items(result)
            resp = response_object(
                req,
                id=rid,
                created_at=created,
                status=status,
                output=output,
                usage=response_usage(result.get("usage")),
                incomplete_reason=reason,
            )
            await self._keep(ctx, req, resp, context)
            return resp
        stream = await self.gateway.chat_stream(ctx, chat)  # raises (as an HTTP error) before any byte
        events = ResponseEvents(
            req, id=rid, created_at=created, estimate_usage=lambda text: _estimate(chat, text)
        )
        return stream, self._stream(ctx, req, stream, events, context)

    async def _stream(
        self,
        ctx: RequestContext,
        req: ResponsesRequest,
        stream: GatewayStream,
        events: ResponseEvents,
        context: list[dict[str, Any]],
    ) -> AsyncIterator[bytes]:
        """The chat chunks as Responses events; the response is kept before the client sees its
        end, so a next turn can continue from it at once."""
        try:
            yield events.start()
            async for ev in stream:
                if isinstance(ev, Failed):
                    end = events.fail(ev.error.body()["error"])
                    break
                data = b"".join(events.feed(c) for c in ev.chunks)
                if isinstance(ev, End):
                    end = data + events.finish()
                    break
                if data:
                    yield data
            else:  # the gateway ends a stream with End or Failed: this is a fault of ours
                end = events.fail({"message": "The upstream stream ended before the answer was complete."})
        except Exception as e:  # a fault of ours: the client still gets a terminal event
            log.exception("response %s: stream translation failed", events.id)
            end = events.fail({"message": f"The gateway failed while streaming ({type(e).__name__})."})
        finally:
            await stream.aclose()
        assert events.response is not None
        await self._keep(ctx, req, events.response, context)
        yield end

    async def _keep(
        self, ctx: RequestContext, req: ResponsesRequest, resp: dict[str, Any], context: list[dict[str, Any]]
    ) -> None:
        if not req.stores or not resp:
            return
        now = time.time()
        record = StoredResponse(
            id=resp["id"],
            owner=ctx.key.id if ctx.key else None,
            created_at=now,
            expires_at=now + self.store.retention,
            response=resp,
            context=context,
        )
        try:
            await self.store.put(record)
        except APIError as e:
            # the answer is paid for and on its way: deliver it; only continuing from it will fail
            log.warning("response %s was not stored: %s", record.id, e.message)

    async def _history(self, key: KeyInfo | None, previous_id: str | None) -> list[InputItem]:
        if previous_id is None:
            return []
        rec = await self.store.get(previous_id)
        if rec is None or not rec.visible_to(key):
            raise APIError(
                404,
                f"Previous response with id '{previous_id}' not found.",
                code="previous_response_not_found",
                param="previous_response_id",
            )
        return items_adapter.validate_python(rec.conversation())

    # -- read and delete --------------------------------------------------------------------------
    async def get(self, key: KeyInfo | None, id: str) -> dict[str, Any]:
        rec = await self.store.get(id)
        if rec is None or not rec.visible_to(key):
            raise _not_found(id)
        return rec.response

    async def delete(self, key: KeyInfo | None, id: str) -> dict[str, Any]:
        rec = await self.store.get(id)
        if rec is None or not rec.visible_to(key) or not await self.store.delete(id):
            raise _not_found(id)
        return {"id": id, "object": "response", "deleted": True}


def _dump(item: InputItem) -> dict[str, Any]:
    out: dict[str, Any] = item.model_dump(mode="json", exclude_none=True, by_alias=True)
    return out


def _estimate(chat: ChatRequest, text: str) -> dict[str, Any]:
    return usage(estimate_messages(list(chat.messages)), estimate_text(text))
