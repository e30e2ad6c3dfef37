"""Response helpers and the ASGI middleware every response passes through (request id, errors)."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from banjia.errors import APIError

__all__ = ["RequestIdMiddleware", "error_response", "json_response"]

log = logging.getLogger("banjia.server")


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status_code=status, headers=headers, media_type="application/json")


def error_response(e: APIError) -> Response:
    headers = dict(e.headers)
    if e.status in (400, 401, 403, 404, 422):
        headers["x-should-retry"] = "false"
    return Response(e.body_bytes(), status_code=e.status, headers=headers, media_type="application/json")


class RequestIdMiddleware:
    """Gives every request an id (``x-request-id`` on every response, also on errors and 404s)
    and turns any exception that escapes a route into an OpenAI error envelope."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from banjia.gateway import new_id

        rid = "req_" + new_id()
        scope.setdefault("state", {})["request_id"] = rid
        header = (b"x-request-id", rid.encode())
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
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
