"""The ASGI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from banjia.config import Config
from banjia.context import Accounting, Authenticator
from banjia.errors import APIError
from banjia.runtime import Runtime, build_runtime
from banjia.server.http import OriginCORSMiddleware, RequestIdMiddleware, error_response
from banjia.server.routes import chat_completions, completions, embeddings, routes
from banjia.settings import load_settings

__all__ = ["app_from_env", "create_app"]


def create_app(
    config: Config,
    *,
    auth: Authenticator | None = None,
    accounting: Accounting | None = None,
) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        rt: Runtime = await build_runtime(config, auth=auth, accounting=accounting)
        app.state.runtime = rt
        try:
            yield
        finally:
            await rt.aclose()

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, APIError)
        return error_response(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            msg = f"Invalid URL ({request.method} {request.url.path})"
            return error_response(APIError(404, msg, code="unknown_url"))
        if exc.status_code == 405:
            msg = f"Method {request.method} is not allowed for {request.url.path}"
            return error_response(APIError(405, msg, code="method_not_allowed"))
        return error_response(APIError(exc.status_code, str(exc.detail)))

    first, extra = _extra_routes()
    return Starlette(
        routes=[*first, *routes, *extra],
        lifespan=lifespan,
        exception_handlers={APIError: api_error, HTTPException: http_error},
        middleware=[
            Middleware(
                RequestIdMiddleware,
                hot={
                    "/v1/chat/completions": chat_completions,
                    "/v1/completions": completions,
                    "/v1/embeddings": embeddings,
                },
            ),
            Middleware(
                OriginCORSMiddleware,
                allow_origins=["*"],
                allow_methods=["*"],
                allow_headers=["*"],
                # Private Network Access: a public page may call a banjia on localhost / the LAN
                allow_private_network=True,
                # what the openai JS SDK reads to decide and time its retries
                expose_headers=[
                    "x-request-id", "request-id", "x-banjia-upstream", "x-banjia-retired", "retry-after",
                    "retry-after-ms", "x-should-retry",
                ],
            ),
        ],
    )


def _extra_routes() -> tuple[list[BaseRoute], list[BaseRoute]]:
    """Routes contributed by optional layers (admin API, metrics, Responses API, Batch API): those
    that must come before the core routes (``first_routes``: one path, a shape per client), the
    rest."""
    import importlib

    first: list[BaseRoute] = []
    out: list[BaseRoute] = []
    for mod in ("banjia.server.admin", "banjia.server.metrics", "banjia.server.responses",
                "banjia.server.openapi", "banjia.console", "banjia.server.media",
                "banjia.server.anthropic", "banjia.server.batches"):
        try:
            m = importlib.import_module(mod)
        except ModuleNotFoundError as e:
            if e.name != mod:
                raise
            continue
        out.extend(m.routes)
        first.extend(getattr(m, "first_routes", ()))
    return first, out


def app_from_env() -> Starlette:
    """Entry point for ``uvicorn --factory`` workers: the config comes from BANJIA_CONFIG."""
    return create_app(load_settings(None))
