"""``GET /metrics``: Prometheus's text format, open like any scrape target unless
``server.metrics_require_key`` asks for the master key."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from banjia.runtime import Runtime
from banjia.server.auth import require_master

__all__ = ["routes"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


async def metrics(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    if rt.config.server.metrics_require_key:
        await require_master(request, rt.auth)
    text = rt.telemetry.render(rt.routing) if rt.telemetry is not None else ""
    return Response(text, media_type=CONTENT_TYPE)


routes = [Route("/metrics", metrics, methods=["GET"])]
